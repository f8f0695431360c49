// Package kafkatest holds the helpers that the Kafka tests of every package
// share: the one way to find the real broker and cluster that scripts/test
// starts (Broker, Cluster, Env), an in-process kfake broker (Fake), unique
// topic names, a client that is closed with the test, reading a topic back
// to its end, and test certificates (CA, over internal/testcert: the one
// certificate builder, shared with scripts/kafkaprobe).
//
// It is imported only by tests. Nothing here skips silently in CI: when
// HEADCOUNT_REQUIRE_KAFKA=1 (scripts/test sets it), a missing broker,
// cluster or listener fails the test instead of skipping it.
package kafkatest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/headcount/headcount/internal/kafka"
)

// The environment scripts/test sets.
const (
	// EnvBroker is host:port of the real single broker (scripts/kafka start).
	EnvBroker = "HEADCOUNT_TEST_KAFKA"
	// EnvCluster is the bootstrap list of the real three-broker cluster
	// (scripts/kafka-cluster start).
	EnvCluster = "HEADCOUNT_TEST_KAFKA_CLUSTER"
	// EnvRequire set to 1 turns every skip for a missing broker into a
	// failure.
	EnvRequire = "HEADCOUNT_REQUIRE_KAFKA"
)

// ClientID names the test clients in the broker's logs.
const ClientID = "headcount-test"

// Required reports whether a missing broker must fail the tests (CI).
func Required() bool { return os.Getenv(EnvRequire) == "1" }

// Env returns the value of the environment variable name, which describes
// the real broker (an address, a CA file, ...). When it is unset the test
// skips, or fails when HEADCOUNT_REQUIRE_KAFKA=1.
func Env(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		how := `scripts/kafka start, then eval "$(scripts/kafka env)"`
		if name == EnvCluster {
			how = "scripts/kafka-cluster start prints it"
		}
		if Required() {
			t.Fatalf("%s=1 but %s is not set (%s)", EnvRequire, name, how)
		} else {
			t.Skipf("no real Kafka: set %s (%s)", name, how)
		}
	}
	return v
}

// Broker returns the settings of the real Apache Kafka broker
// (HEADCOUNT_TEST_KAFKA, its plaintext listener).
func Broker(t testing.TB) kafka.Config {
	t.Helper()
	return kafka.Config{Brokers: strings.Split(Env(t, EnvBroker), ","), ClientID: ClientID}
}

// Cluster returns the settings of the real three-broker cluster
// (HEADCOUNT_TEST_KAFKA_CLUSTER), parsed the way the commands parse a
// kafka:// URL.
func Cluster(t testing.TB) kafka.Config {
	t.Helper()
	list := Env(t, EnvCluster)
	u, err := kafka.ParseURL(kafka.Scheme + list + "/t")
	if err != nil {
		t.Fatalf("%s=%s: %v", EnvCluster, list, err)
	}
	if len(u.Brokers) != 3 {
		t.Fatalf("%s=%s: %d brokers, want 3", EnvCluster, list, len(u.Brokers))
	}
	return kafka.Config{Brokers: u.Brokers, ClientID: ClientID}
}

// Fake starts an in-process kfake broker, closed when the test ends.
func Fake(t testing.TB, opts ...kfake.Opt) (kafka.Config, *kfake.Cluster) {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return kafka.Config{Brokers: c.ListenAddrs(), ClientID: ClientID}, c
}

var topicSeq atomic.Int64

// Topic names a topic (or a group) that no other test or run uses, so tests
// against a long-lived broker never see each other's records.
func Topic(t testing.TB, what string) string {
	name := strings.NewReplacer("/", "-", " ", "-", "#", "-", ",", "-", "=", "-").Replace(t.Name())
	if len(name) > 120 {
		name = name[:120]
	}
	return fmt.Sprintf("hc-%s-%s-%d-%d", name, what, time.Now().UnixNano(), topicSeq.Add(1))
}

// Client connects a franz-go client with conn's settings and extra options;
// it is closed when the test ends.
func Client(t testing.TB, conn kafka.Config, extra ...kgo.Opt) *kgo.Client {
	t.Helper()
	opts, err := conn.Opts()
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(append(opts, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// ReadAll reads every record of topic, all partitions, up to the end
// offsets it lists first. Records of one partition are in offset order.
func ReadAll(t testing.TB, ctx context.Context, conn kafka.Config, topic string) []*kgo.Record {
	t.Helper()
	return read(t, ctx, conn, topic, false)
}

// ReadCommitted reads every committed record of topic, as a read_committed
// consumer sees it, up to the last stable offsets it lists first. Aborted
// records and transaction markers are left out. It first waits (within ctx)
// until no transaction is open on the topic: a killed producer's is aborted
// by the broker only after its timeout, and until then it hides everything
// written after it began.
func ReadCommitted(t testing.TB, ctx context.Context, conn kafka.Config, topic string) []*kgo.Record {
	t.Helper()
	return read(t, ctx, conn, topic, true)
}

func read(t testing.TB, ctx context.Context, conn kafka.Config, topic string, committed bool) []*kgo.Record {
	t.Helper()
	opts := []kgo.Opt{kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}
	if committed {
		// Markers take offsets: kept, they show where the end is.
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())
	}
	cl := Client(t, conn, opts...)
	defer cl.Close()
	adm := kadm.NewClient(cl)
	list := adm.ListEndOffsets
	if committed {
		list = adm.ListCommittedOffsets
		settled(t, ctx, adm, topic)
	}
	ends, err := list(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	if err := ends.Error(); err != nil {
		t.Fatalf("end offsets of %s: %v", topic, err)
	}
	want := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			want[o.Partition] = o.Offset
		}
	})
	var recs []*kgo.Record
	for len(want) > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("reading %s: %v (still waiting for %v)", topic, err, want)
		}
		for _, fe := range fs.Errors() {
			t.Fatalf("reading %s: %v", topic, fe.Err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			end, ok := want[r.Partition]
			if !ok || r.Offset >= end {
				return // produced after the listing
			}
			if !r.Attrs.IsControl() {
				recs = append(recs, r)
			}
			if r.Offset+1 >= end {
				delete(want, r.Partition)
			}
		})
	}
	return recs
}

// settled waits until topic's last stable offsets reach its end offsets.
func settled(t testing.TB, ctx context.Context, adm *kadm.Client, topic string) {
	t.Helper()
	for {
		ends, err := adm.ListEndOffsets(ctx, topic)
		if err == nil {
			err = ends.Error()
		}
		stable, serr := adm.ListCommittedOffsets(ctx, topic)
		if err == nil {
			err = serr
		}
		if err == nil {
			err = stable.Error()
		}
		if err != nil {
			t.Fatalf("end offsets of %s: %v", topic, err)
		}
		open := false
		ends.Each(func(o kadm.ListedOffset) {
			if s, ok := stable.Lookup(topic, o.Partition); !ok || s.Offset < o.Offset {
				open = true
			}
		})
		if !open {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("a transaction on %s stayed open: %v", topic, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Headers returns a record's headers as a map (the last value of a repeated
// key).
func Headers(r *kgo.Record) map[string]string {
	h := make(map[string]string, len(r.Headers))
	for _, kv := range r.Headers {
		h[kv.Key] = string(kv.Value)
	}
	return h
}

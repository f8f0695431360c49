package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/headcount/headcount/internal/kafka"
	"github.com/headcount/headcount/internal/kafkatest"
	"github.com/headcount/headcount/internal/pipeline"
	"github.com/headcount/headcount/internal/watermark"
)

// lags collects Lag's report by partition.
func lags(l interface {
	Lag(func(string, int32, int64))
}) map[int32]int64 {
	out := map[int32]int64{}
	l.Lag(func(_ string, p int32, lag int64) { out[p] = lag })
	return out
}

// eventually polls cond until it holds or a minute has passed.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		ok, got := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: never; last %s", what, got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// manualInput creates topic in with partitions and returns a producer that
// writes to the partition each record names.
func manualInput(t *testing.T, ctx context.Context, conn kafka.Config, in string, partitions int32) *kgo.Client {
	t.Helper()
	prod := kafkatest.Client(t, conn, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if _, err := kafka.EnsureTopic(ctx, prod, kafka.Topic{Name: in, Partitions: partitions}); err != nil {
		t.Fatal(err)
	}
	return prod
}

// produceTo writes n frames to partition p of topic.
func produceTo(t *testing.T, ctx context.Context, cl *kgo.Client, topic string, p int32, n int) {
	t.Helper()
	var recs []*kgo.Record
	for i := range n {
		recs = append(recs, &kgo.Record{Topic: topic, Partition: p, Value: fmt.Appendf(nil, `{"uid":"u%d","ts":%d}`, i, 1468244400+i)})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// TestLagRealBroker: the consumer lag of each partition is its end offset
// minus the next offset to apply: all of it before anything is applied,
// nothing once every batch is, and it grows when records arrive that the
// pipeline does not take (the listing sees them, not only the fetches).
func TestLagRealBroker(t *testing.T) { consumerLag(t, kafkatest.Broker(t)) }

func TestLagFake(t *testing.T) {
	conn, _ := kafkatest.Fake(t)
	consumerLag(t, conn)
}

func consumerLag(t *testing.T, conn kafka.Config) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	in, group := kafkatest.Topic(t, "in"), kafkatest.Topic(t, "group")
	prod := manualInput(t, ctx, conn, in, 2)
	produceTo(t, ctx, prod, in, 0, 30)
	produceTo(t, ctx, prod, in, 1, 10)
	src, err := kafka.NewSource(ctx, kafka.SourceConfig{Config: conn, Topics: []string{in}, Group: group, LagInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	expect := func(what string, want map[int32]int64) {
		t.Helper()
		eventually(t, what, func() (bool, string) {
			got := lags(src)
			return maps.Equal(got, want) && src.NotReady() == "", fmt.Sprintf("lag %v, not ready: %q", got, src.NotReady())
		})
	}
	expect("nothing applied", map[int32]int64{0: 30, 1: 10})
	for applied := 0; applied < 40; {
		b, err := src.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		applied += len(b.Frames)
		src.MarkApplied(b)
	}
	expect("everything applied", map[int32]int64{0: 0, 1: 0})
	produceTo(t, ctx, prod, in, 1, 7)
	expect("7 records not taken", map[int32]int64{0: 0, 1: 7})
}

// TestLagExactlyOnceRealBroker: an exactly-once source is ready once it has
// read the group's state, and its lag (to the last stable offset, past the
// transactions' markers) falls to 0 once the pipeline has counted and
// committed everything.
func TestLagExactlyOnceRealBroker(t *testing.T) { lagExactlyOnce(t, kafkatest.Broker(t)) }

func TestLagExactlyOnceFake(t *testing.T) {
	conn, _ := kafkatest.Fake(t)
	lagExactlyOnce(t, conn)
}

func lagExactlyOnce(t *testing.T, conn kafka.Config) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	in, group := kafkatest.Topic(t, "in"), kafkatest.Topic(t, "group")
	prod := manualInput(t, ctx, conn, in, 2)
	produceTo(t, ctx, prod, in, 0, 50)
	produceTo(t, ctx, prod, in, 1, 20)
	src, err := kafka.NewSource(ctx, kafka.SourceConfig{Config: conn, Topics: []string{in}, Group: group, ExactlyOnce: true,
		CommitInterval: 50 * time.Millisecond, LagInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if why := src.NotReady(); why == "" {
		t.Error("ready before the group assigned anything")
	}
	cfg := pipelineConfig(time.Second)
	cfg.Checkpoint = src.Txn()
	var mu sync.Mutex
	var last pipeline.Stats
	cfg.Observe = func(s *pipeline.Stats) { mu.Lock(); last = *s; mu.Unlock() }
	run, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := pipeline.Run(run, src, discardResults{}, cfg)
		done <- err
	}()
	eventually(t, "counted, committed, caught up", func() (bool, string) {
		mu.Lock()
		s := last
		mu.Unlock()
		got := lags(src)
		return s.Frames == 70 && s.Checkpoint.Saves > 0 && maps.Equal(got, map[int32]int64{0: 0, 1: 0}) && src.NotReady() == "",
			fmt.Sprintf("%d frames, %d saves, lag %v, not ready: %q", s.Frames, s.Checkpoint.Saves, got, src.NotReady())
	})
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestMemberOpsRealBroker: what a member of a group that counts together
// reports on top of its pipeline's stats: the results and corrections its
// merge published, its buckets' watermark, the commits of its count and
// merge steps, its input's lag, and readiness.
func TestMemberOpsRealBroker(t *testing.T) { memberOps(t, kafkatest.Broker(t)) }

func TestMemberOpsFake(t *testing.T) {
	conn, _ := kafkatest.Fake(t)
	memberOps(t, conn)
}

func memberOps(t *testing.T, conn kafka.Config) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	in, out, group := kafkatest.Topic(t, "in"), kafkatest.Topic(t, "out"), kafkatest.Topic(t, "group")
	prod := manualInput(t, ctx, conn, in, 1)
	send := func(from, to int64, uid string) {
		var recs []*kgo.Record
		for ts := from; ts <= to; ts++ {
			recs = append(recs, &kgo.Record{Topic: in, Value: fmt.Appendf(nil, `{"uid":"%s%d","ts":%d}`, uid, ts%7, 1468244400+ts)})
		}
		if err := prod.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	m, cfg := opsMember(t, ctx, conn, in, out, group)
	var mu sync.Mutex
	var last pipeline.Stats
	cfg.Observe = func(s *pipeline.Stats) { mu.Lock(); last = *s; mu.Unlock() }
	stats := func() pipeline.Stats {
		mu.Lock()
		s := last
		mu.Unlock()
		m.Amend(&s)
		return s
	}
	run, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := pipeline.Run(run, m.Source(), discardResults{}, cfg)
		done <- err
	}()
	send(0, 70, "u") // minute 0 closes
	eventually(t, "minute 0 published", func() (bool, string) {
		s := stats()
		return s.Results >= 1, fmt.Sprintf("%d results", s.Results)
	})
	send(30, 30, "late") // a late user for minute 0
	send(71, 100, "u")   // the watermark moves on: minute 0 is corrected
	eventually(t, "corrected, committed, caught up, ready", func() (bool, string) {
		s := stats()
		saves := map[string]uint64{}
		m.Commits(func(step string, c pipeline.CheckpointStats) { saves[step] = c.Saves })
		got := lags(m)
		return s.Corrections >= 1 && s.Results > s.Corrections && s.Watermark >= 1468244400+90 && s.Watermark != watermark.None &&
				saves["count"] > 0 && saves["merge"] > 0 && len(saves) == 2 && maps.Equal(got, map[int32]int64{0: 0}) && m.NotReady() == "",
			fmt.Sprintf("%d results, %d corrections, watermark %d, commits %v, lag %v, not ready: %q", s.Results, s.Corrections, s.Watermark, saves, got, m.NotReady())
	})
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
}

// opsMember starts a member that commits and lists offsets often, and the
// configuration of its pipeline.
func opsMember(t *testing.T, ctx context.Context, conn kafka.Config, in, out, group string) (*kafka.Member, pipeline.Config) {
	t.Helper()
	m, err := kafka.NewMember(ctx, kafka.MemberConfig{
		Source: kafka.SourceConfig{Config: conn, Topics: []string{in}, Group: group, CommitInterval: 50 * time.Millisecond, LagInterval: 20 * time.Millisecond},
		Window: pipeline.DefaultConfig().Window, Watermark: watermark.Config{Lateness: time.Second},
		OpenResults: resultsTo(ctx, conn, out),
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := pipeline.DefaultConfig()
	cfg.Watermark = watermark.Config{Lateness: time.Second}
	cfg.Checkpoint, cfg.Counter, cfg.Workers = m.Source().Txn(), m.NewCounter, 2
	return m, cfg
}

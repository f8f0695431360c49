package kafka_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/headcount/headcount/internal/kafka"
	"github.com/headcount/headcount/internal/kafkatest"
)

// clusterScript runs scripts/kafka-cluster with args against the cluster
// whose first broker is conn.Brokers[0] (its base port).
func clusterScript(t *testing.T, conn kafka.Config, args ...string) {
	t.Helper()
	_, port, err := net.SplitHostPort(conn.Brokers[0])
	if err != nil {
		t.Fatal(err)
	}
	script, err := filepath.Abs(filepath.Join("..", "..", "scripts", "kafka-cluster"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(script, args...)
	cmd.Env = append(os.Environ(), "KAFKA_CLUSTER_PORT="+port)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/kafka-cluster %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// createReplicated creates topic with partitions and replication factor 3
// through the project's admin code and checks that the cluster placed
// three replicas of every partition, with leaders on more than one broker.
func createReplicated(t *testing.T, ctx context.Context, conn kafka.Config, topic string, partitions int32) {
	t.Helper()
	cl := kafkatest.Client(t, conn)
	created, err := kafka.EnsureTopic(ctx, cl, kafka.Topic{Name: topic, Partitions: partitions, ReplicationFactor: 3})
	if err != nil || !created {
		t.Fatalf("create %s: created %v, %v", topic, created, err)
	}
	adm := kadm.NewClient(cl)
	deadline := time.Now().Add(30 * time.Second)
	for {
		md, err := adm.Metadata(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		d := md.Topics[topic]
		leaders := map[int32]bool{}
		ok := d.Err == nil && len(d.Partitions) == int(partitions)
		for _, p := range d.Partitions {
			leaders[p.Leader] = true
			if p.Err != nil || len(p.Replicas) != 3 || len(p.ISR) != 3 || p.Leader < 0 {
				ok = false
			}
		}
		if ok {
			if partitions > 1 && len(leaders) < 2 {
				t.Fatalf("%s: every partition led by broker %v; want leaders spread over the cluster", topic, leaders)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not fully replicated after 30s: %+v", topic, d)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// ensureOffsetsTopic makes the cluster create __consumer_offsets (RF 3) now,
// while all three brokers run: with one down it could not be created.
func ensureOffsetsTopic(t *testing.T, ctx context.Context, conn kafka.Config, group string) {
	t.Helper()
	cl := kafkatest.Client(t, conn)
	adm := kadm.NewClient(cl)
	for {
		res := adm.FindGroupCoordinators(ctx, group)
		if r, ok := res[group]; ok && r.Err == nil {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("no group coordinator for %s: %v", group, res)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// clusterRoundTrip is roundTrip on the three-node cluster: a 6-partition
// input and the output topic with replication factor 3, generated frames,
// the pipeline with the Kafka source (a group, until the end) and sink,
// every final minute equal to the independent count, and a second run of
// the group reading nothing. With down > 0, node down is stopped after the
// topics exist and before any record is written, so loading, counting,
// committing and the second run all happen with 2 of 3 brokers.
func clusterRoundTrip(t *testing.T, n int, down int) {
	conn := kafkatest.Cluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	in, out, group := kafkatest.Topic(t, "in"), kafkatest.Topic(t, "out"), kafkatest.Topic(t, "group")
	createReplicated(t, ctx, conn, in, 6)
	createReplicated(t, ctx, conn, out, 1)
	if down > 0 {
		ensureOffsetsTopic(t, ctx, conn, group)
		node := strconv.Itoa(down)
		clusterScript(t, conn, "stop-node", node)
		t.Cleanup(func() { clusterScript(t, conn, "start-node", node) })
		waitISR(t, ctx, conn, in, int32(down))
	}

	countTwice(t, ctx, conn, in, out, group, 6, n)
}

// waitISR waits until no partition of topic has broker down as its leader
// or in its ISR, so the run really works with two brokers.
func waitISR(t *testing.T, ctx context.Context, conn kafka.Config, topic string, down int32) {
	t.Helper()
	cl := kafkatest.Client(t, conn)
	adm := kadm.NewClient(cl)
	for {
		md, err := adm.Metadata(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		ok := len(md.Topics[topic].Partitions) > 0
		for _, p := range md.Topics[topic].Partitions {
			if p.Leader == down || p.Leader < 0 || len(p.ISR) != 2 || slices.Contains(p.ISR, down) {
				ok = false
			}
		}
		if ok {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("%s: broker %d still leads or is in sync: %+v", topic, down, md.Topics[topic])
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestRoundTripRealCluster(t *testing.T) { clusterRoundTrip(t, 20000, 0) }

// One broker of three down: every partition keeps a leader and an ISR of 2
// (min.insync.replicas), so acks=all produce, the group and its commits
// still work, and the bootstrap list naming the dead broker still connects.
func TestRoundTripRealClusterNodeDown(t *testing.T) { clusterRoundTrip(t, 20000, 2) }

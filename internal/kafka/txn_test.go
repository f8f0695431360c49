package kafka_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/headcount/headcount/internal/kafka"
	"github.com/headcount/headcount/internal/kafkatest"
	"github.com/headcount/headcount/internal/pipeline"
	"github.com/headcount/headcount/internal/result"
)

// eosRun runs the pipeline exactly-once from in to out with group until
// the end of the input, or until stop is closed.
func eosRun(t *testing.T, ctx context.Context, conn kafka.Config, in, out, group string, stop <-chan struct{}) (pipeline.Stats, error) {
	t.Helper()
	src, err := kafka.NewSource(ctx, kafka.SourceConfig{Config: conn, Topics: []string{in}, Group: group, UntilEnd: true, ExactlyOnce: true, CommitInterval: 200 * time.Millisecond})
	if err != nil {
		return pipeline.Stats{}, err
	}
	sink, err := kafka.NewSink(ctx, kafka.SinkConfig{Config: conn, Topic: out, Txn: src.Txn()})
	if err != nil {
		src.Close()
		return pipeline.Stats{}, err
	}
	cfg := pipeline.DefaultConfig()
	cfg.Watermark.MaxFuture = 0
	cfg.Workers = 2
	cfg.Checkpoint = src.Txn()
	cfg.Stop = stop
	stats, err := pipeline.Run(ctx, src, sink, cfg)
	if cerr := sink.Close(); err == nil {
		err = cerr
	}
	if cerr := src.Close(); err == nil {
		err = cerr
	}
	return stats, err
}

// committedResults reads the output topic as a read_committed consumer and
// checks that no (window, revision) appears twice and revisions have no
// gap; it returns the latest final result per minute.
func committedResults(t *testing.T, ctx context.Context, conn kafka.Config, out string) map[int64]result.Result {
	t.Helper()
	seen := map[string]bool{}
	latest := map[int64]result.Result{}
	for _, r := range kafkatest.ReadCommitted(t, ctx, conn, out) {
		res, err := result.Decode(r.Value)
		if err != nil {
			t.Fatalf("output record %q: %v", r.Value, err)
		}
		key := fmt.Sprintf("%s/%d", res.Key(), res.Rev)
		if seen[key] {
			t.Errorf("%s rev %d twice", res.Key(), res.Rev)
		}
		seen[key] = true
		ts := res.Start.Unix()
		if res.Final && res.Rev != latest[ts].Rev+1 {
			t.Errorf("%s: rev %d after rev %d", res.Key(), res.Rev, latest[ts].Rev)
		}
		if res.Final {
			latest[ts] = res
		}
	}
	return latest
}

// TestExactlyOnceRealBroker: an exactly-once run of 20,000 frames (late ones
// included) on 4 partitions, stopped gracefully three times and started
// again: a read_committed reader of the output sees every (window, rev)
// once, revisions without a gap, and the latest revision of every minute
// equal to the independent count.
func TestExactlyOnceRealBroker(t *testing.T) {
	conn := kafkatest.Broker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	in, out, group := kafkatest.Topic(t, "in"), kafkatest.Topic(t, "out"), kafkatest.Topic(t, "group")
	frames := generate(20000, 50, 3000)
	want := count(t, frames)
	load(t, ctx, conn, in, 4, frames)
	for i := range 3 {
		stop := make(chan struct{})
		time.AfterFunc(time.Duration(300+200*i)*time.Millisecond, func() { close(stop) })
		_, err := eosRun(t, ctx, conn, in, out, group, stop)
		if err != nil && err != pipeline.ErrStopped {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	if _, err := eosRun(t, ctx, conn, in, out, group, nil); err != nil {
		t.Fatalf("last run: %v", err)
	}
	checkFinals(t, committedResults(t, ctx, conn, out), want)
}

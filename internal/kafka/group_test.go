package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/headcount/headcount/internal/kafka"
	"github.com/headcount/headcount/internal/kafkatest"
	"github.com/headcount/headcount/internal/pipeline"
	"github.com/headcount/headcount/internal/result"
)

// TestMembersCountTogether: two members of one group (in this process)
// share a 4-partition topic whose users appear in every partition, each
// with --until-end. Both end once the group is done, and the latest
// revision of every minute on the output is the exact count of the input.
func TestMembersCountTogether(t *testing.T) {
	onEveryBroker(t, membersCountTogether)
}

func membersCountTogether(t *testing.T, conn kafka.Config) {
	const partitions, frames, users = 4, 6000, 301
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	in, out, group := kafkatest.Topic(t, "in"), kafkatest.Topic(t, "out"), kafkatest.Topic(t, "group")
	prod := kafkatest.Client(t, conn, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.DefaultProduceTopic(in))
	if _, err := kafka.EnsureTopic(ctx, prod, kafka.Topic{Name: in, Partitions: partitions}); err != nil {
		t.Fatal(err)
	}
	want := map[int64]map[int]bool{}
	var recs []*kgo.Record
	for i := range frames {
		uid, ts := i%users, int64(1468244400+i/20) // 20 frames a second: 5 minutes
		recs = append(recs, &kgo.Record{Partition: int32(i % partitions), Value: fmt.Appendf(nil, `{"uid":"u%d","ts":%d}`, uid, ts)})
		m := ts - ts%60
		if want[m] == nil {
			want[m] = map[int]bool{}
		}
		want[m][uid] = true
	}
	if err := prod.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	cfg := pipeline.DefaultConfig()
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for id := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- runMember(ctx, conn, cfg, in, out, group, fmt.Sprint("m", id))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	latest := map[int64]result.Result{}
	for _, r := range kafkatest.ReadCommitted(t, ctx, conn, out) {
		res, err := result.Decode(r.Value)
		if err != nil {
			t.Fatal(err)
		}
		if prev := latest[res.Start.Unix()]; res.Final && res.Rev != prev.Rev+1 {
			t.Errorf("%s: rev %d after rev %d", res.Key(), res.Rev, prev.Rev)
		}
		latest[res.Start.Unix()] = res
	}
	if len(latest) != len(want) {
		t.Errorf("%d minutes published, want %d", len(latest), len(want))
	}
	for m, us := range want {
		if r := latest[m]; r.Users != uint64(len(us)) || !r.Final {
			t.Errorf("minute %d: %d users (final %v), want %d", m, r.Users, r.Final, len(us))
		}
	}
}

// TestUntilEndAfterLiveMembers: a live member (no --until-end) counts the
// whole input and stops; an --until-end member started then finds every
// partition already committed to its end (no record will come to show it)
// and must still flush the windows and end.
func TestUntilEndAfterLiveMembers(t *testing.T) {
	onEveryBroker(t, untilEndAfterLive)
}

func untilEndAfterLive(t *testing.T, conn kafka.Config) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	in, out, group := kafkatest.Topic(t, "in"), kafkatest.Topic(t, "out"), kafkatest.Topic(t, "group")
	prod := kafkatest.Client(t, conn, kgo.DefaultProduceTopic(in))
	if _, err := kafka.EnsureTopic(ctx, prod, kafka.Topic{Name: in, Partitions: 3}); err != nil {
		t.Fatal(err)
	}
	var recs []*kgo.Record
	for i := range 3000 {
		recs = append(recs, &kgo.Record{Partition: int32(i % 3), Value: fmt.Appendf(nil, `{"uid":"u%d","ts":%d}`, i%101, 1468244400+i/10)})
	}
	if err := prod.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	cfg := pipeline.DefaultConfig()
	live, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- runMemberUntil(live, conn, cfg, in, out, group, "", false) }() // dynamic: it leaves
	adm := kadm.NewClient(prod)
	for {
		offs, err := adm.FetchOffsets(ctx, group)
		var sum int64
		if err == nil {
			offs.Each(func(o kadm.OffsetResponse) { sum += o.At })
		}
		if sum == int64(len(recs)) {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the live member committed %d of %d frames", sum, len(recs))
		case <-time.After(50 * time.Millisecond):
		}
	}
	stop()
	<-done
	if err := runMember(ctx, conn, cfg, in, out, group, "backfill"); err != nil {
		t.Fatal(err)
	}
	finals := 0
	for _, r := range kafkatest.ReadCommitted(t, ctx, conn, out) {
		if res, err := result.Decode(r.Value); err == nil && res.Final {
			finals++
		}
	}
	if finals < 5 {
		t.Fatalf("%d final results, want the 5 minutes at least", finals)
	}
}

// runMember runs one member to the end of the input, as the run command
// does.
func runMember(ctx context.Context, conn kafka.Config, cfg pipeline.Config, in, out, group, id string) error {
	return runMemberUntil(ctx, conn, cfg, in, out, group, id, true)
}

// resultsTo opens a member's results: the sink of topic out, in the
// member's transaction.
func resultsTo(ctx context.Context, conn kafka.Config, out string) func(*kafka.Txn) (pipeline.Sink, func() error, error) {
	return func(txn *kafka.Txn) (pipeline.Sink, func() error, error) {
		s, err := kafka.NewSink(ctx, kafka.SinkConfig{Config: conn, Topic: out, Txn: txn})
		if err != nil {
			return nil, nil, err
		}
		return s, s.Close, nil
	}
}

// runMemberUntil runs one member, with --until-end or until ctx is done.
func runMemberUntil(ctx context.Context, conn kafka.Config, cfg pipeline.Config, in, out, group, id string, untilEnd bool) error {
	m, err := kafka.NewMember(ctx, kafka.MemberConfig{
		Source: kafka.SourceConfig{Config: conn, Topics: []string{in}, Group: group, UntilEnd: untilEnd, CommitInterval: 100 * time.Millisecond, InstanceID: id},
		Window: cfg.Window, Watermark: cfg.Watermark,
		OpenResults: resultsTo(ctx, conn, out),
	})
	if err != nil {
		return err
	}
	cfg.Checkpoint, cfg.Counter, cfg.Workers = m.Source().Txn(), m.NewCounter, 2
	_, err = pipeline.Run(ctx, m.Source(), discardResults{}, cfg)
	if cerr := m.Close(); err == nil {
		err = cerr
	}
	if !untilEnd && errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

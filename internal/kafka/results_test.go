package kafka_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/headcount/headcount/internal/kafka"
	"github.com/headcount/headcount/internal/kafkatest"
	"github.com/headcount/headcount/internal/result"
)

// resultReader checks that ResultReader returns what a Sink wrote, in
// order, and reports a record of another format with its offset without
// losing the records around it.
func resultReader(t *testing.T, conn kafka.Config) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	topic := kafkatest.Topic(t, "results")
	sink, err := kafka.NewSink(ctx, kafka.SinkConfig{Config: conn, Topic: topic})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	at := func(m int64) time.Time { return time.Unix(1468244400+60*m, 0).UTC() }
	first := []result.Result{
		{Window: "minute", Start: at(0), End: at(1), Users: 3, Frames: 4, Final: true, Rev: 1, Exact: true},
		{Window: "minute", Start: at(1), End: at(2), Users: 5, Frames: 6, Rev: 0, RSE: 0.0081},
	}
	last := result.Result{Window: "minute", Start: at(0), End: at(1), Users: 4, Frames: 5, Final: true, Rev: 2, Exact: true}
	if err := sink.Write(ctx, first); err != nil {
		t.Fatal(err)
	}
	// Not a result: offset 2 (keyed, as a compacted topic requires).
	if err := kafkatest.Client(t, conn).ProduceSync(ctx, &kgo.Record{Topic: topic, Key: []byte("minute/0"), Value: []byte(`{"uid":"a","ts":1}`)}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := sink.Write(ctx, []result.Result{last}); err != nil {
		t.Fatal(err)
	}

	rd, err := kafka.NewResultReader(ctx, kafka.ResultReaderConfig{Config: conn, Topic: topic})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	var got []kafka.ResultRecord
	var errs []string
	for len(got) < 3 {
		recs, err := rd.Poll(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d results, errors %q; want 3 and 1: %v", len(got), errs, ctx.Err())
		}
		if err != nil {
			errs = append(errs, err.Error())
		}
		got = append(got, recs...)
	}
	want := append(first, last)
	for i, g := range got {
		if string(g.Value) != string(want[i].AppendJSON(nil)) || string(g.Result.AppendJSON(nil)) != string(g.Value) || g.Offset != map[int]int64{0: 0, 1: 1, 2: 3}[i] {
			t.Errorf("record %d at offset %d: %s decoded as %+v; want %s", i, g.Offset, g.Value, g.Result, want[i].AppendJSON(nil))
		}
	}
	if len(errs) != 1 || !strings.Contains(errs[0], "offset 2") || !strings.Contains(errs[0], `no "window" field`) {
		t.Errorf("errors %q, want one naming offset 2", errs)
	}

	// Once ctx is done, Poll says so and nothing else.
	done, stop := context.WithCancel(ctx)
	stop()
	if recs, err := rd.Poll(done); err != context.Canceled || recs != nil {
		t.Errorf("Poll after cancel: %d records, %v", len(recs), err)
	}
}

func TestResultReaderFake(t *testing.T) {
	conn, _ := kafkatest.Fake(t)
	resultReader(t, conn)
}

func TestResultReaderRealBroker(t *testing.T) { resultReader(t, kafkatest.Broker(t)) }

// deleteCommitted checks that Admin.DeleteCommitted moves each partition's
// start to the group's committed offset, and leaves a group without
// commits alone.
func deleteCommitted(t *testing.T, conn kafka.Config) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	topic, group := kafkatest.Topic(t, "in"), kafkatest.Topic(t, "group")
	frames := make([][]byte, 10)
	for i := range frames {
		frames[i] = []byte(`{"uid":"a","ts":1468244400}`)
	}
	load(t, ctx, conn, topic, 1, frames)
	adm, err := kafka.NewAdmin(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	if err := adm.DeleteCommitted(ctx, kafkatest.Topic(t, "idle-group")); err != nil {
		t.Fatalf("a group without commits: %v", err)
	}
	kadmin := kadm.NewClient(kafkatest.Client(t, conn))
	var commit kadm.Offsets
	commit.Add(kadm.Offset{Topic: topic, Partition: 0, At: 7})
	if err := kadmin.CommitAllOffsets(ctx, group, commit); err != nil {
		t.Fatal(err)
	}
	if err := adm.DeleteCommitted(ctx, group); err != nil {
		t.Fatal(err)
	}
	starts, err := kadmin.ListStartOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := starts.Lookup(topic, 0); o.Offset != 7 {
		t.Errorf("start offset %d after DeleteCommitted, want 7", o.Offset)
	}
}

func TestDeleteCommittedFake(t *testing.T) {
	conn, _ := kafkatest.Fake(t)
	deleteCommitted(t, conn)
}

func TestDeleteCommittedRealBroker(t *testing.T) { deleteCommitted(t, kafkatest.Broker(t)) }

package kafka_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/headcount/headcount/internal/kafka"
	"github.com/headcount/headcount/internal/kafkatest"
)

// An --until-end group member that has started reading the whole input
// and loses a partition to a rebalance (another member joined) commits
// nothing: the member that reads next, alone, starts from the beginning and
// counts every frame, instead of resuming where the first stopped and
// publishing the counts of the remainder as final. Lost while reading, the
// first member fails; lost after it read every partition to its end (its
// counts are whole), it ends normally but cannot commit them all, so it
// commits none. The next member commits every end offset.
func TestUntilEndRevokedRealBroker(t *testing.T) {
	for _, tc := range []struct {
		name string
		// Frames per partition: more than the source fetches ahead
		// (about 3 MiB a partition), or a few.
		perPartition int
		// The first member reads to the end before the other joins.
		readFirst bool
		wantErr   string // from the first member's Next; "": io.EOF
	}{
		{"revoked while reading", 4000, false, "were revoked before this member had read the input to its end"},
		{"revoked after the end", 10, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) { untilEndRevoked(t, tc.perPartition, tc.readFirst, tc.wantErr) })
	}
}

func untilEndRevoked(t *testing.T, perPartition int, readFirst bool, wantErr string) {
	conn := kafkatest.Broker(t)
	topic, group := kafkatest.Topic(t, "events"), kafkatest.Topic(t, "group")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	prod := kafkatest.Client(t, conn, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if _, err := kafka.EnsureTopic(ctx, prod, kafka.Topic{Name: topic, Partitions: 4}); err != nil {
		t.Fatal(err)
	}
	// Random padding: the producer's compression must not shrink it.
	rnd := rand.New(rand.NewPCG(1, 2))
	pad := make([]byte, 750)
	var recs []*kgo.Record
	for p := range int32(4) {
		for i := range perPartition {
			for j := range pad {
				pad[j] = byte(rnd.Uint32())
			}
			v := fmt.Sprintf(`{"uid":"u%d","ts":%d,"pad":"%s"}`, i, 1468244400+i, base64.StdEncoding.EncodeToString(pad))
			recs = append(recs, &kgo.Record{Topic: topic, Partition: p, Value: []byte(v)})
		}
	}
	if err := prod.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	cfg := kafka.SourceConfig{Config: conn, Topics: []string{topic}, Group: group, UntilEnd: true}
	total := 4 * perPartition
	// readAll reads src up to its first error and returns the frames.
	readAll := func(src *kafka.Source) (int, error) {
		n := 0
		for {
			b, err := src.Next(ctx)
			if err != nil {
				return n, err
			}
			n += len(b.Frames)
			src.MarkApplied(b)
		}
	}

	first, err := kafka.NewSource(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	// Frames flow only once the member holds every partition.
	b, err := first.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	first.MarkApplied(b)
	frames := len(b.Frames)
	var readErr error
	if readFirst {
		n, err := readAll(first)
		frames, readErr = frames+n, err
	}

	// A second member joins; once it is assigned a partition, the first
	// has had it revoked (cooperative rebalancing revokes first).
	joined := make(chan struct{}, 1)
	other := kafkatest.Client(t, conn, kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic), kgo.DisableAutoCommit(),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			if len(m[topic]) > 0 {
				select {
				case joined <- struct{}{}:
				default:
				}
			}
		}))
	select {
	case <-joined:
	case <-ctx.Done():
		t.Fatal("the second member was never assigned a partition")
	}
	if !readFirst {
		n, err := readAll(first)
		frames, readErr = frames+n, err
	}
	switch {
	case wantErr == "" && (!errors.Is(readErr, io.EOF) || frames != total):
		t.Fatalf("first member: %v after %d of %d frames, want io.EOF after all", readErr, frames, total)
	case wantErr != "" && (errors.Is(readErr, io.EOF) || !strings.Contains(readErr.Error(), wantErr) || !strings.Contains(readErr.Error(), group)):
		t.Fatalf("first member: %v after %d of %d frames; want an error naming the group: %s", readErr, frames, total, wantErr)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	other.Close()
	adm := kadm.NewClient(kafkatest.Client(t, conn))
	committed, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	committed.Each(func(o kadm.OffsetResponse) {
		if o.Topic == topic && o.At >= 0 {
			t.Errorf("%s/%d committed at %d by a member that lost it", o.Topic, o.Partition, o.At)
		}
	})

	// The next member, alone, reads everything and commits the ends.
	next, err := kafka.NewSource(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer next.Close()
	if frames, err = readAll(next); !errors.Is(err, io.EOF) || frames != total {
		t.Fatalf("next member: %v after %d frames, want io.EOF after all %d", err, frames, total)
	}
	if err := next.Close(); err != nil {
		t.Fatal(err)
	}
	if committed, err = adm.FetchOffsets(ctx, group); err != nil {
		t.Fatal(err)
	}
	for p := range int32(4) {
		if o, ok := committed.Lookup(topic, p); !ok || o.At != int64(perPartition) {
			t.Errorf("%s/%d: committed %d (%v), want the end, %d", topic, p, o.At, ok, perPartition)
		}
	}
}

// A static member (--instance-id) leaves the group when its backfill ends:
// franz-go's Close keeps a static member's partitions reserved for its
// session (45 s), which would make the next member of the group wait.
func TestUntilEndStaticLeavesRealBroker(t *testing.T) {
	conn := kafkatest.Broker(t)
	topic, group := kafkatest.Topic(t, "events"), kafkatest.Topic(t, "group")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl := kafkatest.Client(t, conn)
	if _, err := kafka.EnsureTopic(ctx, cl, kafka.Topic{Name: topic, Partitions: 2}); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte(`{"uid":"a","ts":1468244400}`)}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	src, err := kafka.NewSource(ctx, kafka.SourceConfig{Config: conn, Topics: []string{topic}, Group: group, UntilEnd: true, InstanceID: "backfill-1"})
	if err != nil {
		t.Fatal(err)
	}
	for {
		b, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		src.MarkApplied(b)
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	ds, err := kadm.NewClient(cl).DescribeGroups(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	if d := ds[group]; d.State != "Empty" || len(d.Members) != 0 {
		t.Fatalf("group %s after the backfill: state %s, %d members; want Empty, 0", group, d.State, len(d.Members))
	}
}

package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/headcount/headcount/internal/kafka"
	"github.com/headcount/headcount/internal/kafkatest"
	"github.com/headcount/headcount/internal/pipeline"
	"github.com/headcount/headcount/internal/result"
	"github.com/headcount/headcount/internal/source"
)

// tp is a topic partition.
type tp struct {
	topic string
	p     int32
}

func (x tp) String() string { return fmt.Sprintf("%s/%d", x.topic, x.p) }

// groupLog records what the members of a consumer group were handed (Next)
// and what their pipelines applied (MarkApplied), by offset.
type groupLog struct {
	mu      sync.Mutex
	changed chan struct{} // closed and replaced at every change
	members []*memberLog
	// member 1's first offset of each partition it was given, and how far
	// member 0 had applied that partition (contiguously) at that moment.
	start, appliedBefore map[tp]int64
}

type memberLog struct {
	seen, applied map[tp]map[int64]bool
	revoked       []tp // partitions announced revoked (Batch.Revoked)
	assigned      []tp // partitions announced assigned (frameless batches)
	badRevoked    int  // revoked batches that carried frames
}

func newGroupLog(members int) *groupLog {
	g := &groupLog{changed: make(chan struct{}), start: map[tp]int64{}, appliedBefore: map[tp]int64{}}
	for range members {
		g.members = append(g.members, &memberLog{seen: map[tp]map[int64]bool{}, applied: map[tp]map[int64]bool{}})
	}
	return g
}

func (g *groupLog) update(fn func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	fn()
	close(g.changed)
	g.changed = make(chan struct{})
}

// waitUntil waits until cond holds (under the log's lock). The bound only
// stops a hang.
func (g *groupLog) waitUntil(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for {
		g.mu.Lock()
		ok, changed := cond(), g.changed
		g.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		}
	}
}

// contiguous returns the first offset from 0 missing from offs.
func contiguous(offs map[int64]bool) int64 {
	var n int64
	for offs[n] {
		n++
	}
	return n
}

// recorder is a member's source as the pipeline sees it: the Kafka source,
// with what passes through Next and MarkApplied written to the group log.
type recorder struct {
	*kafka.Source
	log *groupLog
	id  int
}

func (r *recorder) origin(b *source.Batch) tp {
	topic, p, ok := r.Origin(b.Partition)
	if !ok {
		panic(fmt.Sprintf("no origin for partition id %d", b.Partition))
	}
	return tp{topic, p}
}

func (r *recorder) Next(ctx context.Context) (*source.Batch, error) {
	b, err := r.Source.Next(ctx)
	if err != nil {
		return b, err
	}
	key := r.origin(b)
	r.log.update(func() {
		m := r.log.members[r.id]
		switch {
		case b.Revoked:
			m.revoked = append(m.revoked, key)
			if len(b.Frames)+len(b.Oversize) > 0 {
				m.badRevoked++
			}
		case len(b.Offsets) == 0 && len(b.Oversize) == 0:
			m.assigned = append(m.assigned, key)
		}
		if len(b.Offsets) == 0 {
			return
		}
		if r.id == 1 {
			if _, ok := r.log.start[key]; !ok {
				r.log.start[key] = b.Offsets[0]
				r.log.appliedBefore[key] = contiguous(r.log.members[0].applied[key])
			}
		}
		if m.seen[key] == nil {
			m.seen[key] = map[int64]bool{}
		}
		for _, o := range b.Offsets {
			m.seen[key][o] = true
		}
	})
	return b, nil
}

// MarkApplied logs the batch as applied before the source may commit it.
func (r *recorder) MarkApplied(b *source.Batch) {
	if len(b.Offsets) > 0 {
		key := r.origin(b)
		r.log.update(func() {
			m := r.log.members[r.id]
			if m.applied[key] == nil {
				m.applied[key] = map[int64]bool{}
			}
			for _, o := range b.Offsets {
				m.applied[key][o] = true
			}
		})
	}
	r.Source.MarkApplied(b)
}

type discardResults struct{}

func (discardResults) Write(context.Context, []result.Result) error { return nil }

// TestRebalance: two members of one consumer group on a 4-partition topic;
// the second joins mid-run, so partitions are revoked from the first while
// frames keep coming. What today's code guarantees (window counts may be
// partial per member; see the package doc):
//
//   - no frame is lost: every offset of the topic is handed to a pipeline
//     and applied by at least one member;
//   - the revocation reaches the first member's pipeline as a frameless
//     Batch.Revoked, and the second member is announced its partitions;
//   - offsets are committed only for applied frames: the second member
//     starts each partition it takes over at or before the offset up to
//     which the first member had applied it;
//   - at the end (both closed), the group's committed offsets are the end
//     of every partition.
func TestRebalance(t *testing.T) {
	onEveryBroker(t, rebalance)
}

func rebalance(t *testing.T, conn kafka.Config) {
	const partitions = 4
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	topic, group := kafkatest.Topic(t, "in"), kafkatest.Topic(t, "group")
	prod := kafkatest.Client(t, conn, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.DefaultProduceTopic(topic))
	if _, err := kafka.EnsureTopic(ctx, prod, kafka.Topic{Name: topic, Partitions: partitions}); err != nil {
		t.Fatal(err)
	}
	log := newGroupLog(2)
	var ends [partitions]int64 // offsets produced so far, per partition (under log.mu)
	var next int
	produce := func(n int) error {
		recs := make([]*kgo.Record, 0, n)
		for i := range n {
			p := int32((next + i) % partitions)
			recs = append(recs, &kgo.Record{Partition: p, Value: fmt.Appendf(nil, `{"uid":"u%d","ts":%d}`, (next+i)%300, 1468244400+(next+i)/20)})
		}
		if err := prod.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			return err
		}
		log.update(func() {
			for _, r := range recs {
				ends[r.Partition]++
			}
			next += n
		})
		return nil
	}
	// covered says that the members together applied (or were handed:
	// which) every offset produced so far.
	covered := func(which func(*memberLog) map[tp]map[int64]bool, members ...int) func() bool {
		return func() bool {
			for p := range int32(partitions) {
				key := tp{topic, p}
				for o := range ends[p] {
					if !slices.ContainsFunc(members, func(i int) bool { return which(log.members[i])[key][o] }) {
						return false
					}
				}
			}
			return true
		}
	}
	applied := func(m *memberLog) map[tp]map[int64]bool { return m.applied }
	seen := func(m *memberLog) map[tp]map[int64]bool { return m.seen }

	type running struct {
		src  *kafka.Source
		stop context.CancelFunc
		done chan error
	}
	start := func(id int) running {
		t.Helper()
		src, err := kafka.NewSource(ctx, kafka.SourceConfig{Config: conn, Topics: []string{topic}, Group: group, CommitInterval: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		rctx, stop := context.WithCancel(ctx)
		r := running{src: src, stop: stop, done: make(chan error, 1)}
		go func() {
			_, err := pipeline.Run(rctx, &recorder{Source: src, log: log, id: id}, discardResults{}, pipeline.Config{Workers: 2})
			r.done <- err
		}()
		return r
	}
	stop := func(r running) {
		t.Helper()
		r.stop()
		if err := <-r.done; !errors.Is(err, context.Canceled) {
			t.Errorf("run: %v, want the context's error", err)
		}
		if err := r.src.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	}

	// Member 0 alone applies the first frames of every partition.
	if err := produce(2000); err != nil {
		t.Fatal(err)
	}
	m0 := start(0)
	defer m0.stop()
	log.waitUntil(t, ctx, "member 0 to apply the first frames", covered(applied, 0))
	// Member 1 joins while frames keep coming (a poll that returns
	// records is also what hands the assignment changes to the pipelines).
	stopProducing := make(chan struct{})
	produced := make(chan error, 1)
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopProducing:
				produced <- nil
				return
			case <-tick.C:
				if err := produce(40); err != nil {
					produced <- err
					return
				}
			}
		}
	}()
	m1 := start(1)
	defer m1.stop()
	log.waitUntil(t, ctx, "a partition revoked from member 0 and member 1 applying frames", func() bool {
		applying := false
		for _, offs := range log.members[1].applied {
			applying = applying || len(offs) > 0
		}
		return len(log.members[0].revoked) > 0 && len(log.members[1].assigned) > 0 && applying
	})
	close(stopProducing)
	if err := <-produced; err != nil {
		t.Fatal(err)
	}
	if err := produce(2000); err != nil {
		t.Fatal(err)
	}
	log.waitUntil(t, ctx, "every frame applied by a member", covered(applied, 0, 1))
	stop(m0)
	stop(m1)

	log.mu.Lock()
	defer log.mu.Unlock()
	if !covered(seen, 0, 1)() {
		t.Error("an offset was never handed to a pipeline")
	}
	m0log, m1log := log.members[0], log.members[1]
	if m0log.badRevoked > 0 || m1log.badRevoked > 0 {
		t.Errorf("revoked batches with frames: %d, %d", m0log.badRevoked, m1log.badRevoked)
	}
	if len(m0log.assigned) != partitions {
		t.Errorf("member 0 was announced %v, want the %d partitions", m0log.assigned, partitions)
	}
	moved := 0
	for _, key := range m1log.assigned {
		if !slices.Contains(m0log.revoked, key) {
			t.Errorf("%v assigned to member 1 but never revoked from member 0 (revoked: %v)", key, m0log.revoked)
		}
		if len(m1log.applied[key]) > 0 {
			moved++
		}
	}
	if moved == 0 {
		t.Errorf("member 1 applied no frame of its partitions %v", m1log.assigned)
	}
	for key, first := range log.start {
		if first > log.appliedBefore[key] {
			t.Errorf("%v: member 1 started at offset %d, but member 0 had applied only up to %d: offsets were committed for frames not applied", key, first, log.appliedBefore[key])
		}
	}
	committed, err := kadm.NewClient(kafkatest.Client(t, conn)).FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	for p := range int32(partitions) {
		o, ok := committed.Lookup(topic, p)
		if !ok || o.Err != nil || o.At != ends[p] {
			t.Errorf("partition %d: committed %+v (found %v), want %d", p, o, ok, ends[p])
		}
	}
	t.Logf("member 0: revoked %v; member 1: assigned %v, started at %v (member 0 had applied up to %v)", m0log.revoked, m1log.assigned, log.start, log.appliedBefore)
}

// The exactly-once side of the Source: the transactional session, the
// barriers it sends the pipeline, and the state it restores on its first
// assignment. Apart because only ExactlyOnce sources use it; fetchLoop
// calls in here at the points marked there.

package kafka

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/headcount/headcount/internal/source"
)

// openTxn makes the source's client a transactional session and begins the
// first transaction.
func (s *Source) openTxn(ctx context.Context, opts []kgo.Opt) error {
	id := s.cfg.transactionalID()
	stateTopic := s.cfg.StateTopic
	if stateTopic == "" {
		stateTopic = s.cfg.Group + ".headcount-state"
	}
	if s.cfg.BucketTopic != "" {
		// A member of a group that counts together: the buckets'
		// counters keep the state; frames go to the partition of
		// their bucket.
		stateTopic = ""
		opts = append(opts, kgo.RecordPartitioner(routed{manual: s.cfg.BucketTopic}))
	}
	base, err := s.cfg.Opts()
	if err != nil {
		return err
	}
	txn := &Txn{src: s, stateTopic: stateTopic, group: s.cfg.Group}
	opts = append(base, append(opts, txn.sessionOpts(id)...)...)
	if s.cfg.BucketTopic != "" {
		// The packed frames are mostly 64-bit hashes, which do not
		// compress: lz4 would only cost CPU on both sides (measured:
		// 0.4 CPU-s for 3 M frames).
		opts = append(opts, kgo.ProducerBatchCompression(kgo.NoCompression()))
	}
	sess, err := kgo.NewGroupTransactSession(opts...)
	if err != nil {
		return fmt.Errorf("kafka: transactional session: %w", err)
	}
	txn.sess = sess
	tctx, cancel := context.WithTimeout(ctx, s.cfg.connectTimeout())
	defer cancel()
	if stateTopic != "" {
		if _, err := EnsureTopic(tctx, sess.Client(), Topic{Name: stateTopic, Partitions: 1, Compact: true}); err != nil {
			sess.Close()
			return fmt.Errorf("kafka: state topic: %w", err)
		}
	}
	if err := sess.Begin(); err != nil {
		sess.Close()
		return fmt.Errorf("kafka: begin transaction: %w", err)
	}
	s.cl = sess.Client()
	s.txn = txn
	s.resumed = make(chan struct{}, 1)
	return nil
}

// txnTimeout bounds an open transaction of a dead member.
const txnTimeout = 10 * time.Second

// transactionalID is the configured id, or one unique to this member: with
// an instance id, the same across its restarts (a restarted member fences
// the open transaction of the one it replaces at once); without, a new one
// per process (two members of a group must never share one, or they fence
// each other; a killed member's transaction is then aborted by the broker
// after txnTimeout).
func (c *SourceConfig) transactionalID() string {
	switch {
	case c.TransactionalID != "":
		return c.TransactionalID
	case c.InstanceID != "":
		return "headcount-" + c.Group + "-" + c.InstanceID
	}
	return fmt.Sprintf("headcount-%s-%x", c.Group, rand.Uint64())
}

// commitInterval is how often an exactly-once source or stage commits.
func (c *SourceConfig) commitInterval() time.Duration {
	if c.CommitInterval <= 0 {
		return DefaultTxnInterval
	}
	return c.CommitInterval
}

// Txn is the transaction of an ExactlyOnce source (nil otherwise): the
// pipeline's Checkpoint, and the client the sinks produce through.
func (s *Source) Txn() *Txn { return s.txn }

// Barriers says whether the source sends barriers: ExactlyOnce ones do.
func (s *Source) Barriers() bool { return s.txn != nil }

// RequestBarrier asks for a barrier as soon as possible (a graceful stop
// commits what was applied) and reports whether one will come: only
// ExactlyOnce sources send barriers.
func (s *Source) RequestBarrier() bool {
	if s.txn == nil || !s.restored.Load() {
		return false // nothing applied yet: nothing to commit
	}
	s.barrierq.Store(true)
	return true
}

// resume lets the fetch loop poll again after a barrier.
func (s *Source) resume() {
	select {
	case s.resumed <- struct{}{}:
	default:
	}
}

// barrierDue says whether fetchLoop should send a barrier now, and how long
// it may poll before one is due.
func (s *Source) barrierDue(last time.Time) (bool, time.Duration) {
	if s.txn == nil {
		return false, 0
	}
	if !s.restored.Load() {
		// Wake up soon: the assignment comes inside a poll that an idle
		// input would not end, and the state is read after it.
		return false, 100 * time.Millisecond
	}
	every := s.cfg.commitInterval()
	left := every - time.Since(last)
	return left <= 0 || s.barrierq.Swap(false), max(left, time.Millisecond)
}

// barrier sends a barrier after every batch polled so far and waits until
// the pipeline has committed at it (Txn.Save calls resume). Polling is
// paused meanwhile: franz-go allows no poll while a transaction ends.
func (s *Source) barrier(ctx context.Context, send func(polled) bool) bool {
	if !send(polled{batches: append(s.endedBatches(), &source.Batch{Barrier: true})}) {
		return false
	}
	select {
	case <-s.resumed:
		return true
	case <-ctx.Done():
		return false
	}
}

// restoreState reads the group's last committed state once the group has
// assigned this member its partitions, and queues it for the pipeline
// before any frame. The partitions keep the dense ids they had when the
// state was saved. A state of partitions that are not all this member's
// is an error: until members can merge, one member counts them all.
func (s *Source) restoreState(ctx context.Context) error {
	s.restored.Store(true)
	if s.txn.stateTopic == "" {
		s.queue = append(s.queue, &source.Batch{State: []byte{}})
		return nil
	}
	rctx, cancel := context.WithTimeout(ctx, s.cfg.connectTimeout())
	defer cancel()
	payload, gen, err := readState(rctx, &s.cfg.Config, s.txn.stateTopic, s.cfg.Group)
	if err != nil {
		return err
	}
	s.txn.gen = gen
	state := []byte{} // none: the pipeline starts empty
	if payload != nil {
		names, st, err := decodePayload(payload)
		if err != nil {
			return err
		}
		s.mu.Lock()
		var missing []string
		for _, n := range names {
			if !s.assigned[n] {
				missing = append(missing, describeTP(n.topic, n.partition))
			}
		}
		s.mu.Unlock()
		if len(missing) > 0 {
			return fmt.Errorf("kafka: group %s: the committed state covers %s, which another member holds; an exactly-once run needs every partition in one member", s.cfg.Group, missing)
		}
		for _, n := range names {
			s.id(n)
		}
		state = st
	}
	s.queue = append(s.queue, &source.Batch{State: state})
	s.cfg.logger().Info("kafka: state restored", "group", s.cfg.Group, "bytes", len(state), "generation", gen)
	return nil
}

// partitionNames are the partitions in the order of their dense ids.
func (s *Source) partitionNames() []topicPartition {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.names)
}

// readyToRestore says whether the group has assigned this member its
// partitions: some, or with --until-end every one (the state then covers
// them all).
func (s *Source) readyToRestore() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.assigned) == 0 {
		return false
	}
	return s.whole == nil || len(s.missing()) == 0
}

// routed partitions the records of topic manual by their Partition field
// (frames go to the partition of their bucket) and every other topic by
// key, as Kafka's Java client does (results, dead letters).
type routed struct{ manual string }

func (r routed) ForTopic(t string) kgo.TopicPartitioner {
	if t == r.manual {
		return kgo.ManualPartitioner().ForTopic(t)
	}
	return kgo.StickyKeyPartitioner(nil).ForTopic(t)
}

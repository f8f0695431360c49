// Fetch-ahead: the goroutine that polls franz-go one fetch ahead of Next and
// cuts each partition of a fetch into batches. Apart because it is the one
// part of the Source with a goroutine and the hot path of Kafka input; what
// it consults (the end offsets, the assignment, the marks, the ids) lives in
// the other source_*.go files.

package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/headcount/headcount/internal/source"
)

// Batch limits: a fetch of one partition can hold up to
// FetchMaxPartitionBytes; cutting it keeps the pipeline's parse workers busy
// in parallel instead of giving one worker a giant batch.
const (
	maxBatchFrames = 4096
	maxBatchBytes  = 1 << 20
)

// polled is what one poll gave: batches, or the end (io.EOF or an error).
type polled struct {
	batches []*source.Batch
	err     error
}

// fetchLoop polls ahead of Next, one poll in hand and one in the channel.
//
// franz-go sends a broker its next fetch request only once the previous
// response has been polled. Polled only when the pipeline asked for more,
// fetching (broker read, transfer, decompression) and counting would take
// turns; polled from here, the next fetch is on its way while the pipeline
// parses this one.
func (s *Source) fetchLoop(ctx context.Context) {
	defer close(s.loopDone)
	defer close(s.polls)
	send := func(p polled) bool {
		select {
		case s.polls <- p:
			return true
		case <-ctx.Done():
			return false
		}
	}
	cutShort := s.cutShort(ctx)
	lastBarrier := time.Now()
	for {
		due, pollFor := s.barrierDue(lastBarrier)
		if due {
			if !s.barrier(ctx, send) {
				return
			}
			lastBarrier = time.Now()
			continue
		}
		wake, err := s.untilEndStep(ctx)
		if err != nil {
			send(polled{err: err}) // io.EOF: the end
			return
		}
		if pollFor > 0 && (wake == 0 || pollFor < wake) {
			wake = pollFor // the next transaction's commit
		}
		pctx, cancel := ctx, context.CancelFunc(func() {})
		if !s.ended() {
			pctx = cutShort
		}
		if wake > 0 {
			pctx, cancel = context.WithTimeout(pctx, wake)
		}
		fs := s.cl.PollFetches(pctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err := s.check(fs); err != nil {
			send(polled{err: err})
			return
		}
		s.queue = nil // the previous poll's slice belongs to Next now
		if err := s.afterPoll(ctx); err != nil {
			send(polled{err: err})
			return
		}
		fs.EachPartition(s.cut)
		s.noteEnds()
		s.interleave()
		if len(s.queue) > 0 && !send(polled{batches: s.queue}) {
			return
		}
	}
}

// cutShort returns ctx, done early when the group finishes (Finished): a
// poll under way then returns, and the member ends without waiting for the
// poll's timeout. Polls that begin after it use ctx, so that a source that
// cannot end yet (its state is not restored) does not spin.
func (s *Source) cutShort(ctx context.Context) context.Context {
	if s.cfg.Finished == nil {
		return ctx
	}
	cctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-s.cfg.Finished:
			cancel()
		case <-ctx.Done():
		}
	}()
	return cctx
}

// untilEndStep is the fetch loop's --until-end bookkeeping before a poll:
// io.EOF once the input is at its end, another error that ends the loop,
// else how long the poll may wait (0: no bound of its own).
func (s *Source) untilEndStep(ctx context.Context) (wake time.Duration, err error) {
	if s.until == nil {
		return 0, nil
	}
	if s.whole != nil {
		if err := s.checkWhole(ctx); err != nil {
			return 0, err
		}
	}
	if s.cfg.BucketTopic != "" {
		if err := s.reopenTargets(ctx); err != nil {
			return 0, err
		}
	}
	// An exactly-once source ends only after it restored its state: the
	// windows still open in it are flushed at the end.
	if s.ended() && (s.txn == nil || s.restored.Load()) {
		if s.whole != nil {
			s.whole.ended.Store(true)
		}
		return 0, io.EOF
	}
	// Wake up now and then: a rebalance can make this member done
	// without any record arriving; a member of a group that counts
	// together waits for the group's done.
	if s.cfg.BucketTopic != "" {
		return 20 * time.Millisecond, nil
	}
	return time.Second, nil
}

// afterPoll is what a poll may have changed before its records are cut:
// the state to restore once assigned, the assignment itself.
func (s *Source) afterPoll(ctx context.Context) error {
	if s.txn != nil && !s.restored.Load() && s.readyToRestore() {
		if err := s.restoreState(ctx); err != nil {
			return err
		}
	}
	if err := s.checkAlone(); err != nil {
		return err
	}
	if s.announceChanges() && s.until != nil && s.cfg.BucketTopic != "" {
		s.recheck.Store(true) // partitions already read to the end show no record
	}
	return nil
}

// noteEnds sends the ends of partitions just read to their end to the
// buckets at once, not at the next interval (BucketTopic).
func (s *Source) noteEnds() {
	if !s.endedNew {
		return
	}
	s.endedNew, s.endsDue = false, true
	s.barrierq.Store(true)
	s.cfg.logger().Info("kafka: partitions read to their end", "group", s.cfg.Group, "partitions", s.describeEnded())
}

// interleave reorders the batches of one poll round-robin by partition: the
// first batch of each partition, then the second of each, and so on.
//
// The pipeline's watermark is the minimum over the partitions it has seen,
// and a poll can hold seconds or hours of event time per partition (a
// backfill). Handed out partition after partition, the first partition's
// frames would move the watermark past windows that the next partitions
// still have frames for, and those would be dropped as too late.
// Interleaved, the partitions' event times advance together.
func (s *Source) interleave() {
	if len(s.queue) < 2 {
		return
	}
	s.byPart = s.byPart[:0]
	pos := map[int32]int{}
	for _, b := range s.queue {
		i, ok := pos[b.Partition]
		if !ok {
			i = len(s.byPart)
			pos[b.Partition] = i
			s.byPart = append(s.byPart, nil)
		}
		s.byPart[i] = append(s.byPart[i], b)
	}
	if len(s.byPart) == 1 {
		s.byPart[0] = nil
		return
	}
	s.queue = s.queue[:0]
	for round := 0; ; round++ {
		added := false
		for _, bs := range s.byPart {
			if round < len(bs) {
				s.queue = append(s.queue, bs[round])
				added = true
			}
		}
		if !added {
			break
		}
	}
	for i := range s.byPart {
		clear(s.byPart[i])
		s.byPart[i] = s.byPart[i][:0]
	}
}

// check turns fatal fetch errors into an error and logs the others, which
// franz-go retries by itself (a broker restarting, a leader moving).
func (s *Source) check(fs kgo.Fetches) error {
	var fatal error
	fs.EachError(func(topic string, p int32, err error) {
		var ke *kerr.Error
		switch {
		case fatal != nil:
		case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
			// Our own poll timeout (Next checks the caller's ctx).
		case errors.Is(err, kgo.ErrClientClosed):
			fatal = errors.New("kafka source: client closed")
		case errors.As(err, &ke) && !ke.Retriable && topic == "":
			// Not a partition's: the group's (a session timeout the
			// broker does not allow, an instance id in use).
			fatal = fmt.Errorf("kafka: group %s: %w", s.cfg.Group, err)
		case errors.As(err, &ke) && !ke.Retriable:
			fatal = fmt.Errorf("kafka: consume %s: %w", describeTP(topic, p), err)
		default:
			s.cfg.logger().Warn("kafka: fetch error, retrying", "topic", topic, "partition", p, "err", err)
		}
	})
	return fatal
}

// cut turns one partition of a fetch into batches. Each batch recycles its
// records when the pipeline releases it (pool.go); records that go into no
// batch are recycled here.
func (s *Source) cut(p kgo.FetchTopicPartition) {
	s.fetchedEnd(&p)
	recs := p.Records
	if len(recs) == 0 {
		return
	}
	key := topicPartition{p.Topic, p.Partition}
	last := recs[len(recs)-1].Offset // read before any record is recycled
	end := int64(math.MaxInt64)
	var tgt *target
	if s.until != nil {
		if tgt = s.until[key]; tgt == nil || tgt.done {
			// Done, or created after start: not part of this run.
			s.pause(key)
			recycle(recs)
			return
		}
		end = tgt.end
	}
	id := s.id(key)
	for len(recs) > 0 && recs[0].Offset < end {
		b, n := s.batch(id, key, recs, end)
		if b == nil {
			recycle(recs[:n])
		} else {
			held := recs[:n:n]
			b.OnRelease(func(*source.Batch) { recycle(held) })
			s.frames.Add(uint64(len(b.Frames)))
			s.queue = append(s.queue, b)
		}
		recs = recs[n:]
	}
	// Done when the end offset was read, or a record at or past it shows
	// that the offsets before it are gone (compacted away).
	if tgt != nil && (len(recs) > 0 || last+1 >= end) {
		tgt.done, s.endedNew = true, s.cfg.BucketTopic != ""
		s.pause(key) // records past the end would only be dropped
	}
	recycle(recs)
}

// batch cuts the next batch off recs (records before end) and returns it
// and how many records it took; no batch (nil) when they are only
// transaction markers and no group needs their offsets.
func (s *Source) batch(id int32, key topicPartition, recs []*kgo.Record, end int64) (*source.Batch, int) {
	n := 0
	size := 0
	for n < len(recs) && n < maxBatchFrames && size < maxBatchBytes && recs[n].Offset < end {
		size += len(recs[n].Value)
		n++
	}
	b := &source.Batch{
		Partition: id,
		Frames:    make([][]byte, 0, n),
		Offsets:   make([]int64, 0, n),
		Offset:    recs[0].Offset,
	}
	for _, r := range recs[:n] {
		if r.Attrs.IsControl() {
			continue // a transaction marker: an offset, not a frame
		}
		if s.cfg.MaxFrame > 0 && len(r.Value) > s.cfg.MaxFrame {
			b.AddOversize(r.Offset, r.Value)
			continue
		}
		b.Frames = append(b.Frames, r.Value)
		b.Offsets = append(b.Offsets, r.Offset)
	}
	last := recs[n-1]
	if len(b.Offsets) > 0 {
		b.Offset = b.Offsets[0]
	}
	if s.group {
		// An all-marker batch is still handed on, empty, so that its
		// offsets are committed in order after the batches before it.
		s.mu.Lock()
		s.marks[b] = mark{key, kgo.EpochOffset{Epoch: last.LeaderEpoch, Offset: last.Offset + 1}}
		s.mu.Unlock()
	} else if len(b.Frames) == 0 && len(b.Oversize) == 0 {
		return nil, n
	}
	return b, n
}

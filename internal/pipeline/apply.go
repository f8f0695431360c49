package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/headcount/headcount/internal/eventtime"
	"github.com/headcount/headcount/internal/frame"
	"github.com/headcount/headcount/internal/watermark"
)

// applier is the one goroutine that feeds parsed batches, in input order,
// to the event-time core and writes what comes out: results to the sink,
// rejected frames to the dead letters, then the batch's offsets.
type applier struct {
	cfg    Config
	sink   Sink
	core   Counter
	commit Committer
	// next is the input position after the last frame applied (a line
	// number for files): where a resumed run starts reading again.
	next int64
	// saved is the state last committed at a barrier of a transactional
	// source: an aborted commit goes back to it.
	saved    []byte
	scratch  []byte // the state being saved
	stopping bool   // Config.Stop came: stop at the next barrier
	// txn says the source is transactional: it sent its committed state,
	// and the run's last results commit with a last save.
	txn bool
	// deadPending says dead letters were written since the last flush.
	deadPending bool
	stats       Stats
	// reading is set by the reader while it waits for the input, and
	// order holds the batches read and not yet applied: both empty means
	// caught up (Stats.Waiting).
	reading *atomic.Bool
	order   chan *job
}

func newApplier(cfg Config, sink Sink) *applier {
	a := &applier{cfg: cfg, sink: sink, reading: new(atomic.Bool)}
	a.core = a.newCounter()
	a.stats.Watermark = watermark.None
	if cfg.Checkpoint != nil {
		a.stats.Checkpoint.Last = cfg.Now() // the age of "no save yet" counts from the start
	}
	return a
}

// apply runs batch j through the core and writes its output. Results and
// dead letters are written before the batch is marked: a committed offset
// never runs ahead of the output it caused.
func (a *applier) apply(ctx context.Context, j *job) error {
	defer j.done()
	b := j.b
	// A file's batch cut by its worker: its lines follow those applied.
	b.Rebase(a.next)
	a.stats.Frames += uint64(len(b.Frames) + len(b.Oversize))
	a.stats.Bytes += j.bytes
	if a.cfg.Stage != Full {
		return nil
	}
	a.core.Tick(a.cfg.Now())
	switch {
	case b.State != nil:
		// The source's last committed state (empty: none yet), before any
		// of its frames.
		a.saved = append(a.saved[:0], b.State...)
		a.txn = true
		return a.rollback()
	case b.Barrier:
		return a.barrier(ctx)
	}
	switch {
	case b.Revoked:
		a.core.Revoke(b.Partition)
	case b.Ended:
		if e, ok := a.core.(ender); ok {
			e.End(b.Partition, b.Offset)
		}
	default:
		a.core.Assign(b.Partition)
	}
	for _, o := range b.Oversize {
		if err := a.reject(b.Partition, o.Offset, o.Head, frame.TooLarge); err != nil {
			return err
		}
	}
	for _, r := range j.rejects {
		if err := a.reject(b.Partition, b.OffsetOf(int(r.idx)), b.Frames[r.idx], r.r); err != nil {
			return err
		}
	}
	for _, r := range j.recs {
		a.core.Offer(b.Partition, eventtime.Frame{TS: r.ts, Hash: r.h, Offset: b.OffsetOf(int(r.idx)), Bytes: b.Frames[r.idx]})
	}
	if n := len(b.Frames); n > 0 {
		a.next = max(a.next, b.OffsetOf(n-1)+1)
	}
	for _, o := range b.Oversize {
		a.next = max(a.next, o.Offset+1)
	}
	if err := a.flush(ctx); err != nil {
		return err
	}
	if a.commit != nil {
		a.commit.MarkApplied(b)
	}
	return nil
}

// end finishes the run when the reader stopped with readErr.
func (a *applier) end(ctx context.Context, readErr error) (Stats, error) {
	if !errors.Is(readErr, io.EOF) {
		if ctx.Err() != nil && errors.Is(readErr, ctx.Err()) {
			return a.stats, readErr
		}
		// The input broke (a damaged file): what came before is published,
		// the windows still open as provisional results (final:false),
		// since the rest of their frames is missing.
		a.core.Early()
		if err := a.flush(context.WithoutCancel(ctx)); err != nil {
			return a.stats, err
		}
		return a.stats, fmt.Errorf("read input: %w", readErr)
	}
	a.stats.Ended = true
	a.core.Finish()
	ctx = context.WithoutCancel(ctx)
	if err := a.flush(ctx); err != nil {
		return a.stats, err
	}
	// A transactional source commits the last results with the state.
	if a.txn {
		if _, err := a.checkpoint(ctx); err != nil {
			return a.stats, err
		}
	}
	return a.stats, nil
}

// flush writes what the core produced: dead letters (flushed), then results.
func (a *applier) flush(ctx context.Context) error {
	if s, ok := a.core.(shipper); ok {
		if err := s.Ship(ctx); err != nil {
			return err
		}
	}
	for _, r := range a.core.Rejects() {
		if err := a.reject(r.Partition, r.Offset, r.Frame, r.Reason); err != nil {
			return err
		}
	}
	if a.deadPending {
		a.deadPending = false
		if f, ok := a.cfg.Dead.(deadFlusher); ok {
			if err := f.Flush(ctx); err != nil {
				return fmt.Errorf("dead letters: %w", err)
			}
		}
	}
	rs := a.core.Results()
	var err error
	if len(rs) > 0 {
		if err = a.sink.Write(ctx, rs); err != nil {
			err = fmt.Errorf("write results: %w", err)
		} else {
			a.stats.Results += uint64(len(rs))
			a.stats.Corrections += CountCorrections(rs)
		}
	}
	a.core.Clear()
	a.stats.Stats = a.core.Stats()
	a.stats.Waiting = a.reading.Load() && len(a.order) == 0
	if a.cfg.Observe != nil {
		a.cfg.Observe(&a.stats)
	}
	return err
}

// barrier commits the state of everything applied so far with its output
// (a transactional source: results, dead letters, state and offsets in one
// transaction). An aborted commit rolls the core back to the last committed
// state; the source reads again from the offsets committed with it.
func (a *applier) barrier(ctx context.Context) error {
	state, err := a.checkpoint(ctx)
	switch {
	case errors.Is(err, ErrAborted):
		return a.rollback()
	case err != nil:
		return err
	}
	a.saved = append(a.saved[:0], state...)
	if a.stopping {
		return ErrStopped
	}
	return nil
}

// rollback goes back to the state last committed (the start if none).
func (a *applier) rollback() error {
	if len(a.saved) == 0 {
		a.reset()
		return nil
	}
	return a.restore(a.saved)
}

// checkpoint saves the state, once everything produced so far is written.
// It returns the state saved, valid until the next call.
func (a *applier) checkpoint(ctx context.Context) ([]byte, error) {
	if a.cfg.Checkpoint == nil {
		return nil, nil
	}
	if err := a.flush(ctx); err != nil {
		return nil, err
	}
	state, err := a.state(a.scratch[:0])
	if err == nil {
		a.scratch = state
		begin := a.cfg.Now()
		if err = a.cfg.Checkpoint.Save(ctx, state); err == nil {
			end := a.cfg.Now()
			a.stats.Checkpoint.Saved(end, end.Sub(begin))
		}
	}
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	return state, nil
}

// reject counts a frame that is not counted and sends it to the dead
// letters.
func (a *applier) reject(partition int32, off int64, f []byte, r frame.Reason) error {
	a.stats.Rejected[r]++
	if a.cfg.Dead == nil {
		return nil
	}
	a.deadPending = true
	if err := a.cfg.Dead.Reject(partition, off, f, r); err != nil {
		return fmt.Errorf("dead letters: %w", err)
	}
	return nil
}

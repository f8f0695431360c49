package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"

	"github.com/headcount/headcount/internal/eventtime"
	"github.com/headcount/headcount/internal/frame"
	"github.com/headcount/headcount/internal/result"
	"github.com/headcount/headcount/internal/source"
	"github.com/headcount/headcount/internal/watermark"
)

// Sink receives results in the order they are produced.
type Sink interface {
	Write(ctx context.Context, rs []result.Result) error
}

// DeadLetters receives every frame that is not counted, with its reason.
type DeadLetters interface {
	Reject(partition int32, offset int64, frame []byte, r frame.Reason) error
}

// deadFlusher is dead letters that buffer: they are flushed before the
// offsets of their frames are marked.
type deadFlusher interface {
	Flush(ctx context.Context) error
}

// Committer is a source that records how far its input has been applied
// (Kafka consumer offsets).
type Committer interface {
	MarkApplied(b *source.Batch)
}

// Run reads src to its end (or until ctx is done), counts, and writes
// results to sink. At the end of input every open window is flushed final.
func Run(ctx context.Context, src source.Source, sink Sink, cfg Config) (Stats, error) {
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Tick <= 0 {
		cfg.Tick = DefaultTick
	}
	// Deferred in this order so that cancel runs first: the reader then
	// stops, closes the jobs, and the workers can finish.
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// order hands batches to the applier in input order; jobs hands the
	// same batches to whichever worker is free. Its capacity bounds the
	// batches in flight.
	depth := 2 * cfg.Workers
	order, jobs := make(chan *job, depth), make(chan *job, depth)
	var readErr error
	go func() { readErr = read(ctx, src, order, jobs) }()
	for range cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work(ctx, cfg, jobs)
		}()
	}

	a := newApplier(cfg, sink)
	a.commit, _ = src.(Committer)
	tick := time.NewTicker(cfg.Tick)
	defer tick.Stop()
	var early <-chan time.Time
	if cfg.Early > 0 {
		et := time.NewTicker(cfg.Early)
		defer et.Stop()
		early = et.C
	}
	for {
		var err error
		select {
		case <-ctx.Done():
			return a.stats, ctx.Err()
		case j, ok := <-order:
			if !ok {
				return a.end(ctx, readErr)
			}
			select {
			case <-j.ready:
				err = a.apply(ctx, j)
			case <-ctx.Done():
				return a.stats, ctx.Err()
			}
		case <-tick.C:
			a.core.Tick(cfg.Now())
			err = a.flush(ctx)
		case <-early:
			a.core.Early()
			err = a.flush(ctx)
		}
		if err != nil {
			return a.stats, err
		}
	}
}

// read feeds batches to the applier (order) and to the workers (jobs).
func read(ctx context.Context, src source.Source, order, jobs chan<- *job) error {
	defer close(jobs)
	defer close(order)
	for {
		b, err := src.Next(ctx)
		if err != nil {
			return err
		}
		j := jobPool.Get().(*job)
		j.b = b
		select {
		case order <- j:
		case <-ctx.Done():
			b.Release()
			return ctx.Err()
		}
		select {
		case jobs <- j: // never blocks for long: order bounds the jobs in flight
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// work parses batches until jobs closes or ctx is done. It does not wait
// for the reader on cancel: the reader may sit in a Read of an idle stdin.
func work(ctx context.Context, cfg Config, jobs <-chan *job) {
	p := frame.Parser{TrustProducer: cfg.TrustProducer}
	for {
		var j *job
		var ok bool
		select {
		case j, ok = <-jobs:
		case <-ctx.Done():
			return
		}
		if !ok {
			return
		}
		if cfg.Stage == Read {
			j.measure()
		} else {
			j.parse(&p)
		}
		j.ready <- struct{}{}
	}
}

// applier is the one goroutine that feeds parsed batches, in input order,
// to the event-time core and writes what comes out: results to the sink,
// rejected frames to the dead letters, then the batch's offsets.
type applier struct {
	cfg    Config
	sink   Sink
	core   *eventtime.Core
	commit Committer
	// deadPending says dead letters were written since the last flush.
	deadPending bool
	stats       Stats
}

func newApplier(cfg Config, sink Sink) *applier {
	a := &applier{cfg: cfg, sink: sink, core: eventtime.New(cfg.Window, cfg.Watermark)}
	a.stats.Watermark = watermark.None
	return a
}

// apply runs batch j through the core and writes its output. Results and
// dead letters are written before the batch is marked: a committed offset
// never runs ahead of the output it caused.
func (a *applier) apply(ctx context.Context, j *job) error {
	defer j.done()
	b := j.b
	a.stats.Frames += uint64(len(b.Frames) + len(b.Oversize))
	a.stats.Bytes += j.bytes
	if a.cfg.Stage != Full {
		return nil
	}
	a.core.Tick(a.cfg.Now())
	if b.Revoked {
		a.core.Revoke(b.Partition)
	} else {
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
		return a.stats, fmt.Errorf("read input: %w", readErr)
	}
	a.core.Finish()
	return a.stats, a.flush(context.WithoutCancel(ctx))
}

// flush writes what the core produced: dead letters (flushed), then results.
func (a *applier) flush(ctx context.Context) error {
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
		}
	}
	a.core.Clear()
	a.stats.Stats = a.core.Stats()
	if a.cfg.Observe != nil {
		a.cfg.Observe(&a.stats)
	}
	return err
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

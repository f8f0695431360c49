package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/headcount/headcount/internal/frame"
	"github.com/headcount/headcount/internal/result"
	"github.com/headcount/headcount/internal/source"
	"github.com/headcount/headcount/internal/watermark"
	"github.com/headcount/headcount/internal/window"
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

// Config sets up a run.
type Config struct {
	Workers   int // parse goroutines; default GOMAXPROCS
	Window    window.Config
	Watermark watermark.Config
	// Early is the interval of provisional results for open windows; 0
	// turns them off.
	Early time.Duration
	// Tick is how often, without input, the watermark is re-evaluated
	// (idle partitions); default 1s.
	Tick time.Duration
	// Dead receives rejected frames; nil drops them after counting.
	Dead DeadLetters
	// Now is the wall clock; default time.Now.
	Now func() time.Time
	// TrustProducer makes the parsers stop reading a frame once uid and ts
	// are found (frame.Parser.TrustProducer).
	TrustProducer bool
	// Stage stops frames early, for benchmarks; default Full.
	Stage Stage
	// Observe, if set, receives the stats after every batch and at the end,
	// from the pipeline's goroutine (metrics copy them).
	Observe func(*Stats)
}

// Stage says how far frames go: the bench command runs each to show where
// the time goes.
type Stage uint8

const (
	Full  Stage = iota // parse, window, count, output
	Read               // read batches only
	Parse              // read and parse, nothing after
)

// Stats summarizes a run.
type Stats struct {
	Frames  uint64 // frames read, counted or not
	Bytes   uint64 // bytes of frames read
	Counted uint64 // frames counted in at least one window
	// PartlyLate counts frames counted in some windows but too late for a
	// shorter, already closed one (they are not dead-lettered: they count).
	PartlyLate uint64
	Rejected   [frame.NumReasons]uint64
	Results    uint64 // results written

	// State at the last batch, for metrics.
	Watermark   int64 // unix seconds; watermark.None before any frame
	OpenWindows int
	KeptWindows int
	WindowBytes int // memory of the open and kept windows' counters
	Held        int // frames held by the jump guard
}

// RejectedTotal is the number of frames not counted.
func (s *Stats) RejectedTotal() uint64 {
	var n uint64
	for _, v := range s.Rejected {
		n += v
	}
	return n
}

// rec is one parsed frame that counts.
type rec struct {
	ts  int64
	h   uint64
	idx uint32 // index in the batch, for dead letters
}

type reject struct {
	idx uint32
	r   frame.Reason
}

// job carries one batch through the workers and back to the applier.
type job struct {
	b       *source.Batch
	recs    []rec
	rejects []reject
	bytes   uint64
	ready   chan struct{}
}

// Run reads src to its end (or until ctx is done), counts, and writes
// results to sink. At the end of input every open window is flushed final.
func Run(ctx context.Context, src source.Source, sink Sink, cfg Config) (Stats, error) {
	workers := cfg.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Tick <= 0 {
		cfg.Tick = time.Second
	}
	// Deferred in this order so that cancel runs first: the reader then
	// stops, closes the jobs, and the workers can finish.
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	depth := 2 * workers
	jobs := make(chan *job, depth)
	order := make(chan *job, depth)
	pool := sync.Pool{New: func() any { return &job{ready: make(chan struct{}, 1)} }}

	var readErr error
	go func() {
		defer close(jobs)
		defer close(order)
		for {
			b, err := src.Next(ctx)
			if err != nil {
				readErr = err
				return
			}
			j := pool.Get().(*job)
			j.b = b
			select {
			case order <- j:
			case <-ctx.Done():
				b.Release()
				readErr = ctx.Err()
				return
			}
			select {
			case jobs <- j: // never blocks for long: order bounds the jobs in flight
			case <-ctx.Done():
				readErr = ctx.Err()
				return
			}
		}
	}()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := frame.Parser{TrustProducer: cfg.TrustProducer}
			for {
				// Workers stop on cancel without waiting for the reader,
				// which may sit in a Read of an idle stdin.
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
					j.recs, j.rejects, j.bytes = j.recs[:0], j.rejects[:0], 0
					for _, f := range j.b.Frames {
						j.bytes += uint64(len(f)) + 1
					}
				} else {
					parse(&p, j)
				}
				j.ready <- struct{}{}
			}
		}()
	}

	a := newApplier(cfg)
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
		select {
		case <-ctx.Done():
			return a.stats, ctx.Err()
		case j, ok := <-order:
			if !ok {
				goto end
			}
			select {
			case <-j.ready:
			case <-ctx.Done():
				return a.stats, ctx.Err()
			}
			var err error
			if cfg.Stage == Full {
				err = a.apply(j)
			} else {
				a.stats.Frames += uint64(len(j.b.Frames))
				a.stats.Bytes += j.bytes
				a.stats.Counted += uint64(len(j.recs))
			}
			// Results and dead letters are written before the batch is
			// marked: a committed offset never runs ahead of the output
			// it caused.
			if err == nil {
				err = a.flush(ctx, sink)
			}
			if err == nil {
				err = a.flushDead(ctx)
			}
			if err == nil && a.commit != nil && cfg.Stage == Full {
				a.commit.MarkApplied(j.b)
			}
			j.b.Release()
			j.b = nil
			pool.Put(j)
			if err != nil {
				cancel()
				return a.stats, err
			}
		case <-tick.C:
			a.closeDue()
			if err := a.flush(ctx, sink); err != nil {
				return a.stats, err
			}
		case <-early:
			a.out = a.eng.Early(a.out)
			if err := a.flush(ctx, sink); err != nil {
				return a.stats, err
			}
		}
	}
end:
	if !errors.Is(readErr, io.EOF) {
		if ctx.Err() != nil && errors.Is(readErr, ctx.Err()) {
			return a.stats, readErr
		}
		return a.stats, fmt.Errorf("read input: %w", readErr)
	}
	if err := a.finish(); err != nil {
		return a.stats, err
	}
	if err := a.flush(context.WithoutCancel(ctx), sink); err != nil {
		return a.stats, err
	}
	return a.stats, a.flushDead(context.WithoutCancel(ctx))
}

// parse extracts uid and ts from every frame of the job's batch.
func parse(p *frame.Parser, j *job) {
	j.recs = j.recs[:0]
	j.rejects = j.rejects[:0]
	j.bytes = 0
	for i, f := range j.b.Frames {
		j.bytes += uint64(len(f)) + 1
		uid, ts, r := p.Parse(f)
		if r != frame.OK {
			j.rejects = append(j.rejects, reject{uint32(i), r})
			continue
		}
		j.recs = append(j.recs, rec{ts: ts, h: xxhash.Sum64(uid), idx: uint32(i)})
	}
}

// applier owns the event-time state: the watermark and the windows.
type applier struct {
	cfg Config
	now time.Time // wall clock at the current batch
	// deadPending says dead letters were written since the last flush.
	deadPending bool
	lastWM      int64
	wm          *watermark.Tracker
	eng         *window.Engine
	commit      Committer
	out         []result.Result
	stats       Stats
}

func newApplier(cfg Config) *applier {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &applier{
		lastWM: watermark.None,
		cfg:    cfg,
		wm:     watermark.New(cfg.Watermark),
		eng:    window.NewEngine(cfg.Window),
	}
}

func (a *applier) apply(j *job) error {
	b := j.b
	if b.Revoked {
		// Held frames of a revoked partition can no longer be confirmed.
		if err := a.finishPartition(b.Partition, a.wm.Partition(b.Partition, a.now)); err != nil {
			return err
		}
		a.wm.Remove(b.Partition)
		return nil
	}
	a.stats.Frames += uint64(len(b.Frames) + len(b.Oversize))
	a.stats.Bytes += j.bytes
	for _, o := range b.Oversize {
		if err := a.reject(b.Partition, o.Offset, o.Head, frame.TooLarge); err != nil {
			return err
		}
	}
	for _, r := range j.rejects {
		if err := a.reject(b.Partition, offset(b, r.idx), b.Frames[r.idx], r.r); err != nil {
			return err
		}
	}
	a.now = a.cfg.Now()
	part := a.wm.Partition(b.Partition, a.now)
	nowSec := a.now.Unix()
	for _, r := range j.recs {
		switch part.Admit(r.ts, nowSec) {
		case watermark.Bogus:
			if err := a.reject(b.Partition, offset(b, r.idx), b.Frames[r.idx], frame.BogusTS); err != nil {
				return err
			}
		case watermark.Hold:
			// Possibly a bit flip: keep a copy aside until the guard decides.
			f := append([]byte(nil), b.Frames[r.idx]...)
			released, refuted := part.Hold(watermark.Held{TS: r.ts, Hash: r.h, Offset: offset(b, r.idx), Frame: f})
			for _, h := range released {
				if err := a.count(part, b.Partition, h.TS, h.Hash, h.Offset, h.Frame); err != nil {
					return err
				}
			}
			if err := a.rejectHeld(b.Partition, refuted); err != nil {
				return err
			}
		default:
			if err := a.count(part, b.Partition, r.ts, r.h, offset(b, r.idx), b.Frames[r.idx]); err != nil {
				return err
			}
			if err := a.rejectHeld(b.Partition, part.Refuted()); err != nil {
				return err
			}
		}
	}
	return nil
}

// count applies an accepted frame: it may advance the watermark (closing
// windows before the frame is counted), then it is added to its windows.
func (a *applier) count(part *watermark.Partition, partition int32, ts int64, h uint64, off int64, f []byte) error {
	part.Seen(a.now)
	if part.Observe(ts) {
		a.advance(a.wm.Watermark(a.now))
	}
	counted, late := a.eng.Add(ts, h)
	switch {
	case counted == 0:
		return a.reject(partition, off, f, frame.TooLate)
	case late > 0:
		a.stats.PartlyLate++
	}
	a.stats.Counted++
	return nil
}

// rejectHeld rejects held frames the guard refuted.
func (a *applier) rejectHeld(partition int32, hs []watermark.Held) error {
	for _, h := range hs {
		if err := a.reject(partition, h.Offset, h.Frame, frame.BogusTS); err != nil {
			return err
		}
	}
	return nil
}

// offset is the input position of frame idx of b.
func offset(b *source.Batch, idx uint32) int64 {
	if b.Offsets != nil {
		return b.Offsets[idx]
	}
	return b.Offset + int64(idx)
}

// closeDue closes what the watermark allows now (idle partitions).
func (a *applier) closeDue() {
	a.now = a.cfg.Now()
	a.advance(a.wm.Watermark(a.now))
}

// advance handles a new watermark w. Corrections (late frames counted in
// kept windows) are published when the watermark moves, before the
// windows it closes: at most one revision per window per second of event
// time, at the same points whatever the batching, so the results are
// deterministic.
func (a *applier) advance(w int64) {
	if w <= a.lastWM {
		return
	}
	a.lastWM = w
	a.out = a.eng.Corrections(a.out)
	// Close also records how far windows have closed (too-late decisions)
	// and evicts kept windows, so it runs even when no window ends yet.
	a.out = a.eng.Close(w, a.out)
}

// reject counts a frame that is not counted and sends it to the dead
// letters.
func (a *applier) reject(partition int32, off int64, f []byte, r frame.Reason) error {
	a.stats.Rejected[r]++
	if a.cfg.Dead == nil {
		return nil
	}
	a.deadPending = true
	return a.cfg.Dead.Reject(partition, off, f, r)
}

// flushDead flushes buffered dead letters, if any were written.
func (a *applier) flushDead(ctx context.Context) error {
	if !a.deadPending {
		return nil
	}
	a.deadPending = false
	if f, ok := a.cfg.Dead.(deadFlusher); ok {
		if err := f.Flush(ctx); err != nil {
			return fmt.Errorf("dead letters: %w", err)
		}
	}
	return nil
}

// finish rejects what the guard still holds and flushes every window (end
// of input).
func (a *applier) finish() error {
	var err error
	a.wm.Partitions(func(id int32, p *watermark.Partition) {
		if e := a.finishPartition(id, p); e != nil && err == nil {
			err = e
		}
	})
	a.out = a.eng.Flush(a.out)
	return err
}

// finishPartition settles what the jump guard of a partition still holds
// when its input ends or it is revoked.
func (a *applier) finishPartition(id int32, p *watermark.Partition) error {
	released, refuted := p.Finish()
	for _, h := range released {
		if err := a.count(p, id, h.TS, h.Hash, h.Offset, h.Frame); err != nil {
			return err
		}
	}
	return a.rejectHeld(id, refuted)
}

func (a *applier) flush(ctx context.Context, sink Sink) error {
	if a.cfg.Observe != nil {
		a.stats.Watermark = a.lastWM
		a.stats.OpenWindows, a.stats.KeptWindows = a.eng.Open()
		a.stats.WindowBytes = a.eng.MemBytes()
		a.stats.Held = a.wm.Held()
		defer a.cfg.Observe(&a.stats)
	}
	if len(a.out) == 0 {
		return nil
	}
	err := sink.Write(ctx, a.out)
	a.stats.Results += uint64(len(a.out))
	a.out = a.out[:0]
	if err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	return nil
}

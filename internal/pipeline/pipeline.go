package pipeline

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/headcount/headcount/internal/frame"
	"github.com/headcount/headcount/internal/result"
	"github.com/headcount/headcount/internal/source"
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

// barrierer is a source that sends barriers (Batch.Barrier): a stop waits
// for the next one, so that what is saved is consistent with the source's
// position.
type barrierer interface {
	Barriers() bool // whether it sends any
	RequestBarrier() bool
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
	// stops, closes the jobs, and the workers can finish. The reader is
	// waited for a while too, so that the caller does not close the input
	// under a read; but not for ever: a read of an idle stdin never ends.
	var wg sync.WaitGroup
	defer wg.Wait()
	readerDone := make(chan struct{})
	defer func() {
		select {
		case <-readerDone:
		case <-time.After(readerGrace):
		}
	}()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	a := newApplier(cfg, sink)
	a.commit, _ = src.(Committer)
	if cfg.Resume != nil {
		a.core.Tick(cfg.Now())
		if err := a.restore(cfg.Resume); err != nil {
			return a.stats, err
		}
		src = source.Skip(src, a.next)
	}
	// order hands batches to the applier in input order; jobs hands the
	// same batches to whichever worker is free. Its capacity bounds the
	// batches in flight.
	depth := 2 * cfg.Workers
	order, jobs := make(chan *job, depth), make(chan *job, depth)
	a.order = order
	var readErr error
	go func() {
		defer close(readerDone)
		// readErr is set before order closes: the applier reads it then.
		defer close(jobs)
		defer close(order)
		readErr = read(ctx, src, order, jobs, a.reading)
	}()
	for range cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work(ctx, cfg, jobs)
		}()
	}

	tick := time.NewTicker(cfg.Tick)
	defer tick.Stop()
	early, stopEarly := ticker(cfg.Early)
	defer stopEarly()
	var ckpt <-chan time.Time
	if b, ok := src.(barrierer); ok && b.Barriers() {
		// Saved at its barriers only: between two, it may have handed
		// out batches not yet applied.
	} else if cfg.Checkpoint != nil {
		var stopCkpt func()
		ckpt, stopCkpt = ticker(cfg.CheckpointEvery)
		defer stopCkpt()
	}
	stop := cfg.Stop
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
		case <-ckpt:
			_, err = a.checkpoint(ctx)
		case <-stop:
			stop = nil
			if b, ok := src.(barrierer); ok && b.RequestBarrier() {
				a.stopping = true // at the barrier
				break
			}
			if _, err = a.checkpoint(ctx); err == nil {
				err = ErrStopped
			}
		}
		if err != nil {
			return a.stats, err
		}
	}
}

// readerGrace is how long Run waits for its reader to stop when it returns.
const readerGrace = 100 * time.Millisecond

// ticker ticks every d; a nil channel (never) for d <= 0.
func ticker(d time.Duration) (<-chan time.Time, func()) {
	if d <= 0 {
		return nil, func() {}
	}
	t := time.NewTicker(d)
	return t.C, t.Stop
}

// read feeds batches to the applier (order) and to the workers (jobs);
// waiting is set while it waits for the input.
func read(ctx context.Context, src source.Source, order, jobs chan<- *job, waiting *atomic.Bool) error {
	for {
		waiting.Store(true)
		b, err := src.Next(ctx)
		waiting.Store(false)
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

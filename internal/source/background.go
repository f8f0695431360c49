package source

import (
	"context"
	"sync"
)

// Background reads src on a goroutine of its own, one batch ahead, so that
// Next returns as soon as its context is done even while src sits in a read
// that no context can interrupt (an idle stdin or pipe). The goroutine ends
// when src ends or fails, or after Close once its read returns. Close does
// not close src.
func Background(src Source) Source {
	return &background{src: src, out: make(chan next)}
}

type next struct {
	b   *Batch
	err error
}

type background struct {
	src   Source
	out   chan next
	start sync.Once
	stop  context.CancelFunc
}

func (g *background) run(ctx context.Context) {
	for {
		b, err := g.src.Next(ctx)
		select {
		case g.out <- next{b, err}:
		case <-ctx.Done():
			if b != nil {
				b.Release()
			}
			return
		}
		if err != nil {
			return
		}
	}
}

// Next returns the next batch of src, or ctx's error as soon as ctx is done.
func (g *background) Next(ctx context.Context) (*Batch, error) {
	g.start.Do(func() {
		var bg context.Context
		bg, g.stop = context.WithCancel(context.Background())
		go g.run(bg)
	})
	select {
	case n := <-g.out:
		return n.b, n.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Close stops reading ahead. It does not close src, which stays its
// owner's.
func (g *background) Close() error {
	if g.stop != nil {
		g.stop()
	}
	return nil
}

package dashboard

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/headcount/headcount/internal/frame"
	"github.com/headcount/headcount/internal/pipeline"
)

// TeeDead returns dead letters that record each rejected frame on the
// board, then pass it to next (nil: none, the frame is dropped as before).
func (b *Board) TeeDead(next pipeline.DeadLetters) pipeline.DeadLetters {
	return deadTee{b: b, next: next}
}

type deadTee struct {
	b    *Board
	next pipeline.DeadLetters
}

func (d deadTee) Reject(partition int32, off int64, f []byte, r frame.Reason) error {
	d.b.rejected(partition, off, f, r)
	if d.next == nil {
		return nil
	}
	return d.next.Reject(partition, off, f, r)
}

// flusher is dead letters that buffer (the pipeline flushes them before it
// marks their offsets): the tee must pass the flush on.
type flusher interface {
	Flush(ctx context.Context) error
}

func (d deadTee) Flush(ctx context.Context) error {
	if f, ok := d.next.(flusher); ok {
		return f.Flush(ctx)
	}
	return nil
}

func (b *Board) rejected(partition int32, off int64, f []byte, r frame.Reason) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.dead++
	b.recentDead = keepLast(append(b.recentDead, DeadLetter{
		At: b.now().Unix(), Partition: partition, Offset: off, Reason: r.String(),
		Bytes: len(f), Excerpt: excerpt(f, ExcerptLen),
	}), KeepDead)
}

// excerpt is the start of a frame as valid UTF-8 text (invalid bytes as
// U+FFFD), at most n bytes of it, "…" when cut.
func excerpt(f []byte, n int) string {
	cut := len(f) > n
	if cut {
		f = f[:n]
	}
	s := strings.ToValidUTF8(string(f), "\uFFFD")
	if cut {
		// Not inside a character that was valid before the cut.
		s = strings.TrimRightFunc(s, func(r rune) bool { return r == utf8.RuneError }) + "…"
	}
	return s
}

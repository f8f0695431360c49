package source

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
)

// Line sizes. A frame is ~2 KB; a chunk holds hundreds so a batch is worth
// its hand-off, and the frame limit bounds memory on garbage input.
const (
	DefaultChunk    = 1 << 20
	DefaultMaxFrame = 1 << 20
	// DefaultReleaseEvery is how much of a mapped file is read past
	// between releases of its pages: large enough that the madvise calls
	// cost nothing measurable, small against a file of gigabytes.
	DefaultReleaseEvery = 16 << 20
)

// Lines splits a stream of JSON lines into batches. It reads in chunks and
// cuts each chunk at its last newline; the partial line at the end moves to
// the next chunk.
type Lines struct {
	r        io.Reader
	fill     bool
	maxFrame int
	chunk    int
	// releaseEvery and deferCut are for a Mapped source built from the
	// same options.
	releaseEvery int
	deferCut     bool

	carry    []byte // partial line from the previous read
	skipping bool   // inside a line longer than maxFrame
	lineNo   int64
	eof      bool
	err      error // the read error, returned once the lines before it are
	pool     sync.Pool
}

// LinesOption configures Lines.
type LinesOption func(*Lines)

// Fill makes each read fill the chunk before the batch is cut, for files;
// without it a batch is cut after each read, so a live pipe's lines are
// seen as soon as they arrive.
func Fill(on bool) LinesOption { return func(l *Lines) { l.fill = on } }

// MaxFrame sets the longest accepted line; longer lines are counted in
// Batch.Oversize and skipped.
func MaxFrame(n int) LinesOption { return func(l *Lines) { l.maxFrame = n } }

// ChunkSize sets the read size.
func ChunkSize(n int) LinesOption { return func(l *Lines) { l.chunk = n } }

// ReleaseEvery makes a mapped file (MapFile) give back the pages that every
// batch handed out has been released past, each time n more bytes are
// behind; 0 never does. Lines, which reuses its buffers, ignores it.
func ReleaseEvery(n int) LinesOption { return func(l *Lines) { l.releaseEvery = n } }

// DeferCut makes a mapped file (MapFile) hand out its batches uncut, for a
// user that cuts them itself (Batch.Cut, Batch.Rebase) where it is cheaper:
// the pipeline, whose parse workers cut in parallel. Lines, which must find
// line ends to fill its buffers anyway, ignores it.
func DeferCut(on bool) LinesOption { return func(l *Lines) { l.deferCut = on } }

// NewLines reads JSON lines from r.
func NewLines(r io.Reader, opts ...LinesOption) *Lines {
	l := &Lines{r: r, maxFrame: DefaultMaxFrame, chunk: DefaultChunk, releaseEvery: DefaultReleaseEvery}
	for _, o := range opts {
		o(l)
	}
	if l.chunk < 64 {
		l.chunk = 64
	}
	return l
}

type linesBatch struct {
	Batch
	buf []byte
}

func (l *Lines) get() *linesBatch {
	if v := l.pool.Get(); v != nil {
		lb := v.(*linesBatch)
		lb.Frames = lb.Frames[:0]
		lb.Offsets = nil
		lb.Oversize = lb.Oversize[:0]
		return lb
	}
	lb := &linesBatch{buf: make([]byte, 0, l.chunk)}
	lb.release = func(*Batch) { l.pool.Put(lb) }
	return lb
}

// Next returns the next batch of complete lines. After a read error it
// returns the complete lines read before it, then the error (a partial line
// at the error is dropped: it is not known to be whole).
func (l *Lines) Next(ctx context.Context) (*Batch, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if l.err != nil {
			return nil, l.err
		}
		if l.eof {
			if len(l.carry) == 0 {
				return nil, io.EOF
			}
		}
		lb := l.get()
		buf := append(lb.buf[:0], l.carry...)
		l.carry = l.carry[:0]
		if !l.eof {
			var err error
			buf, err = l.read(buf)
			switch {
			case errors.Is(err, io.EOF):
				l.eof = true
			case err != nil:
				l.err = err
			}
		}
		lb.buf = buf
		b := l.cut(lb)
		if l.err != nil {
			l.carry = l.carry[:0]
			var ce *CompressedError
			if errors.As(l.err, &ce) {
				ce.Frames = l.lineNo
			}
		}
		if len(b.Frames) == 0 && len(b.Oversize) == 0 {
			l.pool.Put(lb)
			continue
		}
		return b, nil
	}
}

// read appends input to buf: one read, or until the chunk is full with Fill.
func (l *Lines) read(buf []byte) ([]byte, error) {
	if cap(buf)-len(buf) < l.chunk/2 {
		nb := make([]byte, len(buf), max(2*cap(buf), len(buf)+l.chunk))
		copy(nb, buf)
		buf = nb
	}
	for {
		n, err := l.r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil {
			return buf, err
		}
		if !l.fill || len(buf) == cap(buf) {
			return buf, nil
		}
	}
}

// cut splits lb.buf into lines; the tail without a newline becomes the carry
// unless the input has ended.
func (l *Lines) cut(lb *linesBatch) *Batch {
	buf := lb.buf
	b := &lb.Batch
	b.Offset = l.lineNo
	for len(buf) > 0 {
		nl := bytes.IndexByte(buf, '\n')
		if nl < 0 {
			if !l.eof {
				break
			}
			nl = len(buf) // last line without a newline
		}
		line := buf[:nl]
		if nl < len(buf) {
			buf = buf[nl+1:]
		} else {
			buf = buf[nl:]
		}
		if l.skipping {
			l.skipping = false // the rest of an over-long line
			continue
		}
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		if len(line) > l.maxFrame {
			l.tooLarge(b, line)
			continue
		}
		b.addLine(line, l.lineNo)
		l.lineNo++
	}
	switch {
	case len(buf) > l.maxFrame+1:
		// An over-long line still open (+1: a final \r would not count):
		// drop what we have and skip the rest of it up to its newline.
		if !l.skipping {
			l.tooLarge(b, buf)
			l.skipping = true
		}
	case len(buf) > 0 && l.skipping:
		// still inside the dropped line
	case len(buf) > 0:
		l.carry = append(l.carry, buf...)
	}
	return b
}

func (l *Lines) tooLarge(b *Batch, line []byte) {
	b.AddOversize(l.lineNo, line)
	l.lineNo++
}

// Close does nothing: the caller owns the reader.
func (l *Lines) Close() error { return nil }

package source

import (
	"bytes"
	"context"
)

// Batch is a run of frames from one partition, in input order. Frames alias
// buffers owned by the source: call Release when done with them.
type Batch struct {
	Partition int32
	Frames    [][]byte
	// Offset is the position of the first frame: a Kafka offset, or the
	// line number (from 0) in a file.
	Offset int64
	// Offsets holds each frame's Kafka offset when they are not contiguous
	// (nil for files).
	Offsets []int64
	// Oversize lists the frames the source dropped for exceeding its size
	// limit; they are not in Frames.
	Oversize []Oversize
	// Revoked says the partition is no longer this consumer's: it must
	// stop holding the watermark back. Such a batch has no frames. (A
	// batch without frames and not revoked announces a new partition,
	// which holds the watermark back until it has data or is idle.)
	Revoked bool
	// Ended, in a frameless batch, says the partition was read to its
	// end (Offset) by a member of a group counting --until-end.
	Ended bool
	// Barrier is a frameless batch from a transactional source: every
	// batch before it has been handed out and, once the pipeline applies
	// it, applied. The pipeline then saves its state (Config.Checkpoint),
	// which commits the transaction, before the source reads on.
	Barrier bool
	// State, in a frameless batch, is the pipeline state to go on from
	// (a transactional source's last committed one), before any frame.
	State []byte
	// Lines is how many input lines a batch from a file covers once cut
	// (its frames and its oversize lines); 0 for Kafka.
	Lines int64
	// Relative says the batch's positions count from 0 at its first line,
	// not from the input's start: it was cut after the reader let it go
	// (Cut), and only its user, which takes batches in input order, knows
	// how many lines came before it (Rebase).
	Relative bool

	// raw is a run of whole lines not yet cut into Frames (see Cut).
	raw      []byte
	maxFrame int
	release  func(*Batch)
}

// Cut splits a batch that a reader handed out uncut (a mapped file's) into
// its frames and oversize lines, with positions relative to its first line,
// calling each (if not nil) with every frame as soon as it is cut. A reader
// that cuts its own lines on one goroutine costs a pass over every byte
// there; the pipeline's workers cut in parallel instead, each line just
// before they parse it, while it is in cache. line, if not nil, finds the
// first line's end in rest (its length, without the newline; the frame is
// that without a final '\r', too large beyond max): the pipeline's parser,
// which finds it while it parses. A batch already cut only has each called
// with its frames.
func (b *Batch) Cut(line func(rest []byte, max int) int, each func(i int, frame []byte)) {
	raw := b.raw
	if raw == nil {
		if each != nil {
			for i, f := range b.Frames {
				each(i, f)
			}
		}
		return
	}
	b.raw = nil
	b.Offset, b.Relative = 0, true
	var n int64
	for len(raw) > 0 {
		var end int
		if line != nil {
			end = line(raw, b.maxFrame)
		} else if end = bytes.IndexByte(raw, '\n'); end < 0 {
			end = len(raw)
		}
		f := raw[:end]
		raw = raw[min(end+1, len(raw)):]
		if k := len(f); k > 0 && f[k-1] == '\r' {
			f = f[:k-1]
		}
		if len(f) > b.maxFrame {
			b.AddOversize(n, f)
		} else {
			b.addLine(f, n)
			if each != nil {
				each(len(b.Frames)-1, f)
			}
		}
		n++
	}
	b.Lines = n
}

// Rebase makes a relative batch's positions absolute, base being the
// number of lines before its first.
func (b *Batch) Rebase(base int64) {
	if !b.Relative {
		return
	}
	b.Relative = false
	b.Offset += base
	for i := range b.Offsets {
		b.Offsets[i] += base
	}
	for i := range b.Oversize {
		b.Oversize[i].Offset += base
	}
}

// OffsetOf is the input position of frame i.
func (b *Batch) OffsetOf(i int) int64 {
	if b.Offsets != nil {
		return b.Offsets[i]
	}
	return b.Offset + int64(i)
}

// Release hands the batch's buffers back to its source.
func (b *Batch) Release() {
	if b.release != nil {
		b.release(b)
	}
}

// OnRelease sets what Release does: a source whose frames alias buffers
// that it reuses takes them back then. The frames must not be used after
// Release.
func (b *Batch) OnRelease(f func(*Batch)) { b.release = f }

// Source yields batches until it returns io.EOF.
type Source interface {
	// Next blocks until a batch is ready, the input ends (io.EOF) or ctx
	// is done.
	Next(ctx context.Context) (*Batch, error)
	Close() error
}

// addLine appends frame, the line numbered line, keeping Offsets only once
// the numbering has a gap (a line dropped as too large).
func (b *Batch) addLine(frame []byte, line int64) {
	if b.Offsets != nil {
		b.Offsets = append(b.Offsets, line)
	} else if line != b.Offset+int64(len(b.Frames)) {
		for i := range b.Frames {
			b.Offsets = append(b.Offsets, b.Offset+int64(i))
		}
		b.Offsets = append(b.Offsets, line)
	}
	b.Frames = append(b.Frames, frame)
}

// Oversize is a frame dropped for exceeding the source's size limit.
type Oversize struct {
	Offset int64  // its line number, or its Kafka offset
	Head   []byte // its first bytes (at most OversizeHead), for the dead letters
}

// OversizeHead is how much of a dropped frame is kept.
const OversizeHead = 256

// AddOversize records a frame dropped as too large.
func (b *Batch) AddOversize(offset int64, frame []byte) {
	b.Oversize = append(b.Oversize, Oversize{Offset: offset, Head: append([]byte(nil), frame[:min(len(frame), OversizeHead)]...)})
}

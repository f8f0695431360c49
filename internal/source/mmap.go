package source

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// Mapped serves the lines of a regular, uncompressed file from a read-only
// memory mapping: batches point into the page cache, so the file is never
// copied. Profiles of a 2 GB run showed the read copy as a fifth of the CPU
// time.
//
// Pages that every batch handed out is past are given back (MADV_DONTNEED)
// every ReleaseEvery bytes: mapped pages count in the process's resident
// size, so a 2 GB file would show as 2 GB in top, though it is only page
// cache, which keeps them. A page given back and touched again is read
// from the page cache (or the file) again: the mapping is shared and
// read-only, so the bytes are the same either way.
type Mapped struct {
	// mu keeps Close from unmapping while Next reads the mapping: a run
	// that stops does not wait for its reader.
	mu       sync.Mutex
	data     []byte
	pos      int
	lineNo   int64 // lines handed out, when the batches are cut here
	deferCut bool
	chunk    int
	maxFrame int
	pool     sync.Pool

	releaseEvery int
	released     int                // data[:released] has been given back
	advise       func([]byte) error // gives pages back; a test's hook
	// outMu guards out apart from mu, so a batch released by the
	// pipeline's applier never waits for Next's scan of a chunk.
	outMu sync.Mutex
	out   []*mappedBatch // handed out and not yet recycled, in input order
}

// mappedBatch is a batch with the place of its first byte in the mapping.
type mappedBatch struct {
	Batch
	start int
	done  bool // released by its user
}

var pageSize = os.Getpagesize()

// MapFile maps f. It fails for files that cannot be mapped (pipes, empty
// files); the caller then falls back to Lines.
func MapFile(f *os.File, opts ...LinesOption) (*Mapped, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("map %s: %w", f.Name(), err)
	}
	size := st.Size()
	if !st.Mode().IsRegular() || size == 0 || size != int64(int(size)) {
		return nil, fmt.Errorf("map %s: not a non-empty regular file", f.Name())
	}
	data, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("map %s: %w", f.Name(), err)
	}
	_ = unix.Madvise(data, unix.MADV_SEQUENTIAL)
	// Huge pages: a file not yet in the page cache is then read ahead into
	// 2 MiB folios, which this run and every later one map and give back
	// many pages at a time. Without it the mapping's faults read it in 4 KiB
	// pieces, and every later run of the file paid for them: measured on a
	// 2 GB file, its first run 1.1-1.3 s instead of 2.8-2.9 (in 4 runs of 7)
	// and the next ones 0.05-0.11 s of system time instead of 0.29-0.39.
	// An error only means the kernel has no transparent huge pages.
	_ = unix.Madvise(data, unix.MADV_HUGEPAGE)
	l := NewLines(nil, opts...) // for the options' values
	return &Mapped{
		data: data, chunk: l.chunk, maxFrame: l.maxFrame, releaseEvery: l.releaseEvery, deferCut: l.deferCut,
		// DONTNEED, not COLD or PAGEOUT: COLD leaves the pages mapped
		// (resident size unchanged) and PAGEOUT also drops them from the
		// page cache, so the next run of the same file reads the disk
		// (measured: docs/BENCHMARKS.md).
		advise: func(b []byte) error { return unix.Madvise(b, unix.MADV_DONTNEED) },
	}, nil
}

// Next returns the next run of about one chunk of whole lines. With
// DeferCut it is uncut: its user cuts it (Batch.Cut) and places it after
// the lines before it (Batch.Rebase).
func (m *Mapped) Next(ctx context.Context) (*Batch, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.data == nil {
		return nil, errors.New("read input: the mapping is closed")
	}
	if m.pos >= len(m.data) {
		return nil, io.EOF
	}
	mb := m.get()
	b := &mb.Batch
	// The chunk ends at the first newline after its size: one short search
	// here; the lines are cut by the batch's user (Batch.Cut).
	end := len(m.data)
	if m.pos+m.chunk < end {
		if nl := bytes.IndexByte(m.data[m.pos+m.chunk:], '\n'); nl >= 0 {
			end = m.pos + m.chunk + nl + 1
		}
	}
	b.raw, b.maxFrame, b.Relative = m.data[m.pos:end], m.maxFrame, true
	m.pos = end
	if !m.deferCut {
		b.Cut(nil, nil)
		b.Rebase(m.lineNo)
		m.lineNo += b.Lines
	}
	m.giveBack()
	return b, nil
}

// get returns an empty batch starting at pos, counted as out.
func (m *Mapped) get() *mappedBatch {
	mb, _ := m.pool.Get().(*mappedBatch)
	if mb == nil {
		mb = &mappedBatch{}
		mb.release = func(*Batch) { m.recycle(mb) }
	}
	mb.Frames, mb.Offsets, mb.Oversize, mb.Offset, mb.Lines = mb.Frames[:0], nil, mb.Oversize[:0], 0, 0
	mb.start, mb.done = m.pos, false
	m.outMu.Lock()
	m.out = append(m.out, mb)
	m.outMu.Unlock()
	return mb
}

// recycle marks mb released. Batches are reused only in input order, so
// the first one out always says how far every reader is.
func (m *Mapped) recycle(mb *mappedBatch) {
	m.outMu.Lock()
	defer m.outMu.Unlock()
	mb.done = true
	k := 0
	for k < len(m.out) && m.out[k].done {
		m.pool.Put(m.out[k])
		k++
	}
	n := copy(m.out, m.out[k:])
	clear(m.out[n:])
	m.out = m.out[:n]
}

// giveBack gives back the whole pages before the first batch still out
// (all read when none is), once releaseEvery bytes of them are waiting.
// Called with mu held.
func (m *Mapped) giveBack() {
	if m.releaseEvery <= 0 {
		return
	}
	m.outMu.Lock()
	front := m.pos
	if len(m.out) > 0 {
		front = m.out[0].start
	}
	m.outMu.Unlock()
	end := front &^ (pageSize - 1)
	if end-m.released < m.releaseEvery {
		return
	}
	// A failure only leaves the pages resident; not worth failing the run
	// for, nor trying again at every batch.
	_ = m.advise(m.data[m.released:end])
	m.released = end
}

// Close unmaps the file. No batch may be used after it.
func (m *Mapped) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.data == nil {
		return nil
	}
	err := unix.Munmap(m.data)
	m.data = nil
	return err
}

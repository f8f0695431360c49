package source

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
)

// Mapped serves the lines of a regular, uncompressed file from a read-only
// memory mapping: batches point into the page cache, so the file is never
// copied. Profiles of a 2 GB run showed the read copy as a fifth of the CPU
// time.
type Mapped struct {
	// mu keeps Close from unmapping while Next reads the mapping: a run
	// that stops does not wait for its reader.
	mu       sync.Mutex
	data     []byte
	pos      int
	lineNo   int64
	chunk    int
	maxFrame int
	pool     sync.Pool
}

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
	data, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("map %s: %w", f.Name(), err)
	}
	_ = syscall.Madvise(data, syscall.MADV_SEQUENTIAL)
	l := NewLines(nil, opts...) // for the options' values
	return &Mapped{data: data, chunk: l.chunk, maxFrame: l.maxFrame}, nil
}

// Next returns the next run of about one chunk of whole lines.
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
	b, _ := m.pool.Get().(*Batch)
	if b == nil {
		b = &Batch{}
		b.release = func(b *Batch) { m.pool.Put(b) }
	}
	b.Frames, b.Offsets, b.Oversize = b.Frames[:0], nil, b.Oversize[:0]
	b.Offset = m.lineNo
	end := min(m.pos+m.chunk, len(m.data))
	for m.pos < end {
		rest := m.data[m.pos:]
		nl := bytes.IndexByte(rest, '\n')
		line := rest
		if nl >= 0 {
			line = rest[:nl]
			m.pos += nl + 1
		} else {
			m.pos = len(m.data)
		}
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		m.lineNo++
		if len(line) > m.maxFrame {
			b.AddOversize(m.lineNo-1, line)
			continue
		}
		b.addLine(line, m.lineNo-1)
	}
	return b, nil
}

// Close unmaps the file. No batch may be used after it.
func (m *Mapped) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.data == nil {
		return nil
	}
	err := syscall.Munmap(m.data)
	m.data = nil
	return err
}

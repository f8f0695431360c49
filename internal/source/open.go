package source

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Input is an opened file or stdin, decompressed when needed.
type Input struct {
	io.Reader
	// Regular is true for a regular file, which can be read in full
	// chunks; false for a pipe or terminal, which is read as it arrives.
	Regular bool
	// file is the plain (uncompressed) regular file, which can be mapped.
	file *os.File
	// closers close the decompressor and the file; a pipe's decompressor
	// is made on the first read, maybe while another goroutine closes.
	mu      sync.Mutex
	closers []io.Closer
}

// Close closes the decompressor and the file.
func (in *Input) Close() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	var first error
	for i := len(in.closers) - 1; i >= 0; i-- {
		if err := in.closers[i].Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// Open opens path ("-" for stdin). Compression is detected from the first
// bytes, not the name, so a compressed stream on stdin works too. A regular
// file is checked at once; a pipe or terminal on its first read, so that
// opening an idle stdin never blocks (the caller's reads can be cancelled,
// its open cannot).
func Open(path string) (*Input, error) {
	var f *os.File
	in := &Input{}
	if path == "-" {
		f = os.Stdin
	} else {
		var err error
		if f, err = os.Open(path); err != nil {
			return nil, fmt.Errorf("open input: %w", err)
		}
		in.closers = append(in.closers, f)
	}
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		in.Regular = true
	}
	name := path
	if path == "-" {
		name = "stdin"
	}
	if !in.Regular {
		in.Reader = &lazy{open: func() (io.Reader, error) { return in.decode(f, name, false) }}
		return in, nil
	}
	r, err := in.decode(f, name, path != "-")
	if err != nil {
		in.Close()
		return nil, err
	}
	in.Reader = r
	return in, nil
}

// decode sniffs the first bytes of f and returns a reader of its plain
// content, decompressing gzip and zstd. mappable says a plain f may be
// memory-mapped.
func (in *Input) decode(f *os.File, name string, mappable bool) (io.Reader, error) {
	head := make([]byte, 4)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, fmt.Errorf("read input %s: %w", name, err)
	}
	r := io.MultiReader(bytes.NewReader(head[:n]), f)
	var format string
	var open func(io.Reader) (io.Reader, io.Closer, error)
	switch {
	case bytes.HasPrefix(head, gzipMagic):
		format = "gzip"
		open = func(r io.Reader) (io.Reader, io.Closer, error) {
			zr, err := gzip.NewReader(r)
			return zr, zr, err
		}
	case bytes.HasPrefix(head, zstdMagic):
		format = "zstd"
		open = func(r io.Reader) (io.Reader, io.Closer, error) {
			zr, err := zstd.NewReader(r)
			if err != nil {
				return nil, nil, err
			}
			return zr, closerFunc(func() error { zr.Close(); return nil }), nil
		}
	default:
		if mappable {
			in.file = f
		}
		return r, nil
	}
	d := &decoded{in: &counting{r: r}, format: format, name: name}
	zr, c, err := open(d.in)
	if err != nil {
		return nil, d.wrap(err)
	}
	in.mu.Lock()
	in.closers = append(in.closers, c)
	in.mu.Unlock()
	d.r = zr
	return d, nil
}

// lazy opens its reader on the first Read.
type lazy struct {
	open func() (io.Reader, error)
	r    io.Reader
	err  error
}

func (l *lazy) Read(p []byte) (int, error) {
	if l.r == nil && l.err == nil {
		if l.r, l.err = l.open(); l.r == nil && l.err == nil {
			l.err = io.EOF
		}
	}
	if l.err != nil {
		return 0, l.err
	}
	return l.r.Read(p)
}

// NewSource returns the fastest source for in: a memory mapping of a plain
// regular file, else a line reader (filling whole chunks for regular files,
// reading what arrives for pipes).
func NewSource(in *Input, opts ...LinesOption) Source {
	if in.file != nil {
		if m, err := MapFile(in.file, opts...); err == nil {
			in.closers = append(in.closers, m)
			return m
		}
	}
	return NewLines(in, append([]LinesOption{Fill(in.Regular)}, opts...)...)
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// PlainSize returns the size of path when it is an uncompressed regular
// file (for an ETA), else 0.
func PlainSize(path string) int64 {
	if path == "-" {
		return 0
	}
	in, err := Open(path)
	if err != nil {
		return 0
	}
	defer in.Close()
	if in.file == nil {
		return 0
	}
	st, err := in.file.Stat()
	if err != nil {
		return 0
	}
	return st.Size()
}

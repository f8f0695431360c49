package source

import (
	"bytes"
	"fmt"
	"io"
	"os"

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
	file    *os.File
	closers []io.Closer
}

// Close closes the decompressor and the file.
func (in *Input) Close() error {
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
// bytes, not the name, so a compressed stream on stdin works too.
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
	head := make([]byte, 4)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		in.Close()
		return nil, fmt.Errorf("read input %s: %w", path, err)
	}
	head = head[:n]
	r := io.MultiReader(bytes.NewReader(head), f)
	name := path
	if path == "-" {
		name = "stdin"
	}
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
		in.Reader = r
		if in.Regular && path != "-" {
			in.file = f
		}
		return in, nil
	}
	d := &decoded{in: &counting{r: r}, format: format, name: name}
	zr, c, err := open(d.in)
	if err != nil {
		in.Close()
		return nil, d.wrap(err)
	}
	in.closers = append(in.closers, c)
	d.r, in.Reader = zr, d
	return in, nil
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

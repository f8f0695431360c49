package source

import (
	"errors"
	"fmt"
	"io"
)

// CompressedError is a compressed input that ends early or is damaged. The
// lines decompressed before it have been passed on: Lines returns them
// before the error.
type CompressedError struct {
	Format string // "gzip" or "zstd"
	Name   string // the file, or "stdin"
	// Truncated: the input ended inside the compressed data. Otherwise
	// the data is damaged (or, rarely, damaged near its end and reported
	// as truncated: a decoder cannot always tell the two apart).
	Truncated bool
	// Compressed is how many bytes of the input the decoder had read.
	// Decoders read ahead, so damage lies at or before this position.
	Compressed int64
	// Plain is how many bytes were decompressed before the error.
	Plain int64
	// Frames is how many lines were passed on before the error; set by
	// Lines, the line reader of compressed inputs.
	Frames int64
	Err    error // the decoder's error
}

func (e *CompressedError) Error() string {
	if e.Truncated {
		return fmt.Sprintf("truncated %s input %s: it ends inside the compressed data, after %d bytes (%d frames in the %d bytes decompressed before it): %v",
			e.Format, e.Name, e.Compressed, e.Frames, e.Plain, e.Err)
	}
	return fmt.Sprintf("corrupt %s input %s: damaged compressed data at or before byte %d (%d frames in the %d bytes decompressed before it): %v",
		e.Format, e.Name, e.Compressed, e.Frames, e.Plain, e.Err)
}

func (e *CompressedError) Unwrap() error { return e.Err }

// counting counts the bytes read from a compressed input and remembers how
// its reads ended, so a decoder's error can be told apart from the file's.
type counting struct {
	r   io.Reader
	n   int64
	eof bool  // the input ended
	err error // the input failed (not io.EOF)
}

func (c *counting) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	switch {
	case err == io.EOF:
		c.eof = true
	case err != nil && c.err == nil:
		c.err = err
	}
	return n, err
}

// decoded is a decompressor's output. It turns the decoder's errors into a
// CompressedError with the position, and the input's own read errors into
// an error that names the input.
type decoded struct {
	r      io.Reader // the decompressor
	in     *counting // what it reads
	format string
	name   string
	plain  int64
}

func (d *decoded) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	d.plain += int64(n)
	if err == nil || err == io.EOF {
		return n, err
	}
	return n, d.wrap(err)
}

// wrap explains an error of the decoder (also from its constructor, which
// reads the header).
func (d *decoded) wrap(err error) error {
	if d.in.err != nil {
		return fmt.Errorf("read %s input %s after %d bytes: %w", d.format, d.name, d.in.n, d.in.err)
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF // a header cut short; io.EOF would read as a clean end
	}
	return &CompressedError{
		Format: d.format, Name: d.name,
		Truncated:  d.in.eof && errors.Is(err, io.ErrUnexpectedEOF),
		Compressed: d.in.n, Plain: d.plain, Err: err,
	}
}

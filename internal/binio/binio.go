package binio

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrShort is reported when the input ends early or a length is
// implausible.
var ErrShort = errors.New("truncated or corrupt input")

// Reader decodes from a byte slice. The zero value reads nothing.
type Reader struct {
	b   []byte
	err error
}

// NewReader reads b.
func NewReader(b []byte) *Reader { return &Reader{b: b} }

// Err is the first error met, or nil.
func (r *Reader) Err() error { return r.err }

// Len is the number of unread bytes.
func (r *Reader) Len() int { return len(r.b) }

// Fail records err (the first one wins) for a decoder's own checks.
func (r *Reader) Fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format, args...)
	}
	r.b = nil
}

func (r *Reader) short() {
	if r.err == nil {
		r.err = ErrShort
	}
	r.b = nil
}

// Uvarint reads an unsigned varint.
func (r *Reader) Uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.short()
		return 0
	}
	r.b = r.b[n:]
	return v
}

// Varint reads a signed varint (zig-zag, as binary.AppendVarint writes).
func (r *Reader) Varint() int64 {
	u := r.Uvarint()
	x := int64(u >> 1)
	if u&1 != 0 {
		x = ^x
	}
	return x
}

// Byte reads one byte.
func (r *Reader) Byte() byte {
	if len(r.b) < 1 {
		r.short()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// Uint64 reads 8 bytes, little-endian.
func (r *Reader) Uint64() uint64 {
	if len(r.b) < 8 {
		r.short()
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

// Bytes reads a length-prefixed (uvarint) byte string. The result aliases
// the input.
func (r *Reader) Bytes() []byte {
	n := r.Uvarint()
	if r.err != nil || n > uint64(len(r.b)) {
		r.short()
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

// Count reads a uvarint count of items each at least minSize bytes long,
// and fails when the rest of the input cannot hold that many: a corrupt
// count never makes the decoder allocate more than its input's size.
func (r *Reader) Count(minSize int) int {
	n := r.Uvarint()
	if r.err != nil || minSize < 1 || n > uint64(len(r.b)/minSize) {
		r.short()
		return 0
	}
	return int(n)
}

// AppendBytes appends a length-prefixed byte string.
func AppendBytes(dst, v []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(v)))
	return append(dst, v...)
}

// Header is the start of every snapshot: a short magic and a version byte.
type Header struct {
	Magic   string
	Version byte
	// Err is wrapped by every error of Open and Finish, so callers can
	// test for their package's "invalid snapshot" error.
	Err error
}

// Append appends the header.
func (h Header) Append(b []byte) []byte {
	b = append(b, h.Magic...)
	return append(b, h.Version)
}

// Open checks the header of data and returns a reader of the rest.
func (h Header) Open(data []byte) (*Reader, error) {
	n := len(h.Magic)
	if len(data) < n+1 || string(data[:n]) != h.Magic {
		return nil, fmt.Errorf("%w: bad magic", h.Err)
	}
	if v := data[n]; v != h.Version {
		return nil, fmt.Errorf("%w: version %d, want %d", h.Err, v, h.Version)
	}
	return NewReader(data[n+1:]), nil
}

// Finish returns the reader's error wrapped in h.Err, or an error if bytes
// are left over.
func (h Header) Finish(r *Reader) error {
	if err := r.Err(); err != nil {
		if errors.Is(err, h.Err) {
			return err
		}
		return fmt.Errorf("%w: %w", h.Err, err)
	}
	if r.Len() != 0 {
		return fmt.Errorf("%w: %d bytes after the end", h.Err, r.Len())
	}
	return nil
}

package lz4frame

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/OneOfOne/xxhash"
	"github.com/pierrec/lz4/v4"
)

// The frame format (lz4_Frame_format.md, version 1.6): magic, FLG, BD,
// [content size], [dictionary id], HC; blocks (size with the stored bit,
// data, [checksum]); end mark; [content checksum].
const (
	magic = 0x184D2204

	flgVersion       = 0xC0
	flgVersion01     = 0x40
	flgIndependent   = 0x20
	flgBlockChecksum = 0x10
	flgContentSize   = 0x08
	flgContentSum    = 0x04
	flgReserved      = 0x02
	flgDictID        = 0x01
	bdReserved       = 0x8F

	storedBit = 1 << 31
)

var (
	// ErrUnsupported is a frame this package leaves to a general decoder.
	ErrUnsupported = errors.New("lz4frame: unsupported frame")
	// ErrCorrupt is a frame that is not valid LZ4 or fails a checksum.
	ErrCorrupt = errors.New("lz4frame: corrupt frame")
	// ErrTooLarge is a frame that decodes to more than the decoder's limit.
	ErrTooLarge = errors.New("lz4frame: frame decodes larger than the limit")
)

// Decoder decodes frames; it is safe for concurrent use.
type Decoder struct {
	max int
	// ratio is the largest decoded/compressed ratio seen lately, in
	// sixteenths: the next frame's output is sized from it, so that
	// blocks decode in place without growing the output.
	ratio atomic.Uint32
}

// NewDecoder returns a Decoder whose outputs are at most max bytes.
func NewDecoder(max int) *Decoder {
	d := &Decoder{max: max}
	d.ratio.Store(4 * 16)
	return d
}

// header is what the frame descriptor says.
type header struct {
	flg      byte
	blockMax int
	size     int64 // content size, -1: not given
}

// parseHeader reads the descriptor at the start of src and returns it and
// the bytes after it.
func parseHeader(src []byte) (header, []byte, error) {
	if len(src) < 7 || binary.LittleEndian.Uint32(src) != magic {
		return header{}, nil, ErrUnsupported // legacy, skippable or not LZ4 at all
	}
	h := header{flg: src[4], size: -1}
	bd := src[5]
	if h.flg&flgVersion != flgVersion01 || h.flg&flgReserved != 0 || bd&bdReserved != 0 {
		return header{}, nil, fmt.Errorf("%w: bad descriptor %#02x %#02x", ErrCorrupt, h.flg, bd)
	}
	if h.flg&flgDictID != 0 || h.flg&flgIndependent == 0 {
		return header{}, nil, ErrUnsupported
	}
	switch bd >> 4 & 7 {
	case 4:
		h.blockMax = 64 << 10
	case 5:
		h.blockMax = 256 << 10
	case 6:
		h.blockMax = 1 << 20
	case 7:
		h.blockMax = 4 << 20
	default:
		return header{}, nil, fmt.Errorf("%w: block size index %d", ErrCorrupt, bd>>4&7)
	}
	n := 6
	if h.flg&flgContentSize != 0 {
		if len(src) < n+9 {
			return header{}, nil, fmt.Errorf("%w: short descriptor", ErrCorrupt)
		}
		size := binary.LittleEndian.Uint64(src[n:])
		h.size = int64(min(size, 1<<62))
		n += 8
	}
	if hc := byte(xxhash.Checksum32(src[4:n]) >> 8); src[n] != hc {
		return header{}, nil, fmt.Errorf("%w: descriptor checksum %#02x, want %#02x", ErrCorrupt, src[n], hc)
	}
	return h, src[n+1:], nil
}

// Decode returns the content of the one frame that src holds. It decodes
// into dst's capacity (from its start) when that looks large enough, else
// into a new buffer; dst is not used after Decode returns an error.
func (d *Decoder) Decode(dst, src []byte) ([]byte, error) {
	h, rest, err := parseHeader(src)
	if err != nil {
		return nil, err
	}
	if h.size > int64(d.max) {
		return nil, ErrTooLarge
	}
	out := dst[:0]
	if g := d.guess(h, len(rest)); cap(out) < g {
		// An eighth more: a buffer that is used again (dst) then fits
		// the next frame that is a little larger than this one.
		out = make([]byte, 0, min(d.max, g+g/8))
	}
	for {
		if len(rest) < 4 {
			return nil, fmt.Errorf("%w: cut short", ErrCorrupt)
		}
		word := binary.LittleEndian.Uint32(rest)
		rest = rest[4:]
		if word == 0 {
			break // the end mark
		}
		var block []byte
		if block, rest, err = h.cut(rest, int(word&^storedBit)); err != nil {
			return nil, err
		}
		if out, err = d.block(out, block, word&storedBit != 0, h.blockMax); err != nil {
			return nil, err
		}
	}
	if out, err = h.finish(out, rest); err != nil {
		return nil, err
	}
	d.learn(len(out), len(src))
	return out, nil
}

// cut takes a block of n bytes and its checksum, if the frame has them,
// off the front of rest.
func (h header) cut(rest []byte, n int) (block, after []byte, err error) {
	if n > h.blockMax || n > len(rest) {
		return nil, nil, fmt.Errorf("%w: block of %d bytes", ErrCorrupt, n)
	}
	block, rest = rest[:n], rest[n:]
	if h.flg&flgBlockChecksum != 0 {
		if len(rest) < 4 {
			return nil, nil, fmt.Errorf("%w: cut short", ErrCorrupt)
		}
		if binary.LittleEndian.Uint32(rest) != xxhash.Checksum32(block) {
			return nil, nil, fmt.Errorf("%w: block checksum", ErrCorrupt)
		}
		rest = rest[4:]
	}
	return block, rest, nil
}

// block appends the decoded block to out.
func (d *Decoder) block(out, block []byte, stored bool, blockMax int) ([]byte, error) {
	if stored {
		if len(out)+len(block) > d.max {
			return nil, ErrTooLarge
		}
		return append(out, block...), nil
	}
	// A block decodes to at most blockMax bytes: with that much room, a
	// failure is the block's fault, with less it may be the room's.
	room := min(cap(out)-len(out), blockMax)
	n, err := lz4.UncompressBlock(block, out[len(out):len(out)+room])
	if err != nil && room < blockMax {
		out = grow(out, blockMax)
		n, err = lz4.UncompressBlock(block, out[len(out):len(out)+blockMax])
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if len(out)+n > d.max {
		return nil, ErrTooLarge
	}
	return out[:len(out)+n], nil
}

// finish checks the frame's end: the content checksum, the content size,
// nothing after the frame. The checksum is taken over the whole content in
// one call: xxhash's one-shot Checksum32 runs at ~7 GB/s here, its
// streaming Write at ~4.7.
func (h header) finish(out, rest []byte) ([]byte, error) {
	if h.flg&flgContentSum != 0 {
		if len(rest) < 4 {
			return nil, fmt.Errorf("%w: cut short", ErrCorrupt)
		}
		if binary.LittleEndian.Uint32(rest) != xxhash.Checksum32(out) {
			return nil, fmt.Errorf("%w: content checksum", ErrCorrupt)
		}
		rest = rest[4:]
	}
	if h.size >= 0 && int64(len(out)) != h.size {
		return nil, fmt.Errorf("%w: %d bytes, the descriptor says %d", ErrCorrupt, len(out), h.size)
	}
	if len(rest) > 0 {
		return nil, ErrUnsupported // concatenated frames
	}
	return out, nil
}

// guess is the capacity to decode a frame of n compressed bytes into: its
// content size if the descriptor gives it, else n times the largest ratio
// seen lately, with an eighth to spare.
func (d *Decoder) guess(h header, n int) int {
	if h.size >= 0 {
		return int(h.size)
	}
	r := int(d.ratio.Load())
	return min(d.max, n*(r+r/8)/16+64)
}

// learn updates the ratio with a frame of n compressed bytes that decoded
// to size: up at once, down slowly (a sixty-fourth of the way a frame).
func (d *Decoder) learn(size, n int) {
	r := uint32(min(size*16/max(n, 1)+1, 1<<20))
	if cur := d.ratio.Load(); r > cur {
		d.ratio.Store(r)
	} else {
		d.ratio.Store(cur - (cur-r)/64)
	}
}

// grow returns out with room for n more bytes.
func grow(out []byte, n int) []byte {
	bigger := make([]byte, len(out), len(out)+n)
	copy(bigger, out)
	return bigger
}

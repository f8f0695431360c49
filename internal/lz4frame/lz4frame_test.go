package lz4frame

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/OneOfOne/xxhash"
	"github.com/pierrec/lz4/v4"
)

// reference decodes src with pierrec/lz4's Reader, the decoder franz-go
// uses by default.
func reference(src []byte) ([]byte, error) {
	return io.ReadAll(lz4.NewReader(bytes.NewReader(src)))
}

// encode writes content as one frame with pierrec/lz4's Writer.
func encode(t testing.TB, content []byte, opts ...lz4.Option) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := lz4.NewWriter(&buf)
	if err := w.Apply(opts...); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(content); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestGolden decodes frames written by the reference implementation (the
// lz4 command line tool, v1.9.4): block sizes, block checksums, no content
// checksum, a content size, stored blocks, an empty frame.
func TestGolden(t *testing.T) {
	for _, tc := range []struct{ frame, content string }{
		{"text-b4.lz4", "text.bin"},
		{"text-b7-blocksum.lz4", "text.bin"},
		{"text-b5-size-nocrc.lz4", "text.bin"},
		{"random-b4.lz4", "random.bin"},
		{"empty.lz4", "empty.bin"},
	} {
		t.Run(tc.frame, func(t *testing.T) {
			got, err := NewDecoder(1<<30).Decode(nil, read(t, tc.frame))
			if err != nil {
				t.Fatal(err)
			}
			if want := read(t, tc.content); !bytes.Equal(got, want) {
				t.Fatalf("decoded %d bytes, want %d (equal: false)", len(got), len(want))
			}
		})
	}
}

// TestWriterOptions decodes what pierrec/lz4's Writer (franz-go's
// compressor) writes with each option, including frames whose ratio is
// far above what the decoder has seen (the output grows).
func TestWriterOptions(t *testing.T) {
	text := read(t, "text.bin")
	zeros := make([]byte, 3<<20) // a ratio of ~250
	for _, tc := range []struct {
		name    string
		content []byte
		opts    []lz4.Option
	}{
		{"defaults", text, nil},
		{"64KB blocks", bytes.Repeat(text, 3), []lz4.Option{lz4.BlockSizeOption(lz4.Block64Kb)}},
		{"block checksums", text, []lz4.Option{lz4.BlockChecksumOption(true)}},
		{"no content checksum", text, []lz4.Option{lz4.ChecksumOption(false)}},
		{"content size", text, []lz4.Option{lz4.SizeOption(uint64(len(text)))}},
		{"fastest level", text, []lz4.Option{lz4.CompressionLevelOption(lz4.Fast)}},
		{"zeros", zeros, nil},
		{"zeros 256KB blocks", zeros, []lz4.Option{lz4.BlockSizeOption(lz4.Block256Kb)}},
		{"empty", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDecoder(1 << 30)
			// The second time with what the first taught it, the third
			// into a used buffer that has room.
			dirty := bytes.Repeat([]byte{0xee}, 2*len(tc.content)+1024)
			for _, dst := range [][]byte{nil, nil, dirty[:7]} {
				got, err := d.Decode(dst, encode(t, tc.content, tc.opts...))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, tc.content) {
					t.Fatalf("decoded %d bytes, want %d (equal: false)", len(got), len(tc.content))
				}
			}
		})
	}
}

// frame builds a frame by hand: flg, bd, blocks (stored if the high bit
// of their size word is set), the end mark and the content checksum.
func frame(flg, bd byte, size []byte, blocks ...[]byte) []byte {
	b := binary.LittleEndian.AppendUint32(nil, magic)
	b = append(b, flg, bd)
	b = append(b, size...)
	b = append(b, byte(xxhash.Checksum32(b[4:])>>8))
	var content []byte
	for _, blk := range blocks {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(blk))|storedBit)
		b = append(b, blk...)
		content = append(content, blk...)
	}
	b = binary.LittleEndian.AppendUint32(b, 0)
	return binary.LittleEndian.AppendUint32(b, xxhash.Checksum32(content))
}

// TestRejects: what the decoder leaves to another decoder, and what it
// refuses, with the error that says which.
func TestRejects(t *testing.T) {
	good := encode(t, read(t, "text.bin"))
	with := func(i int, v byte) []byte {
		b := bytes.Clone(good)
		b[i] ^= v
		return b
	}
	withSize := func(n uint64) []byte {
		return frame(flgVersion01|flgIndependent|flgContentSize|flgContentSum, 0x40, binary.LittleEndian.AppendUint64(nil, n), []byte("abc"))
	}
	legacy := binary.LittleEndian.AppendUint32(nil, 0x184C2102)
	skippable := binary.LittleEndian.AppendUint32(nil, 0x184D2A50)
	for _, tc := range []struct {
		name  string
		src   []byte
		max   int
		want  error
		equal bool // the reference decoder accepts it too
	}{
		{"stored blocks by hand", frame(flgVersion01|flgIndependent|flgContentSum, 0x40, nil, []byte("abc"), []byte("def")), 1 << 20, nil, true},
		{"legacy", append(legacy, good[4:]...), 1 << 20, ErrUnsupported, false},
		{"skippable", append(skippable, 0, 0, 0, 0), 1 << 20, ErrUnsupported, true},
		{"not lz4", []byte("{\"uid\":1}"), 1 << 20, ErrUnsupported, false},
		{"linked blocks", read(t, "text-b4-linked.lz4"), 1 << 20, ErrUnsupported, true},
		{"dictionary id", frame(flgVersion01|flgIndependent|flgDictID, 0x40, []byte{1, 2, 3, 4}), 1 << 20, ErrUnsupported, false},
		{"concatenated", append(bytes.Clone(good), good...), 1 << 20, ErrUnsupported, true},
		{"version 0", with(4, flgVersion), 1 << 20, ErrCorrupt, false},
		{"reserved bit", frame(flgVersion01|flgIndependent|flgReserved, 0x40, nil), 1 << 20, ErrCorrupt, false},
		{"block size index 3", frame(flgVersion01|flgIndependent, 0x30, nil), 1 << 20, ErrCorrupt, false},
		{"header checksum", with(6, 1), 1 << 20, ErrCorrupt, false},
		{"content checksum", with(len(good)-1, 1), 1 << 20, ErrCorrupt, false},
		{"block data", with(20, 0xff), 1 << 20, ErrCorrupt, false},
		{"block size past the end", with(10, 0x7f), 1 << 20, ErrCorrupt, false},
		{"cut before the end mark", good[:len(good)-8], 1 << 20, ErrCorrupt, false},
		{"cut in the checksum", good[:len(good)-2], 1 << 20, ErrCorrupt, false},
		{"content size wrong", withSize(4), 1 << 20, ErrCorrupt, false},
		{"content size too large", withSize(1 << 40), 1 << 20, ErrTooLarge, false},
		{"over the limit", good, 1000, ErrTooLarge, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NewDecoder(tc.max).Decode(nil, tc.src)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			ref, rerr := reference(tc.src)
			if tc.equal != (rerr == nil) {
				t.Fatalf("reference decoder: %v (want it to accept: %v)", rerr, tc.equal)
			}
			if err == nil && !bytes.Equal(got, ref) {
				t.Fatal("decoded differently from the reference")
			}
		})
	}
}

// FuzzDecode: whatever the decoder accepts, the reference decoder accepts
// too, with the same content.
func FuzzDecode(f *testing.F) {
	// Small seeds: the fuzzer slows to a crawl on inputs of tens of KB.
	text := read(f, "text.bin")[:300]
	f.Add(read(f, "empty.lz4"))
	f.Add(encode(f, text))
	f.Add(encode(f, text, lz4.BlockChecksumOption(true)))
	f.Add(encode(f, text, lz4.ChecksumOption(false), lz4.SizeOption(uint64(len(text)))))
	f.Add(frame(flgVersion01|flgIndependent|flgContentSum, 0x40, nil, []byte("abc"), []byte("def")))
	f.Fuzz(func(t *testing.T, src []byte) {
		got, err := NewDecoder(8<<20).Decode(nil, src)
		if err != nil {
			return
		}
		want, rerr := reference(src)
		if rerr != nil {
			t.Fatalf("accepted a frame the reference refuses: %v", rerr)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("decoded %q, the reference %q", got, want)
		}
	})
}

// FuzzBlock: a frame of one compressed block of any bytes, without content
// checksum (which would stop the fuzzer before the block), decodes exactly
// when the reference decodes it, to the same content; index picks the
// frame's block size (64 KB to 4 MB).
func FuzzBlock(f *testing.F) {
	f.Add(lz4Block(f, read(f, "text.bin")[:300]), byte(0))
	f.Add(lz4Block(f, bytes.Repeat([]byte("ab"), 40000)), byte(1))
	f.Add([]byte{0x1f, 'a', 1, 0, 0xff, 0xff, 0x10, 'b'}, byte(3))
	f.Fuzz(func(t *testing.T, block []byte, index byte) {
		src := binary.LittleEndian.AppendUint32(nil, magic)
		src = append(src, flgVersion01|flgIndependent, (4+index%4)<<4)
		src = append(src, byte(xxhash.Checksum32(src[4:])>>8))
		src = binary.LittleEndian.AppendUint32(src, uint32(len(block)))
		src = append(src, block...)
		src = binary.LittleEndian.AppendUint32(src, 0)
		got, err := NewDecoder(8<<20).Decode(nil, src)
		want, rerr := reference(src)
		if (err == nil) != (rerr == nil) {
			t.Fatalf("error %v, the reference's %v", err, rerr)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("decoded %d bytes, the reference %d", len(got), len(want))
		}
	})
}

// lz4Block compresses content as one LZ4 block.
func lz4Block(t testing.TB, content []byte) []byte {
	t.Helper()
	dst := make([]byte, lz4.CompressBlockBound(len(content)))
	n, err := lz4.CompressBlock(content, dst, nil)
	if err != nil || n == 0 {
		t.Fatalf("compress: %d, %v", n, err)
	}
	return dst[:n]
}

// TestRatio: the guess follows the frames up at once and down slowly.
func TestRatio(t *testing.T) {
	d := NewDecoder(1 << 30)
	rng := rand.New(rand.NewPCG(1, 2))
	noise := make([]byte, 1<<16)
	for i := range noise {
		noise[i] = byte(rng.Uint32())
	}
	start := d.ratio.Load()
	if _, err := d.Decode(nil, encode(t, make([]byte, 1<<20))); err != nil {
		t.Fatal(err)
	}
	high := d.ratio.Load()
	if high <= start*10 {
		t.Fatalf("ratio %d after a frame of zeros, from %d", high, start)
	}
	if _, err := d.Decode(nil, encode(t, noise)); err != nil {
		t.Fatal(err)
	}
	if r := d.ratio.Load(); r >= high || r < high*9/10 {
		t.Fatalf("ratio %d after a frame of noise, from %d: want a little lower", r, high)
	}
}

package lz4frame

import (
	"bytes"
	"context"
	"testing"

	"github.com/OneOfOne/xxhash"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/headcount/headcount/internal/gen"
)

// batches returns generated frames of the reference shape in record
// batches of ~1 MB (franz-go's default batch), each compressed as franz-go's
// producer does (lz4, fastest level), and their total decoded size.
func batches(b *testing.B) ([][]byte, int) {
	var buf bytes.Buffer
	if _, err := gen.WriteTo(context.Background(), &buf, gen.Config{Count: 20000, Seed: 7}, false); err != nil {
		b.Fatal(err)
	}
	comp, err := kgo.DefaultCompressor(kgo.Lz4Compression())
	if err != nil {
		b.Fatal(err)
	}
	var out [][]byte
	total := 0
	for data := buf.Bytes(); len(data) > 0; {
		n := min(len(data), 1<<20)
		if i := bytes.LastIndexByte(data[:n], '\n'); i > 0 && n < len(data) {
			n = i + 1
		}
		var dst bytes.Buffer
		c, codec := comp.Compress(&dst, data[:n])
		if codec != kgo.CodecLz4 {
			b.Fatalf("codec %v", codec)
		}
		out = append(out, bytes.Clone(c))
		total += n
		data = data[n:]
	}
	return out, total
}

// BenchmarkDecode: franz-go's default decompressor against this package's,
// into new buffers and into reused ones, on the same batches; MB/s of
// decoded content. "checksum" is the content checksum alone (xxh32 over
// the content), part of every one.
func BenchmarkDecode(b *testing.B) {
	frames, total := batches(b)
	b.Run("franz-go", func(b *testing.B) {
		d := kgo.DefaultDecompressor()
		b.SetBytes(int64(total))
		for b.Loop() {
			for _, f := range frames {
				if _, err := d.Decompress(f, kgo.CodecLz4); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("lz4frame", func(b *testing.B) {
		d := NewDecoder(1 << 30)
		b.SetBytes(int64(total))
		for b.Loop() {
			for _, f := range frames {
				if _, err := d.Decode(nil, f); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("lz4frame-reused", func(b *testing.B) {
		// As the Kafka source runs it: outputs come back to be decoded
		// into again once their records are done, ~48 MB in flight.
		d := NewDecoder(1 << 30)
		ring := make([][]byte, 48)
		b.SetBytes(int64(total))
		k := 0
		for b.Loop() {
			for _, f := range frames {
				out, err := d.Decode(ring[k%len(ring)], f)
				if err != nil {
					b.Fatal(err)
				}
				ring[k%len(ring)] = out
				k++
			}
		}
	})
	b.Run("checksum", func(b *testing.B) {
		d := NewDecoder(1 << 30)
		contents := make([][]byte, len(frames))
		for i, f := range frames {
			contents[i], _ = d.Decode(nil, f)
		}
		b.SetBytes(int64(total))
		for b.Loop() {
			for _, c := range contents {
				xxhash.Checksum32(c)
			}
		}
	})
}

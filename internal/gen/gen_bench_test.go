package gen

import (
	"context"
	"io"
	"testing"
)

// BenchmarkWriteTo measures generation alone (MB/s of JSON lines): making
// the 2 GB reference set must take far less time than reading it.
func BenchmarkWriteTo(b *testing.B) {
	const frames = 20000
	cfg := Config{Count: frames, Delay: 30e9, BitFlipProb: 0.001}
	n := writtenBytes(b, cfg)
	b.SetBytes(n)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := WriteTo(context.Background(), io.Discard, cfg, false); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNext(b *testing.B) {
	g := New(Config{Count: -1})
	buf := make([]byte, 0, 1<<16)
	var n int64
	b.ReportAllocs()
	for b.Loop() {
		buf, _, _, _, _ = g.Next(buf[:0])
		n += int64(len(buf))
	}
	b.SetBytes(n / int64(b.N))
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

func writtenBytes(b *testing.B, cfg Config) int64 {
	var c countWriter
	if _, err := WriteTo(context.Background(), &c, cfg, false); err != nil {
		b.Fatal(err)
	}
	return c.n
}

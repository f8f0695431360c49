package source

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// compressedLines is ~2.4 MB of numbered lines: several zstd blocks and
// many deflate blocks, so damage in the middle leaves frames on both sides.
func compressedLines(t *testing.T) (plain []string, gz, zs []byte) {
	t.Helper()
	var b bytes.Buffer
	for i := range 40000 {
		line := fmt.Sprintf(`{"uid":"u%d","ts":%d,"pad":"%x"}`, i%977, 1468244400+i/50, uint64(i)*0x9e3779b97f4a7c15)
		plain = append(plain, line)
		b.WriteString(line + "\n")
	}
	var g, z bytes.Buffer
	gw := gzip.NewWriter(&g)
	zw, err := zstd.NewWriter(&z)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []io.WriteCloser{gw, zw} {
		if _, err := w.Write(b.Bytes()); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return plain, g.Bytes(), z.Bytes()
}

// damage returns a copy of b with 16 bytes at off inverted.
func damage(b []byte, off int) []byte {
	c := bytes.Clone(b)
	for i := off; i < off+16; i++ {
		c[i] ^= 0xff
	}
	return c
}

// TestCompressedErrors: a truncated or damaged gzip or zstd file is an
// error that names the problem and the position, and the frames before it
// are passed on first.
func TestCompressedErrors(t *testing.T) {
	plain, gz, zs := compressedLines(t)
	tests := []struct {
		name      string
		data      []byte
		format    string
		truncated bool
		// frames passed on before the error: "all" (the damage is in the
		// trailer), "none", "some" (at least a quarter, not all) or
		// "many" (at least a quarter: damaged deflate data can decode to
		// garbage lines until the checksum at the end says so).
		frames string
	}{
		{"gzip cut in half", gz[:len(gz)/2], "gzip", true, "some"},
		{"gzip without its trailer", gz[:len(gz)-8], "gzip", true, "all"},
		{"gzip header only", gz[:5], "gzip", true, "none"},
		{"gzip damaged in the middle", damage(gz, len(gz)/2), "gzip", false, "many"},
		{"zstd cut in half", zs[:len(zs)/2], "zstd", true, "some"},
		// The decoder hands out 128 KiB at a time: the part of the
		// last one is held back with the checksum.
		{"zstd without its checksum", zs[:len(zs)-4], "zstd", true, "some"},
		{"zstd damaged in the middle", damage(zs, len(zs)/2), "zstd", false, "some"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "in")
			if err := os.WriteFile(p, tt.data, 0o644); err != nil {
				t.Fatal(err)
			}
			var got []string
			err := func() error {
				in, err := Open(p)
				if err != nil {
					return err
				}
				defer in.Close()
				l := NewLines(in, Fill(true), ChunkSize(64<<10))
				for {
					b, err := l.Next(context.Background())
					if err != nil {
						return err
					}
					for _, f := range b.Frames {
						got = append(got, string(f))
					}
					b.Release()
				}
			}()
			var ce *CompressedError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a CompressedError", err)
			}
			what := "corrupt"
			if tt.truncated {
				what = "truncated"
			}
			if ce.Format != tt.format || ce.Truncated != tt.truncated || !strings.HasPrefix(err.Error(), what+" "+tt.format+" input "+p+": ") {
				t.Errorf("err = %v (%+v), want %s %s", err, ce, what, tt.format)
			}
			if tt.truncated && ce.Compressed != int64(len(tt.data)) || !tt.truncated && (ce.Compressed <= int64(len(tt.data)/2) || ce.Compressed > int64(len(tt.data))) {
				t.Errorf("error at byte %d of %d", ce.Compressed, len(tt.data))
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("byte %d ", ce.Compressed)) && !strings.Contains(err.Error(), fmt.Sprintf("after %d bytes", ce.Compressed)) {
				t.Errorf("the message %q does not say the position %d", err, ce.Compressed)
			}
			// The frames before the error were passed on, and the error
			// says how many.
			if ce.Frames != int64(len(got)) || !strings.Contains(err.Error(), fmt.Sprintf("(%d frames in the %d bytes", len(got), ce.Plain)) {
				t.Errorf("%d frames passed on, the error says %d: %v", len(got), ce.Frames, err)
			}
			if n := len(got); map[string]bool{
				"all":  n != len(plain),
				"none": n != 0,
				"some": n < len(plain)/4 || n >= len(plain),
				"many": n < len(plain)/4,
			}[tt.frames] {
				t.Errorf("%d of %d frames passed on, want %s: %v", n, len(plain), tt.frames, err)
			}
			// Frames before the damage are the input's, in order (bytes
			// decoded from damaged data may differ, so only up to it).
			for i := range min(len(got), len(plain)/4) {
				if got[i] != plain[i] {
					t.Fatalf("frame %d is %q, want %q", i, got[i], plain[i])
				}
			}
		})
	}
}

// failingReader returns data, then err.
type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

// TestLinesErrorAfterLines: the complete lines read before an error are
// returned first; the partial line at the error is not a frame.
func TestLinesErrorAfterLines(t *testing.T) {
	for _, fill := range []bool{false, true} {
		fire := errors.New("disk on fire")
		l := NewLines(&failingReader{data: []byte("a\nb\npartial"), err: fire}, Fill(fill))
		var got []string
		var err error
		for {
			var b *Batch
			if b, err = l.Next(context.Background()); err != nil {
				break
			}
			for _, f := range b.Frames {
				got = append(got, string(f))
			}
		}
		if !errors.Is(err, fire) || strings.Join(got, ",") != "a,b" {
			t.Errorf("fill %v: frames %q, err %v; want a, b and the error", fill, got, err)
		}
		if _, again := l.Next(context.Background()); !errors.Is(again, fire) {
			t.Errorf("fill %v: the next call returned %v, want the error again", fill, again)
		}
	}
}

// The input's own read error is not blamed on the data.
func TestCompressedReadError(t *testing.T) {
	_, gz, _ := compressedLines(t)
	fire := errors.New("disk on fire")
	d := &decoded{in: &counting{r: &failingReader{data: gz[:len(gz)/2], err: fire}}, format: "gzip", name: "x.gz"}
	zr, err := gzip.NewReader(d.in)
	if err != nil {
		t.Fatal(err)
	}
	d.r = zr
	_, err = io.Copy(io.Discard, d)
	var ce *CompressedError
	if !errors.Is(err, fire) || errors.As(err, &ce) || !strings.Contains(err.Error(), fmt.Sprintf("read gzip input x.gz after %d bytes", len(gz)/2)) {
		t.Errorf("err = %v", err)
	}
}

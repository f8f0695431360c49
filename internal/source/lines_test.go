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
	"testing/iotest"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

func collect(t *testing.T, s Source) (frames []string, tooLarge int) {
	t.Helper()
	var pl placer
	for {
		b, err := s.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		pl.place(b)
		for _, f := range b.Frames {
			frames = append(frames, string(f))
		}
		tooLarge += len(b.Oversize)
		b.Release()
	}
}

func TestLines(t *testing.T) {
	long := strings.Repeat("x", 100)
	tests := []struct {
		name     string
		in       string
		opts     []LinesOption
		want     []string
		tooLarge int
	}{
		{"simple", "a\nb\nc\n", nil, []string{"a", "b", "c"}, 0},
		{"no final newline", "a\nb", nil, []string{"a", "b"}, 0},
		{"crlf", "a\r\nb\r\n", nil, []string{"a", "b"}, 0},
		{"empty lines kept", "a\n\nb\n", nil, []string{"a", "", "b"}, 0},
		{"lines across tiny chunks", "hello\nworld\nagain\n", []LinesOption{ChunkSize(4)}, []string{"hello", "world", "again"}, 0},
		{"too large dropped", "a\n" + long + "\nb\n", []LinesOption{MaxFrame(10), ChunkSize(64)}, []string{"a", "b"}, 1},
		{"too large at end", "a\n" + long, []LinesOption{MaxFrame(10), ChunkSize(64)}, []string{"a"}, 1},
		{"too large fits chunk", "a\n" + long + "\nb\n", []LinesOption{MaxFrame(10)}, []string{"a", "b"}, 1},
		{"empty input", "", nil, nil, 0},
	}
	for _, tt := range tests {
		for _, fill := range []bool{false, true} {
			t.Run(tt.name, func(t *testing.T) {
				opts := append([]LinesOption{Fill(fill)}, tt.opts...)
				r := iotest.HalfReader(strings.NewReader(tt.in))
				got, tl := collect(t, NewLines(r, opts...))
				if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
					t.Errorf("frames %q, want %q", got, tt.want)
				}
				if tl != tt.tooLarge {
					t.Errorf("too large %d, want %d", tl, tt.tooLarge)
				}
			})
		}
	}
}

func TestLinesReadError(t *testing.T) {
	l := NewLines(iotest.ErrReader(errors.New("disk on fire")))
	if _, err := l.Next(context.Background()); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("err = %v", err)
	}
}

func TestOpenCompressed(t *testing.T) {
	dir := t.TempDir()
	data := "{\"uid\":\"a\",\"ts\":1}\n{\"uid\":\"b\",\"ts\":2}\n"
	var gz, zs bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(data))
	zw.Close()
	ze, _ := zstd.NewWriter(&zs)
	ze.Write([]byte(data))
	ze.Close()
	files := map[string][]byte{"plain.jsonl": []byte(data), "x.gz": gz.Bytes(), "noext": zs.Bytes(), "tiny": []byte("{}")}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, content, 0o644); err != nil {
			t.Fatal(err)
		}
		in, err := Open(p)
		if err != nil {
			t.Fatal(err)
		}
		if !in.Regular {
			t.Errorf("%s: not regular", name)
		}
		got, _ := collect(t, NewLines(in, Fill(true)))
		in.Close()
		want := 2
		if name == "tiny" {
			want = 1
		}
		if len(got) != want {
			t.Errorf("%s: %d frames %q", name, len(got), got)
		}
	}
	if _, err := Open(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing file opened")
	}
	// A truncated gzip stream is an error, not a silent end.
	p := filepath.Join(dir, "cut.gz")
	os.WriteFile(p, gz.Bytes()[:len(gz.Bytes())-6], 0o644)
	in, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	l := NewLines(in)
	for {
		b, err := l.Next(context.Background())
		if err == io.EOF {
			t.Fatal("truncated gzip read to EOF without error")
		}
		if err != nil {
			break
		}
		b.Release()
	}
}

func TestMapped(t *testing.T) {
	long := strings.Repeat("x", 300)
	tests := []struct {
		name     string
		in       string
		want     []string
		tooLarge int
	}{
		{"simple", "a\nb\nc\n", []string{"a", "b", "c"}, 0},
		{"no final newline", "a\r\nb", []string{"a", "b"}, 0},
		{"empty lines kept", "a\n\nb\n", []string{"a", "", "b"}, 0},
		{"too large", "a\n" + long + "\nb", []string{"a", "b"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "f")
			if err := os.WriteFile(p, []byte(tt.in), 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			m, err := MapFile(f, MaxFrame(257), ChunkSize(64))
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			got, tl := collect(t, m)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") || tl != tt.tooLarge {
				t.Errorf("frames %q too large %d, want %q %d", got, tl, tt.want, tt.tooLarge)
			}
		})
	}
	// Empty files and pipes are not mapped.
	p := filepath.Join(t.TempDir(), "empty")
	os.WriteFile(p, nil, 0o644)
	f, _ := os.Open(p)
	defer f.Close()
	if _, err := MapFile(f); err == nil {
		t.Error("empty file mapped")
	}
}

// placer does what the pipeline does with batches in input order: cuts
// those that come uncut and places them after the lines before them.
type placer struct{ next int64 }

func (p *placer) place(b *Batch) {
	b.Cut(nil, nil)
	b.Rebase(p.next)
	if n := len(b.Frames); n > 0 {
		p.next = max(p.next, b.OffsetOf(n-1)+1)
	}
	for _, o := range b.Oversize {
		p.next = max(p.next, o.Offset+1)
	}
}

// mapString maps a file holding in.
func mapString(t *testing.T, in string, opts ...LinesOption) *Mapped {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte(in), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	m, err := MapFile(f, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// TestLineNumbers: a frame's offset is its line number, also after a line
// dropped as too large (dead letters name the line), from a reader that
// cuts its lines and from a mapped file whose batches are cut after.
func TestLineNumbers(t *testing.T) {
	in := "a\n" + strings.Repeat("x", 50) + "\nb\nc\n" + strings.Repeat("y", 50) + "\n\nd"
	srcs := map[string]func() Source{
		"lines":      func() Source { return NewLines(strings.NewReader(in), MaxFrame(10)) },
		"lines fill": func() Source { return NewLines(strings.NewReader(in), MaxFrame(10), Fill(true)) },
	}
	for _, chunk := range []int{64, 100, 1 << 10} {
		for _, deferred := range []bool{false, true} {
			srcs[fmt.Sprintf("mapped chunk %d deferred %v", chunk, deferred)] = func() Source {
				return mapString(t, in, MaxFrame(10), ChunkSize(chunk), DeferCut(deferred))
			}
		}
	}
	for name, src := range srcs {
		l := src()
		var pl placer
		got := map[string]int64{}
		for {
			b, err := l.Next(context.Background())
			if err != nil {
				break
			}
			pl.place(b)
			for _, o := range b.Oversize {
				got[string(o.Head[:1])] = o.Offset
			}
			for i, f := range b.Frames {
				off := b.Offset + int64(i)
				if b.Offsets != nil {
					off = b.Offsets[i]
				}
				got[string(f)] = off
			}
			b.Release()
		}
		want := map[string]int64{"a": 0, "x": 1, "b": 2, "c": 3, "y": 4, "": 5, "d": 6}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: line numbers %v, want %v", name, got, want)
		}
	}
}

// TestCutWithLine: a batch cut by a line finder (the pipeline's parser)
// gives the frames and oversize lines that a cut by newlines gives, the
// finder being asked for each line in turn with the frame limit.
func TestCutWithLine(t *testing.T) {
	in := "a\r\n" + strings.Repeat("x", 50) + "\n\nb\nc"
	for _, chunk := range []int{64, 1 << 10} {
		var calls []string
		finder := func(rest []byte, max int) int {
			if max != 10 {
				t.Errorf("max %d, want 10", max)
			}
			calls = append(calls, string(rest[:min(len(rest), 3)]))
			if n := bytes.IndexByte(rest, '\n'); n >= 0 {
				return n
			}
			return len(rest)
		}
		m := mapString(t, in, MaxFrame(10), ChunkSize(chunk), DeferCut(true))
		var got []string
		for {
			b, err := m.Next(context.Background())
			if err != nil {
				break
			}
			b.Cut(finder, func(i int, f []byte) { got = append(got, fmt.Sprintf("%d:%s", i, f)) })
			for _, o := range b.Oversize {
				got = append(got, fmt.Sprintf("over %d", o.Offset))
			}
			b.Release()
		}
		// Frames by their index in the batch, then the oversize line by
		// its line (relative: the batch is the file's first).
		if want := "0:a 1: 2:b 3:c over 1"; strings.Join(got, " ") != want {
			t.Errorf("chunk %d: %q, want %q", chunk, got, want)
		}
		if len(calls) != 5 || calls[0] != "a\r\n" || calls[1] != "xxx" {
			t.Errorf("chunk %d: the finder was asked %q", chunk, calls)
		}
	}
}

package progress

import (
	"bufio"
	"bytes"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLine(t *testing.T) {
	tests := []struct {
		name      string
		prev, cur Sample
		want      string
	}{
		{"unknown total", Sample{}, Sample{Frames: 1500, Bytes: 3e6}, "run: 1,500 frames/s, 3.0 MB/s; 1,500 frames, 3.0 MB"},
		{"eta", Sample{Frames: 0, Bytes: 0}, Sample{Frames: 1000, Bytes: 1e6, Total: 4e6}, "run: 1,000 frames/s, 1.0 MB/s; 1,000 frames, 1.0 MB (25%, ETA 3s)"},
		{"note", Sample{}, Sample{Note: "watermark 2016-07-11T13:40:00Z"}, "run: 0 frames/s, 0.0 MB/s; 0 frames, 0.0 MB; watermark 2016-07-11T13:40:00Z"},
		{"frames total", Sample{}, Sample{Frames: 250, Bytes: 5e5, TotalFrames: 1000}, "run: 250 frames/s, 0.5 MB/s; 250 frames, 0.5 MB (25%, ETA 3s)"},
	}
	for _, tt := range tests {
		if got := Line("run", tt.prev, tt.cur, time.Second); got != tt.want {
			t.Errorf("%s:\ngot  %q\nwant %q", tt.name, got, tt.want)
		}
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[uint64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567"} {
		if got := Thousands(n); got != want {
			t.Errorf("Thousands(%d) = %q", n, got)
		}
	}
}

// writes records every write and signals the first.
type writes struct {
	mu    sync.Mutex
	all   []string
	first chan struct{}
}

func (w *writes) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.all = append(w.all, string(p))
	if len(w.all) == 1 {
		close(w.first)
	}
	return len(p), nil
}

func (w *writes) get() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.all...)
}

// TestStart waits for the printer's first line instead of sleeping: it
// carries the sample, is rewritten in place, and stop returns once the
// printer has stopped, clearing the line and writing nothing after.
func TestStart(t *testing.T) {
	out := &writes{first: make(chan struct{})}
	stop := Start(out, "run", time.Millisecond, func() Sample { return Sample{Frames: 5} })
	waitFirst(t, out, stop)
	stop()
	got := out.get()
	if last := got[len(got)-1]; last != "\r\033[K" {
		t.Errorf("last write %q, want the line cleared", last)
	}
	lines := got[:len(got)-1]
	if len(lines) == 0 {
		t.Fatalf("writes %q: no progress line", got)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "\r\033[Krun: ") || !strings.Contains(l, "; 5 frames, 0.0 MB") || strings.HasSuffix(l, "\n") {
			t.Errorf("line %q: want it rewritten in place, with the sample's 5 frames and no newline", l)
		}
	}
	if after := out.get(); len(after) != len(got) {
		t.Errorf("written after stop returned: %q", after[len(got):])
	}
}

// TestLog: a record per interval, each the sample's attributes, and none
// after stop returns.
func TestLog(t *testing.T) {
	out := &writes{first: make(chan struct{})}
	log := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}}))
	stop := Log(log, time.Millisecond, func() Sample {
		return Sample{Frames: 5, Bytes: 10, Note: "not logged", Attrs: []slog.Attr{slog.String("watermark", "w")}}
	})
	waitFirst(t, out, stop)
	stop()
	got := out.get()
	for _, l := range got {
		if !strings.HasPrefix(l, "level=INFO msg=progress frames=5 bytes=10 ") || !strings.HasSuffix(l, " watermark=w\n") || strings.Contains(l, "not logged") {
			t.Errorf("record %q: want the sample's attributes and its Attrs, not its Note", l)
		}
	}
	if after := out.get(); len(after) != len(got) {
		t.Errorf("logged after stop returned: %q", after[len(got):])
	}
}

func waitFirst(t *testing.T, out *writes, stop func()) {
	t.Helper()
	select {
	case <-out.first:
	case <-time.After(time.Minute): // a hang, not a slow machine
		stop()
		t.Fatal("no progress report")
	}
}

func TestAttrs(t *testing.T) {
	for _, tt := range []struct {
		name      string
		prev, cur Sample
		want      string
	}{
		{"unknown total", Sample{}, Sample{Frames: 1500, Bytes: 3e6}, "frames=1500 bytes=3000000 frames_per_s=1500 mb_per_s=3"},
		{"bytes total", Sample{}, Sample{Frames: 1000, Bytes: 1e6, Total: 4e6}, "frames=1000 bytes=1000000 frames_per_s=1000 mb_per_s=1 percent=25 eta=3s"},
		{"frames total", Sample{Frames: 100}, Sample{Frames: 300, Bytes: 123456, TotalFrames: 1000}, "frames=300 bytes=123456 frames_per_s=200 mb_per_s=0.1 percent=30 eta=4s"},
		{"past the total", Sample{}, Sample{Frames: 20, TotalFrames: 10}, "frames=20 bytes=0 frames_per_s=20 mb_per_s=0"},
		{"attrs", Sample{}, Sample{Attrs: []slog.Attr{slog.Int("x", 1)}}, "frames=0 bytes=0 frames_per_s=0 mb_per_s=0 x=1"},
	} {
		var parts []string
		for _, a := range Attrs(tt.prev, tt.cur, time.Second) {
			parts = append(parts, a.String())
		}
		if got := strings.Join(parts, " "); got != tt.want {
			t.Errorf("%s:\ngot  %s\nwant %s", tt.name, got, tt.want)
		}
	}
}

// A Counter counts bytes and lines, and flushes what it wraps if that can
// be flushed.
func TestCounter(t *testing.T) {
	var buf bytes.Buffer
	c := &Counter{W: &buf}
	io.WriteString(c, "a\nbb\n")
	io.WriteString(c, "c\r\n")
	if s := c.Sample(); s.Frames != 3 || s.Bytes != 8 || buf.String() != "a\nbb\nc\r\n" {
		t.Errorf("sample %+v, written %q", s, buf.String())
	}
	if err := c.Flush(); err != nil {
		t.Errorf("flush of a writer without Flush: %v", err)
	}
	bw := bufio.NewWriter(&buf)
	c = &Counter{W: bw}
	io.WriteString(c, "d\n")
	if err := c.Flush(); err != nil || !strings.HasSuffix(buf.String(), "d\n") {
		t.Errorf("flush: %v; %q not flushed", err, buf.String())
	}
}

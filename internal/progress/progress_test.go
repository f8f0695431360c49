package progress

import (
	"bytes"
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

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func TestStart(t *testing.T) {
	var buf lockedBuf
	stop := Start(&buf, "run", false, 10*time.Millisecond, func() Sample { return Sample{Frames: 5} })
	time.Sleep(50 * time.Millisecond)
	stop()
	buf.mu.Lock()
	defer buf.mu.Unlock()
	if !strings.Contains(buf.b.String(), "5 frames") {
		t.Errorf("output %q", buf.b.String())
	}
}

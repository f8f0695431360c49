package progress

import (
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
// carries the sample, and stop returns once the printer has stopped,
// clearing the line on a terminal and writing nothing after.
func TestStart(t *testing.T) {
	for _, tc := range []struct {
		name      string
		tty       bool
		prefix    string // of every progress line
		wantClear string // what stop writes last; "" for nothing
	}{
		{"pipe", false, "run: ", ""},
		{"terminal", true, "\r\033[Krun: ", "\r\033[K"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := &writes{first: make(chan struct{})}
			stop := Start(out, "run", tc.tty, time.Millisecond, func() Sample { return Sample{Frames: 5} })
			select {
			case <-out.first:
			case <-time.After(time.Minute): // a hang, not a slow machine
				stop()
				t.Fatal("no progress line")
			}
			stop()
			got := out.get()
			lines := got
			if tc.wantClear != "" {
				if got[len(got)-1] != tc.wantClear {
					t.Errorf("last write %q, want the line cleared (%q)", got[len(got)-1], tc.wantClear)
				}
				lines = got[:len(got)-1]
			}
			if len(lines) == 0 {
				t.Fatalf("writes %q: no progress line", got)
			}
			for _, l := range lines {
				if !strings.HasPrefix(l, tc.prefix) || !strings.Contains(l, "; 5 frames, 0.0 MB") {
					t.Errorf("line %q: want the prefix %q and the sample's 5 frames", l, tc.prefix)
				}
				if tc.tty == strings.HasSuffix(l, "\n") {
					t.Errorf("line %q: a newline only without a terminal", l)
				}
			}
			if after := out.get(); len(after) != len(got) {
				t.Errorf("written after stop returned: %q", after[len(got):])
			}
		})
	}
}

package progress

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"time"
)

// Sample is what a run has done so far.
type Sample struct {
	Frames uint64
	Bytes  uint64
	Total  uint64 // bytes expected in all; 0 when unknown (no ETA)
	Note   string // appended to the line, e.g. the watermark
}

// IsTerminal reports whether f is a terminal (a character device).
func IsTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Start prints label and a sample every interval until stop is called;
// stop clears the line on a terminal and returns once the printer has
// stopped.
func Start(w io.Writer, label string, tty bool, every time.Duration, sample func() Sample) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		var last Sample
		lastAt := time.Now()
		for {
			select {
			case <-done:
				if tty {
					fmt.Fprint(w, "\r\033[K")
				}
				return
			case now := <-t.C:
				s := sample()
				line := Line(label, last, s, now.Sub(lastAt))
				if tty {
					fmt.Fprint(w, "\r\033[K"+line)
				} else {
					fmt.Fprintln(w, line)
				}
				last, lastAt = s, now
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// Line renders the progress between two samples d apart.
func Line(label string, prev, cur Sample, d time.Duration) string {
	secs := d.Seconds()
	if secs <= 0 {
		secs = 1
	}
	rate := float64(cur.Bytes-prev.Bytes) / secs
	line := fmt.Sprintf("%s: %s frames/s, %.1f MB/s; %s frames, %.1f MB", label,
		Thousands(uint64(float64(cur.Frames-prev.Frames)/secs)), rate/1e6, Thousands(cur.Frames), float64(cur.Bytes)/1e6)
	if cur.Total > 0 && cur.Bytes <= cur.Total {
		line += fmt.Sprintf(" (%.0f%%", 100*float64(cur.Bytes)/float64(cur.Total))
		if rate > 0 {
			eta := time.Duration(float64(cur.Total-cur.Bytes) / rate * float64(time.Second))
			line += ", ETA " + eta.Round(time.Second).String()
		}
		line += ")"
	}
	if cur.Note != "" {
		line += "; " + cur.Note
	}
	return line
}

// Thousands formats n with commas: 1234567 -> "1,234,567".
func Thousands(n uint64) string {
	s := strconv.FormatUint(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

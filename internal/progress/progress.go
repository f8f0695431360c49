package progress

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"strconv"
	"sync/atomic"
	"time"
)

// Sample is what a run has done so far.
type Sample struct {
	Frames uint64
	Bytes  uint64
	Total  uint64 // bytes expected in all; 0 when unknown
	// TotalFrames is the frames expected in all, for % and ETA when Total
	// is unknown; 0 when unknown too (no ETA).
	TotalFrames uint64
	Note        string      // appended to the line, e.g. the watermark
	Attrs       []slog.Attr // added to a logged report instead of Note
}

// IsTerminal reports whether f is a terminal (a character device).
func IsTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Start rewrites a line of label and a sample on w, a terminal, every
// interval until stop is called; stop clears the line and returns once the
// printer has stopped.
func Start(w io.Writer, label string, every time.Duration, sample func() Sample) (stop func()) {
	return tick(every, sample, func(prev, cur Sample, d time.Duration) {
		fmt.Fprint(w, "\r\033[K"+Line(label, prev, cur, d))
	}, func() { fmt.Fprint(w, "\r\033[K") })
}

// Log logs a "progress" record of a sample every interval until stop is
// called: a line each for a log file, a pipe or JSON. stop returns once the
// logger has stopped.
func Log(log *slog.Logger, every time.Duration, sample func() Sample) (stop func()) {
	return tick(every, sample, func(prev, cur Sample, d time.Duration) {
		log.LogAttrs(context.Background(), slog.LevelInfo, "progress", Attrs(prev, cur, d)...)
	}, func() {})
}

// tick calls report with the previous and the current sample every
// interval, and done when stopped.
func tick(every time.Duration, sample func() Sample, report func(prev, cur Sample, d time.Duration), done func()) (stop func()) {
	stopping := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		var last Sample
		lastAt := time.Now()
		for {
			select {
			case <-stopping:
				done()
				return
			case now := <-t.C:
				s := sample()
				report(last, s, now.Sub(lastAt))
				last, lastAt = s, now
			}
		}
	}()
	return func() {
		close(stopping)
		<-finished
	}
}

// rates are the speeds between two samples and how far the later one is.
type rates struct {
	framesPerSec, bytesPerSec float64
	percent                   float64 // < 0: unknown
	eta                       time.Duration
	etaKnown                  bool
}

func measure(prev, cur Sample, d time.Duration) rates {
	secs := d.Seconds()
	if secs <= 0 {
		secs = 1
	}
	r := rates{framesPerSec: float64(cur.Frames-prev.Frames) / secs, bytesPerSec: float64(cur.Bytes-prev.Bytes) / secs, percent: -1}
	done, total, rate := cur.Bytes, cur.Total, r.bytesPerSec
	if total == 0 {
		done, total, rate = cur.Frames, cur.TotalFrames, r.framesPerSec
	}
	if total > 0 && done <= total {
		r.percent = 100 * float64(done) / float64(total)
		if rate > 0 {
			r.eta = time.Duration(float64(total-done) / rate * float64(time.Second)).Round(time.Second)
			r.etaKnown = true
		}
	}
	return r
}

// Line renders the progress between two samples d apart.
func Line(label string, prev, cur Sample, d time.Duration) string {
	r := measure(prev, cur, d)
	line := fmt.Sprintf("%s: %s frames/s, %.1f MB/s; %s frames, %.1f MB", label,
		Thousands(uint64(r.framesPerSec)), r.bytesPerSec/1e6, Thousands(cur.Frames), float64(cur.Bytes)/1e6)
	if r.percent >= 0 {
		line += fmt.Sprintf(" (%.0f%%", r.percent)
		if r.etaKnown {
			line += ", ETA " + r.eta.String()
		}
		line += ")"
	}
	if cur.Note != "" {
		line += "; " + cur.Note
	}
	return line
}

// Attrs are the attributes of a logged report of the progress between two
// samples d apart.
func Attrs(prev, cur Sample, d time.Duration) []slog.Attr {
	r := measure(prev, cur, d)
	as := []slog.Attr{
		slog.Uint64("frames", cur.Frames), slog.Uint64("bytes", cur.Bytes),
		slog.Uint64("frames_per_s", uint64(r.framesPerSec)), slog.Float64("mb_per_s", math.Round(r.bytesPerSec/1e5)/10),
	}
	if r.percent >= 0 {
		as = append(as, slog.Int("percent", int(r.percent)))
		if r.etaKnown {
			as = append(as, slog.String("eta", r.eta.String()))
		}
	}
	return append(as, cur.Attrs...)
}

// Thousands formats n with commas: 1234567 -> "1,234,567".
func Thousands(n uint64) string {
	s := strconv.FormatUint(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// Counter counts the bytes and lines written through it to W; Sample may
// be called while it is written.
type Counter struct {
	W            io.Writer
	bytes, lines atomic.Uint64
}

func (c *Counter) Write(p []byte) (int, error) {
	n, err := c.W.Write(p)
	c.bytes.Add(uint64(n))
	c.lines.Add(uint64(bytes.Count(p[:n], []byte{'\n'})))
	return n, err
}

// Flush flushes W if it can be (a compressor), so that a writer that
// flushes what it writes through (gen --live) still does.
func (c *Counter) Flush() error {
	if f, ok := c.W.(interface{ Flush() error }); ok {
		return f.Flush()
	}
	return nil
}

// Sample is what has been written so far: lines as frames.
func (c *Counter) Sample() Sample {
	return Sample{Frames: c.lines.Load(), Bytes: c.bytes.Load()}
}

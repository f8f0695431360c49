package dashboard

import (
	"context"
	_ "embed"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/headcount/headcount/internal/frame"
	"github.com/headcount/headcount/internal/pipeline"
	"github.com/headcount/headcount/internal/result"
)

//go:embed index.html
var page []byte

// How much recent history the board keeps.
const (
	Keep        = 60  // windows of each kind
	KeepSamples = 120 // throughput samples, one a second
	KeepDead    = 8   // dead letters
	KeepCorr    = 10  // corrections
	// ExcerptLen caps the bytes of a dead letter's frame kept for the page.
	ExcerptLen = 160
)

// Board records results, stats, dead letters and corrections for the page.
// Its Tee is the pipeline's sink (it passes every result on), its TeeDead
// the pipeline's dead letters, its Observe the pipeline's Observe.
type Board struct {
	mu          sync.Mutex
	windows     map[string]map[int64]result.Result // kind -> start -> latest revision
	stats       pipeline.Stats
	prev        pipeline.Stats
	prevAt      time.Time
	rate        float64 // frames/s between the last two observations a second apart
	samples     []Sample
	dead        uint64
	recentDead  []DeadLetter
	corrections []Correction
	clock       Clock
	started     time.Time
	wall        func() time.Time // time.Now; a test's clock for the throughput
}

// Clock says which time the page shows when it is not the wall clock: the
// demo's event time runs Speedup times faster.
type Clock struct {
	Name    string           // shown with every time, e.g. "demo time"
	Speedup float64          // event time per wall time
	Now     func() time.Time // the current time on this clock
	// Since is when the traffic began: windows that start before it hold
	// only part of their traffic (partial).
	Since time.Time
}

// New returns an empty board on the wall clock.
func New() *Board {
	return &Board{windows: map[string]map[int64]result.Result{}, started: time.Now(), wall: time.Now}
}

// SetClock makes the board show times on c (the demo's clock).
func (b *Board) SetClock(c Clock) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.clock = c
}

// DemoClock shows the board on the demo's clock (demo.Board): event time
// from start, speedup times the wall clock.
func (b *Board) DemoClock(start time.Time, speedup float64, now func() time.Time) {
	b.SetClock(Clock{Name: "demo time", Speedup: speedup, Now: now, Since: start})
}

// now is the time on the board's clock; b.mu is held.
func (b *Board) now() time.Time {
	if b.clock.Now != nil {
		return b.clock.Now()
	}
	return time.Now()
}

// Tee returns a sink that records each result on the board, then passes it
// to next.
func (b *Board) Tee(next pipeline.Sink) pipeline.Sink {
	return tee{b: b, next: next}
}

type tee struct {
	b    *Board
	next pipeline.Sink
}

func (t tee) Write(ctx context.Context, rs []result.Result) error {
	t.b.record(rs)
	return t.next.Write(ctx, rs)
}

func (b *Board) record(rs []result.Result) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, r := range rs {
		m := b.windows[r.Window]
		if m == nil {
			m = map[int64]result.Result{}
			b.windows[r.Window] = m
		}
		start := r.Start.Unix()
		old, had := m[start]
		if had && old.Final && !r.Final {
			continue // a provisional result never replaces a final one
		}
		if r.Final && r.Rev > 1 {
			b.corrected(old, had && old.Final, r)
		}
		m[start] = r
		if len(m) > Keep {
			delete(m, slices.Min(slices.Collect(maps.Keys(m))))
		}
	}
}

// corrected notes a correction of a final result; b.mu is held.
func (b *Board) corrected(old result.Result, known bool, r result.Result) {
	c := Correction{Window: r.Window, Start: r.Start, Rev: r.Rev, NewUsers: r.Users, NewFrames: r.Frames, At: b.now().Unix()}
	if known {
		c.OldUsers, c.OldFrames, c.OldRev = &old.Users, &old.Frames, old.Rev
	}
	b.corrections = keepLast(append(b.corrections, c), KeepCorr)
}

// keepLast drops all but the last n elements of s.
func keepLast[T any](s []T, n int) []T {
	if len(s) > n {
		s = slices.Delete(s, 0, len(s)-n)
	}
	return s
}

// Observe takes the pipeline's stats (pipeline.Config.Observe).
func (b *Board) Observe(s *pipeline.Stats) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stats = *s
	now := b.wall()
	if d := now.Sub(b.prevAt); d >= time.Second {
		if !b.prevAt.IsZero() {
			b.rate = float64(s.Frames-b.prev.Frames) / d.Seconds()
			rejected := float64(s.RejectedTotal()-b.prev.RejectedTotal()) / d.Seconds()
			b.samples = keepLast(append(b.samples, Sample{At: now.Unix(), Rate: b.rate, Rejected: rejected}), KeepSamples)
		}
		b.prev, b.prevAt = *s, now
	}
}

// Register adds the page at / and its data at /api/state to mux.
func (b *Board) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page)
	})
	mux.HandleFunc("GET /api/state", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(b.Snapshot())
	})
}

// reasons lists the reasons with a count, by name.
func reasons(counts *[frame.NumReasons]uint64) map[string]uint64 {
	m := map[string]uint64{}
	for r := frame.Reason(1); r < frame.NumReasons; r++ {
		if n := counts[r]; n > 0 {
			m[r.String()] = n
		}
	}
	return m
}

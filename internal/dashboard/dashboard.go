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

// Keep is how many recent windows of each kind the dashboard shows.
const Keep = 60

// Board records results and stats for the page. Its Tee is the pipeline's
// sink (it passes every result on), its Observe the pipeline's Observe.
type Board struct {
	mu      sync.Mutex
	windows map[string]map[int64]result.Result // kind -> start -> latest revision
	stats   pipeline.Stats
	prev    pipeline.Stats
	prevAt  time.Time
	rate    float64 // frames/s between the last two observations a second apart
	started time.Time
}

// New returns an empty board.
func New() *Board {
	return &Board{windows: map[string]map[int64]result.Result{}, started: time.Now()}
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
		if old, ok := m[start]; ok && old.Final && !r.Final {
			continue // a provisional result never replaces a final one
		}
		m[start] = r
		if len(m) > Keep {
			delete(m, slices.Min(slices.Collect(maps.Keys(m))))
		}
	}
}

// Observe takes the pipeline's stats (pipeline.Config.Observe).
func (b *Board) Observe(s *pipeline.Stats) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stats = *s
	now := time.Now()
	if d := now.Sub(b.prevAt); d >= time.Second {
		if !b.prevAt.IsZero() {
			b.rate = float64(s.Frames-b.prev.Frames) / d.Seconds()
		}
		b.prev, b.prevAt = *s, now
	}
}

// State is what /api/state returns. Windows holds, per kind, the latest
// revision of each recent window, oldest first, in the result format of the
// output (the page reads start, ts, users, frames, final, rev, exact, rse).
type State struct {
	Uptime     float64                    `json:"uptime_seconds"`
	Frames     uint64                     `json:"frames"`
	Counted    uint64                     `json:"counted"`
	Rejected   map[string]uint64          `json:"rejected"`
	Rate       float64                    `json:"frames_per_second"`
	Watermark  int64                      `json:"watermark"`
	Open       int                        `json:"open_windows"`
	Kept       int                        `json:"kept_windows"`
	Results    uint64                     `json:"results"`
	Windows    map[string][]result.Result `json:"windows"`
	UpdatedUTC string                     `json:"updated"`
}

// Snapshot returns the board's state.
func (b *Board) Snapshot() State {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := State{
		Uptime:     time.Since(b.started).Seconds(),
		Frames:     b.stats.Frames,
		Counted:    b.stats.Counted,
		Rejected:   map[string]uint64{},
		Rate:       b.rate,
		Watermark:  b.stats.Watermark,
		Open:       b.stats.OpenWindows,
		Kept:       b.stats.KeptWindows,
		Results:    b.stats.Results,
		Windows:    map[string][]result.Result{},
		UpdatedUTC: time.Now().UTC().Format(time.RFC3339),
	}
	for r := frame.Reason(1); r < frame.NumReasons; r++ {
		if n := b.stats.Rejected[r]; n > 0 {
			s.Rejected[r.String()] = n
		}
	}
	for kind, m := range b.windows {
		for _, start := range slices.Sorted(maps.Keys(m)) {
			s.Windows[kind] = append(s.Windows[kind], m[start])
		}
	}
	return s
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

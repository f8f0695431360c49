package dashboard

import (
	"maps"
	"slices"
	"time"

	"github.com/headcount/headcount/internal/result"
)

// State is what /api/state returns. Windows holds, per kind, the latest
// revision of each recent window, oldest first, in the result format of the
// output (the page reads start, ts, users, frames, final, rev, exact, rse).
// Times are unix seconds on the board's clock (ClockState), except
// Throughput's, which are wall time.
type State struct {
	Uptime      float64                    `json:"uptime_seconds"`
	Frames      uint64                     `json:"frames"`
	Counted     uint64                     `json:"counted"`
	Rejected    map[string]uint64          `json:"rejected"` // by reason
	Rate        float64                    `json:"frames_per_second"`
	Watermark   int64                      `json:"watermark"`
	Open        int                        `json:"open_windows"`
	Kept        int                        `json:"kept_windows"`
	Results     uint64                     `json:"results"`
	Windows     map[string][]result.Result `json:"windows"`
	Throughput  []Sample                   `json:"throughput"`   // oldest first
	DeadLetters DeadLetters                `json:"dead_letters"` // frames the dead letters received
	Corrections []Correction               `json:"corrections"`  // oldest first
	Clock       ClockState                 `json:"clock"`
	UpdatedUTC  string                     `json:"updated"` // wall clock
}

// Sample is the throughput over about a second of wall time ending At.
type Sample struct {
	At       int64   `json:"t"`
	Rate     float64 `json:"frames_per_second"`
	Rejected float64 `json:"rejected_per_second"`
}

// DeadLetters is how many frames were rejected to the dead letters, and the
// latest few.
type DeadLetters struct {
	Count  uint64       `json:"count"`
	Recent []DeadLetter `json:"recent"` // oldest first
}

// DeadLetter is one rejected frame: where it was read, why it was
// rejected, and the start of it as text.
type DeadLetter struct {
	At        int64  `json:"t"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
	Reason    string `json:"reason"`
	Bytes     int    `json:"bytes"`
	Excerpt   string `json:"excerpt"`
}

// Correction is a final result republished with late frames (rev > 1).
// The old counts are those of the revision before, when the board saw it.
type Correction struct {
	Window    string    `json:"window"`
	Start     time.Time `json:"start"`
	Rev       int       `json:"rev"`
	OldRev    int       `json:"old_rev,omitempty"`
	OldUsers  *uint64   `json:"old_users,omitempty"`
	NewUsers  uint64    `json:"users"`
	OldFrames *uint64   `json:"old_frames,omitempty"`
	NewFrames uint64    `json:"frames"`
	At        int64     `json:"t"`
}

// ClockState is the board's clock for the page.
type ClockState struct {
	Name    string  `json:"name"`    // "" for the wall clock
	Speedup float64 `json:"speedup"` // 1 for the wall clock
	Now     int64   `json:"now"`
	Since   int64   `json:"since"` // windows starting before it are partial; 0: unknown
}

// Snapshot returns the board's state.
func (b *Board) Snapshot() State {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := State{
		Uptime:      time.Since(b.started).Seconds(),
		Frames:      b.stats.Frames,
		Counted:     b.stats.Counted,
		Rejected:    reasons(&b.stats.Rejected),
		Rate:        b.rate,
		Watermark:   b.stats.Watermark,
		Open:        b.stats.OpenWindows,
		Kept:        b.stats.KeptWindows,
		Results:     b.stats.Results,
		Windows:     map[string][]result.Result{},
		Throughput:  append([]Sample{}, b.samples...),
		DeadLetters: DeadLetters{Count: b.dead, Recent: append([]DeadLetter{}, b.recentDead...)},
		Corrections: append([]Correction{}, b.corrections...),
		Clock:       ClockState{Name: b.clock.Name, Speedup: 1, Now: b.now().Unix()},
		UpdatedUTC:  time.Now().UTC().Format(time.RFC3339),
	}
	if b.clock.Speedup > 0 {
		s.Clock.Speedup = b.clock.Speedup
	}
	if !b.clock.Since.IsZero() {
		s.Clock.Since = b.clock.Since.Unix()
	}
	for kind, m := range b.windows {
		for _, start := range slices.Sorted(maps.Keys(m)) {
			s.Windows[kind] = append(s.Windows[kind], m[start])
		}
	}
	return s
}

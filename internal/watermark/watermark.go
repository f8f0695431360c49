package watermark

import (
	"math"
	"time"
)

// None is the watermark before any frame: nothing may close.
const None = math.MinInt64

// Config sets the tracker's rules.
type Config struct {
	// Lateness is how far behind the largest ts a frame may arrive and
	// still be counted before its window closes.
	Lateness time.Duration
	// Idle is how long (wall clock) a partition may go without frames
	// before it stops holding the watermark back; 0 means never.
	Idle time.Duration
}

// Partition tracks one input partition. Observe is called per frame, so it
// is a method on a pointer the caller keeps, not a map lookup.
type Partition struct {
	max      int64
	lastSeen time.Time
}

// Observe records a frame's ts and reports whether it raised the
// partition's largest ts (only then can the watermark move).
func (p *Partition) Observe(ts int64) bool {
	if ts > p.max {
		p.max = ts
		return true
	}
	return false
}

// Tracker combines partitions into the pipeline's watermark.
type Tracker struct {
	lateness int64
	idle     time.Duration
	parts    map[int32]*Partition
	wm       int64
}

// New returns a tracker with no partitions.
func New(cfg Config) *Tracker {
	return &Tracker{
		lateness: int64(cfg.Lateness / time.Second),
		idle:     cfg.Idle,
		parts:    map[int32]*Partition{},
		wm:       None,
	}
}

// Partition returns the tracker of partition id, creating it, and marks it
// active at now.
func (t *Tracker) Partition(id int32, now time.Time) *Partition {
	p := t.parts[id]
	if p == nil {
		p = &Partition{max: math.MinInt64}
		t.parts[id] = p
	}
	p.lastSeen = now
	return p
}

// Remove forgets a partition (revoked from this consumer).
func (t *Tracker) Remove(id int32) { delete(t.parts, id) }

// Watermark returns the current watermark at wall time now: every window
// whose end is at or before it may close.
func (t *Tracker) Watermark(now time.Time) int64 {
	low, high := int64(math.MaxInt64), int64(math.MinInt64)
	active := 0
	for _, p := range t.parts {
		if p.max == math.MinInt64 {
			continue
		}
		high = max(high, p.max)
		if t.idle > 0 && now.Sub(p.lastSeen) >= t.idle {
			continue
		}
		active++
		low = min(low, p.max)
	}
	switch {
	case active > 0:
	case high != math.MinInt64:
		low = high // every partition idle: the freshest one leads
	default:
		return t.wm
	}
	if w := sub(low, t.lateness); w > t.wm {
		t.wm = w
	}
	return t.wm
}

// sub is a-b clamped to int64, since a bogus ts can be near the limits.
func sub(a, b int64) int64 {
	if b > 0 && a < math.MinInt64+b {
		return math.MinInt64 + 1
	}
	return a - b
}

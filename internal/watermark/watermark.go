package watermark

import (
	"maps"
	"math"
	"slices"
	"time"
)

// Tracker combines partitions into the pipeline's watermark.
type Tracker struct {
	cfg   Config
	sec   seconds
	parts map[int32]*Partition
	wm    int64
}

// New returns a tracker with no partitions.
func New(cfg Config) *Tracker {
	if cfg.Confirm <= 0 {
		cfg.Confirm = DefaultConfirm
	}
	if cfg.Refute <= 0 {
		cfg.Refute = DefaultRefute
	}
	if cfg.MaxHeld <= 0 {
		cfg.MaxHeld = DefaultMaxHeld
	}
	return &Tracker{cfg: cfg, sec: secondsOf(&cfg), parts: map[int32]*Partition{}, wm: None}
}

// Partition returns the tracker of partition id, creating it (as seen at
// now) when new. A partition created before its first frame holds the
// watermark back until it has one or is idle.
func (t *Tracker) Partition(id int32, now time.Time) *Partition {
	p := t.parts[id]
	if p == nil {
		p = &Partition{cfg: &t.cfg, sec: &t.sec, max: math.MinInt64, lastSeen: now}
		t.parts[id] = p
	}
	return p
}

// Partitions calls fn for every partition, in id order (to settle held
// frames at the end, deterministically).
func (t *Tracker) Partitions(fn func(id int32, p *Partition)) {
	for _, id := range slices.Sorted(maps.Keys(t.parts)) {
		fn(id, t.parts[id])
	}
}

// Held is the number of frames held by the jump guard.
func (t *Tracker) Held() int {
	n := 0
	for _, p := range t.parts {
		n += len(p.held)
	}
	return n
}

// Remove forgets a partition (revoked from this consumer).
func (t *Tracker) Remove(id int32) { delete(t.parts, id) }

// Has says whether partition id is tracked.
func (t *Tracker) Has(id int32) bool { return t.parts[id] != nil }

// Watermark returns the current watermark at wall time now: every window
// whose end is at or before it may close.
//
// It is the minimum over active partitions of their largest ts, minus the
// lateness. A partition without frames for Idle is not active. When none
// is active, the freshest partition leads; and if its data is live (its
// largest ts was within LiveWithin of the wall clock when it last had
// frames), the watermark follows the wall clock minus the lateness, so
// the last windows of a stream that paused are published without waiting
// for new traffic. Replayed history is never live, so it never closes a
// window by the wall clock.
func (t *Tracker) Watermark(now time.Time) int64 {
	low, high := int64(math.MaxInt64), int64(math.MinInt64)
	var fresh *Partition
	active := 0
	for _, p := range t.parts {
		idle := t.cfg.Idle > 0 && now.Sub(p.lastSeen) >= t.cfg.Idle
		if p.max == math.MinInt64 {
			// Announced but without frames yet: it holds the watermark
			// back until its first frame, or until it is idle.
			if !idle {
				return t.wm
			}
			continue
		}
		if p.max > high {
			high, fresh = p.max, p
		}
		if idle {
			continue
		}
		active++
		low = min(low, p.max)
	}
	switch {
	case active > 0:
	case fresh != nil:
		low = high
		seen := fresh.lastSeen.Unix()
		if d := seen - fresh.max; d >= -int64(LiveWithin/time.Second) && d <= int64(LiveWithin/time.Second) {
			low = max(low, now.Unix())
		}
	default:
		return t.wm
	}
	if w := addSat(low, -t.sec.lateness); w > t.wm {
		t.wm = w
	}
	return t.wm
}

// addSat is a+b clamped to int64: a bogus ts can be near the limits.
func addSat(a, b int64) int64 {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		if b > 0 {
			return math.MaxInt64
		}
		return math.MinInt64 + 1
	}
	return s
}

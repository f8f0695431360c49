package watermark

import (
	"math"
	"time"
)

// Partition tracks one input partition. Admit and Observe are called per
// frame, so they are methods on a pointer the caller keeps.
type Partition struct {
	cfg      *Config
	sec      *seconds // the durations of cfg in seconds: no division per frame
	max      int64
	lastSeen time.Time
	accepted int64 // frames accepted so far (the guard's clock)
	held     []Held
	out      []Held // released or refuted frames, reused
}

// Seen marks the partition active at now. Only frames that count do so: a
// partition sending nothing but rejected frames goes idle and stops holding
// the watermark back.
func (p *Partition) Seen(now time.Time) { p.lastSeen = now }

// Observe records an accepted frame's ts and reports whether it raised the
// partition's largest ts (only then can the watermark move).
func (p *Partition) Observe(ts int64) bool {
	if ts > p.max {
		p.max = ts
		return true
	}
	return false
}

// Plausible says whether ts may move the partition's clock without a frame
// (a heartbeat: eventtime.Core.Heartbeat): within the bounds every frame is
// held to, and no jump, which only frames confirm (the guard).
func (p *Partition) Plausible(ts, now int64) bool {
	c := p.cfg
	if ts < c.MinTS || (c.MaxFuture > 0 && ts > addSat(now, p.sec.maxFuture)) {
		return false
	}
	return c.MaxJump <= 0 || p.max == math.MinInt64 || ts <= p.max || p.near(ts, p.max)
}

// Watermark is the partition's own watermark: its largest ts minus the
// lateness, or None before its first accepted frame.
func (p *Partition) Watermark() int64 {
	if p.max == math.MinInt64 {
		return None
	}
	return addSat(p.max, -p.sec.lateness)
}

// seconds are a Config's durations in whole seconds, as timestamps are.
type seconds struct{ lateness, maxFuture, maxJump int64 }

func secondsOf(c *Config) seconds {
	return seconds{int64(c.Lateness / time.Second), int64(c.MaxFuture / time.Second), int64(c.MaxJump / time.Second)}
}

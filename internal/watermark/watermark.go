package watermark

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"
)

// None is the watermark before any frame: nothing may close.
const None = math.MinInt64

// Defaults of the run command (a zero Config turns the guards off).
const (
	DefaultLateness  = 5 * time.Second
	DefaultIdle      = 10 * time.Second
	DefaultMinTS     = 946684800 // 2000-01-01T00:00:00Z
	DefaultMaxFuture = time.Hour
	DefaultMaxJump   = time.Hour
)

// Defaults for the guard against bogus timestamps.
const (
	DefaultConfirm = 3
	DefaultRefute  = 1000
	DefaultMaxHeld = 10000
	// LiveWithin is how close to the wall clock a partition's largest ts
	// must be for the input to count as live (see Tracker.Watermark).
	LiveWithin = 5 * time.Minute
)

// Config sets the tracker's rules.
type Config struct {
	// Lateness is how far behind the largest ts a frame may arrive and
	// still be counted before its window closes.
	Lateness time.Duration
	// Idle is how long (wall clock) a partition may go without frames
	// before it stops holding the watermark back; 0 means never. When
	// every partition is idle and the input is live, the watermark
	// follows the wall clock.
	Idle time.Duration
	// MinTS rejects frames with an earlier ts (unix seconds).
	MinTS int64
	// MaxFuture rejects frames whose ts is further ahead of the wall
	// clock; 0 turns the check off (for synthetic data in the future).
	MaxFuture time.Duration
	// MaxJump: a frame whose ts is further than this ahead of its
	// partition's largest ts is held, not applied, until Confirm frames
	// near it outnumber the ordinary frames since (the stream really
	// moved), or Refute ordinary frames pass (it was bogus). 0 turns the
	// guard off.
	MaxJump time.Duration
	Confirm int // default DefaultConfirm
	Refute  int // default DefaultRefute
	MaxHeld int // held frames per partition; the oldest is refuted beyond it
}

// DefaultConfig is the run command's configuration.
func DefaultConfig() Config {
	return Config{Lateness: DefaultLateness, Idle: DefaultIdle, MinTS: DefaultMinTS, MaxFuture: DefaultMaxFuture, MaxJump: DefaultMaxJump}
}

// Validate reports every setting out of range, naming the flag that sets it.
func (c Config) Validate() error {
	var errs []error
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{{"--lateness", c.Lateness}, {"--idle", c.Idle}, {"--max-future", c.MaxFuture}, {"--max-jump", c.MaxJump}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative (got %s)", d.flag, d.v))
		} else if d.v > 0 && d.v < time.Second && (d.flag == "--max-jump" || d.flag == "--max-future") {
			// Timestamps are whole seconds: a bound under a second would
			// act as 0 and hold every frame that moves time forward.
			errs = append(errs, fmt.Errorf("%s must be 0 (off) or at least 1s (got %s)", d.flag, d.v))
		}
	}
	if c.Confirm < 0 || c.Refute < 0 || c.MaxHeld < 0 {
		errs = append(errs, errors.New("watermark: Confirm, Refute and MaxHeld must not be negative"))
	}
	return errors.Join(errs...)
}

// Verdict is what Admit decides about a frame.
type Verdict uint8

const (
	Accept Verdict = iota // apply it now
	Bogus                 // reject it: implausible ts
	Hold                  // keep it aside (Partition.Hold); it may be a bit flip
)

// Held is a frame kept aside by the jump guard. Frame is a copy: the batch
// it came from is gone by the time the frame is released or refuted.
type Held struct {
	TS     int64
	Hash   uint64
	Offset int64
	Frame  []byte
	at     int64 // the partition's count of accepted frames when held
}

// Partition tracks one input partition. Admit and Observe are called per
// frame, so they are methods on a pointer the caller keeps.
type Partition struct {
	cfg      *Config
	max      int64
	lastSeen time.Time
	accepted int64 // frames accepted so far (the guard's clock)
	held     []Held
	out      []Held // released or refuted frames, reused
}

// Admit decides about a frame with timestamp ts at wall time now (unix
// seconds).
func (p *Partition) Admit(ts, now int64) Verdict {
	c := p.cfg
	if ts < c.MinTS || (c.MaxFuture > 0 && ts > addSat(now, int64(c.MaxFuture/time.Second))) {
		return Bogus
	}
	// With the guard on, a partition's first frames are held too until
	// Confirm of them agree: a flipped first frame must not set the time.
	if c.MaxJump > 0 && (p.max == math.MinInt64 || ts > addSat(p.max, int64(c.MaxJump/time.Second))) {
		return Hold
	}
	p.accepted++
	return Accept
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

// Watermark is the partition's own watermark: its largest ts minus the
// lateness, or None before its first accepted frame.
func (p *Partition) Watermark() int64 {
	if p.max == math.MinInt64 {
		return None
	}
	return addSat(p.max, -int64(p.cfg.Lateness/time.Second))
}

// Hold keeps h aside. It returns the held frames that are now confirmed,
// in arrival order, for the caller to apply (they advance time), and
// those refuted because too many are held. Both are valid until the next
// call.
func (p *Partition) Hold(h Held) (released, refuted []Held) {
	c := p.cfg
	h.at = p.accepted
	p.held = append(p.held, h)
	jump := int64(c.MaxJump / time.Second)
	near, first := 0, -1
	for i := range p.held {
		if d := p.held[i].TS - h.TS; d <= jump && d >= -jump {
			near++
			if first < 0 {
				first = i
			}
		}
	}
	p.out = p.out[:0]
	if near >= c.Confirm && int64(near) > p.accepted-p.held[first].at {
		// The stream moved: release the cluster, keep the rest.
		kept := p.held[:0]
		for _, x := range p.held {
			if d := x.TS - h.TS; d <= jump && d >= -jump {
				p.out = append(p.out, x)
			} else {
				kept = append(kept, x)
			}
		}
		p.held = kept
		return p.out, nil
	}
	if len(p.held) > c.MaxHeld {
		p.out = append(p.out, p.held[0])
		p.held = append(p.held[:0], p.held[1:]...)
		return nil, p.out
	}
	return nil, nil
}

// Refuted returns the held frames that enough ordinary frames have passed:
// they were bogus. Valid until the next call.
func (p *Partition) Refuted() []Held {
	if len(p.held) == 0 || p.accepted-p.held[0].at < int64(p.cfg.Refute) {
		return nil
	}
	p.out = p.out[:0]
	i := 0
	for i < len(p.held) && p.accepted-p.held[i].at >= int64(p.cfg.Refute) {
		p.out = append(p.out, p.held[i])
		i++
	}
	p.held = append(p.held[:0], p.held[i:]...)
	return p.out
}

// Finish ends the partition's input (end of input, or revoked): nothing
// more can confirm a held frame. If the partition never had its time
// confirmed (fewer than Confirm frames in all), the largest group of held
// frames within MaxJump of each other is released, the earliest group on a
// tie; every other held frame is refuted. Both are valid until the next
// call.
func (p *Partition) Finish() (released, refuted []Held) {
	p.out = p.out[:0]
	best := -1
	if p.max == math.MinInt64 {
		jump := int64(p.cfg.MaxJump / time.Second)
		bestNear := 0
		for i := range p.held {
			near := 0
			for j := range p.held {
				if d := p.held[j].TS - p.held[i].TS; d <= jump && d >= -jump {
					near++
				}
			}
			if near > bestNear {
				best, bestNear = i, near
			}
		}
	}
	if best >= 0 {
		jump := int64(p.cfg.MaxJump / time.Second)
		center := p.held[best].TS
		for _, h := range p.held {
			if d := h.TS - center; d <= jump && d >= -jump {
				p.out = append(p.out, h)
			}
		}
	}
	n := len(p.out)
	for _, h := range p.held {
		if best < 0 {
			p.out = append(p.out, h)
			continue
		}
		if d := h.TS - p.held[best].TS; d > int64(p.cfg.MaxJump/time.Second) || d < -int64(p.cfg.MaxJump/time.Second) {
			p.out = append(p.out, h)
		}
	}
	p.held = p.held[:0]
	return p.out[:n], p.out[n:]
}

// Tracker combines partitions into the pipeline's watermark.
type Tracker struct {
	cfg      Config
	lateness int64
	parts    map[int32]*Partition
	wm       int64
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
	return &Tracker{
		cfg:      cfg,
		lateness: int64(cfg.Lateness / time.Second),
		parts:    map[int32]*Partition{},
		wm:       None,
	}
}

// Partition returns the tracker of partition id, creating it (as seen at
// now) when new. A partition created before its first frame holds the
// watermark back until it has one or is idle.
func (t *Tracker) Partition(id int32, now time.Time) *Partition {
	p := t.parts[id]
	if p == nil {
		p = &Partition{cfg: &t.cfg, max: math.MinInt64, lastSeen: now}
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
	if w := addSat(low, -t.lateness); w > t.wm {
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

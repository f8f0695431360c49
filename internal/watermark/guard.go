package watermark

// The jump guard: a frame far ahead of its partition's time is held until
// other frames confirm that the stream moved there, or enough ordinary
// frames refute it (a bit flip). Its rules are in docs/SEMANTICS.md, "Bad
// timestamps".

import (
	"math"
)

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

// Admit decides about a frame with timestamp ts at wall time now (unix
// seconds).
func (p *Partition) Admit(ts, now int64) Verdict {
	c := p.cfg
	if ts < c.MinTS || (c.MaxFuture > 0 && ts > addSat(now, p.sec.maxFuture)) {
		return Bogus
	}
	// With the guard on, a partition's first frames are held too until
	// Confirm of them agree: a flipped first frame must not set the time.
	if c.MaxJump > 0 && (p.max == math.MinInt64 || ts > p.max && !p.near(ts, p.max)) {
		return Hold
	}
	p.accepted++
	return Accept
}

// Hold keeps h aside. It returns the held frames that are now confirmed,
// in arrival order, for the caller to apply (they advance time), and
// those refuted because too many are held. Both are valid until the next
// call.
func (p *Partition) Hold(h Held) (released, refuted []Held) {
	c := p.cfg
	h.at = p.accepted
	p.held = append(p.held, h)
	near, first := 0, -1
	for i := range p.held {
		if p.near(p.held[i].TS, h.TS) {
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
			if p.near(x.TS, h.TS) {
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
		bestNear := 0
		for i := range p.held {
			near := 0
			for j := range p.held {
				if p.near(p.held[j].TS, p.held[i].TS) {
					near++
				}
			}
			if near > bestNear {
				best, bestNear = i, near
			}
		}
	}
	if best >= 0 {
		for _, h := range p.held {
			if p.near(h.TS, p.held[best].TS) {
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
		if !p.near(h.TS, p.held[best].TS) {
			p.out = append(p.out, h)
		}
	}
	p.held = p.held[:0]
	return p.out[:n], p.out[n:]
}

// near says whether a and b are within MaxJump of each other: the one
// measure of a jump, for admitting, confirming and settling frames.
func (p *Partition) near(a, b int64) bool {
	jump := p.sec.maxJump
	if a < b {
		a, b = b, a
	}
	return a <= addSat(b, jump)
}

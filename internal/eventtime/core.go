package eventtime

import (
	"time"

	"github.com/headcount/headcount/internal/frame"
	"github.com/headcount/headcount/internal/result"
	"github.com/headcount/headcount/internal/watermark"
	"github.com/headcount/headcount/internal/window"
)

// Frame is one parsed frame that is valid JSON with a uid and a ts.
type Frame struct {
	TS     int64  // unix seconds
	Hash   uint64 // of the uid
	Offset int64  // its input position, for dead letters
	// Bytes is the frame, for dead letters. The core keeps a copy only of
	// the frames its jump guard holds; others are not retained.
	Bytes []byte
}

// Reject is a frame the core did not count: bogus-ts or too-late.
type Reject struct {
	Partition int32
	Offset    int64
	// Frame is valid until the caller's batch is released or the next
	// Clear, whichever comes first.
	Frame  []byte
	Reason frame.Reason
}

// Stats are the core's counters and the size of its state.
type Stats struct {
	Counted uint64 // frames counted in at least one window
	// PartlyLate counts frames counted in some windows but too late for a
	// shorter, closed one (they count, so they are not rejects).
	PartlyLate  uint64
	Watermark   int64 // unix seconds; watermark.None before the first
	OpenWindows int   // windows open
	KeptWindows int   // windows closed but kept for corrections
	WindowBytes int   // memory of the windows' counters
	Held        int   // frames held by the jump guard
}

// Core owns the event-time state. It is used by one goroutine.
type Core struct {
	winCfg window.Config
	wmCfg  watermark.Config
	now    time.Time
	nowSec int64
	lastWM int64
	wm     *watermark.Tracker
	eng    *window.Engine

	// The partition of the previous Offer: frames come in batches of one
	// partition, so most Offers skip the map lookup.
	curID   int32
	cur     *watermark.Partition
	results []result.Result
	rejects []Reject
	counted uint64
	partly  uint64
}

// New returns a core with no partitions and no windows. The wall clock is
// the zero time until the first Tick.
func New(win window.Config, wm watermark.Config) *Core {
	return &Core{winCfg: win, wmCfg: wm, lastWM: watermark.None, wm: watermark.New(wm), eng: window.NewEngine(win)}
}

// Tick sets the wall clock to now for the calls that follow, and closes
// what the watermark allows at now (a partition gone idle may let it move).
// Call it before every batch and periodically without input.
func (c *Core) Tick(now time.Time) {
	c.now, c.nowSec = now, now.Unix()
	c.advance(c.wm.Watermark(now))
}

// Assign announces partition p: until its first frame, or until it is idle,
// it holds the watermark back. Assigning a known partition changes nothing.
func (c *Core) Assign(p int32) { c.partition(p) }

// Revoke ends partition p (no longer this consumer's): frames its guard
// still holds are settled (counted or rejected) and it stops holding the
// watermark back.
func (c *Core) Revoke(p int32) {
	if !c.wm.Has(p) {
		return
	}
	c.settle(p, c.partition(p))
	c.wm.Remove(p)
	c.cur = nil
}

// Offer applies frame f of partition p: counted in its windows, held by
// the jump guard, or rejected (Rejects). It may close windows (Results).
func (c *Core) Offer(p int32, f Frame) {
	part := c.partition(p)
	switch part.Admit(f.TS, c.nowSec) {
	case watermark.Bogus:
		c.reject(p, f.Offset, f.Bytes, frame.BogusTS)
	case watermark.Hold:
		// Possibly a bit flip: keep a copy aside until the guard decides
		// (the caller's batch is gone by then).
		h := watermark.Held{TS: f.TS, Hash: f.Hash, Offset: f.Offset, Frame: append([]byte(nil), f.Bytes...)}
		released, refuted := part.Hold(h)
		for _, h := range released {
			c.count(part, p, h.TS, h.Hash, h.Offset, h.Frame)
		}
		c.rejectHeld(p, refuted)
	default:
		c.count(part, p, f.TS, f.Hash, f.Offset, f.Bytes)
		c.rejectHeld(p, part.Refuted())
	}
}

// Heartbeat tells the core that partition p's frames have reached ts,
// without a frame: in a group that counts together, each bucket's core
// learns every input partition's clock this way (bucket.Frames.Clock), so
// a bucket with few of a partition's users, or none, does not hold the
// merge back. ts must be one the partition's frames vouch for (a median),
// never a single frame's. A ts no frame could have (before --min-ts, past
// --max-future) or a jump (only frames confirm one, through the guard) is
// ignored.
func (c *Core) Heartbeat(p int32, ts int64) {
	part := c.partition(p)
	if !part.Plausible(ts, c.nowSec) {
		return
	}
	part.Seen(c.now)
	if part.Observe(ts) {
		c.advance(c.wm.Watermark(c.now))
	}
}

// Early appends a provisional result (final:false) of every open window
// that counted a frame since its last one.
func (c *Core) Early() { c.results = c.eng.Early(c.results) }

// Finish ends the input: what the guards hold is settled and every window
// is flushed final.
func (c *Core) Finish() {
	c.wm.Partitions(func(id int32, p *watermark.Partition) { c.settle(id, p) })
	c.results = c.eng.Flush(c.results)
}

// Results are the results produced since the last Clear, in order.
func (c *Core) Results() []result.Result { return c.results }

// Rejects are the frames rejected since the last Clear.
func (c *Core) Rejects() []Reject { return c.rejects }

// Clear forgets the results and rejects taken by the caller.
func (c *Core) Clear() {
	clear(c.rejects) // drop references to frames
	c.results, c.rejects = c.results[:0], c.rejects[:0]
}

// Stats returns the core's counters and state sizes.
func (c *Core) Stats() Stats {
	s := Stats{Counted: c.counted, PartlyLate: c.partly, Watermark: c.lastWM, Held: c.wm.Held(), WindowBytes: c.eng.MemBytes()}
	s.OpenWindows, s.KeptWindows = c.eng.Open()
	return s
}

func (c *Core) partition(p int32) *watermark.Partition {
	if c.cur == nil || c.curID != p {
		c.cur, c.curID = c.wm.Partition(p, c.now), p
	}
	return c.cur
}

// count applies an accepted frame: it may advance the watermark (closing
// windows before the frame is counted), then it is added to its windows.
// Lateness is judged against the frame's own partition as well as the
// pipeline's watermark: a frame far behind its partition is too late even
// while another partition has not started (the pipeline's watermark does
// not exist yet), as it would be if its partition were read alone.
func (c *Core) count(part *watermark.Partition, p int32, ts int64, h uint64, off int64, f []byte) {
	part.Seen(c.now)
	if part.Observe(ts) {
		c.advance(c.wm.Watermark(c.now))
	}
	counted, late := c.eng.Add(ts, h, part.Watermark())
	switch {
	case counted == 0:
		c.reject(p, off, f, frame.TooLate)
		return
	case late > 0:
		c.partly++
	}
	c.counted++
}

// advance handles a new watermark w. Corrections (late frames counted in
// kept windows) are published when the watermark moves, before the windows
// it closes: at most one revision per window per move, at the same points
// whatever the batching, so the results are deterministic.
//
// With window.Config.CorrectEvery, corrections wait until the watermark
// crosses a multiple of it (a fixed grid of event time, so the revisions
// do not depend on the batching either); the engine publishes the ones
// still pending before it forgets a window, and at the end.
func (c *Core) advance(w int64) {
	if w <= c.lastWM {
		return
	}
	prev := c.lastWM
	c.lastWM = w
	if every := int64(c.winCfg.CorrectEvery / time.Second); every <= 0 || prev == watermark.None || prev/every != w/every {
		c.results = c.eng.Corrections(c.results)
	}
	// Close also records how far windows have closed (too-late decisions)
	// and evicts kept windows, so it runs even when no window ends yet.
	c.results = c.eng.Close(w, c.results)
}

// settle decides what the guard of a partition still holds, when its input
// ends or it is revoked.
func (c *Core) settle(id int32, p *watermark.Partition) {
	released, refuted := p.Finish()
	for _, h := range released {
		c.count(p, id, h.TS, h.Hash, h.Offset, h.Frame)
	}
	c.rejectHeld(id, refuted)
}

func (c *Core) rejectHeld(p int32, hs []watermark.Held) {
	for _, h := range hs {
		c.reject(p, h.Offset, h.Frame, frame.BogusTS)
	}
}

func (c *Core) reject(p int32, off int64, f []byte, r frame.Reason) {
	c.rejects = append(c.rejects, Reject{Partition: p, Offset: off, Frame: f, Reason: r})
}

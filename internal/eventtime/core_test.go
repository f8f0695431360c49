package eventtime

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/headcount/headcount/internal/frame"
	"github.com/headcount/headcount/internal/result"
	"github.com/headcount/headcount/internal/watermark"
	"github.com/headcount/headcount/internal/window"
)

// runDefaults are the run command's settings.
func runDefaults() (window.Config, watermark.Config) {
	return window.DefaultConfig(), watermark.DefaultConfig()
}

// size scales a test's frame count down under -short (the -race run).
func size(n int) int {
	if testing.Short() {
		return n / 4
	}
	return n
}

// drain takes the core's output into rs and counts rejects by reason.
type drain struct {
	rs      []result.Result
	rejects map[int64]frame.Reason // by offset
	n       [frame.NumReasons]int
}

func (d *drain) take(c *Core) {
	d.rs = append(d.rs, c.Results()...)
	for _, r := range c.Rejects() {
		if d.rejects == nil {
			d.rejects = map[int64]frame.Reason{}
		}
		d.rejects[r.Offset] = r.Reason
		d.n[r.Reason]++
	}
	c.Clear()
}

// TestGarbagePartitionGoesIdle: a partition whose frames are all rejected
// (a producer writing milliseconds) goes idle like a silent one and does
// not hold the other partitions' windows back.
func TestGarbagePartitionGoesIdle(t *testing.T) {
	clock := time.Unix(1468244400, 0)
	c := New(runDefaults())
	var d drain
	for i := range 600 {
		clock = clock.Add(time.Second)
		c.Tick(clock)
		c.Offer(0, Frame{TS: 1468244400 + int64(i), Hash: uint64(i % 50), Offset: int64(i)})
		c.Offer(1, Frame{TS: (1468244400 + int64(i)) * 1000, Hash: uint64(i % 50), Offset: int64(i)})
		d.take(c)
	}
	if len(d.rs) < 8 {
		t.Errorf("%d results before the end of input: the garbage partition held the watermark", len(d.rs))
	}
	if d.n[frame.BogusTS] != 600 {
		t.Errorf("bogus-ts %d", d.n[frame.BogusTS])
	}
}

// TestRevokeRejectsHeld: frames held by the jump guard of a partition that
// is revoked are rejected (dead letters), not silently dropped.
func TestRevokeRejectsHeld(t *testing.T) {
	c := New(runDefaults())
	c.Tick(time.Unix(1468244400, 0))
	c.Offer(0, Frame{TS: 1468244400, Hash: 1, Offset: 0})
	c.Offer(0, Frame{TS: 1478244400, Hash: 2, Offset: 1})
	c.Revoke(0)
	var d drain
	d.take(c)
	c.Finish()
	d.take(c)
	if st := c.Stats(); st.Counted != 1 || d.n[frame.BogusTS] != 1 || len(d.rejects) != 1 {
		t.Errorf("stats %+v, rejects %v", st, d.n)
	}
}

// event is one generated frame of the bit-flip test.
type event struct {
	part    int32
	ts      int64
	uid     uint64
	offset  int64
	flipped bool
}

// flipStream makes n frames at 1,000 per second of event time from 20,000
// users on 4 partitions (round robin, as a keyless producer does); 1% of
// frames are up to 30 s late, and 0.5% have the same bit of ts flipped, as a
// faulty device does.
func flipStream(n int, bit uint, seed uint64) [4][]event {
	r := rand.New(rand.NewPCG(seed, 7))
	const start = 1468244400
	var parts [4][]event
	for i := range n {
		ts := int64(start + i/1000)
		if r.IntN(100) == 0 {
			ts -= int64(1 + r.IntN(30))
		}
		e := event{part: int32(i % 4), ts: ts, uid: uint64(r.IntN(20000)), offset: int64(i)}
		if r.IntN(200) == 0 {
			e.ts ^= 1 << bit
			e.flipped = true
		}
		parts[e.part] = append(parts[e.part], e)
	}
	return parts
}

// A schedule is an order in which the partitions' frames reach the core,
// with what happens to the partitions on the way (the way a Kafka consumer
// sees them: fetches of one partition, a late starter, an idle partition, a
// rebalance). Each partition's own order is kept.
type schedule struct {
	name string
	// run feeds parts to c through offer; tick moves the wall clock.
	run func(c *Core, parts [4][]event, offer func(e event), tick func(d time.Duration), r *rand.Rand)
}

// batches feeds random-sized runs (1..600 frames) of random partitions
// from their position in pos until each reaches to.
func batches(parts [4][]event, pos *[4]int, to [4]int, offer func(event), tick func(time.Duration), r *rand.Rand) {
	for {
		var live []int
		for p := range parts {
			if pos[p] < to[p] {
				live = append(live, p)
			}
		}
		if len(live) == 0 {
			return
		}
		p := live[r.IntN(len(live))]
		end := min(to[p], pos[p]+1+r.IntN(600))
		for _, e := range parts[p][pos[p]:end] {
			offer(e)
		}
		// The wall clock moves 1 ms per frame (1,000 frames/s).
		tick(time.Duration(end-pos[p]) * time.Millisecond)
		pos[p] = end
	}
}

func frac(parts [4][]event, f float64) [4]int {
	var to [4]int
	for p := range parts {
		to[p] = int(float64(len(parts[p])) * f)
	}
	return to
}

var schedules = []schedule{
	{"round robin", func(c *Core, parts [4][]event, offer func(event), tick func(time.Duration), r *rand.Rand) {
		var pos [4]int
		batches(parts, &pos, frac(parts, 1), offer, tick, r)
	}},
	{"one partition after another", func(c *Core, parts [4][]event, offer func(event), tick func(time.Duration), r *rand.Rand) {
		for p := range parts {
			for _, e := range parts[p] {
				offer(e)
			}
			tick(time.Second)
		}
	}},
	{"announced, then a late starter", func(c *Core, parts [4][]event, offer func(event), tick func(time.Duration), r *rand.Rand) {
		for p := range parts {
			c.Assign(int32(p))
		}
		var pos [4]int
		to := frac(parts, 0.5)
		to[3] = 0
		batches(parts, &pos, to, offer, tick, r)
		batches(parts, &pos, frac(parts, 1), offer, tick, r)
	}},
	{"idle and back", func(c *Core, parts [4][]event, offer func(event), tick func(time.Duration), r *rand.Rand) {
		var pos [4]int
		batches(parts, &pos, frac(parts, 0.3), offer, tick, r)
		// Partition 1 pauses for 20 s of wall clock (idle after 10 s)
		// while the others go on; then it comes back.
		to := frac(parts, 0.6)
		to[1] = pos[1]
		tick(20 * time.Second)
		batches(parts, &pos, to, offer, tick, r)
		tick(20 * time.Second)
		batches(parts, &pos, frac(parts, 1), offer, tick, r)
	}},
	{"rebalance", func(c *Core, parts [4][]event, offer func(event), tick func(time.Duration), r *rand.Rand) {
		var pos [4]int
		batches(parts, &pos, frac(parts, 0.33), offer, tick, r)
		// Partitions 2 and 1 move to another member and back: they start
		// again with no clock of their own, as a new owner's do.
		c.Revoke(2)
		c.Revoke(1)
		batches(parts, &pos, frac(parts, 0.66), offer, tick, r)
		c.Revoke(1)
		c.Assign(1)
		batches(parts, &pos, frac(parts, 1), offer, tick, r)
	}},
}

// TestBitFlipsAcrossPartitions: 0.5% of frames carry the same flipped bit
// of ts (back to 2008, 2014, 2015, or forward by weeks or years), on 4
// partitions that reach the core in every order a consumer meets. Every
// flipped frame is rejected (bogus-ts or too-late), every other frame is
// counted, no window outside the stream's time is published, and the latest
// revision of every minute equals the independent count.
func TestBitFlipsAcrossPartitions(t *testing.T) {
	n := size(200000)
	for _, bit := range []uint{22, 24, 25, 26, 27, 28} {
		parts := flipStream(n, bit, uint64(bit))
		want := map[int64]map[uint64]bool{}
		flipped := 0
		for _, p := range parts {
			for _, e := range p {
				if e.flipped {
					flipped++
					continue
				}
				m := e.ts - e.ts%60
				if want[m] == nil {
					want[m] = map[uint64]bool{}
				}
				want[m][e.uid] = true
			}
		}
		for _, s := range schedules {
			t.Run(fmt.Sprintf("bit %d/%s", bit, s.name), func(t *testing.T) {
				c := New(runDefaults())
				clock := time.Now()
				var d drain
				c.Tick(clock)
				offer := func(e event) {
					c.Offer(e.part, Frame{TS: e.ts, Hash: xxhash.Sum64String(fmt.Sprint(e.uid)), Offset: e.offset})
				}
				tick := func(dt time.Duration) {
					clock = clock.Add(dt)
					c.Tick(clock)
					d.take(c)
				}
				s.run(c, parts, offer, tick, rand.New(rand.NewPCG(uint64(bit), 1)))
				c.Finish()
				d.take(c)
				checkFlips(t, parts, &d, flipped, want)
			})
		}
	}
}

func checkFlips(t *testing.T, parts [4][]event, d *drain, flipped int, want map[int64]map[uint64]bool) {
	t.Helper()
	for _, p := range parts {
		for _, e := range p {
			r, rejected := d.rejects[e.offset]
			switch {
			case e.flipped && !rejected:
				t.Errorf("flipped frame %d (ts %d) counted", e.offset, e.ts)
			case e.flipped && r != frame.BogusTS && r != frame.TooLate:
				t.Errorf("flipped frame %d rejected as %s", e.offset, r)
			case !e.flipped && rejected:
				t.Errorf("frame %d (ts %d) rejected as %s", e.offset, e.ts, r)
			}
		}
	}
	latest := map[int64]result.Result{}
	revs := map[int64][]int{}
	for _, r := range d.rs {
		if r.Final {
			latest[r.Start.Unix()] = r
			revs[r.Start.Unix()] = append(revs[r.Start.Unix()], r.Rev)
		}
	}
	for m, users := range want {
		if got := latest[m]; got.Users != uint64(len(users)) {
			t.Errorf("minute %s: %d users, want %d", time.Unix(m, 0).UTC(), got.Users, len(users))
		}
	}
	for m, rs := range revs {
		if want[m] == nil {
			t.Errorf("bogus minute %s published (revisions %v)", time.Unix(m, 0).UTC(), rs)
		}
		if !slices.Equal(rs, seq(len(rs))) {
			t.Errorf("minute %s: revisions %v", time.Unix(m, 0).UTC(), rs)
		}
	}
	if got := d.n[frame.BogusTS] + d.n[frame.TooLate]; got != flipped {
		t.Errorf("%d rejects, %d flipped frames", got, flipped)
	}
}

// seq is 1..n.
func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i + 1
	}
	return s
}

// A heartbeat moves a partition's clock like a frame: a bucket with no
// user of partition 1 still closes its windows by partition 1's time. A
// heartbeat no frame could have (before --min-ts, past --max-future, or a
// jump the guard has not confirmed) moves nothing.
func TestHeartbeat(t *testing.T) {
	const t0 = 1468244400
	win, wm := runDefaults()
	now := time.Unix(t0+10*3600, 0) // replayed history: max-future is far

	for _, tc := range []struct {
		name  string
		beat  int64
		final bool // minute t0 is final after the heartbeat
	}{
		{"a plausible time", t0 + 70, true},
		{"not yet past the end and the lateness", t0 + 62, false},
		{"before --min-ts", 5, false},
		{"past --max-future", t0 + 12*3600, false},
		{"a jump (within --max-future)", t0 + 30 + 2*3600, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := New(win, wm)
			c.Tick(now)
			c.Assign(0)
			c.Assign(1)
			// Partition 0 is far ahead; partition 1's one frame is at
			// t0+30 and holds minute t0 open.
			for i := range 5 {
				c.Offer(0, Frame{TS: t0 + 100 + int64(i), Hash: uint64(i + 1), Offset: int64(i)})
			}
			for i := range 4 {
				c.Offer(1, Frame{TS: t0 + 30, Hash: uint64(100 + i), Offset: int64(i)})
			}
			if rs := c.Results(); len(rs) != 0 {
				t.Fatalf("results before the heartbeat: %v", rs)
			}
			c.Heartbeat(1, tc.beat)
			final := false
			for _, r := range c.Results() {
				final = final || (r.Final && r.Start.Unix() == t0)
			}
			if final != tc.final {
				t.Errorf("heartbeat at t0%+d: minute t0 final = %v, want %v (results %v)", tc.beat-t0, final, tc.final, c.Results())
			}
		})
	}
}

package demo

import (
	"testing"
	"time"

	"github.com/headcount/headcount/internal/frame"
)

// TestBadKinds: each broken frame is rejected for its reason, by the full
// parser and by the one that stops after uid and ts (--trust-producer),
// whatever good frame it is made from.
func TestBadKinds(t *testing.T) {
	p := newPaced(NewClock(time.Now(), 1), Config{Rate: 1000, Users: 1000, BadProb: -1, BitFlipProb: -1}, &Stats{})
	defer p.Close()
	for i := 0; i < 300; i++ {
		good, uid, ts, _, _ := p.g.Next(nil)
		for _, k := range badKinds {
			f := k.make(good, uid, ts)
			for _, trust := range []bool{false, true} {
				parser := frame.Parser{TrustProducer: trust}
				if _, _, r := parser.Parse(f); r != k.reason {
					t.Fatalf("%s (trust producer %v): rejected as %v, want %v:\n%q", k.name, trust, r, k.reason, f)
				}
			}
		}
	}
}

// TestGenerate: the demo's traffic carries bad frames and flipped
// timestamps at about the configured shares, and its count of each is
// exact: a frame counted as good parses with a plausible ts, a flipped one
// parses with a ts decades away, a bad one is rejected for its reason.
func TestGenerate(t *testing.T) {
	const n = 20000
	var st Stats
	clock := NewClock(time.Now(), 1)
	p := newPaced(clock, Config{Rate: 1000, Users: 1000, BadProb: 0.05, BitFlipProb: 0.01}, &st)
	defer p.Close()
	var got [frame.NumReasons]uint64
	var parser frame.Parser
	lo, hi := clock.event0.Add(-time.Minute).Unix(), clock.event0.Add(time.Hour).Unix()
	for i := 0; i < n; i++ {
		_, ts, r := parser.Parse(p.generate())
		if r == frame.OK && (ts < lo || ts > hi) {
			r = frame.BogusTS
		}
		got[r]++
	}
	for r := frame.OK; r < frame.NumReasons; r++ {
		if sent := st.Sent[r].Load(); sent != got[r] {
			t.Errorf("%v: %d sent, %d found in the frames", r, sent, got[r])
		}
	}
	// Shares within about 4 standard deviations of 5% and 1% of n.
	if bad := total(&st.Sent) - got[frame.BogusTS]; bad < 850 || bad > 1150 {
		t.Errorf("%d bad frames of %d, want about 5%%", bad, n)
	}
	if flipped := got[frame.BogusTS]; flipped < 140 || flipped > 260 {
		t.Errorf("%d flipped timestamps of %d, want about 1%%", flipped, n)
	}
	for _, k := range badKinds {
		if got[k.reason] == 0 {
			t.Errorf("no frame of kind %q", k.name)
		}
	}
}

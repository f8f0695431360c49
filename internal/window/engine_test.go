package window

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/headcount/headcount/internal/sketch"
)

func TestEngineCloseOrderAndReuse(t *testing.T) {
	kinds, _ := ParseKinds("minute,hour")
	e := NewEngine(Config{Kinds: kinds})
	for ts := int64(0); ts < 7200; ts += 7 {
		if c, l := e.Add(ts, uint64(ts%50)+1, NoFloor); c != 2 || l != 0 {
			t.Fatalf("ts %d: counted %d late %d", ts, c, l)
		}
	}
	rs := e.Close(3600, nil)
	if len(rs) != 61 { // 60 minutes and the first hour
		t.Fatalf("%d results", len(rs))
	}
	for i := 1; i < len(rs); i++ {
		if rs[i].End.Before(rs[i-1].End) {
			t.Fatalf("results not ordered by end at %d", i)
		}
	}
	if h := rs[len(rs)-1]; h.Window != "hour" || h.Users != 50 || h.Frames != 515 {
		t.Errorf("hour %+v", h)
	}
	if c, l := e.Add(100, 1, NoFloor); c != 0 || l != 2 {
		t.Errorf("closed window: counted %d late %d", c, l)
	}
	if open, _ := e.Open(); open != 61 {
		t.Errorf("%d open windows", open)
	}
}

// TestKeptMemory measures the memory of kept windows: minute windows kept
// for an hour, with the reference traffic (1,000 frames/s, 100,000 users).
// The figure is quoted in docs/SEMANTICS.md.
func TestKeptMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	for _, mode := range []sketch.Mode{sketch.Exact, sketch.HLL} {
		e := NewEngine(Config{Keep: time.Hour, Counter: sketch.Config{Mode: mode}})
		r := rand.New(rand.NewPCG(1, 2))
		const rate, users = 1000, 100000
		var peak int
		for sec := int64(0); sec < 2*3600; sec++ {
			for range rate {
				e.Add(sec, r.Uint64N(users)+1, NoFloor)
			}
			e.Close(sec-5, nil)
			if sec%60 == 0 {
				peak = max(peak, e.MemBytes())
			}
		}
		open, kept := e.Open()
		t.Logf("%s: %d open + %d kept minute windows, peak %.1f MiB", mode, open, kept, float64(peak)/(1<<20))
		if kept > 61 || peak > 128<<20 {
			t.Errorf("kept %d windows, %d bytes", kept, peak)
		}
	}
}

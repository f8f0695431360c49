package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/headcount/headcount/internal/frame"
	"github.com/headcount/headcount/internal/gen"
	"github.com/headcount/headcount/internal/result"
)

// defaults is the run command's configuration: lateness 5s, keep 1h, and
// the guard against bogus timestamps.
func defaults() Config { return DefaultConfig() }

// latest keeps the last revision of each window.
func latest(rs []result.Result) []minuteLine {
	last := map[int64]minuteLine{}
	var order []int64
	for _, r := range rs {
		if !r.Final {
			continue
		}
		s := r.Start.Unix()
		if _, ok := last[s]; !ok {
			order = append(order, s)
		}
		last[s] = minuteLine{s, r.Users, r.Frames}
	}
	out := make([]minuteLine, 0, len(order))
	for _, s := range order {
		out = append(out, last[s])
	}
	sortLines(out)
	return out
}

func writeTemp(t *testing.T, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "in.jsonl")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCorrections: 20% of frames up to 30 s late with a lateness of 5 s.
// Every late frame within --keep is counted, so the latest revision of each
// minute equals the independent count of all frames.
func TestCorrections(t *testing.T) {
	for _, prob := range []float64{0.1, 0.2} {
		t.Run(fmt.Sprint(prob), func(t *testing.T) {
			var buf bytes.Buffer
			cfg := gen.Config{Count: size(30000), Rate: 100, Users: 3000, Seed: 11, Delay: 30 * time.Second, DelayProb: prob}
			if _, err := gen.WriteTo(context.Background(), &buf, cfg, false); err != nil {
				t.Fatal(err)
			}
			want := reference(t, buf.Bytes())
			c, st := runFile(t, writeTemp(t, buf.Bytes()), defaults())
			if got := latest(c.rs); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("latest revisions\ngot  %v\nwant %v", got, want)
			}
			corrections := 0
			for _, r := range c.rs {
				if r.Rev > 1 {
					corrections++
				}
			}
			if corrections == 0 || st.RejectedTotal() != 0 {
				t.Errorf("%d corrections, stats %+v", corrections, st)
			}
		})
	}
}

// TestBitFlips: 0.5% of frames have one high bit of ts flipped. Every one
// of them is rejected as bogus-ts, and the results (every revision, in
// order) are exactly those of the same stream without them: no window was
// closed early or counted wrong because of them.
func TestBitFlips(t *testing.T) {
	cfg := gen.Config{Count: size(40000), Rate: 100, Users: 3000, Seed: 5, Delay: 30 * time.Second, DelayProb: 0.1, BitFlipProb: 0.005}
	g := gen.New(cfg)
	var with, without bytes.Buffer
	flipped := 0
	var buf []byte
	for {
		f, _, ts, arrival, ok := g.Next(buf[:0])
		if !ok {
			break
		}
		buf = f
		with.Write(f)
		with.WriteByte('\n')
		if d := ts - arrival; d > 86400 || d < -86400 {
			flipped++
			continue
		}
		without.Write(f)
		without.WriteByte('\n')
	}
	if flipped < size(40000)/400 {
		t.Fatalf("only %d flipped frames", flipped)
	}
	dead := &deadCount{}
	c1cfg := defaults()
	c1cfg.Dead = dead
	c1, st1 := runFile(t, writeTemp(t, with.Bytes()), c1cfg)
	c2, st2 := runFile(t, writeTemp(t, without.Bytes()), defaults())
	if got := st1.Rejected[frame.BogusTS]; got != uint64(flipped) || dead.n[frame.BogusTS] != flipped {
		t.Errorf("bogus-ts %d (dead letters %d), want %d", got, dead.n[frame.BogusTS], flipped)
	}
	if st1.Counted != st2.Counted || st2.RejectedTotal() != 0 {
		t.Errorf("counted %d vs %d; stats without flips %+v", st1.Counted, st2.Counted, st2)
	}
	if len(c1.rs) != len(c2.rs) {
		t.Fatalf("%d results with flips, %d without", len(c1.rs), len(c2.rs))
	}
	for i := range c1.rs {
		a, b := c1.rs[i], c2.rs[i]
		if a.Start != b.Start || a.Users != b.Users || a.Frames != b.Frames || a.Rev != b.Rev || a.Final != b.Final {
			t.Fatalf("result %d: with flips %+v, without %+v", i, a, b)
		}
	}
	if want := reference(t, without.Bytes()); fmt.Sprint(latest(c1.rs)) != fmt.Sprint(want) {
		t.Errorf("latest revisions differ from the independent count")
	}
}

type deadCount struct{ n [frame.NumReasons]int }

func (d *deadCount) Reject(_ int32, _ int64, _ []byte, r frame.Reason) error {
	d.n[r]++
	return nil
}

// size scales a test's frame count down under -short (the -race run).
func size(n int) int {
	if testing.Short() {
		return n / 4
	}
	return n
}

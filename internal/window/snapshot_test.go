package window

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/headcount/headcount/internal/result"
	"github.com/headcount/headcount/internal/sketch"
)

// drive feeds frames [from, to) of a deterministic stream (with late
// frames) into e, closing as the watermark moves, and returns the results.
func drive(e *Engine, from, to int) []result.Result {
	return e.Flush(feed(e, from, to))
}

// feed is drive without the final flush.
func feed(e *Engine, from, to int) []result.Result {
	var out []result.Result
	for i := from; i < to; i++ {
		r := rand.New(rand.NewPCG(uint64(i), 7))
		ts := int64(i) * 3
		if r.IntN(10) == 0 {
			ts -= int64(r.IntN(200)) // late, some beyond the lateness
		}
		e.Add(ts, r.Uint64N(500)+1, NoFloor)
		out = e.Corrections(out)
		out = e.Close(int64(i)*3-10, out)
	}
	return out
}

func render(rs []result.Result) string {
	s := ""
	for _, r := range rs {
		s += fmt.Sprintf("%s %d %d %d %v %d %v\n", r.Window, r.Start.Unix(), r.Users, r.Frames, r.Final, r.Rev, r.Exact)
	}
	return s
}

// TestSnapshotResume: an engine restored from a snapshot taken mid-stream
// produces exactly the results the original goes on to produce.
func TestSnapshotResume(t *testing.T) {
	kinds, _ := ParseKinds("minute,hour")
	for _, mode := range []sketch.Mode{sketch.Exact, sketch.HLL, sketch.Auto} {
		t.Run(mode.String(), func(t *testing.T) {
			cfg := Config{Kinds: kinds, Keep: 10 * time.Minute, Counter: sketch.Config{Mode: mode, Budget: 1 << 10}}
			a := NewEngine(cfg)
			feed(a, 0, 3000) // the first half: its results were published before the snapshot
			snap, err := a.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			b := NewEngine(cfg)
			if err := b.UnmarshalBinary(snap); err != nil {
				t.Fatal(err)
			}
			again, _ := b.MarshalBinary()
			if len(again) != len(snap) {
				t.Errorf("re-encoded snapshot is %d bytes, was %d", len(again), len(snap))
			}
			want, got := render(drive(a, 3000, 6000)), render(drive(b, 3000, 6000))
			if want != got || want == "" {
				t.Errorf("resumed engine differs:\ngot\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestSnapshotRejects(t *testing.T) {
	kinds, _ := ParseKinds("minute,hour")
	a := NewEngine(Config{Kinds: kinds})
	a.Add(100, 1, NoFloor)
	snap, _ := a.MarshalBinary()
	if err := NewEngine(Config{}).UnmarshalBinary(snap); !errors.Is(err, ErrSnapshot) {
		t.Errorf("other window kinds: %v", err)
	}
	b := NewEngine(Config{Kinds: kinds})
	b.Add(5000, 2, NoFloor)
	for _, bad := range [][]byte{nil, []byte("hcX1"), snap[:len(snap)-1], append(append([]byte(nil), snap...), 0)} {
		if err := b.UnmarshalBinary(bad); !errors.Is(err, ErrSnapshot) {
			t.Errorf("%q: err %v", bad, err)
		}
	}
	if open, _ := b.Open(); open != 2 {
		t.Errorf("a failed restore changed the engine: %d open", open)
	}
}

// FuzzSnapshot: decoding any bytes never panics, and whatever decodes
// encodes again.
func FuzzSnapshot(f *testing.F) {
	kinds, _ := ParseKinds("minute,hour")
	e := NewEngine(Config{Kinds: kinds, Keep: time.Hour})
	for i := int64(0); i < 50; i++ {
		e.Add(i*37, uint64(i%7), NoFloor)
		e.Close(i*37-60, nil)
	}
	snap, _ := e.MarshalBinary()
	f.Add(snap)
	f.Fuzz(func(t *testing.T, data []byte) {
		e := NewEngine(Config{Kinds: kinds, Keep: time.Hour})
		if err := e.UnmarshalBinary(data); err != nil {
			return
		}
		if _, err := e.MarshalBinary(); err != nil {
			t.Fatal(err)
		}
		e.Add(1000, 1, NoFloor)
		e.Flush(nil)
	})
}

package eventtime

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/headcount/headcount/internal/watermark"
	"github.com/headcount/headcount/internal/window"
)

// TestSnapshotResume: a core restored from a snapshot taken midway gives
// the same results, rejects and counters as one that never stopped, with
// late frames, held frames and several partitions in flight.
func TestSnapshotResume(t *testing.T) {
	parts := flipStream(size(40000), 27, 3)
	run := func(cut int) (drain, Stats) {
		win, wm := runDefaults()
		win.Kinds = []window.Kind{window.Minute, window.Hour}
		c := New(win, wm)
		clock := time.Unix(1468244400, 0).Add(10 * 365 * 24 * time.Hour)
		c.Tick(clock)
		var d drain
		r := rand.New(rand.NewPCG(1, 2))
		var pos [4]int
		step := 0
		for {
			p := r.IntN(4)
			if pos[p] == len(parts[p]) {
				if pos == [4]int{len(parts[0]), len(parts[1]), len(parts[2]), len(parts[3])} {
					break
				}
				continue
			}
			end := min(len(parts[p]), pos[p]+1+r.IntN(300))
			for _, e := range parts[p][pos[p]:end] {
				c.Offer(e.part, Frame{TS: e.ts, Hash: xxhash.Sum64String(fmt.Sprint(e.uid)), Offset: e.offset, Bytes: []byte("x")})
			}
			pos[p] = end
			d.take(c)
			if step++; step == cut {
				snap, err := c.MarshalBinary()
				if err != nil {
					t.Fatal(err)
				}
				c = New(win, wm)
				c.Tick(clock)
				if err := c.UnmarshalBinary(snap); err != nil {
					t.Fatal(err)
				}
			}
		}
		c.Finish()
		d.take(c)
		return d, c.Stats()
	}
	want, wantStats := run(-1)
	for _, cut := range []int{1, 10, 40, 100} {
		got, gotStats := run(cut)
		if fmt.Sprint(got.rs) != fmt.Sprint(want.rs) || got.n != want.n || gotStats != wantStats {
			t.Errorf("cut after batch %d: %d results %v %+v, want %d %v %+v", cut, len(got.rs), got.n, gotStats, len(want.rs), want.n, wantStats)
		}
	}
}

// TestSnapshotRejects: a snapshot of another format or damaged is an error
// that wraps ErrSnapshot, and the core is unchanged.
func TestSnapshotRejects(t *testing.T) {
	c := New(runDefaults())
	c.Tick(time.Unix(1468244400, 0))
	c.Offer(0, Frame{TS: 1468244400, Hash: 1})
	good, err := c.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	other := New(window.Config{Kinds: []window.Kind{window.Hour}}, watermark.Config{})
	bad := map[string][]byte{
		"empty":       nil,
		"foreign":     []byte("PK\x03\x04"),
		"newer":       append([]byte("hcE\x02"), good[4:]...),
		"truncated":   good[:len(good)-3],
		"trailing":    append(append([]byte(nil), good...), 0),
		"other kinds": good,
	}
	for name, data := range bad {
		target := c
		if name == "other kinds" {
			target = other
		}
		before, _ := target.MarshalBinary()
		err := target.UnmarshalBinary(data)
		if !errors.Is(err, ErrSnapshot) {
			t.Errorf("%s: error %v does not wrap ErrSnapshot", name, err)
		}
		if after, _ := target.MarshalBinary(); string(after) != string(before) {
			t.Errorf("%s: the core changed", name)
		}
	}
}

// FuzzCoreSnapshot: no input makes UnmarshalBinary panic, and what it
// accepts marshals back to a snapshot it accepts again.
func FuzzCoreSnapshot(f *testing.F) {
	c := New(runDefaults())
	c.Tick(time.Unix(1468244400, 0))
	for i := range 50 {
		c.Offer(int32(i%3), Frame{TS: 1468244400 + int64(i*7), Hash: uint64(i % 11), Bytes: []byte("frame")})
	}
	c.Offer(1, Frame{TS: 1478244400, Hash: 3, Bytes: []byte("held")})
	snap, _ := c.MarshalBinary()
	f.Add(snap)
	f.Fuzz(func(t *testing.T, data []byte) {
		c := New(runDefaults())
		if err := c.UnmarshalBinary(data); err != nil {
			return
		}
		again, err := c.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if err := New(runDefaults()).UnmarshalBinary(again); err != nil {
			t.Fatalf("re-marshalled snapshot refused: %v", err)
		}
	})
}

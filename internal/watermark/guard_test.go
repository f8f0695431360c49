package watermark

import (
	"testing"
	"time"
)

// step feeds one frame through Admit/Hold/Observe as the pipeline does and
// returns what became of frames: "a" accepted, "b<ts>" rejected as bogus,
// "r<ts>" released from hold, "h" held.
func step(p *Partition, ts, now int64) []string {
	var out []string
	switch p.Admit(ts, now) {
	case Bogus:
		return []string{"b"}
	case Hold:
		released, refuted := p.Hold(Held{TS: ts})
		for _, h := range released {
			p.Observe(h.TS)
			out = append(out, "r")
		}
		for range refuted {
			out = append(out, "x")
		}
		if len(out) == 0 {
			out = append(out, "h")
		}
		return out
	}
	p.Observe(ts)
	out = append(out, "a")
	for range p.Refuted() {
		out = append(out, "x")
	}
	return out
}

func TestGuard(t *testing.T) {
	const now = 2_000_000_000
	cfg := Config{MinTS: 946684800, MaxFuture: time.Hour, MaxJump: time.Hour, Confirm: 3, Refute: 5}
	tests := []struct {
		name string
		ts   []int64
		want string
	}{
		{"ordinary", []int64{1e9, 1e9 + 1, 1e9 - 30}, "a a a"},
		{"before the floor", []int64{1e9, 5}, "a b"},
		{"far future of the wall clock", []int64{1e9, now + 7200}, "a b"},
		{"negative (sign bit flip)", []int64{1e9, -1e9}, "a b"},
		{"one jump is held then refuted", []int64{1e9, 1e9 + 1e7, 1e9, 1e9, 1e9, 1e9, 1e9}, "a h a a a a a x"},
		{"a real jump is confirmed", []int64{1e9, 1e9 + 1e7, 1e9 + 1e7 + 1, 1e9 + 1e7 + 2, 1e9 + 1e7 + 3}, "a h h r r r a"},
		{"two flips of the same bit do not confirm", []int64{1e9, 1e9 + 1e7, 1e9, 1e9, 1e9 + 1e7 + 1, 1e9, 1e9, 1e9, 1e9}, "a h a a h a a a x a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := New(cfg)
			p := tr.Partition(0, time.Unix(now, 0))
			warmUp(t, p, 1e9, now)
			var got []string
			for _, ts := range tt.ts {
				got = append(got, step(p, ts, now)...)
			}
			if s := join(got); s != tt.want {
				t.Errorf("got %q, want %q", s, tt.want)
			}
		})
	}
}

func TestGuardBounded(t *testing.T) {
	tr := New(Config{MaxJump: time.Hour, MaxHeld: 4, Confirm: 1000})
	p := tr.Partition(0, time.Unix(0, 0))
	p.max = 1000 // its time is known (Confirm is too large to warm up)
	refuted := 0
	for i := int64(0); i < 10; i++ {
		if p.Admit(1e9*(i+1), 0) != Hold {
			t.Fatal("not held")
		}
		_, r := p.Hold(Held{TS: 1e9 * (i + 1)})
		refuted += len(r)
	}
	if len(p.held) != 4 || refuted != 6 {
		t.Errorf("held %d refuted %d", len(p.held), refuted)
	}
	if released, refuted := p.Finish(); len(released) != 0 || len(refuted) != 4 {
		t.Errorf("finish: released %d refuted %d", len(released), len(refuted))
	}
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}

// warmUp confirms a partition's time with its first frames, which the guard
// holds until DefaultConfirm of them agree.
func warmUp(t *testing.T, p *Partition, ts, now int64) {
	t.Helper()
	var got []string
	for range DefaultConfirm {
		got = append(got, step(p, ts, now)...)
	}
	if s := join(got); s != "h h r r r" {
		t.Fatalf("warm-up: %q", s)
	}
}

// TestGuardFirstFrames: a partition's first frames are held until they
// agree, so a flipped first frame does not set its time; if the input ends
// before any agree, the largest agreeing group is released.
func TestGuardFirstFrames(t *testing.T) {
	const now = 2_000_000_000
	cfg := Config{MaxJump: time.Hour, Confirm: 3, Refute: 3}
	p := New(cfg).Partition(0, time.Unix(now, 0))
	var got []string
	for _, ts := range []int64{1.9e9, 1e9, 1e9 + 1, 1e9 + 2, 1e9 + 3, 1e9 + 4, 1e9 + 5} {
		got = append(got, step(p, ts, now)...)
	}
	if s := join(got); s != "h h h r r r a a a x" {
		t.Errorf("flipped first frame: %q", s)
	}
	q := New(cfg).Partition(1, time.Unix(now, 0))
	for _, ts := range []int64{1e9, 1.9e9, 1e9 + 1} {
		step(q, ts, now)
	}
	released, refuted := q.Finish()
	if len(released) != 2 || len(refuted) != 1 || refuted[0].TS != 1.9e9 {
		t.Errorf("finish: released %v refuted %v", released, refuted)
	}
}

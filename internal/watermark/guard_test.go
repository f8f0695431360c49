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
	step(p, 1000, 0)
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
	if n := len(p.Flush()); n != 4 {
		t.Errorf("flush %d", n)
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

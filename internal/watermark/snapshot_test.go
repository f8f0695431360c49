package watermark

import (
	"errors"
	"testing"
	"time"
)

func TestSnapshotRoundTrip(t *testing.T) {
	now := time.Unix(2_000_000_000, 0)
	cfg := Config{Lateness: 5 * time.Second, MaxJump: time.Hour, Refute: 3}
	a := New(cfg)
	p := a.Partition(0, now)
	p.Admit(1000, now.Unix())
	p.Observe(1000)
	if p.Admit(1e9, now.Unix()) != Hold {
		t.Fatal("not held")
	}
	p.Hold(Held{TS: 1e9, Hash: 42, Offset: 7, Frame: []byte(`{"uid":"x","ts":1000000000}`)})
	a.Partition(3, now).Observe(900)
	a.Watermark(now)
	snap, err := a.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	b := New(cfg)
	if err := b.Restore(snap, now); err != nil {
		t.Fatal(err)
	}
	if b.Watermark(now) != a.Watermark(now) || b.Held() != 1 {
		t.Fatalf("watermark %d held %d", b.Watermark(now), b.Held())
	}
	// The held frame is refuted after the same number of ordinary frames.
	q := b.Partition(0, now)
	var refuted []Held
	for i := 0; i < 3; i++ {
		q.Admit(1001, now.Unix())
		refuted = append(refuted, q.Refuted()...)
	}
	if len(refuted) != 1 || refuted[0].Hash != 42 || refuted[0].Offset != 7 || string(refuted[0].Frame) != `{"uid":"x","ts":1000000000}` {
		t.Errorf("refuted %+v", refuted)
	}
	for _, bad := range [][]byte{nil, []byte("hcM9"), snap[:len(snap)-2], append(append([]byte(nil), snap...), 1)} {
		if err := New(cfg).Restore(bad, now); !errors.Is(err, ErrSnapshot) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func FuzzRestore(f *testing.F) {
	tr := New(Config{MaxJump: time.Hour})
	p := tr.Partition(1, time.Unix(0, 0))
	p.Observe(5)
	p.Hold(Held{TS: 1e9, Frame: []byte("x")})
	snap, _ := tr.MarshalBinary()
	f.Add(snap)
	f.Fuzz(func(t *testing.T, data []byte) {
		tr := New(Config{MaxJump: time.Hour})
		if tr.Restore(data, time.Unix(0, 0)) != nil {
			return
		}
		tr.Watermark(time.Unix(0, 0))
		if _, err := tr.MarshalBinary(); err != nil {
			t.Fatal(err)
		}
	})
}

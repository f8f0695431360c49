package watermark

import (
	"math"
	"testing"
	"time"
)

func TestWatermark(t *testing.T) {
	t0 := time.Unix(1000, 0)
	type obs struct {
		part int32
		ts   int64
		at   time.Duration // wall time after t0
	}
	tests := []struct {
		name string
		cfg  Config
		obs  []obs
		at   time.Duration
		want int64
	}{
		{"none", Config{Lateness: 5 * time.Second}, nil, 0, None},
		{"one partition", Config{Lateness: 5 * time.Second}, []obs{{0, 100, 0}, {0, 90, 0}, {0, 120, 0}}, 0, 115},
		{"min over partitions", Config{Lateness: 5 * time.Second}, []obs{{0, 100, 0}, {1, 200, 0}}, 0, 95},
		{"idle partition ignored", Config{Lateness: 5 * time.Second, Idle: 10 * time.Second}, []obs{{0, 100, 0}, {1, 200, 20 * time.Second}}, 20 * time.Second, 195},
		{"all idle: freshest leads", Config{Lateness: 0, Idle: time.Second}, []obs{{0, 100, 0}, {1, 200, 0}}, time.Minute, 200},
		{"idle 0 means never", Config{Lateness: 0}, []obs{{0, 100, 0}, {1, 200, time.Hour}}, time.Hour, 100},
		{"extreme ts clamps", Config{Lateness: 5 * time.Second}, []obs{{0, math.MinInt64 + 2, 0}}, 0, math.MinInt64 + 1},
		{"idle live stream follows the wall clock", Config{Lateness: 5 * time.Second, Idle: 10 * time.Second}, []obs{{0, 1000, 0}}, time.Minute, 1055},
		{"idle history does not", Config{Lateness: 5 * time.Second, Idle: 10 * time.Second}, []obs{{0, 100, 0}}, time.Minute, 95},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := New(tt.cfg)
			for _, o := range tt.obs {
				p := tr.Partition(o.part, t0.Add(o.at))
				p.Admit(o.ts, t0.Add(o.at).Unix())
				p.Observe(o.ts)
			}
			if got := tr.Watermark(t0.Add(tt.at)); got != tt.want {
				t.Errorf("watermark %d, want %d", got, tt.want)
			}
		})
	}
}

func TestWatermarkNeverMovesBack(t *testing.T) {
	tr := New(Config{Lateness: 5 * time.Second})
	now := time.Unix(0, 0)
	tr.Partition(0, now).Observe(100)
	if w := tr.Watermark(now); w != 95 {
		t.Fatalf("wm %d", w)
	}
	tr.Partition(1, now).Observe(50) // a new, slower partition
	if w := tr.Watermark(now); w != 95 {
		t.Errorf("watermark moved back to %d", w)
	}
}

func TestAnnouncedPartitionHoldsBack(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tr := New(Config{Idle: 10 * time.Second})
	tr.Partition(0, t0).Observe(500)
	tr.Partition(1, t0) // assigned, no frame yet
	if w := tr.Watermark(t0); w != None {
		t.Errorf("watermark %d with an empty announced partition", w)
	}
	if w := tr.Watermark(t0.Add(10 * time.Second)); w != 500 {
		t.Errorf("watermark %d once it is idle, want 500", w)
	}
	tr.Remove(1)
	tr.Partition(0, t0.Add(11*time.Second)).Observe(600)
	if w := tr.Watermark(t0.Add(11 * time.Second)); w != 600 {
		t.Errorf("watermark %d after revoke", w)
	}
}

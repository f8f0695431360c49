package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/headcount/headcount/internal/source"
	"github.com/headcount/headcount/internal/watermark"
	"github.com/headcount/headcount/internal/window"
)

// Every save lands in the bucket of the first bound it does not exceed,
// the longest ones in the last.
func TestCheckpointSaved(t *testing.T) {
	last := len(CheckpointBuckets)
	tests := []struct {
		took   time.Duration
		bucket int
	}{
		{0, 0},
		{time.Millisecond, 0},
		{time.Millisecond + 1, 1},
		{80 * time.Millisecond, 5},
		{time.Second, 8},
		{30 * time.Second, last - 1},
		{time.Hour, last},
	}
	var c CheckpointStats
	end := time.Unix(1468244400, 0)
	var total time.Duration
	for i, tt := range tests {
		before := c.Buckets
		c.Saved(end.Add(time.Duration(i)*time.Second), tt.took)
		total += tt.took
		for b := range c.Buckets {
			want := before[b]
			if b == tt.bucket {
				want++
			}
			if c.Buckets[b] != want {
				t.Errorf("%s: bucket %d holds %d, want %d", tt.took, b, c.Buckets[b], want)
			}
		}
		if c.LastTook != tt.took || !c.Last.Equal(end.Add(time.Duration(i)*time.Second)) {
			t.Errorf("%s: last %s at %s", tt.took, c.LastTook, c.Last)
		}
	}
	if c.Saves != uint64(len(tests)) || c.Took != total {
		t.Errorf("%d saves, %s in all; want %d, %s", c.Saves, c.Took, len(tests), total)
	}
}

// slowCheckpoint takes a while to save, like a file synced to disk.
type slowCheckpoint struct{ took time.Duration }

func (s slowCheckpoint) Save(context.Context, []byte) error {
	time.Sleep(s.took)
	return nil
}

// failCheckpoint fails every save.
type failCheckpoint struct{}

func (failCheckpoint) Save(context.Context, []byte) error { return errors.New("disk full") }

// observed keeps every Stats a run hands to Config.Observe.
type observed struct {
	mu  sync.Mutex
	all []Stats
}

func (o *observed) observe(s *Stats) {
	o.mu.Lock()
	o.all = append(o.all, *s)
	o.mu.Unlock()
}

func (o *observed) last() Stats {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.all[len(o.all)-1]
}

// The stats that metrics read: corrections among the results, the end of
// the input, and the saves of the state.
func TestObservedStats(t *testing.T) {
	// Minute 1 closes at ts 125, a late frame (70) corrects it when the
	// watermark next moves (130), and minute 2 is final at the end. One
	// line per read, each a batch: a checkpoint ticker of 1 ns is chosen
	// between two of the 200 first batches all but surely.
	lines := append(slices.Repeat([]string{`{"uid":"a","ts":60}`}, 200),
		`{"uid":"b","ts":125}`, `{"uid":"c","ts":70}`, `{"uid":"d","ts":130}`)
	tests := []struct {
		name        string
		ckpt        Checkpointer
		every       time.Duration
		wantSaves   bool // at least one save
		wantErr     bool
		wantLastMin time.Duration // the last save took at least this
	}{
		{name: "no checkpoint"},
		{name: "saves", ckpt: slowCheckpoint{2 * time.Millisecond}, every: time.Nanosecond, wantSaves: true, wantLastMin: 2 * time.Millisecond},
		{name: "saves fail", ckpt: failCheckpoint{}, every: time.Nanosecond, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var o observed
			begin := time.Now()
			cfg := Config{Observe: o.observe, Checkpoint: tt.ckpt, CheckpointEvery: tt.every, Window: window.Config{Keep: time.Hour}}
			st, err := Run(context.Background(), source.NewLines(&oneLine{lines: slices.Clone(lines)}), &collect{}, cfg)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if tt.wantErr {
				if st.Checkpoint.Saves != 0 || !st.Checkpoint.Last.Equal(o.last().Checkpoint.Last) || st.Checkpoint.Last.Before(begin) {
					t.Errorf("failed saves counted: %+v", st.Checkpoint)
				}
				return
			}
			if st.Results != 3 || st.Corrections != 1 {
				t.Errorf("%d results, %d corrections; want 3, 1", st.Results, st.Corrections)
			}
			if !st.Ended || !o.last().Ended {
				t.Error("the end of the input is not in the stats")
			}
			if first := o.all[0]; first.Ended {
				t.Error("ended at the first batch")
			}
			c := st.Checkpoint
			var inBuckets uint64
			for _, n := range c.Buckets {
				inBuckets += n
			}
			switch {
			case tt.ckpt == nil && (c != CheckpointStats{}):
				t.Errorf("checkpoint stats without a checkpoint: %+v", c)
			case tt.wantSaves && (c.Saves == 0 || inBuckets != c.Saves || c.LastTook < tt.wantLastMin || c.Took < c.LastTook || c.Last.Before(begin)):
				t.Errorf("checkpoint stats %+v", c)
			}
		})
	}
}

// Stats.Waiting: a stream (a pipe) whose lines are all applied is caught
// up; once more lines come they are applied and it is caught up again.
func TestWaiting(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	var o observed
	cfg := Config{Observe: o.observe, Tick: 10 * time.Millisecond, Watermark: watermark.Config{Lateness: time.Second}}
	done := make(chan error, 1)
	go func() {
		_, err := Run(context.Background(), source.NewLines(pr), &collect{}, cfg)
		done <- err
	}()
	waitFor := func(frames uint64) {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		for time.Now().Before(deadline) {
			o.mu.Lock()
			n := len(o.all)
			o.mu.Unlock()
			if n > 0 {
				if s := o.last(); s.Frames == frames && s.Waiting {
					return
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatalf("not caught up at %d frames: %+v", frames, o.last())
	}
	var frames uint64
	for i, n := range []int{3, 5} {
		for j := range n {
			fmt.Fprintf(pw, "{\"uid\":\"u%d\",\"ts\":%d}\n", j, 1468244400+10*i+j)
		}
		frames += uint64(n)
		waitFor(frames)
	}
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s := o.last(); !s.Ended || s.Waiting {
		t.Errorf("at the end: ended %v, waiting %v", s.Ended, s.Waiting)
	}
}

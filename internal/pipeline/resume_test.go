package pipeline

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/headcount/headcount/internal/source"
	"github.com/headcount/headcount/internal/window"
)

// memCheckpoint keeps the last state saved.
type memCheckpoint struct {
	state []byte
	saves int
}

func (m *memCheckpoint) Save(_ context.Context, state []byte) error {
	m.state = append(m.state[:0], state...)
	m.saves++
	return nil
}

// stopAfter closes stop once n batches have been read from its source.
type stopAfter struct {
	source.Source
	n    int
	stop chan struct{}
}

func (s *stopAfter) Next(ctx context.Context) (*source.Batch, error) {
	if s.n--; s.n == 0 {
		close(s.stop)
	}
	return s.Source.Next(ctx)
}

// TestStopResume: a run stopped (Config.Stop) at any point and resumed from
// the state it saved gives, with the results it wrote before stopping,
// exactly the results of a run that never stopped (every revision, in
// order), and the same totals: nothing lost, nothing written twice.
func TestStopResume(t *testing.T) {
	path := filepath.Join("..", "..", "testdata", "samples", "sample-late.jsonl.gz")
	cfg := DefaultConfig()
	cfg.Window.Kinds = []window.Kind{window.Minute, window.Hour}
	cfg.Watermark.MaxFuture = 0
	open := func() source.Source {
		in, err := source.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { in.Close() })
		return source.NewLines(in, source.Fill(true), source.ChunkSize(16<<10))
	}
	var whole collect
	wantStats, err := Run(context.Background(), open(), &whole, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, after := range []int{1, 2, 5, 13, 40} {
		t.Run(fmt.Sprintf("stop after %d batches", after), func(t *testing.T) {
			var out collect
			ck := &memCheckpoint{}
			first := cfg
			stop := make(chan struct{})
			first.Checkpoint, first.Stop = ck, stop
			_, err := Run(context.Background(), &stopAfter{Source: open(), n: after, stop: stop}, &out, first)
			if !errors.Is(err, ErrStopped) {
				t.Fatalf("first run: %v, want ErrStopped", err)
			}
			// The stop came before the end: some results are still to come.
			if len(out.rs) >= len(whole.rs) || ck.saves != 1 {
				t.Fatalf("stopped with %d of %d results written, %d saves", len(out.rs), len(whole.rs), ck.saves)
			}
			second := cfg
			second.Resume = ck.state
			st, err := Run(context.Background(), open(), &out, second)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(out.rs) != fmt.Sprint(whole.rs) {
				t.Errorf("%d results stopped and resumed, %d in one run", len(out.rs), len(whole.rs))
			}
			if st.Frames != wantStats.Frames || st.Counted != wantStats.Counted || st.Results != wantStats.Results || st.Rejected != wantStats.Rejected {
				t.Errorf("totals %+v, want %+v", st, wantStats)
			}
		})
	}
}

// TestResumeRejects: a damaged state is an error wrapping ErrState, and
// nothing is counted.
func TestResumeRejects(t *testing.T) {
	ck := &memCheckpoint{}
	cfg := DefaultConfig()
	cfg.Checkpoint, cfg.CheckpointEvery = ck, 1
	var out collect
	if _, err := Run(context.Background(), source.NewLines(strings.NewReader(`{"uid":"a","ts":1468244400}`)), &out, cfg); err != nil {
		t.Fatal(err)
	}
	for name, state := range map[string][]byte{
		"empty":     nil,
		"foreign":   []byte("{}"),
		"truncated": []byte("hcP\x01\x02"),
	} {
		c := DefaultConfig()
		c.Resume = state
		if state == nil {
			c.Resume = []byte{}
		}
		var out collect
		if _, err := Run(context.Background(), source.NewLines(strings.NewReader(`{"uid":"b","ts":1468244400}`)), &out, c); !errors.Is(err, ErrState) || len(out.rs) != 0 {
			t.Errorf("%s: error %v, %d results", name, err, len(out.rs))
		}
	}
}

package pipeline

import (
	"context"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/headcount/headcount/internal/result"
	"github.com/headcount/headcount/internal/source"
	"github.com/headcount/headcount/internal/watermark"
)

// notify is a sink that signals every result.
type notify struct {
	mu sync.Mutex
	rs []result.Result
	ch chan struct{}
}

func (n *notify) Write(_ context.Context, rs []result.Result) error {
	n.mu.Lock()
	n.rs = append(n.rs, rs...)
	n.mu.Unlock()
	n.ch <- struct{}{}
	return nil
}

// TestLiveStream checks that a minute's result is written as soon as the
// watermark passes it, while the input (a pipe, like stdin) is still open.
func TestLiveStream(t *testing.T) {
	pr, pw := io.Pipe()
	sink := &notify{ch: make(chan struct{}, 10)}
	done := make(chan error, 1)
	go func() {
		_, err := Run(context.Background(), source.NewLines(pr), sink, Config{Watermark: watermark.Config{Lateness: 5 * time.Second}})
		done <- err
	}()
	for ts := 60; ts < 120; ts += 10 {
		fmt.Fprintf(pw, "{\"uid\":\"u%d\",\"ts\":%d}\n", ts%30, ts)
	}
	fmt.Fprintf(pw, "{\"uid\":\"late\",\"ts\":125}\n") // watermark 120: minute 1 closes
	select {
	case <-sink.ch:
	case <-time.After(10 * time.Second):
		t.Fatal("no result while the stream is open")
	}
	sink.mu.Lock()
	r := sink.rs[0]
	sink.mu.Unlock()
	if r.Start.Unix() != 60 || r.Users != 3 || r.Frames != 6 || !r.Final {
		t.Errorf("result %+v", r)
	}
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(sink.rs) != 2 {
		t.Errorf("%d results, want 2 (the last minute at end of input)", len(sink.rs))
	}
}

// TestIdleLiveStream: frames stamped with the wall clock, then silence.
// The watermark follows the wall clock once the stream is idle, so the
// last minute is published while the input is still open.
func TestIdleLiveStream(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	sink := &notify{ch: make(chan struct{}, 10)}
	now := time.Now()
	cfg := Config{
		Watermark: watermark.Config{Lateness: time.Second, Idle: 100 * time.Millisecond},
		Tick:      20 * time.Millisecond,
		Now:       func() time.Time { return time.Now().Add(2 * time.Minute) }, // the wall clock has moved on
	}
	go Run(context.Background(), source.NewLines(pr), sink, cfg)
	fmt.Fprintf(pw, "{\"uid\":\"a\",\"ts\":%d}\n", now.Unix())
	select {
	case <-sink.ch:
	case <-time.After(10 * time.Second):
		t.Fatal("the idle live stream's minute was not published")
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if r := sink.rs[0]; r.Users != 1 || !r.Final || r.Start.Unix() != now.Unix()-now.Unix()%60 {
		t.Errorf("result %+v", r)
	}
}

// TestIdleHistory: replayed history never closes a window by the wall
// clock, however long the input pauses.
func TestIdleHistory(t *testing.T) {
	pr, pw := io.Pipe()
	sink := &notify{ch: make(chan struct{}, 10)}
	cfg := Config{
		Watermark: watermark.Config{Lateness: time.Second, Idle: 10 * time.Millisecond},
		Tick:      5 * time.Millisecond,
	}
	done := make(chan struct{})
	go func() {
		Run(context.Background(), source.NewLines(pr), sink, cfg)
		close(done)
	}()
	fmt.Fprintf(pw, "{\"uid\":\"a\",\"ts\":1468244384}\n")
	select {
	case <-sink.ch:
		t.Fatal("a window of replayed history closed by the wall clock")
	case <-time.After(300 * time.Millisecond):
	}
	pw.Close()
	<-done
	if len(sink.rs) != 1 {
		t.Errorf("%d results at end of input", len(sink.rs))
	}
}

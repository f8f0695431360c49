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
	"github.com/headcount/headcount/internal/window"
)

// watch is a sink that keeps every result and lets a test wait for one.
type watch struct {
	mu      sync.Mutex
	rs      []result.Result
	changed chan struct{} // closed and replaced at every write
}

func newWatch() *watch { return &watch{changed: make(chan struct{})} }

func (w *watch) Write(_ context.Context, rs []result.Result) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.rs = append(w.rs, rs...)
	close(w.changed)
	w.changed = make(chan struct{})
	return nil
}

func (w *watch) results() []result.Result {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]result.Result(nil), w.rs...)
}

// waitFor waits until a result satisfies match and returns it. The bound
// only stops a hang: the test waits for the result, not for time to pass.
func (w *watch) waitFor(t *testing.T, what string, match func(result.Result) bool) result.Result {
	t.Helper()
	deadline := time.After(time.Minute)
	for {
		w.mu.Lock()
		for _, r := range w.rs {
			if match(r) {
				w.mu.Unlock()
				return r
			}
		}
		changed := w.changed
		w.mu.Unlock()
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("no %s; results so far: %v", what, w.results())
		}
	}
}

// TestEarlyThroughRun: with Config.Early, Run itself (its ticker, not a
// driver calling the engine) publishes provisional results of open windows
// while a live input stays open: final:false, rev 0, the count so far, again
// after each change and never for an unchanged window, never after the
// window's final result; the final result follows when the watermark
// passes the window.
func TestEarlyThroughRun(t *testing.T) {
	const m = 1468244400 // 2016-07-11T13:40:00Z, a minute start
	for _, tc := range []struct {
		name  string
		kinds []window.Kind
	}{
		{"minute", []window.Kind{window.Minute}},
		{"minute and hour", []window.Kind{window.Minute, window.Hour}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := defaults()
			cfg.Window.Kinds = tc.kinds
			cfg.Early = 5 * time.Millisecond
			pr, pw := io.Pipe()
			defer pw.Close()
			sink := newWatch()
			done := make(chan error, 1)
			go func() {
				_, err := Run(context.Background(), source.NewLines(pr), sink, cfg)
				done <- err
			}()
			write := func(frames ...string) {
				t.Helper()
				for _, f := range frames {
					if _, err := io.WriteString(pw, f+"\n"); err != nil {
						t.Fatal(err)
					}
				}
			}
			frame := func(uid string, ts int64) string { return fmt.Sprintf(`{"uid":%q,"ts":%d}`, uid, ts) }
			is := func(kind string, start int64, final bool, users, frames uint64) func(result.Result) bool {
				return func(r result.Result) bool {
					return r.Window == kind && r.Start.Unix() == start && r.Final == final && r.Users == users && r.Frames == frames
				}
			}

			// Three frames of minute m (the jump guard releases a
			// partition's first frames once three agree).
			write(frame("a", m+1), frame("b", m+2), frame("a", m+3))
			sink.waitFor(t, "provisional result of 3 frames", is("minute", m, false, 2, 3))
			// More frames of the same minute: a new provisional result.
			write(frame("c", m+10), frame("a", m+20))
			sink.waitFor(t, "provisional result of 5 frames", is("minute", m, false, 3, 5))
			if len(tc.kinds) > 1 {
				sink.waitFor(t, "provisional hour of 5 frames", is("hour", m-40*60, false, 3, 5))
			}
			// A frame 5 s (the lateness) past the minute closes it.
			write(frame("d", m+65))
			sink.waitFor(t, "final minute", is("minute", m, true, 3, 5))
			sink.waitFor(t, "provisional next minute", is("minute", m+60, false, 1, 1))
			if len(tc.kinds) > 1 {
				sink.waitFor(t, "provisional hour of 6 frames", is("hour", m-40*60, false, 4, 6))
			}
			pw.Close()
			if err := <-done; err != nil {
				t.Fatal(err)
			}

			// Per window: provisional results (rev 0) with strictly
			// growing counts, then exactly one final (rev 1, at the end
			// of input for the open ones), nothing after it.
			rs := sink.results()
			type key struct {
				kind  string
				start int64
			}
			finals := map[key]result.Result{}
			lastEarly := map[key]uint64{}
			for _, r := range rs {
				k := key{r.Window, r.Start.Unix()}
				if f, ok := finals[k]; ok {
					t.Errorf("%v after the window's final %v", r, f)
				}
				switch {
				case r.Final && r.Rev == 1:
					finals[k] = r
				case !r.Final && r.Rev == 0:
					if r.Frames <= lastEarly[k] {
						t.Errorf("provisional %v repeats an unchanged window (previous: %d frames)", r, lastEarly[k])
					}
					lastEarly[k] = r.Frames
				default:
					t.Errorf("result %+v: want final rev 1 or provisional rev 0", r)
				}
			}
			want := map[key][2]uint64{{"minute", m}: {3, 5}, {"minute", m + 60}: {1, 1}}
			if len(tc.kinds) > 1 {
				want[key{"hour", m - 40*60}] = [2]uint64{4, 6}
			}
			for k, w := range want {
				if f, ok := finals[k]; !ok || f.Users != w[0] || f.Frames != w[1] {
					t.Errorf("final of %v: %+v, want %d users, %d frames", k, f, w[0], w[1])
				}
				if lastEarly[k] == 0 {
					t.Errorf("%v: no provisional result", k)
				}
			}
			if len(finals) != len(want) {
				t.Errorf("finals %v, want %d", finals, len(want))
			}
		})
	}
}

// TestNoEarly: without Config.Early no provisional result is written, even
// while a window stays open on a live input.
func TestNoEarly(t *testing.T) {
	const m = 1468244400
	pr, pw := io.Pipe()
	sink := newWatch()
	cfg := defaults()
	cfg.Tick = time.Millisecond // the idle ticker runs; it must not publish open windows
	done := make(chan error, 1)
	go func() {
		_, err := Run(context.Background(), source.NewLines(pr), sink, cfg)
		done <- err
	}()
	fmt.Fprintf(pw, "{\"uid\":\"a\",\"ts\":%d}\n{\"uid\":\"b\",\"ts\":%d}\n{\"uid\":\"c\",\"ts\":%d}\n", m+1, m+2, m+3)
	fmt.Fprintf(pw, "{\"uid\":\"a\",\"ts\":%d}\n", m+65)
	sink.waitFor(t, "final minute", func(r result.Result) bool { return r.Final && r.Start.Unix() == m })
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, r := range sink.results() {
		if !r.Final || r.Rev != 1 {
			t.Errorf("result %+v without --early", r)
		}
	}
}

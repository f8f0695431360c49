package demo

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/headcount/headcount/internal/dashboard"
)

// syncBuffer is a bytes.Buffer safe for the demo's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The demo end to end, fast: 60× speed closes a minute every second.
func TestDemo(t *testing.T) {
	var out, status syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	begin := time.Now()
	board := dashboard.New()
	err := Run(ctx, Config{Rate: 100, Users: 500, Minutes: 2, Speedup: 60, Out: &out, Status: &status, StatusEvery: 500 * time.Millisecond,
		Observe: board.Observe, Tee: board.Tee})
	if err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatalf("did not stop after 2 minutes by itself; output:\n%s\nstatus:\n%s", out.String(), status.String())
	}
	// Each result is a line for people and its JSON; corrections (the
	// latest of each minute) come before the next final.
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	finals := 0
	for i := 0; i+1 < len(lines); i += 2 {
		if !strings.Contains(lines[i], "users") || !strings.Contains(lines[i+1], `"final":true`) {
			t.Fatalf("output:\n%s", out.String())
		}
		if strings.Contains(lines[i], "(final, exact)") {
			finals++
		}
	}
	if finals != 2 || len(lines)%2 != 0 {
		t.Fatalf("%d finals; output:\n%s", finals, out.String())
	}
	if st := board.Snapshot(); len(st.Windows["minute"]) < 2 || st.Counted == 0 {
		t.Errorf("dashboard saw %d minutes, %d frames counted", len(st.Windows["minute"]), st.Counted)
	}
	if !strings.Contains(status.String(), "status: event time") {
		t.Errorf("no status line:\n%s", status.String())
	}
	t.Logf("2 minutes in %v:\n%s", time.Since(begin), out.String())
}

func TestDescribe(t *testing.T) {
	got := describe(result{Window: "minute", Start: "2016-07-11T13:40:00Z", Users: 47232, Frames: 63858, Final: true, Rev: 1, Exact: true})
	if want := "13:40 UTC    47,232 users    63,858 frames  (final, exact)"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	got = describe(result{Start: "2016-07-11T13:40:00Z", Users: 5, Frames: 6, Rev: 2, RSE: 0.0081})
	if !strings.Contains(got, "corrected, rev 2, ±0.8%") {
		t.Errorf("got %q", got)
	}
}

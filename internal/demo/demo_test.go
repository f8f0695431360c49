package demo

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/headcount/headcount/internal/dashboard"
	"github.com/headcount/headcount/internal/frame"
	"github.com/headcount/headcount/internal/kafka"
	"github.com/headcount/headcount/internal/result"
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

// The demo end to end, fast: 60× speed closes a minute every second. The
// demo stops by itself once the printer has seen two final minutes (a
// condition, not a duration); the only clock in the test is the deadline,
// far beyond the ~3 s it takes, for a machine that is busy with other work.
// Lateness and idle partitions on a slow machine can only turn frames into
// corrections, which the assertions allow.
func TestDemo(t *testing.T) {
	var out, status syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	begin := time.Now()
	board := dashboard.New()
	err := Run(ctx, Config{Rate: 30, Users: 500, Minutes: 2, Speedup: 60, Out: &out, Status: &status, StatusEvery: 100 * time.Millisecond,
		BadProb: 0.05, BitFlipProb: 0.01, Board: board})
	if err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatalf("did not stop after 2 minutes by itself; output:\n%s\nstatus:\n%s", out.String(), status.String())
	}
	// Each result is a line for people and its JSON; corrections (the
	// latest of each minute) come before the next final.
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines)%2 != 0 {
		t.Fatalf("odd number of lines; output:\n%s", out.String())
	}
	var finals []result.Result
	for i := 0; i < len(lines); i += 2 {
		r, err := result.Decode([]byte(strings.TrimSpace(lines[i+1])))
		if err != nil || !r.Final || r.Window != "minute" || lines[i] != describe(r) {
			t.Fatalf("lines %d-%d (%v):\n%s\n%s\noutput:\n%s", i+1, i+2, err, lines[i], lines[i+1], out.String())
		}
		if r.Rev == 1 {
			finals = append(finals, r)
		}
	}
	if len(finals) != 2 || !finals[1].Start.Equal(finals[0].End) || finals[0].Users == 0 || finals[1].Frames == 0 {
		t.Fatalf("finals %+v, want 2 consecutive minutes with users; output:\n%s", finals, out.String())
	}
	st := board.Snapshot()
	if len(st.Windows["minute"]) < 2 || st.Counted == 0 {
		t.Errorf("dashboard saw %d minutes, %d frames counted", len(st.Windows["minute"]), st.Counted)
	}
	checkRejects(t, st, status.String())
	t.Logf("rejected %v; %d dead letters", st.Rejected, st.DeadLetters.Count)
	if !strings.Contains(status.String(), "status: event time") {
		t.Errorf("no status line:\n%s", status.String())
	}
	t.Logf("2 minutes in %v:\n%s", time.Since(begin), out.String())
}

func TestDescribe(t *testing.T) {
	start := time.Unix(1468244400, 0).UTC()
	tests := []struct {
		r    result.Result
		want string
	}{
		{result.Result{Window: "minute", Start: start, Users: 47232, Frames: 63858, Final: true, Rev: 1, Exact: true},
			"13:40 UTC    47,232 users    63,858 frames  (final, exact)"},
		{result.Result{Window: "minute", Start: start, Users: 5, Frames: 6, Final: true, Rev: 2, RSE: 0.0081},
			"13:40 UTC         5 users         6 frames  (corrected, rev 2, ±0.8%)"},
	}
	for _, tt := range tests {
		if got := describe(tt.r); got != tt.want {
			t.Errorf("got  %q\nwant %q", got, tt.want)
		}
	}
}

// TestPrinter: finals are printed as they come, the latest correction of
// each minute before the next final, and the printer stops exactly at its
// number of minutes even when more finals arrive in the same poll.
func TestPrinter(t *testing.T) {
	since := time.Unix(1468244400, 0).UTC()
	rec := func(minute int64, final bool, rev int, users uint64) kafka.ResultRecord {
		start := since.Add(time.Duration(minute) * time.Minute)
		r := result.Result{Window: "minute", Start: start, End: start.Add(time.Minute), Users: users, Frames: users, Final: final, Rev: rev, Exact: true}
		return kafka.ResultRecord{Result: r, Value: r.AppendJSON(nil)}
	}
	tests := []struct {
		name    string
		minutes int
		recs    []kafka.ResultRecord
		want    []string // users of the lines printed, in order
		doneAt  int      // index of the record that ends the demo; -1: none
	}{
		{"finals", 0, []kafka.ResultRecord{rec(0, false, 0, 1), rec(0, true, 1, 2), rec(1, true, 1, 3)}, []string{"2", "3"}, -1},
		{"before the demo", 0, []kafka.ResultRecord{rec(-1, true, 1, 9), rec(0, true, 1, 2)}, []string{"2"}, -1},
		{"latest correction first", 0, []kafka.ResultRecord{rec(0, true, 1, 2), rec(0, true, 2, 3), rec(0, true, 3, 4), rec(1, true, 1, 5)}, []string{"2", "4", "5"}, -1},
		{"stops at minutes", 2, []kafka.ResultRecord{rec(0, true, 1, 2), rec(1, true, 1, 3), rec(2, true, 1, 4)}, []string{"2", "3"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			p := printer{out: &out, minutes: tt.minutes, since: since}
			doneAt := -1
			for i, r := range tt.recs {
				if p.add(r) {
					doneAt = i
					break
				}
			}
			var got []string
			for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
				if f := strings.Fields(l); len(f) > 3 && f[3] == "users" {
					got = append(got, f[2])
				}
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") || doneAt != tt.doneAt {
				t.Errorf("printed users %v, done at %d; want %v, %d; output:\n%s", got, doneAt, tt.want, tt.doneAt, out.String())
			}
		})
	}
}

// TestPaced: frames are handed out no earlier than their arrival on the
// event clock, all that are due at once in one batch.
func TestPaced(t *testing.T) {
	clock := NewClock(time.Now(), 600)
	p := newPaced(clock, Config{Rate: 100, Users: 10}, &Stats{})
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var n int
	for n < 1000 {
		b, err := p.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Frames) == 0 || len(b.Frames) > pacedBatch {
			t.Fatalf("batch of %d frames", len(b.Frames))
		}
		n += len(b.Frames)
	}
	// The frames handed out span (nearly) the event time up to the next
	// one's arrival, which must not have come much earlier on the wall
	// clock: ~10 s of event time, ~17 ms of wall time at 600×.
	if d, want := time.Since(clock.wall0), time.Duration(float64(p.g.Elapsed()-time.Second)/600); d < want {
		t.Errorf("%d frames up to %v of event time in %v of wall time, want at least %v: not paced", n, p.g.Elapsed(), d, want)
	}
	cancel()
	if _, err := p.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Next after cancel: %v", err)
	}
}

// checkRejects: the demo's bad frames were rejected for the reasons they
// were made for, every reject reached the dashboard's dead letters, and no
// good frame was rejected (the demo warns of it).
func checkRejects(t *testing.T, st dashboard.State, status string) {
	t.Helper()
	want := map[string]bool{frame.BogusTS.String(): true, frame.TooLate.String(): true}
	for _, k := range badKinds {
		want[k.reason.String()] = true
	}
	for r := range want {
		if st.Rejected[r] == 0 && r != frame.TooLate.String() {
			t.Errorf("no frame rejected as %s", r)
		}
	}
	var n uint64
	for r, c := range st.Rejected {
		if !want[r] {
			t.Errorf("%d frames rejected as %s: the demo sends none", c, r)
		}
		n += c
	}
	if n == 0 || st.DeadLetters.Count != n || len(st.DeadLetters.Recent) == 0 {
		t.Errorf("%d rejected (%v), %d dead letters on the dashboard (%d recent)", n, st.Rejected, st.DeadLetters.Count, len(st.DeadLetters.Recent))
	}
	if strings.Contains(status, "sent as good was rejected") {
		t.Errorf("a good frame was rejected:\n%s", status)
	}
	if !strings.Contains(status, "bad frames sent") {
		t.Errorf("the status line does not show the rejects:\n%s", status)
	}
}

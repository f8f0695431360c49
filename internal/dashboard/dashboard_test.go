package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/headcount/headcount/internal/frame"
	"github.com/headcount/headcount/internal/pipeline"
	"github.com/headcount/headcount/internal/result"
)

type nopSink struct{ n int }

func (s *nopSink) Write(_ context.Context, rs []result.Result) error { s.n += len(rs); return nil }

// serve serves the board until the test ends.
func serve(t *testing.T, b *Board) string {
	t.Helper()
	mux := http.NewServeMux()
	b.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// getState reads /api/state from the board's handler.
func getState(t *testing.T, b *Board) State {
	t.Helper()
	resp, err := http.Get(serve(t, b) + "/api/state")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got State
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestBoard(t *testing.T) {
	b := New()
	next := &nopSink{}
	sink := b.Tee(next)
	at := func(min int64) time.Time { return time.Unix(1468244400+60*min, 0).UTC() }
	var rs []result.Result
	for i := int64(0); i < Keep+5; i++ {
		rs = append(rs, result.Result{Window: "minute", Start: at(i), End: at(i + 1), Users: uint64(i + 1), Frames: 10, Final: true, Rev: 1, Exact: true})
	}
	rs = append(rs,
		result.Result{Window: "minute", Start: at(Keep + 4), End: at(Keep + 5), Users: 999, Frames: 11, Final: true, Rev: 2, Exact: true},
		result.Result{Window: "minute", Start: at(Keep + 4), End: at(Keep + 5), Users: 1, Frames: 1, Final: false},
		result.Result{Window: "hour", Start: at(0), End: at(60), Users: 7, Frames: 70, RSE: 0.0081},
	)
	if err := sink.Write(context.Background(), rs); err != nil || next.n != len(rs) {
		t.Fatalf("tee passed %d of %d results (%v)", next.n, len(rs), err)
	}
	var st pipeline.Stats
	st.Frames, st.Counted, st.Watermark = 100, 90, 1468244400
	st.Rejected[frame.NotJSON] = 10
	b.Observe(&st)

	got := getState(t, b)
	minutes := got.Windows["minute"]
	if len(minutes) != Keep {
		t.Fatalf("%d minutes kept, want %d", len(minutes), Keep)
	}
	last := minutes[len(minutes)-1]
	if last.Users != 999 || last.Rev != 2 || !last.Final {
		t.Errorf("latest minute %+v: the correction must win, a provisional result must not replace it", last)
	}
	if !minutes[0].Start.Equal(at(5)) {
		t.Errorf("oldest kept minute %v", minutes[0].Start)
	}
	if h := got.Windows["hour"]; len(h) != 1 || h[0].RSE != 0.0081 {
		t.Errorf("hour %+v", h)
	}
	if got.Frames != 100 || got.Counted != 90 || got.Rejected["not-json"] != 10 || got.Watermark != 1468244400 {
		t.Errorf("state %+v", got)
	}
	if c := got.Corrections; len(c) != 1 || *c[0].OldUsers != Keep+4+1 || c[0].NewUsers != 999 || *c[0].OldFrames != 10 || c[0].NewFrames != 11 || c[0].Rev != 2 || c[0].OldRev != 1 {
		t.Errorf("corrections %+v, want minute %d: %d → 999 users, rev 2", c, Keep+4, Keep+5)
	}
	// No clock set: the wall clock, nothing partial; empty lists are [].
	if got.Clock.Name != "" || got.Clock.Speedup != 1 || got.Clock.Since != 0 || got.Throughput == nil || got.DeadLetters.Recent == nil {
		t.Errorf("clock %+v, throughput %v, dead letters %+v", got.Clock, got.Throughput, got.DeadLetters)
	}
}

// TestPage: the page at /, nothing else but /api/state.
func TestPage(t *testing.T) {
	url := serve(t, New())
	page, err := http.Get(url + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer page.Body.Close()
	body, _ := io.ReadAll(page.Body)
	if !strings.Contains(string(body), "api/state") || !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") {
		t.Errorf("page: %s %q", page.Header.Get("Content-Type"), body[:80])
	}
	if r, err := http.Get(url + "/nope"); err != nil || r.StatusCode != http.StatusNotFound {
		t.Errorf("/nope: %v %v", r, err)
	} else {
		r.Body.Close()
	}
}

// TestPageSelfContained: the page loads nothing from elsewhere (users of
// the dashboard may have no internet).
func TestPageSelfContained(t *testing.T) {
	for _, ref := range []string{"http://", "https://", "//cdn", "<script src", "<link rel=\"stylesheet\"", "@import"} {
		if strings.Contains(string(page), ref) {
			t.Errorf("index.html contains %q", ref)
		}
	}
}

// TestCorrections: a correction says the counts it replaces when the board
// saw them, only final revisions above 1 are corrections, and the list
// keeps the latest KeepCorr.
func TestCorrections(t *testing.T) {
	start := time.Unix(1468244400, 0).UTC()
	r := func(min int, users uint64, final bool, rev int) result.Result {
		s := start.Add(time.Duration(min) * time.Minute)
		return result.Result{Window: "minute", Start: s, End: s.Add(time.Minute), Users: users, Frames: users * 2, Final: final, Rev: rev}
	}
	tests := []struct {
		name string
		in   []result.Result
		want []string // "start users: old → new rev", "?" for an unknown old count
	}{
		{"none", []result.Result{r(0, 5, false, 0), r(0, 6, true, 1)}, nil},
		{"one", []result.Result{r(0, 6, true, 1), r(0, 8, true, 2)}, []string{"0 6→8 r2"}},
		{"chain", []result.Result{r(0, 6, true, 1), r(0, 8, true, 2), r(0, 9, true, 3)}, []string{"0 6→8 r2", "0 8→9 r3"}},
		{"first seen as a correction", []result.Result{r(3, 4, true, 2)}, []string{"3 ?→4 r2"}},
		{"provisional before", []result.Result{r(0, 2, false, 0), r(0, 3, true, 2)}, []string{"0 ?→3 r2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := New()
			b.record(tt.in)
			var got []string
			for _, c := range b.Snapshot().Corrections {
				old := "?"
				if c.OldUsers != nil {
					old = fmt.Sprint(*c.OldUsers)
				}
				got = append(got, fmt.Sprintf("%d %s→%d r%d", c.Start.Sub(start)/time.Minute, old, c.NewUsers, c.Rev))
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	b := New()
	for i := 0; i < KeepCorr+3; i++ {
		b.record([]result.Result{r(i, 1, true, 1), r(i, 2, true, 2)})
	}
	if c := b.Snapshot().Corrections; len(c) != KeepCorr || !c[0].Start.Equal(start.Add(3*time.Minute)) {
		t.Errorf("%d corrections kept from %v, want %d from minute 3", len(c), c[0].Start, KeepCorr)
	}
}

// TestThroughput: a sample a second of wall time, frames and rejects per
// second between observations, the latest KeepSamples.
func TestThroughput(t *testing.T) {
	b := New()
	now := time.Unix(1000, 0)
	b.wall = func() time.Time { return now }
	var st pipeline.Stats
	for i := 0; i < KeepSamples+5; i++ {
		st.Frames += 1000
		st.Rejected[frame.BadUTF8] += 3
		b.Observe(&st)
		now = now.Add(500 * time.Millisecond)
		st.Frames += 500 // within the same second: no sample
		b.Observe(&st)
		now = now.Add(500 * time.Millisecond)
	}
	got := b.Snapshot()
	if len(got.Throughput) != KeepSamples {
		t.Fatalf("%d samples, want %d", len(got.Throughput), KeepSamples)
	}
	for _, s := range got.Throughput {
		if s.Rate != 1500 || s.Rejected != 3 {
			t.Fatalf("sample %+v, want 1500 frames/s, 3 rejected/s", s)
		}
	}
	if first, last := got.Throughput[0].At, got.Throughput[KeepSamples-1].At; last-first != KeepSamples-1 || got.Rate != 1500 {
		t.Errorf("samples from %d to %d, rate %v", first, last, got.Rate)
	}
}

// TestClock: on the demo's clock, times are demo time and windows before
// the traffic's start are partial (the page marks them by clock.since).
func TestClock(t *testing.T) {
	b := New()
	start := time.Unix(1468244400, 0)
	demoNow := start.Add(90 * time.Second)
	b.DemoClock(start, 10, func() time.Time { return demoNow })
	if err := b.TeeDead(nil).Reject(1, 2, []byte(`{}`), frame.NoUID); err != nil {
		t.Fatal(err)
	}
	got := getState(t, b)
	if got.Clock != (ClockState{Name: "demo time", Speedup: 10, Now: demoNow.Unix(), Since: start.Unix()}) {
		t.Errorf("clock %+v", got.Clock)
	}
	if d := got.DeadLetters.Recent; len(d) != 1 || d[0].At != demoNow.Unix() {
		t.Errorf("dead letter %+v, want it at %d (demo time)", d, demoNow.Unix())
	}
}

// flushDead is dead letters that buffer.
type flushDead struct {
	rejects, flushes int
	err              error
}

func (d *flushDead) Reject(int32, int64, []byte, frame.Reason) error { d.rejects++; return d.err }
func (d *flushDead) Flush(context.Context) error                     { d.flushes++; return d.err }

// plainDead is dead letters that do not buffer.
type plainDead struct{ rejects int }

func (d *plainDead) Reject(int32, int64, []byte, frame.Reason) error { d.rejects++; return nil }

// TestTeeDead: every rejected frame is on the board and passed on; a flush
// reaches dead letters that buffer, and their errors come back.
func TestTeeDead(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name    string
		next    pipeline.DeadLetters
		wantErr error
	}{
		{"none", nil, nil},
		{"plain", &plainDead{}, nil},
		{"buffered", &flushDead{}, nil},
		{"failing", &flushDead{err: boom}, boom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := New()
			d := b.TeeDead(tt.next)
			var errs []error
			for i := range KeepDead + 2 {
				errs = append(errs, d.Reject(int32(i%3), int64(i), []byte(fmt.Sprintf(`{"uid":%d}`, i)), frame.NoTS))
			}
			errs = append(errs, d.(flusher).Flush(context.Background()))
			for _, err := range errs {
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("error %v, want %v", err, tt.wantErr)
				}
			}
			switch n := tt.next.(type) {
			case *plainDead:
				if n.rejects != KeepDead+2 {
					t.Errorf("%d rejects passed on", n.rejects)
				}
			case *flushDead:
				if n.rejects != KeepDead+2 || n.flushes != 1 {
					t.Errorf("%d rejects, %d flushes passed on", n.rejects, n.flushes)
				}
			}
			got := b.Snapshot().DeadLetters
			if got.Count != KeepDead+2 || len(got.Recent) != KeepDead || got.Recent[0].Offset != 2 ||
				got.Recent[KeepDead-1] != (DeadLetter{At: got.Recent[KeepDead-1].At, Partition: 0, Offset: KeepDead + 1, Reason: "no-ts", Bytes: 9, Excerpt: `{"uid":9}`}) {
				t.Errorf("dead letters %+v", got)
			}
		})
	}
}

func TestExcerpt(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{`{"uid":"a"}`, 20, `{"uid":"a"}`},
		{`{"uid":"abcdef"}`, 8, `{"uid":"…`},
		{"Z\xfcrich", 20, "Z\uFFFDrich"},
		{"\x00\x01", 20, "\x00\x01"},
		{"Жж", 3, "Ж…"}, // not half a character
		{"", 5, ""},
	}
	for _, tt := range tests {
		if got := excerpt([]byte(tt.in), tt.n); got != tt.want {
			t.Errorf("excerpt(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

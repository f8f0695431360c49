package dashboard

import (
	"context"
	"encoding/json"
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

	srv := httptest.NewServer(func() http.Handler { mux := http.NewServeMux(); b.Register(mux); return mux }())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/state")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got State
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
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
	page, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer page.Body.Close()
	body, _ := io.ReadAll(page.Body)
	if !strings.Contains(string(body), "api/state") || !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") {
		t.Errorf("page: %s %q", page.Header.Get("Content-Type"), body[:80])
	}
	if r, _ := http.Get(srv.URL + "/nope"); r.StatusCode != http.StatusNotFound {
		t.Errorf("/nope: %s", r.Status)
	}
}

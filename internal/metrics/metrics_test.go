package metrics

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/headcount/headcount/internal/frame"
	"github.com/headcount/headcount/internal/pipeline"
)

func TestServe(t *testing.T) {
	m := New()
	var st pipeline.Stats
	st.Frames, st.Counted, st.Watermark, st.OpenWindows = 10, 7, 1468244400, 2
	st.Rejected[frame.BogusTS] = 3
	m.Observe(&st)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, err := m.Serve(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) string {
		resp, err := http.Get("http://" + addr.String() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %s", path, resp.Status)
		}
		return string(b)
	}
	body := get("/metrics")
	for _, want := range []string{
		"headcount_frames_total 10",
		"headcount_frames_counted_total 7",
		`headcount_frames_rejected_total{reason="bogus-ts"} 3`,
		`headcount_frames_rejected_total{reason="not-json"} 0`,
		"headcount_watermark_seconds 1.4682444e+09",
		"headcount_windows_open 2",
		"go_goroutines",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if got := get("/healthz"); strings.TrimSpace(got) != "ok" {
		t.Errorf("healthz %q", got)
	}
	if _, err := m.Serve(ctx, addr.String()); err == nil {
		t.Error("second listen on the same address succeeded")
	}
}

package metrics

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

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

// failListener fails its first Accept with err, like a listener whose
// socket broke.
type failListener struct {
	net.Listener
	err error
}

func (l failListener) Accept() (net.Conn, error) { return nil, l.err }

// An error of the background server is logged with its address, not
// dropped; a shutdown through ctx is no error.
func TestServeErrors(t *testing.T) {
	tests := []struct {
		name    string
		accept  error // nil: the listener works and ctx ends the server
		wantLog string
	}{
		{"accept fails", errors.New("too many open files"), `level=ERROR msg="metrics: the server stopped; /metrics, /healthz, /readyz and the dashboard no longer answer" addr=127.0.0.1:`},
		{"ctx done", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log bytes.Buffer
			m := New()
			m.Logger = slog.New(slog.NewTextHandler(&log, nil))
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var l net.Listener = ln
			if tt.accept != nil {
				l = failListener{ln, tt.accept}
			} else {
				cancel()
			}
			select {
			case <-m.serve(ctx, l):
			case <-time.After(time.Minute):
				t.Fatal("the server did not stop")
			}
			got := log.String()
			if tt.wantLog == "" && got != "" || !strings.Contains(got, tt.wantLog) || tt.accept != nil && !strings.Contains(got, tt.accept.Error()) {
				t.Errorf("log %q, want %q and the error", got, tt.wantLog)
			}
		})
	}
}

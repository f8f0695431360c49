package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/headcount/headcount/internal/frame"
	"github.com/headcount/headcount/internal/pipeline"
	"github.com/headcount/headcount/internal/watermark"
)

// Metrics holds the latest pipeline stats and serves them.
type Metrics struct {
	// Logger receives the errors of the server running in the background
	// (Serve); nil: slog.Default().
	Logger *slog.Logger

	mu      sync.Mutex
	st      pipeline.Stats
	updated time.Time
	reg     *prometheus.Registry
}

// New returns metrics with a registry of their own (plus Go runtime and
// process metrics).
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.reg.MustRegister(collector{m}, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Observe takes a copy of s; it is pipeline.Config.Observe.
func (m *Metrics) Observe(s *pipeline.Stats) {
	m.mu.Lock()
	m.st = *s
	m.updated = time.Now()
	m.mu.Unlock()
}

// Snapshot returns the latest stats.
func (m *Metrics) Snapshot() pipeline.Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st
}

// Handler serves /metrics and /healthz, and whatever extra registers (the
// dashboard).
func (m *Metrics) Handler(extra ...func(*http.ServeMux)) http.Handler {
	mux := http.NewServeMux()
	for _, register := range extra {
		register(mux)
	}
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintln(w, "ok")
	})
	return mux
}

// Serve listens on addr until ctx is done. It returns once the listener is
// up (or failed), serving in the background; an error of the server after
// that is logged to Logger, since the run goes on without it.
func (m *Metrics) Serve(ctx context.Context, addr string, extra ...func(*http.ServeMux)) (net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listen %s: %w", addr, err)
	}
	m.serve(ctx, ln, extra...)
	return ln.Addr(), nil
}

// shutdownGrace is how long open requests may finish once ctx is done.
const shutdownGrace = 2 * time.Second

// serve serves on ln in the background; the channel is closed once the
// server has stopped and its error, if any, is logged.
func (m *Metrics) serve(ctx context.Context, ln net.Listener, extra ...func(*http.ServeMux)) <-chan struct{} {
	log := m.Logger
	if log == nil {
		log = slog.Default()
	}
	addr := ln.Addr().String()
	srv := &http.Server{Handler: m.Handler(extra...), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			log.Warn("metrics: requests still open at shutdown were cut off", "addr", addr, "grace", shutdownGrace, "err", err)
			if err := srv.Close(); err != nil {
				log.Warn("metrics: close the server", "addr", addr, "err", err)
			}
		}
	}()
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics: the server stopped; /metrics, /healthz and the dashboard no longer answer", "addr", addr, "err", err)
		}
	}()
	return stopped
}

var (
	descFrames   = prometheus.NewDesc("headcount_frames_total", "Frames read, counted or not.", nil, nil)
	descBytes    = prometheus.NewDesc("headcount_bytes_total", "Bytes of frames read.", nil, nil)
	descCounted  = prometheus.NewDesc("headcount_frames_counted_total", "Frames counted in at least one window.", nil, nil)
	descRejected = prometheus.NewDesc("headcount_frames_rejected_total", "Frames not counted, by reason.", []string{"reason"}, nil)
	descPartly   = prometheus.NewDesc("headcount_frames_partly_late_total", "Frames counted in longer windows but too late for a shorter one.", nil, nil)
	descResults  = prometheus.NewDesc("headcount_results_total", "Results written.", nil, nil)
	descWM       = prometheus.NewDesc("headcount_watermark_seconds", "The pipeline's watermark (unix seconds).", nil, nil)
	descOpen     = prometheus.NewDesc("headcount_windows_open", "Open windows.", nil, nil)
	descKept     = prometheus.NewDesc("headcount_windows_kept", "Closed windows kept for corrections.", nil, nil)
	descMem      = prometheus.NewDesc("headcount_window_counter_bytes", "Memory held by the counters of open and kept windows.", nil, nil)
	descHeld     = prometheus.NewDesc("headcount_frames_held", "Frames held by the jump guard (possible bit flips).", nil, nil)
)

type collector struct{ m *Metrics }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descFrames, descBytes, descCounted, descRejected, descPartly, descResults, descWM, descOpen, descKept, descMem, descHeld} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	s := c.m.Snapshot()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	counter(descFrames, s.Frames)
	counter(descBytes, s.Bytes)
	counter(descCounted, s.Counted)
	for r := frame.Reason(1); r < frame.NumReasons; r++ {
		counter(descRejected, s.Rejected[r], r.String())
	}
	counter(descPartly, s.PartlyLate)
	counter(descResults, s.Results)
	if s.Watermark != watermark.None {
		gauge(descWM, float64(s.Watermark))
	}
	gauge(descOpen, float64(s.OpenWindows))
	gauge(descKept, float64(s.KeptWindows))
	gauge(descMem, float64(s.WindowBytes))
	gauge(descHeld, float64(s.Held))
}

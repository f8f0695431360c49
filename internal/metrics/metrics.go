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

	"github.com/headcount/headcount/internal/pipeline"
)

// Metrics holds the latest pipeline stats and serves them.
type Metrics struct {
	// Logger receives the errors of the server running in the background
	// (Serve); nil: slog.Default().
	Logger *slog.Logger

	mu      sync.Mutex
	st      pipeline.Stats
	updated time.Time // the last Observe; zero before the first
	ready   Readiness
	reg     *prometheus.Registry
	now     func() time.Time // the wall clock (tests set it)
}

// New returns metrics with a registry of their own (plus Go runtime and
// process metrics).
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), now: time.Now}
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

// Handler serves /metrics, /healthz, /readyz, and whatever extra registers
// (the dashboard).
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
	mux.HandleFunc("/readyz", m.serveReady)
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
			log.Error("metrics: the server stopped; /metrics, /healthz, /readyz and the dashboard no longer answer", "addr", addr, "err", err)
		}
	}()
	return stopped
}

package metrics

import (
	"fmt"
	"net/http"

	"github.com/headcount/headcount/internal/pipeline"
)

// DefaultMaxLag is the run command's --ready-lag: the most records a
// partition of a Kafka input may lag for the run to be ready.
const DefaultMaxLag = 10000

// Readiness says what /readyz waits for.
type Readiness struct {
	// Input is a Kafka input; nil for a file or stdin.
	Input Input
	// Stream says a non-Kafka input is a stream (stdin): it is caught up
	// when the pipeline has applied everything and waits for more. A
	// file is caught up at its end.
	Stream bool
	// MaxLag is the most records a Kafka partition may lag (0: none).
	MaxLag int64
}

// SetReadiness says what the run's readiness depends on, and which Kafka
// input /metrics reports the lag (and a group member's steps) of.
func (m *Metrics) SetReadiness(r Readiness) {
	m.mu.Lock()
	m.ready = r
	m.mu.Unlock()
}

// stats returns the latest stats, amended by a group member's own steps,
// and the Kafka input.
func (m *Metrics) stats() (pipeline.Stats, Input) {
	m.mu.Lock()
	s, in := m.st, m.ready.Input
	m.mu.Unlock()
	if g, ok := in.(group); ok {
		g.Amend(&s)
	}
	return s, in
}

// NotReady says why the run is not ready ("" when it is): a Kafka input is
// ready once it is assigned its partitions, has restored its state and
// every partition lags at most MaxLag records; a file once the pipeline
// has read it to its end; a stream once the pipeline waits for it.
func (m *Metrics) NotReady() string {
	m.mu.Lock()
	r, s, started := m.ready, m.st, !m.updated.IsZero()
	m.mu.Unlock()
	if r.Input != nil {
		if why := r.Input.NotReady(); why != "" {
			return why
		}
		return lagging(r.Input, r.MaxLag)
	}
	switch {
	case !started:
		return "the pipeline has not started"
	case s.Ended || r.Stream && s.Waiting:
		return ""
	case r.Stream:
		return "catching up with the input"
	}
	return "reading the input: a file is ready once it is read to its end"
}

// lagging names the partition that lags most if it lags more than limit
// records ("" if none does).
func lagging(in Input, limit int64) string {
	var worst struct {
		topic     string
		partition int32
		lag       int64
	}
	in.Lag(func(topic string, partition int32, lag int64) {
		if lag > worst.lag || lag == worst.lag && (topic < worst.topic || topic == worst.topic && partition < worst.partition) {
			worst.topic, worst.partition, worst.lag = topic, partition, lag
		}
	})
	if worst.lag <= limit {
		return ""
	}
	return fmt.Sprintf("partition %d of %s lags %d records (more than %d)", worst.partition, worst.topic, worst.lag, limit)
}

// serveReady answers 200 "ready" or 503 with the reason, in plain text.
func (m *Metrics) serveReady(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if why := m.NotReady(); why != "" {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "not ready:", why)
		return
	}
	fmt.Fprintln(w, "ready")
}

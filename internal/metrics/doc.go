// Package metrics exposes the pipeline's counters to Prometheus (/metrics)
// and a liveness check (/healthz). The pipeline hands over a copy of its
// Stats after each batch; scrapes read the latest copy, so the hot path
// never touches a Prometheus type.
package metrics

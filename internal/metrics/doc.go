// Package metrics exposes the pipeline's counters to Prometheus (/metrics),
// a liveness check (/healthz) and a readiness check (/readyz). The pipeline
// hands over a copy of its Stats after each batch; scrapes read the latest
// copy, and ask a Kafka input (Input) for its lag and readiness, so the hot
// path never touches a Prometheus type.
package metrics

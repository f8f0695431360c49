// Package eventtime is the event-time core: one object, Core, that owns every
// piece of state that depends on event time — each input partition's clock
// and jump guard (package watermark), the pipeline's watermark, and the open
// and kept windows with their counters (package window) — behind a small
// API: Offer a parsed frame, Tick the wall clock, Assign and Revoke
// partitions, Early and Finish; results and rejected frames collect in the
// core until the caller takes them.
//
// The core is sequential and deterministic: given the same frames in the
// same order per partition, the same interleaving and the same wall clock,
// it produces the same results. Concurrency (reading, parsing on every
// core, writing) is package pipeline's; the core is driven by one goroutine.
//
// State that belongs to one input partition (its largest ts, the guard's
// clock and held frames) is kept per partition, so that a partition's share
// can move to another process; the windows' counters are shared by every
// partition, because unique counts of different partitions do not add up
// (see docs/ARCHITECTURE.md for how several members will merge them).
//
// Files: core.go (the API), snapshot.go (the binary form for checkpoints).
package eventtime

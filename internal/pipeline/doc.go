// Package pipeline wires the stages: a source's batches are parsed by a pool
// of workers (one frame.Parser each), then applied in input order by one
// goroutine that owns the watermark and the window engine, and results go to
// a sink. Stages hand over whole batches; nothing is sent per frame.
//
// Parsing is the expensive part and runs on every core; applying a parsed
// frame is a hash-set insert, cheap enough for one goroutine, which keeps
// the event-time semantics sequential and deterministic.
package pipeline

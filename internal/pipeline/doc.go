// Package pipeline wires the stages and nothing else: a source's batches are
// parsed by a pool of workers (one frame.Parser each), then applied in input
// order by one goroutine to the event-time core (package eventtime), whose
// results go to a sink and whose rejected frames go to the dead letters
// before the batch's offsets are marked. Stages hand over whole batches;
// nothing is sent per frame.
//
// Parsing is the expensive part and runs on every core; applying a parsed
// frame is a hash-set insert, cheap enough for one goroutine, which keeps
// the event-time semantics sequential and deterministic.
//
// Files: pipeline.go (Run: reader, workers, the apply loop), job.go (a batch
// in flight and its parse), apply.go (the ordered apply stage and its
// output), config.go (Config, its defaults and validation), stats.go.
package pipeline

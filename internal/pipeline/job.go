package pipeline

import (
	"sync"

	"github.com/cespare/xxhash/v2"

	"github.com/headcount/headcount/internal/frame"
	"github.com/headcount/headcount/internal/source"
)

// job carries one batch through a worker and back to the applier.
type job struct {
	b       *source.Batch
	recs    []rec
	rejects []reject
	bytes   uint64
	ready   chan struct{} // the worker is done with it
}

// rec is one parsed frame that counts.
type rec struct {
	ts  int64
	h   uint64
	idx uint32 // index in the batch, for dead letters
}

// reject is a frame the parser refused.
type reject struct {
	idx uint32
	r   frame.Reason
}

// jobPool keeps jobs with their slices for reuse: no allocation per batch.
var jobPool = sync.Pool{New: func() any { return &job{ready: make(chan struct{}, 1)} }}

// parse extracts uid and ts from every frame of the job's batch. An uncut
// batch is cut as it goes, by the parser (frame.Parser.ParseLine), which
// finds each line's end in the same pass that validates it.
func (j *job) parse(p *frame.Parser) {
	j.recs, j.rejects, j.bytes = j.recs[:0], j.rejects[:0], 0
	var uid []byte
	var ts int64
	var r frame.Reason
	parsed := false // by line, for the frame each is called with
	line := func(rest []byte, max int) int {
		var n int
		n, uid, ts, r = p.ParseLine(rest, max)
		parsed = true
		return n
	}
	j.b.Cut(line, func(i int, f []byte) {
		j.bytes += uint64(len(f)) + 1
		if !parsed {
			uid, ts, r = p.Parse(f)
		}
		parsed = false
		if r != frame.OK {
			j.rejects = append(j.rejects, reject{uint32(i), r})
			return
		}
		j.recs = append(j.recs, rec{ts: ts, h: xxhash.Sum64(uid), idx: uint32(i)})
	})
}

// measure only sizes the batch (the bench command's read stage).
func (j *job) measure() {
	j.recs, j.rejects, j.bytes = j.recs[:0], j.rejects[:0], 0
	j.b.Cut(nil, func(_ int, f []byte) { j.bytes += uint64(len(f)) + 1 })
}

// done releases the batch and returns the job to the pool.
func (j *job) done() {
	j.b.Release()
	j.b = nil
	jobPool.Put(j)
}

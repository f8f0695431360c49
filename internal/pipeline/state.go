package pipeline

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/headcount/headcount/internal/binio"
	"github.com/headcount/headcount/internal/frame"
)

// Checkpointer saves the pipeline's state (Config.Checkpoint). Save is
// called between batches, when every result and dead letter of the batches
// applied so far has been written: the state and the outputs agree.
type Checkpointer interface {
	Save(ctx context.Context, state []byte) error
}

// ErrStopped is what Run returns after Config.Stop: the batch in flight was
// applied, its output written and, with a Checkpoint, the state saved.
var ErrStopped = errors.New("stopped")

// ErrAborted is what a Checkpointer returns when it could not commit the
// state and rolled its outputs back (an aborted Kafka transaction): the
// pipeline goes back to the state it last saved, and its source re-reads
// what came after it.
var ErrAborted = errors.New("aborted: back to the last saved state")

// ErrState is wrapped by every error about a state to resume from.
var ErrState = errors.New("pipeline: invalid state")

// The pipeline's state: where the input is to be read from again, the
// run's totals, and the event-time core.
//
//	"hcP" 1
//	varint next input position (a line number for files)
//	uvarint frames, bytes, results; uvarint reasons, then uvarint each
//	uvarint len, eventtime.Core snapshot
var stateHeader = binio.Header{Magic: "hcP", Version: 1, Err: ErrState}

// state appends the applier's state to b.
func (a *applier) state(b []byte) ([]byte, error) {
	core, err := a.core.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("pipeline state: %w", err)
	}
	b = stateHeader.Append(b)
	b = binary.AppendVarint(b, a.next)
	b = binary.AppendUvarint(b, a.stats.Frames)
	b = binary.AppendUvarint(b, a.stats.Bytes)
	b = binary.AppendUvarint(b, a.stats.Results)
	b = binary.AppendUvarint(b, uint64(len(a.stats.Rejected)))
	for _, n := range a.stats.Rejected {
		b = binary.AppendUvarint(b, n)
	}
	return binio.AppendBytes(b, core), nil
}

// reset goes back to the start: nothing counted yet.
func (a *applier) reset() {
	a.core = a.newCounter()
	a.core.Tick(a.cfg.Now())
	a.next, a.stats = 0, a.stats.process()
	a.stats.Stats = a.core.Stats()
}

// process keeps what a state does not hold: what this process did
// (corrections written, saves) and where its input is.
func (s *Stats) process() Stats {
	return Stats{Corrections: s.Corrections, Checkpoint: s.Checkpoint, Ended: s.Ended, Waiting: s.Waiting}
}

// restore replaces the applier's state with data (the core's wall clock
// must be set first).
func (a *applier) restore(data []byte) error {
	r, err := stateHeader.Open(data)
	if err != nil {
		return err
	}
	next := r.Varint()
	st := a.stats.process()
	st.Frames, st.Bytes, st.Results = r.Uvarint(), r.Uvarint(), r.Uvarint()
	n := r.Count(1)
	if r.Err() == nil && n != int(frame.NumReasons) {
		return fmt.Errorf("%w: %d reject reasons, this version has %d", ErrState, n, frame.NumReasons)
	}
	for i := range n {
		st.Rejected[i] = r.Uvarint()
	}
	core := r.Bytes()
	if err := stateHeader.Finish(r); err != nil {
		return err
	}
	if err := a.core.UnmarshalBinary(core); err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	a.next = next
	st.Stats = a.core.Stats()
	a.stats = st
	return nil
}

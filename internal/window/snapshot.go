package window

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/headcount/headcount/internal/binio"
	"github.com/headcount/headcount/internal/sketch"
)

// The binary form of an Engine's state, for checkpoints: every open and
// kept window with its counter, and how far windows have closed.
//
//	"hcW" 1                       magic, format version
//	varint closedTo
//	uvarint lanes, then per lane:
//	  byte kind
//	  uvarint windows, then per window:
//	    varint start, varint end, uvarint frames, uvarint rev, byte flags (1 dirty, 2 closed)
//	    uvarint len, counter (sketch.Counter's binary form)
var header = binio.Header{Magic: "hcW", Version: 1, Err: ErrSnapshot}

// ErrSnapshot is wrapped by every UnmarshalBinary error.
var ErrSnapshot = errors.New("window: invalid snapshot")

// AppendBinary appends the engine's state to b.
func (e *Engine) AppendBinary(b []byte) ([]byte, error) {
	b = header.Append(b)
	b = binary.AppendVarint(b, e.closedTo)
	b = binary.AppendUvarint(b, uint64(len(e.lanes)))
	for i := range e.lanes {
		l := &e.lanes[i]
		b = append(b, byte(l.kind))
		b = binary.AppendUvarint(b, uint64(len(l.open)+len(l.kept)))
		for _, m := range []map[int64]*state{l.open, l.kept} {
			for _, s := range m {
				b = binary.AppendVarint(b, s.start)
				b = binary.AppendVarint(b, s.end)
				b = binary.AppendUvarint(b, s.frames)
				b = binary.AppendUvarint(b, uint64(s.rev))
				var flags byte
				if s.dirty {
					flags |= 1
				}
				if s.closed {
					flags |= 2
				}
				b = append(b, flags)
				c, err := s.counter.AppendBinary(nil)
				if err != nil {
					return nil, fmt.Errorf("window %s/%d: %w", l.kind, s.start, err)
				}
				b = binio.AppendBytes(b, c)
			}
		}
	}
	return b, nil
}

// MarshalBinary returns the engine's state.
func (e *Engine) MarshalBinary() ([]byte, error) { return e.AppendBinary(nil) }

// UnmarshalBinary replaces the engine's windows with those of a snapshot.
// The engine must count the same window kinds as the one that took it
// (its zone and counting mode come from the snapshot's counters and the
// engine's configuration). On error the engine is unchanged.
func (e *Engine) UnmarshalBinary(data []byte) error {
	r, err := header.Open(data)
	if err != nil {
		return err
	}
	closedTo := r.Varint()
	nLanes := r.Count(2)
	if r.Err() == nil && nLanes != len(e.lanes) {
		return fmt.Errorf("%w: %d window kinds, this run counts %d", ErrSnapshot, nLanes, len(e.lanes))
	}
	lanes := make([]lane, len(e.lanes))
	next := int64(math.MaxInt64)
	for i := 0; i < nLanes && r.Err() == nil; i++ {
		k := Kind(r.Byte())
		if r.Err() == nil && k != e.lanes[i].kind {
			return fmt.Errorf("%w: window kind %s, this run counts %s", ErrSnapshot, k, e.lanes[i].kind)
		}
		lanes[i] = lane{kind: k, open: map[int64]*state{}, kept: map[int64]*state{}}
		n := r.Count(7)
		for range n {
			s := &state{start: r.Varint(), end: r.Varint(), frames: r.Uvarint()}
			rev := r.Uvarint()
			flags := r.Byte()
			counter := r.Bytes()
			if r.Err() != nil {
				break
			}
			if s.end <= s.start || rev > math.MaxInt32 || flags > 3 {
				r.Fail("%w: window [%d, %d) rev %d flags %d", ErrSnapshot, s.start, s.end, rev, flags)
				break
			}
			s.rev, s.dirty, s.closed = int(rev), flags&1 != 0, flags&2 != 0
			s.counter = sketch.New(e.counter)
			if err := s.counter.UnmarshalBinary(counter); err != nil {
				r.Fail("%w: window %s/%d: %w", ErrSnapshot, k, s.start, err)
				break
			}
			m := lanes[i].open
			if s.closed {
				m = lanes[i].kept
			} else {
				next = min(next, s.end)
			}
			if m[s.start] != nil {
				r.Fail("%w: window %s/%d twice", ErrSnapshot, k, s.start)
				break
			}
			m[s.start] = s
		}
	}
	if err := header.Finish(r); err != nil {
		return err
	}
	e.lanes, e.closedTo, e.next = lanes, closedTo, next
	e.free = nil
	e.keptEnd, e.corrected = math.MaxInt64, false
	for i := range e.lanes {
		for _, s := range e.lanes[i].kept {
			e.keptEnd = min(e.keptEnd, s.end)
			e.corrected = e.corrected || s.dirty
		}
	}
	return nil
}

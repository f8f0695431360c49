package watermark

import (
	"encoding/binary"
	"errors"
	"math"
	"time"

	"github.com/headcount/headcount/internal/binio"
)

// The binary form of a Tracker's state, for checkpoints: the watermark and,
// per partition, its largest ts, the guard's clock and its held frames.
// When a partition was last seen is wall-clock state and is not kept: a
// restored partition counts as seen at restore time.
//
//	"hcM" 1                         magic, format version
//	varint watermark
//	uvarint partitions, then per partition:
//	  varint id, varint max, varint accepted
//	  uvarint held, then per held frame: varint ts, uint64 hash, varint offset, uvarint len, frame, varint at
var header = binio.Header{Magic: "hcM", Version: 1, Err: ErrSnapshot}

// ErrSnapshot is wrapped by every Restore error.
var ErrSnapshot = errors.New("watermark: invalid snapshot")

// AppendBinary appends the tracker's state to b.
func (t *Tracker) AppendBinary(b []byte) ([]byte, error) {
	b = header.Append(b)
	b = binary.AppendVarint(b, t.wm)
	b = binary.AppendUvarint(b, uint64(len(t.parts)))
	for id, p := range t.parts {
		b = binary.AppendVarint(b, int64(id))
		b = binary.AppendVarint(b, p.max)
		b = binary.AppendVarint(b, p.accepted)
		b = binary.AppendUvarint(b, uint64(len(p.held)))
		for _, h := range p.held {
			b = binary.AppendVarint(b, h.TS)
			b = binary.LittleEndian.AppendUint64(b, h.Hash)
			b = binary.AppendVarint(b, h.Offset)
			b = binio.AppendBytes(b, h.Frame)
			b = binary.AppendVarint(b, h.at)
		}
	}
	return b, nil
}

// MarshalBinary returns the tracker's state.
func (t *Tracker) MarshalBinary() ([]byte, error) { return t.AppendBinary(nil) }

// Restore replaces the tracker's state with a snapshot's, every partition
// counting as seen at now. On error the tracker is unchanged.
func (t *Tracker) Restore(data []byte, now time.Time) error {
	r, err := header.Open(data)
	if err != nil {
		return err
	}
	wm := r.Varint()
	n := r.Count(4)
	parts := make(map[int32]*Partition, n)
	for range n {
		id := r.Varint()
		p := &Partition{cfg: &t.cfg, sec: &t.sec, max: r.Varint(), accepted: r.Varint(), lastSeen: now}
		held := r.Count(12)
		for range held {
			h := Held{TS: r.Varint(), Hash: r.Uint64(), Offset: r.Varint()}
			h.Frame = append([]byte(nil), r.Bytes()...)
			h.at = r.Varint()
			p.held = append(p.held, h)
		}
		if r.Err() != nil {
			break
		}
		if id < math.MinInt32 || id > math.MaxInt32 || parts[int32(id)] != nil {
			r.Fail("%w: partition id %d", ErrSnapshot, id)
			break
		}
		parts[int32(id)] = p
	}
	if err := header.Finish(r); err != nil {
		return err
	}
	t.wm, t.parts = wm, parts
	return nil
}

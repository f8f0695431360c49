package merge

import (
	"encoding/binary"
	"errors"
	"math"

	"github.com/headcount/headcount/internal/binio"
	"github.com/headcount/headcount/internal/bucket"
)

// ErrState is wrapped by every error about a merge state to restore.
var ErrState = errors.New("merge: invalid state")

// The merge's state:
//
//	"hcM" 1
//	uvarint buckets, then per bucket: varint watermark, byte ended (0/1)
//	  and if 1: bytes of a done record (package bucket) with its ends
//	varint floor, uvarint dropped
//	uvarint windows, each: bytes kind, varint start, varint end, uvarint
//	  rev, the published sum, uvarint parts, each: varint bucket and its count
//
// A count is: uvarint users, uvarint frames, byte exact, 8 bytes rse.
var stateHeader = binio.Header{Magic: "hcM", Version: 1, Err: ErrState}

// MarshalBinary returns the state (the results not yet taken are not part
// of it: take them first).
func (m *Merge) MarshalBinary() ([]byte, error) {
	b := stateHeader.Append(nil)
	b = binary.AppendUvarint(b, uint64(len(m.marks)))
	for i, w := range m.marks {
		b = binary.AppendVarint(b, w)
		if m.ends[i] == nil {
			b = append(b, 0)
			continue
		}
		b = append(b, 1)
		b = binio.AppendBytes(b, (&bucket.Done{Ends: m.ends[i]}).AppendBinary(nil))
	}
	b = binary.AppendVarint(b, m.floor)
	b = binary.AppendUvarint(b, m.dropped)
	b = binary.AppendUvarint(b, uint64(len(m.windows)))
	for _, k := range m.sortedKeys() {
		w := m.windows[k]
		b = binio.AppendBytes(b, []byte(k.window))
		b = binary.AppendVarint(b, k.start)
		b = binary.AppendVarint(b, w.end)
		b = binary.AppendUvarint(b, uint64(w.rev))
		b = appendPart(b, w.published)
		b = binary.AppendUvarint(b, uint64(len(w.parts)))
		for bk, p := range w.parts {
			b = binary.AppendVarint(b, int64(bk))
			b = appendPart(b, p)
		}
	}
	return b, nil
}

func appendPart(b []byte, p part) []byte {
	b = binary.AppendUvarint(b, p.users)
	b = binary.AppendUvarint(b, p.frames)
	var e byte
	if p.exact {
		e = 1
	}
	b = append(b, e)
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(p.rse))
}

func readPart(r *binio.Reader) part {
	p := part{users: r.Uvarint(), frames: r.Uvarint(), exact: r.Byte() == 1}
	p.rse = math.Float64frombits(r.Uint64())
	return p
}

// UnmarshalBinary replaces the state with data. The number of buckets must
// be the merge's: the bucket topic cannot be resized under a running group.
func (m *Merge) UnmarshalBinary(data []byte) error {
	r, err := stateHeader.Open(data)
	if err != nil {
		return err
	}
	n := r.Count(2)
	if r.Err() == nil && n != len(m.marks) {
		return errors.Join(ErrState, errors.New("merge: the state is of a different number of buckets (was the bucket topic resized?)"))
	}
	marks, ends := make([]int64, n), make([][]bucket.End, n)
	for i := range n {
		marks[i] = r.Varint()
		if r.Byte() == 1 {
			var d bucket.Done
			if err := d.UnmarshalBinary(r.Bytes()); err != nil {
				r.Fail("ends of bucket %d: %v", i, err)
			}
			ends[i] = d.Ends
		}
	}
	floor, dropped := r.Varint(), r.Uvarint()
	windows := map[key]*win{}
	for range r.Count(5) {
		k := key{window: string(r.Bytes()), start: r.Varint()}
		w := &win{end: r.Varint(), parts: map[int32]part{}}
		w.rev = int(min(r.Uvarint(), math.MaxInt32))
		w.published = readPart(r)
		for range r.Count(12) {
			bk := r.Varint()
			if bk < 0 || bk >= int64(n) {
				r.Fail("bucket %d of %d", bk, n)
			}
			w.parts[int32(bk)] = readPart(r)
		}
		windows[k] = w
	}
	if err := stateHeader.Finish(r); err != nil {
		return err
	}
	m.marks, m.ends, m.floor, m.dropped, m.windows = marks, ends, floor, dropped, windows
	return nil
}

package bucket

import (
	"encoding/binary"
	"errors"
	"math"
	"math/bits"
	"time"

	"github.com/headcount/headcount/internal/binio"
	"github.com/headcount/headcount/internal/result"
)

// ErrFormat is wrapped by every error about a record of these formats.
var ErrFormat = errors.New("bucket: invalid record")

// Of returns the bucket, 0 to n-1, of the user whose uid hashes to h. The
// hash is remixed first: the sketches use its top bits for their registers,
// and a bucket must not select a subset of them.
func Of(h uint64, n int) int32 {
	if n <= 1 {
		return 0
	}
	m := bits.RotateLeft64(h*0x9E3779B97F4A7C15, 32)
	hi, _ := bits.Mul64(m, uint64(n))
	return int32(hi)
}

// NoEnd is Frames.End when the input partition has not ended.
const NoEnd = -1

// NoClock is Frames.Clock when the record tells no clock.
const NoClock = math.MinInt64

// Frames are frames of one input partition whose users are in one bucket,
// in input order: the record a member sends to the bucket's counter. A
// record with no frames and an End says the partition was read to its end
// (--until-end).
type Frames struct {
	Topic     string
	Partition int32
	End       int64 // the partition's end offset, once read to it; else NoEnd
	// Clock is a time the partition's frames have reached (the median ts
	// of the frames the member sent from it at once; NoClock: none). Every
	// bucket is told, so a bucket with few or none of the partition's
	// users does not hold the merge back. A median, unlike a maximum,
	// is not moved by a minority of bogus timestamps.
	Clock  int64
	TS     []int64
	Hash   []uint64
	Offset []int64
}

// Len is the number of frames.
func (f *Frames) Len() int { return len(f.TS) }

// Reset empties f, keeping its memory.
func (f *Frames) Reset() {
	f.TS, f.Hash, f.Offset = f.TS[:0], f.Hash[:0], f.Offset[:0]
	f.End, f.Clock = NoEnd, NoClock
}

// Add appends one frame.
func (f *Frames) Add(ts int64, h uint64, offset int64) {
	f.TS = append(f.TS, ts)
	f.Hash = append(f.Hash, h)
	f.Offset = append(f.Offset, offset)
}

// The frames record:
//
//	"hcB" 1
//	bytes topic, varint partition, varint end (NoEnd: none), varint clock
//	uvarint n, then n times: varint ts - previous ts, 8 bytes hash (little
//	endian), varint offset - previous offset (both previous start at 0)
//
// About 11 bytes a frame, against a frame's hundreds or thousands.
var framesHeader = binio.Header{Magic: "hcB", Version: 1, Err: ErrFormat}

// AppendBinary appends the record to b.
func (f *Frames) AppendBinary(b []byte) []byte {
	b = framesHeader.Append(b)
	b = binio.AppendBytes(b, []byte(f.Topic))
	b = binary.AppendVarint(b, int64(f.Partition))
	b = binary.AppendVarint(b, f.End)
	b = binary.AppendVarint(b, f.Clock)
	b = binary.AppendUvarint(b, uint64(len(f.TS)))
	var ts, off int64
	for i := range f.TS {
		b = binary.AppendVarint(b, f.TS[i]-ts)
		b = binary.LittleEndian.AppendUint64(b, f.Hash[i])
		b = binary.AppendVarint(b, f.Offset[i]-off)
		ts, off = f.TS[i], f.Offset[i]
	}
	return b
}

// UnmarshalBinary decodes a record into f, reusing its memory.
func (f *Frames) UnmarshalBinary(data []byte) error {
	r, err := framesHeader.Open(data)
	if err != nil {
		return err
	}
	f.Reset()
	f.Topic = string(r.Bytes())
	p := r.Varint()
	if p < 0 || p > math.MaxInt32 {
		r.Fail("partition %d", p)
	}
	f.Partition = int32(p)
	f.End = r.Varint()
	f.Clock = r.Varint()
	n := r.Count(10)
	var ts, off int64
	for range n {
		ts += r.Varint()
		h := r.Uint64()
		off += r.Varint()
		f.Add(ts, h, off)
	}
	return framesHeader.Finish(r)
}

// Counts is what a bucket's counter sends the merge at each commit: the
// results its windows produced (finals, corrections, provisional ones) and
// then its watermark, so the merge knows which windows it has closed. Once
// every input partition has ended (--until-end) and everything is
// flushed, Ends lists where each ended.
type Counts struct {
	Bucket    int32
	Watermark int64 // the counter's watermark (watermark.None before any)
	Results   []result.Result
	Ends      []End // non-nil: this bucket has counted its whole input
}

// End is where an input partition ended.
type End struct {
	Topic     string
	Partition int32
	Offset    int64
}

// The counts record:
//
//	"hcC" 1
//	varint bucket, varint watermark
//	uvarint results, each: bytes window, varint start, varint end,
//	  uvarint users, uvarint frames, uvarint rev, byte flags (1 final,
//	  2 exact), 8 bytes rse (float64 bits, little endian)
//	byte ended (0 or 1), then if 1: uvarint ends, each: bytes topic,
//	  varint partition, varint offset
var countsHeader = binio.Header{Magic: "hcC", Version: 1, Err: ErrFormat}

// AppendBinary appends the record to b.
func (c *Counts) AppendBinary(b []byte) []byte {
	b = countsHeader.Append(b)
	b = binary.AppendVarint(b, int64(c.Bucket))
	b = binary.AppendVarint(b, c.Watermark)
	b = binary.AppendUvarint(b, uint64(len(c.Results)))
	for i := range c.Results {
		r := &c.Results[i]
		b = binio.AppendBytes(b, []byte(r.Window))
		b = binary.AppendVarint(b, r.Start.Unix())
		b = binary.AppendVarint(b, r.End.Unix())
		b = binary.AppendUvarint(b, r.Users)
		b = binary.AppendUvarint(b, r.Frames)
		b = binary.AppendUvarint(b, uint64(r.Rev))
		var flags byte
		if r.Final {
			flags |= 1
		}
		if r.Exact {
			flags |= 2
		}
		b = append(b, flags)
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(r.RSE))
	}
	if c.Ends == nil {
		return append(b, 0)
	}
	b = append(b, 1)
	return appendEnds(b, c.Ends)
}

func appendEnds(b []byte, ends []End) []byte {
	b = binary.AppendUvarint(b, uint64(len(ends)))
	for _, e := range ends {
		b = binio.AppendBytes(b, []byte(e.Topic))
		b = binary.AppendVarint(b, int64(e.Partition))
		b = binary.AppendVarint(b, e.Offset)
	}
	return b
}

func readEnds(r *binio.Reader) []End {
	n := r.Count(3)
	ends := make([]End, 0, n)
	for range n {
		t := string(r.Bytes())
		p := r.Varint()
		if p < 0 || p > math.MaxInt32 {
			r.Fail("partition %d", p)
		}
		ends = append(ends, End{Topic: t, Partition: int32(p), Offset: r.Varint()})
	}
	return ends
}

// UnmarshalBinary decodes a record. Times are in UTC: the merge puts them
// in the zone of its calendar.
func (c *Counts) UnmarshalBinary(data []byte) error {
	r, err := countsHeader.Open(data)
	if err != nil {
		return err
	}
	bk := r.Varint()
	if bk < 0 || bk > math.MaxInt32 {
		r.Fail("bucket %d", bk)
	}
	c.Bucket = int32(bk)
	c.Watermark = r.Varint()
	n := r.Count(14)
	c.Results = make([]result.Result, 0, n)
	for range n {
		var res result.Result
		res.Window = string(r.Bytes())
		res.Start = unix(r.Varint())
		res.End = unix(r.Varint())
		res.Users, res.Frames = r.Uvarint(), r.Uvarint()
		rev := r.Uvarint()
		if rev > math.MaxInt32 {
			r.Fail("revision %d", rev)
		}
		res.Rev = int(rev)
		flags := r.Byte()
		res.Final, res.Exact = flags&1 != 0, flags&2 != 0
		res.RSE = math.Float64frombits(r.Uint64())
		c.Results = append(c.Results, res)
	}
	c.Ends = nil
	switch r.Byte() {
	case 0:
	case 1:
		c.Ends = readEnds(r)
	default:
		r.Fail("ended flag")
	}
	return countsHeader.Finish(r)
}

// Done is the merge's record that the group has counted its input up to
// Ends and published every window (--until-end): a member whose input ends
// there has nothing left to do.
type Done struct {
	Ends []End
}

// The done record: "hcD" 1, uvarint ends, each as in the counts record.
var doneHeader = binio.Header{Magic: "hcD", Version: 1, Err: ErrFormat}

// IsDone says whether a record of the merge's topic is a done record.
func IsDone(v []byte) bool { return len(v) >= 3 && string(v[:3]) == doneHeader.Magic }

// AppendBinary appends the record to b.
func (d *Done) AppendBinary(b []byte) []byte {
	return appendEnds(doneHeader.Append(b), d.Ends)
}

// UnmarshalBinary decodes a record.
func (d *Done) UnmarshalBinary(data []byte) error {
	r, err := doneHeader.Open(data)
	if err != nil {
		return err
	}
	d.Ends = readEnds(r)
	return doneHeader.Finish(r)
}

func unix(s int64) time.Time { return time.Unix(s, 0).UTC() }

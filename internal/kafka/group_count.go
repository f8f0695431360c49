// The buckets' counters: the stage of a group that counts together whose
// partitions are the buckets. A bucket's users are in no other bucket, so
// its event-time core counts them exactly as a single process would, with
// the input partitions as its partitions (their clocks, jump guards and
// lateness); at each commit it sends the merge its results and watermark.
// Apart because it is the one stage that counts.

package kafka

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/headcount/headcount/internal/binio"
	"github.com/headcount/headcount/internal/bucket"
	"github.com/headcount/headcount/internal/eventtime"
	"github.com/headcount/headcount/internal/frame"
	"github.com/headcount/headcount/internal/pipeline"
	"github.com/headcount/headcount/internal/watermark"
	"github.com/headcount/headcount/internal/window"
)

// countWork implements stageWork for the bucket topic.
type countWork struct {
	win        window.Config
	wm         watermark.Config
	early      time.Duration
	inputs     *inputIDs
	countTopic string
	dead       pipeline.DeadLetters
	log        *slog.Logger
	rejected   *[frame.NumReasons]atomic.Uint64 // the member's totals
	// watermark, if set, is where the lowest watermark of the buckets
	// held is stored after every emit (the member's metrics).
	watermark *atomic.Int64
	buckets   map[int32]*bucketCounter
	frames    bucket.Frames // decoding buffer
	now       time.Time
	buf       []byte
}

// bucketCounter is one bucket's core and how far its input has ended.
type bucketCounter struct {
	core      *eventtime.Core
	ends      map[int32]int64 // input id -> where it ended (--until-end)
	finished  bool            // every input ended and every window flushed
	lastEarly time.Time
	// What the merge was last sent: a record goes only when there is
	// something new (an idle stage commits nothing).
	sentWM       int64
	sentFinished bool
}

func (w *countWork) load(p int32, state []byte) error {
	c := &bucketCounter{core: eventtime.New(w.win, w.wm), ends: map[int32]int64{}, sentWM: watermark.None}
	c.core.Tick(w.clock())
	if state != nil {
		if err := c.restore(state); err != nil {
			return err
		}
	}
	// Every input partition holds the watermark back from the start, as
	// in a single process: a member that starts late, or a partition
	// whose member died, is waited for (until it is idle).
	for _, id := range w.inputs.all() {
		c.core.Assign(id)
	}
	w.buckets[p] = c
	return nil
}

func (w *countWork) clock() time.Time {
	if w.now.IsZero() {
		return time.Now()
	}
	return w.now
}

func (w *countWork) drop(p int32) { delete(w.buckets, p) }

func (w *countWork) record(p int32, r *kgo.Record) error {
	c := w.buckets[p]
	if err := w.frames.UnmarshalBinary(r.Value); err != nil {
		return fmt.Errorf("bucket %d offset %d: %w", p, r.Offset, err)
	}
	f := &w.frames
	id, ok := w.inputs.id(f.Topic, f.Partition)
	if !ok {
		return fmt.Errorf("bucket %d offset %d: frames of %s, which is not an input of this group", p, r.Offset, describeTP(f.Topic, f.Partition))
	}
	for i := range f.TS {
		c.core.Offer(id, eventtime.Frame{TS: f.TS[i], Hash: f.Hash[i], Offset: f.Offset[i]})
	}
	if f.Len() > 0 {
		if end, ok := c.ends[id]; ok && f.Offset[f.Len()-1] >= end {
			// More input than the last run's end: counting again.
			delete(c.ends, id)
			c.finished = false
		}
	}
	if f.Clock != bucket.NoClock {
		c.core.Heartbeat(id, f.Clock)
	}
	if f.End != bucket.NoEnd {
		c.ends[id] = f.End
	}
	return nil
}

func (w *countWork) tick(now time.Time) (urgent bool) {
	w.now = now
	for p, c := range w.buckets {
		c.core.Tick(now)
		if w.early > 0 && now.Sub(c.lastEarly) >= w.early {
			c.core.Early()
			c.lastEarly = now
		}
		if !c.finished && len(c.ends) > 0 && len(c.ends) >= len(w.inputs.all()) {
			// Every input partition was read to its end: what the
			// guards hold is settled and every window flushed final.
			c.core.Finish()
			c.finished, urgent = true, true
			w.log.Info("kafka: a bucket has counted its whole input", "stage", "count", "bucket", p)
		}
	}
	return urgent
}

// emit sends each bucket's rejects to the dead letters and its results and
// watermark to the merge.
func (w *countWork) emit(ctx context.Context, t *Txn) error {
	low := int64(watermark.None)
	for i, p := range slices.Sorted(maps.Keys(w.buckets)) {
		c := w.buckets[p]
		if wm := c.core.Stats().Watermark; i == 0 || wm < low {
			low = wm
		}
		for _, r := range c.core.Rejects() {
			if w.rejected != nil {
				w.rejected[r.Reason].Add(1)
			}
			if w.dead != nil {
				if err := w.dead.Reject(r.Partition, r.Offset, r.Frame, r.Reason); err != nil {
					return err
				}
			}
		}
		counts := bucket.Counts{Bucket: p, Watermark: c.core.Stats().Watermark, Results: c.core.Results()}
		if c.finished {
			counts.Ends = w.inputs.ends(c.ends)
		}
		if len(counts.Results) > 0 || counts.Watermark != c.sentWM || c.finished != c.sentFinished {
			w.buf = counts.AppendBinary(w.buf[:0])
			t.sess.Produce(ctx, &kgo.Record{Topic: w.countTopic, Value: slices.Clone(w.buf)}, t.promise)
			c.sentWM, c.sentFinished = counts.Watermark, c.finished
		}
		c.core.Clear()
	}
	if w.watermark != nil {
		w.watermark.Store(low)
	}
	if f, ok := w.dead.(interface{ Flush(context.Context) error }); ok && w.dead != nil {
		return f.Flush(ctx)
	}
	return nil
}

// A bucket's state:
//
//	"hcK" 1, byte finished, uvarint ends, each varint input id and varint
//	offset, then bytes eventtime.Core snapshot
var countHeader = binio.Header{Magic: "hcK", Version: 1, Err: ErrState}

func (w *countWork) state(p int32) ([]byte, error) {
	c := w.buckets[p]
	b := countHeader.Append(nil)
	var fin byte
	if c.finished {
		fin = 1
	}
	b = append(b, fin)
	b = binary.AppendUvarint(b, uint64(len(c.ends)))
	for _, id := range slices.Sorted(maps.Keys(c.ends)) {
		b = binary.AppendVarint(b, int64(id))
		b = binary.AppendVarint(b, c.ends[id])
	}
	core, err := c.core.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return binio.AppendBytes(b, core), nil
}

func (c *bucketCounter) restore(data []byte) error {
	r, err := countHeader.Open(data)
	if err != nil {
		return err
	}
	c.finished = r.Byte() == 1
	for range r.Count(2) {
		id := r.Varint()
		c.ends[int32(id)] = r.Varint()
	}
	core := r.Bytes()
	if err := countHeader.Finish(r); err != nil {
		return err
	}
	if err := c.core.UnmarshalBinary(core); err != nil {
		return errors.Join(ErrState, err)
	}
	return nil
}

// inputIDs numbers the input partitions the same way in every member:
// topics in name order, id = topic index << 16 | partition. A bucket's
// state names partitions by these ids.
type inputIDs struct {
	topics []string
	parts  map[string]int // partitions per topic
}

func newInputIDs(parts map[string]int) *inputIDs {
	return &inputIDs{topics: slices.Sorted(maps.Keys(parts)), parts: parts}
}

func (in *inputIDs) id(topic string, p int32) (int32, bool) {
	i, ok := slices.BinarySearch(in.topics, topic)
	if !ok || p < 0 || p >= 1<<16 {
		return 0, false
	}
	return int32(i)<<16 | p, true
}

func (in *inputIDs) origin(id int32) (string, int32, bool) {
	i := int(id >> 16)
	if id < 0 || i >= len(in.topics) {
		return "", 0, false
	}
	return in.topics[i], id & 0xffff, true
}

func (in *inputIDs) all() []int32 {
	var out []int32
	for i, t := range in.topics {
		for p := range in.parts[t] {
			out = append(out, int32(i)<<16|int32(p))
		}
	}
	return out
}

func (in *inputIDs) ends(m map[int32]int64) []bucket.End {
	out := []bucket.End{}
	for _, id := range slices.Sorted(maps.Keys(m)) {
		t, p, _ := in.origin(id)
		out = append(out, bucket.End{Topic: t, Partition: p, Offset: m[id]})
	}
	return out
}

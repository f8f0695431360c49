// The splitter: a member's first step in a group that counts together. It
// takes the place of the event-time core in the member's pipeline
// (pipeline.Counter) and sends each parsed frame, packed (package bucket),
// to the partition of the bucket topic that counts its user, in the
// transaction of the input's offsets. Apart because it is the only piece
// of the pipeline's hot path that produces.

package kafka

import (
	"context"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/headcount/headcount/internal/bucket"
	"github.com/headcount/headcount/internal/eventtime"
	"github.com/headcount/headcount/internal/result"
	"github.com/headcount/headcount/internal/watermark"
)

// splitter implements pipeline.Counter for a member (see Member).
type splitter struct {
	txn     *Txn
	topic   string // the bucket topic
	buckets int
	origin  func(id int32) (string, int32, bool)
	parts   map[int32]*splitPart
	shipped uint64
	// ready waits until the bucket topic exists (once: then nil).
	ready func(context.Context) error
}

// splitPart is what one input partition has for each bucket.
type splitPart struct {
	out []bucket.Frames
	end int64 // where the partition ended (bucket.NoEnd: not yet)
	// sample holds every clockSample-th ts offered since the last Ship:
	// its median is the partition's clock sent to every bucket.
	sample []int64
	n      int
}

// clockSample is how sparsely frames are sampled for the clock.
const clockSample = 8

func newSplitter(txn *Txn, topic string, buckets int, origin func(int32) (string, int32, bool), ready func(context.Context) error) *splitter {
	return &splitter{txn: txn, topic: topic, buckets: buckets, origin: origin, parts: map[int32]*splitPart{}, ready: ready}
}

func (s *splitter) part(p int32) *splitPart {
	sp := s.parts[p]
	if sp == nil {
		topic, partition, _ := s.origin(p)
		sp = &splitPart{out: make([]bucket.Frames, s.buckets), end: bucket.NoEnd}
		for i := range sp.out {
			sp.out[i] = bucket.Frames{Topic: topic, Partition: partition, End: bucket.NoEnd}
		}
		s.parts[p] = sp
	}
	return sp
}

// Offer queues the frame for its user's bucket. The frame's bytes stay
// behind: a counter that rejects it names its input position instead.
func (s *splitter) Offer(p int32, f eventtime.Frame) {
	sp := s.part(p)
	sp.out[bucket.Of(f.Hash, s.buckets)].Add(f.TS, f.Hash, f.Offset)
	if sp.n++; sp.n%clockSample == 1 {
		sp.sample = append(sp.sample, f.TS)
	}
}

// End records that partition p was read to offset end: every bucket is
// told with the next Ship.
func (s *splitter) End(p int32, end int64) { s.part(p).end = end }

// Ship produces one record per input partition and bucket with frames (or
// an end to tell) into the open transaction; Txn.Save waits for them.
func (s *splitter) Ship(ctx context.Context) error {
	if s.ready != nil && len(s.parts) > 0 {
		if err := s.ready(ctx); err != nil {
			return err
		}
		s.ready = nil
	}
	for _, sp := range s.parts {
		clock := int64(bucket.NoClock)
		if len(sp.sample) > 0 {
			slices.Sort(sp.sample)
			clock = sp.sample[len(sp.sample)/2]
			sp.sample, sp.n = sp.sample[:0], 0
		}
		for b := range sp.out {
			fr := &sp.out[b]
			if fr.Len() == 0 && sp.end == bucket.NoEnd && clock == bucket.NoClock {
				continue
			}
			fr.End, fr.Clock = sp.end, clock
			// A record of its own per bucket and batch: franz-go keeps
			// the value until it is delivered.
			r := &kgo.Record{Topic: s.topic, Partition: int32(b), Value: fr.AppendBinary(make([]byte, 0, 32+12*fr.Len()))}
			s.txn.sess.Produce(ctx, r, s.txn.promise)
			s.shipped += uint64(fr.Len())
			fr.Reset()
		}
		sp.end = bucket.NoEnd
	}
	return nil
}

// Revoke drops what a revoked partition had not shipped: its transaction
// aborts, and the next owner reads those frames again.
func (s *splitter) Revoke(p int32) { delete(s.parts, p) }

func (s *splitter) Tick(time.Time)              {}
func (s *splitter) Assign(int32)                {}
func (s *splitter) Early()                      {}
func (s *splitter) Finish()                     {}
func (s *splitter) Results() []result.Result    { return nil }
func (s *splitter) Rejects() []eventtime.Reject { return nil }
func (s *splitter) Clear()                      {}

// Stats counts the frames shipped as counted: the buckets' counters judge
// them.
func (s *splitter) Stats() eventtime.Stats {
	return eventtime.Stats{Counted: s.shipped, Watermark: watermark.None}
}

// A splitter has no state: what it ships commits with the offsets.
func (s *splitter) MarshalBinary() ([]byte, error) { return nil, nil }
func (s *splitter) UnmarshalBinary([]byte) error   { return nil }

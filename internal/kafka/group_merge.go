// The merge: the stage of a group that counts together that adds up the
// buckets' counts (package merge) and publishes the results. Its topic has
// one partition, so one member merges at a time; its state is the merge's.
// Apart because it is the one stage that writes the output.

package kafka

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/headcount/headcount/internal/binio"
	"github.com/headcount/headcount/internal/bucket"
	"github.com/headcount/headcount/internal/merge"
	"github.com/headcount/headcount/internal/pipeline"
	"github.com/headcount/headcount/internal/result"
)

// mergeWork implements stageWork for the counts topic.
type mergeWork struct {
	buckets    int
	loc        *time.Location
	keep       time.Duration
	countTopic string
	sink       pipeline.Sink
	// observe, if set, sees every result published (the member's stats).
	observe func([]result.Result)
	// finished, if set, is given the ends of the done record once its
	// transaction has committed: this member need not read it back.
	finished func([]bucket.End)
	log      *slog.Logger

	m      *merge.Merge // nil while this member does not merge
	done   []bucket.End // the ends last announced done (nil: none)
	counts bucket.Counts
	buf    []byte
}

func (w *mergeWork) load(_ int32, state []byte) error {
	m := merge.New(w.buckets, w.loc, w.keep)
	w.done = nil
	if state != nil {
		r, err := mergeHeader.Open(state)
		if err != nil {
			return err
		}
		if r.Byte() == 1 {
			var d bucket.Done
			if err := d.UnmarshalBinary(r.Bytes()); err != nil {
				return err
			}
			w.done = d.Ends
		}
		ms := r.Bytes()
		if err := mergeHeader.Finish(r); err != nil {
			return err
		}
		if err := m.UnmarshalBinary(ms); err != nil {
			return err
		}
	}
	w.m = m
	return nil
}

func (w *mergeWork) drop(int32) { w.m = nil }

func (w *mergeWork) record(_ int32, r *kgo.Record) error {
	if bucket.IsDone(r.Value) {
		return nil // this stage's own announcement
	}
	if err := w.counts.UnmarshalBinary(r.Value); err != nil {
		return fmt.Errorf("counts at offset %d: %w", r.Offset, err)
	}
	return w.m.Add(&w.counts)
}

// tick asks for a commit as soon as every bucket has ended: the members of
// a backfill wait for the done record.
func (w *mergeWork) tick(time.Time) bool {
	if w.m == nil {
		return false
	}
	ends, ended := w.m.Ended()
	return ended && !slices.Equal(ends, w.done)
}

// emit publishes the merged results and, once every bucket has counted its
// whole input, announces the group done (--until-end members wait for it).
func (w *mergeWork) emit(ctx context.Context, t *Txn) error {
	if w.m == nil {
		return nil
	}
	if rs := w.m.Results(); len(rs) > 0 {
		if err := w.sink.Write(ctx, rs); err != nil {
			return fmt.Errorf("write results: %w", err)
		}
		if w.observe != nil {
			w.observe(rs)
		}
		w.m.Clear()
	}
	ends, ended := w.m.Ended()
	if !ended {
		w.done = nil
		return nil
	}
	if w.done != nil && slices.Equal(ends, w.done) {
		return nil
	}
	w.done = ends
	w.log.Info("kafka: the group has counted its whole input and published every window", "stage", "merge")
	w.buf = (&bucket.Done{Ends: ends}).AppendBinary(w.buf[:0])
	t.sess.Produce(ctx, &kgo.Record{Topic: w.countTopic, Value: slices.Clone(w.buf)}, t.promise)
	return nil
}

// committed passes the committed done record on (finished).
func (w *mergeWork) committed() {
	if w.done != nil && w.finished != nil {
		w.finished(w.done)
	}
}

// The merge's state: "hcN" 1, byte announced (0/1) and if 1 the bytes of
// the done record announced, then the bytes of the merge's state.
var mergeHeader = binio.Header{Magic: "hcN", Version: 1, Err: ErrState}

func (w *mergeWork) state(int32) ([]byte, error) {
	b := mergeHeader.Append(nil)
	if w.done == nil {
		b = append(b, 0)
	} else {
		b = append(b, 1)
		b = binio.AppendBytes(b, (&bucket.Done{Ends: w.done}).AppendBinary(nil))
	}
	ms, err := w.m.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return binio.AppendBytes(b, ms), nil
}

// Consumer lag and readiness: how far each partition this source consumes
// is behind its end, and whether the source is ready (assigned, its state
// restored), for /metrics and /readyz. Apart because it is read from other
// goroutines (scrapes) and costs nothing per record: the ends come with each
// fetch and from a listing every LagInterval, the positions with each batch
// applied and from the group's committed offsets.

package kafka

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/headcount/headcount/internal/source"
)

// DefaultLagInterval is how often a source lists its partitions' end
// offsets (SourceConfig.LagInterval).
const DefaultLagInterval = 5 * time.Second

// lagBook holds, per partition, its end offset and the next offset to
// apply; -1 is unknown.
type lagBook struct {
	mu     sync.Mutex
	parts  map[topicPartition]*lagPart
	listed bool // the ends were listed once
}

type lagPart struct{ end, next int64 }

func (l *lagBook) part(tp topicPartition) *lagPart {
	if l.parts == nil {
		l.parts = map[topicPartition]*lagPart{}
	}
	p := l.parts[tp]
	if p == nil {
		p = &lagPart{end: -1, next: -1}
		l.parts[tp] = p
	}
	return p
}

// ended records an end offset seen (a fetch's or a listing's); ends only
// grow, whichever comes first.
func (l *lagBook) ended(tp topicPartition, end int64) {
	if end < 0 {
		return
	}
	l.mu.Lock()
	p := l.part(tp)
	p.end = max(p.end, end)
	l.mu.Unlock()
}

// applied records the next offset to apply of tp (a batch applied, or the
// group's committed offset).
func (l *lagBook) applied(tp topicPartition, next int64) {
	if next < 0 {
		return
	}
	l.mu.Lock()
	p := l.part(tp)
	p.next = max(p.next, next)
	l.mu.Unlock()
}

// forget drops the position of a partition no longer consumed here: a
// later owner's commits decide it when it comes back.
func (l *lagBook) forget(tp topicPartition) {
	l.mu.Lock()
	if p := l.parts[tp]; p != nil {
		p.next = -1
	}
	l.mu.Unlock()
}

// fetchedEnd records the end offset a fetch reports for a partition: the
// last stable offset for a read_committed consumer (the transactional
// source), else the high watermark.
func (s *Source) fetchedEnd(p *kgo.FetchTopicPartition) {
	end := p.HighWatermark
	if s.txn != nil && p.LastStableOffset >= 0 {
		end = p.LastStableOffset
	}
	s.lag.ended(topicPartition{p.Topic, p.Partition}, end)
}

// appliedBatch records the position after batch b, applied by the
// pipeline: its mark's offset (past the transaction markers too), else
// past its last frame.
func (s *Source) appliedBatch(b *source.Batch, m mark, marked bool) {
	if marked {
		s.lag.applied(m.tp, m.eo.Offset)
		return
	}
	next := int64(-1)
	if n := len(b.Frames); n > 0 {
		next = b.OffsetOf(n-1) + 1
	}
	for _, o := range b.Oversize {
		next = max(next, o.Offset+1)
	}
	if next < 0 {
		return
	}
	if topic, partition, ok := s.Origin(b.Partition); ok {
		s.lag.applied(topicPartition{topic, partition}, next)
	}
}

// lagLoop lists the input's end offsets (and the group's committed ones)
// every interval until ctx is done: the fetches alone stop telling ends
// when the pipeline stops taking batches, which is when lag matters.
func (s *Source) lagLoop(ctx context.Context) {
	defer close(s.lagDone)
	every := s.cfg.LagInterval
	if every <= 0 {
		every = DefaultLagInterval
	}
	adm := kadm.NewClient(s.cl)
	for {
		lctx, cancel := context.WithTimeout(ctx, s.cfg.connectTimeout())
		err := s.listLag(lctx, adm)
		cancel()
		if err != nil && ctx.Err() == nil {
			s.cfg.logger().Debug("kafka: list offsets for the consumer lag", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// listLag lists the end offsets of the input's topics, the group's
// committed offsets, and where a partition without either starts.
func (s *Source) listLag(ctx context.Context, adm *kadm.Client) error {
	list := adm.ListEndOffsets
	if s.txn != nil {
		list = adm.ListCommittedOffsets // read_committed: the last stable offsets
	}
	ends, err := list(ctx, s.cfg.Topics...)
	if err != nil {
		return fmt.Errorf("end offsets: %w", err)
	}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err == nil {
			s.lag.ended(topicPartition{o.Topic, o.Partition}, o.Offset)
		}
	})
	if s.group {
		committed, err := adm.FetchOffsets(ctx, s.cfg.Group)
		if err != nil {
			return fmt.Errorf("committed offsets of group %s: %w", s.cfg.Group, err)
		}
		mine := s.consumed()
		committed.Each(func(o kadm.OffsetResponse) {
			if tp := (topicPartition{o.Topic, o.Partition}); o.Err == nil && mine[tp] {
				s.lag.applied(tp, o.At)
			}
		})
	}
	if err := s.listStarts(ctx, adm); err != nil {
		return err
	}
	s.lag.mu.Lock()
	s.lag.listed = true
	s.lag.mu.Unlock()
	return nil
}

// listStarts gives the partitions consumed here without a position the
// one they start from: their log start (--start earliest) or end.
func (s *Source) listStarts(ctx context.Context, adm *kadm.Client) error {
	var unknown []topicPartition
	mine := s.consumed()
	s.lag.mu.Lock()
	for tp := range mine {
		if p := s.lag.parts[tp]; p == nil || p.next < 0 {
			unknown = append(unknown, tp)
		}
	}
	s.lag.mu.Unlock()
	if len(unknown) == 0 {
		return nil
	}
	if s.cfg.StartLatest {
		s.lag.mu.Lock()
		for _, tp := range unknown {
			s.lag.part(tp).next = s.lag.part(tp).end
		}
		s.lag.mu.Unlock()
		return nil
	}
	starts, err := adm.ListStartOffsets(ctx, s.cfg.Topics...)
	if err != nil {
		return fmt.Errorf("start offsets: %w", err)
	}
	for _, tp := range unknown {
		if o, ok := starts.Lookup(tp.topic, tp.partition); ok && o.Err == nil {
			s.lag.applied(tp, o.Offset)
		}
	}
	return nil
}

// consumed is the set of partitions this source consumes: a group member's
// assignment, else every partition of its topics.
func (s *Source) consumed() map[topicPartition]bool {
	if s.group {
		s.mu.Lock()
		defer s.mu.Unlock()
		return maps.Clone(s.assigned)
	}
	s.lag.mu.Lock()
	defer s.lag.mu.Unlock()
	out := make(map[topicPartition]bool, len(s.lag.parts))
	for tp := range s.lag.parts {
		out[tp] = true
	}
	return out
}

// Lag calls f with the lag, in records, of every partition this source
// consumes whose end and position are known: its end offset (the last
// stable offset, exactly once) minus the next offset to apply (the larger
// of what the pipeline applied and the group committed).
func (s *Source) Lag(f func(topic string, partition int32, lag int64)) {
	mine := s.consumed()
	type row struct {
		tp  topicPartition
		lag int64
	}
	var rows []row
	s.lag.mu.Lock()
	for tp := range mine {
		if p := s.lag.parts[tp]; p != nil && p.end >= 0 && p.next >= 0 {
			rows = append(rows, row{tp, max(0, p.end-p.next)})
		}
	}
	s.lag.mu.Unlock()
	for _, r := range rows {
		f(r.tp.topic, r.tp.partition, r.lag)
	}
}

// NotReady says why the source is not ready to count live input ("" once
// it is): its group has not assigned it partitions yet, an --until-end
// member waits for every partition, the committed state is being read, or
// the partitions' ends were not listed yet. How far behind the source is
// (Lag) is the caller's to judge.
func (s *Source) NotReady() string {
	s.mu.Lock()
	joined, held := s.joined, len(s.assigned)
	missing := 0
	if s.whole != nil {
		missing = len(s.missing())
	}
	s.mu.Unlock()
	s.lag.mu.Lock()
	listed := s.lag.listed
	s.lag.mu.Unlock()
	switch {
	case s.group && !joined:
		return fmt.Sprintf("waiting for group %s to assign partitions", s.cfg.Group)
	case missing > 0:
		return fmt.Sprintf("--until-end: waiting to be assigned every partition of the input (%d missing)", missing)
	case s.txn != nil && held > 0 && !s.restored.Load():
		return fmt.Sprintf("reading the committed state of group %s", s.cfg.Group)
	case !listed:
		return "listing the input's end offsets"
	}
	return ""
}

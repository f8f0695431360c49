// Commit marks: the offset each batch will commit once the pipeline has
// applied it (pipeline.Committer). Apart because it is the at-least-once
// contract of the source: nothing is committed that is not in the windows.

package kafka

import (
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/headcount/headcount/internal/source"
)

// mark is what MarkApplied commits for one batch.
type mark struct {
	tp topicPartition
	eo kgo.EpochOffset
}

// MarkApplied records that b's frames are in the windows: its offsets may
// be committed. Batches must be reported in the order Next returned them
// per partition (the pipeline applies in input order).
func (s *Source) MarkApplied(b *source.Batch) {
	if !s.group {
		s.appliedBatch(b, mark{}, false)
		return
	}
	s.mu.Lock()
	m, ok := s.marks[b]
	delete(s.marks, b)
	s.mu.Unlock()
	s.appliedBatch(b, m, ok)
	if ok && s.whole != nil {
		s.mu.Lock()
		s.whole.pending[m.tp] = m.eo // committed at the end, or never
		s.mu.Unlock()
		return
	}
	if ok {
		// Ignored by franz-go if the partition was revoked meanwhile.
		s.cl.MarkCommitOffsets(map[string]map[int32]kgo.EpochOffset{m.tp.topic: {m.tp.partition: m.eo}})
	}
}

// What a member tells its operators: the pipeline's stats amended with what
// its own steps did (the merge's results, the buckets' watermark and
// rejects), the commits of its steps, its input's lag and whether it is
// ready. Apart because it is read from other goroutines (scrapes) and the
// steps only store numbers for it.

package kafka

import "github.com/headcount/headcount/internal/pipeline"

// Amend adds to s, the stats of this member's pipeline (whose counter is
// the splitter: it counts frames shipped), what the member's other steps
// did: the results and corrections its merge published, the frames its
// buckets rejected, and the lowest watermark of the buckets it counts
// (watermark.None when it counts none).
func (m *Member) Amend(s *pipeline.Stats) {
	s.Results = m.published.Load()
	s.Corrections = m.corrections.Load()
	s.Watermark = m.watermark.Load()
	for r := range s.Rejected {
		s.Rejected[r] += m.rejected[r].Load()
	}
}

// Commits calls f with the commits of the count and merge steps (the
// input step's are the pipeline's Stats.Checkpoint).
func (m *Member) Commits(f func(step string, c pipeline.CheckpointStats)) {
	for _, st := range m.stages {
		f(st.name, st.commits())
	}
}

// Lag calls f with the lag of every input partition this member reads
// (Source.Lag).
func (m *Member) Lag(f func(topic string, partition int32, lag int64)) { m.src.Lag(f) }

// NotReady says why the member is not ready ("" once it is): its input
// (Source.NotReady), or a step that has no partitions assigned yet or is
// restoring their state.
func (m *Member) NotReady() string {
	if why := m.src.NotReady(); why != "" {
		return why
	}
	for _, st := range m.stages {
		if why := st.notReady(); why != "" {
			return why
		}
	}
	return ""
}

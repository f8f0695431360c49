package merge

import (
	"testing"
	"time"

	"github.com/headcount/headcount/internal/bucket"
	"github.com/headcount/headcount/internal/result"
)

// BenchmarkAdd is the merge's work per record of a bucket: at each commit
// every bucket sends one, with the results its windows produced (here the
// six window kinds' provisional or final counts) and its watermark.
func BenchmarkAdd(b *testing.B) {
	const buckets = 6
	m := New(buckets, time.UTC, time.Hour)
	kinds := []string{"minute", "hour", "day", "week", "month", "year"}
	recs := make([]*bucket.Counts, 0, 1000)
	for i := range cap(recs) {
		rs := make([]result.Result, 0, len(kinds))
		for _, k := range kinds {
			s := time.Unix(t0+int64(i/buckets)*60, 0).UTC()
			rs = append(rs, result.Result{Window: k, Start: s, End: s.Add(time.Minute), Users: 7000, Frames: 10000, Final: true, Rev: 1, Exact: true})
		}
		recs = append(recs, &bucket.Counts{Bucket: int32(i % buckets), Watermark: t0 + int64(i/buckets)*60, Results: rs})
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := m.Add(recs[i%len(recs)]); err != nil {
			b.Fatal(err)
		}
		m.Clear()
	}
}

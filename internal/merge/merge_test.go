package merge

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/headcount/headcount/internal/bucket"
	"github.com/headcount/headcount/internal/result"
	"github.com/headcount/headcount/internal/watermark"
)

const t0 = 1468244400 // a minute's start

// minute is bucket's count of the minute starting m minutes after t0.
func minute(m int, users, frames uint64, final bool, rev int) result.Result {
	s := time.Unix(t0+int64(m)*60, 0).UTC()
	return result.Result{Window: "minute", Start: s, End: s.Add(time.Minute), Users: users, Frames: frames, Final: final, Rev: rev, Exact: true}
}

// counts is a bucket's record with its watermark at t0+wm seconds.
func counts(b int32, wm int64, rs ...result.Result) *bucket.Counts {
	return &bucket.Counts{Bucket: b, Watermark: t0 + wm, Results: rs}
}

func show(rs []result.Result) string {
	var out []string
	for _, r := range rs {
		out = append(out, fmt.Sprintf("%s+%d users=%d frames=%d final=%v rev=%d", r.Window, (r.Start.Unix()-t0)/60, r.Users, r.Frames, r.Final, r.Rev))
	}
	return strings.Join(out, "; ")
}

func TestMerge(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []*bucket.Counts
		want []string // results after each record, "" for none
	}{{
		name: "published once every bucket is past the end, as the sum",
		in:   []*bucket.Counts{counts(0, 61, minute(0, 3, 5, true, 1)), counts(1, 59), counts(1, 70, minute(0, 4, 4, true, 1))},
		want: []string{"", "", "minute+0 users=7 frames=9 final=true rev=1"},
	}, {
		name: "a bucket without users in the window holds it only until its watermark passes",
		in:   []*bucket.Counts{counts(0, 61, minute(0, 3, 5, true, 1)), counts(1, 61)},
		want: []string{"", "minute+0 users=3 frames=5 final=true rev=1"},
	}, {
		name: "a correction of a bucket is republished as rev+1; one that changes nothing is not",
		in: []*bucket.Counts{counts(0, 61, minute(0, 3, 5, true, 1)), counts(1, 61, minute(0, 1, 1, true, 1)),
			counts(1, 62, minute(0, 2, 2, true, 2)), counts(0, 63, minute(0, 3, 5, true, 1))},
		want: []string{"", "minute+0 users=4 frames=6 final=true rev=1", "minute+0 users=5 frames=7 final=true rev=2", ""},
	}, {
		name: "provisional counts are summed as they come, until the window is final",
		in:   []*bucket.Counts{counts(0, 10, minute(0, 2, 2, false, 0)), counts(1, 20, minute(0, 5, 6, false, 0)), counts(0, 61, minute(0, 3, 3, true, 1)), counts(1, 61, minute(0, 6, 7, true, 1))},
		want: []string{"minute+0 users=2 frames=2 final=false rev=0", "minute+0 users=7 frames=8 final=false rev=0", "", "minute+0 users=9 frames=10 final=true rev=1"},
	}, {
		name: "windows come out in order of their end",
		in:   []*bucket.Counts{counts(0, 200, minute(2, 1, 1, true, 1), minute(0, 1, 1, true, 1), minute(1, 1, 1, true, 1)), counts(1, 200)},
		want: []string{"", "minute+0 users=1 frames=1 final=true rev=1; minute+1 users=1 frames=1 final=true rev=1; minute+2 users=1 frames=1 final=true rev=1"},
	}, {
		name: "an ended bucket holds nothing back",
		in:   []*bucket.Counts{{Bucket: 0, Watermark: t0 + 30, Results: []result.Result{minute(0, 1, 1, true, 1)}, Ends: []bucket.End{}}, counts(1, 61, minute(0, 2, 2, true, 1))},
		want: []string{"", "minute+0 users=3 frames=3 final=true rev=1"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			m := New(2, time.UTC, time.Hour)
			for i, c := range tc.in {
				if err := m.Add(c); err != nil {
					t.Fatal(err)
				}
				if got := show(m.Results()); got != tc.want[i] {
					t.Errorf("after record %d: got %q, want %q", i, got, tc.want[i])
				}
				m.Clear()
			}
		})
	}
}

func TestStaleCountsAreDropped(t *testing.T) {
	m := New(1, time.UTC, time.Minute)
	for _, c := range []*bucket.Counts{counts(0, 61, minute(0, 3, 3, true, 1)), counts(0, 600)} {
		if err := m.Add(c); err != nil {
			t.Fatal(err)
		}
	}
	m.Clear()
	if m.Open() != 0 {
		t.Fatalf("%d windows held past their keep", m.Open())
	}
	// The bucket sends minute 0 again (re-sent after a restore): it must
	// not come out as a new window with a partial count.
	if err := m.Add(counts(0, 601, minute(0, 1, 1, true, 2))); err != nil {
		t.Fatal(err)
	}
	if len(m.Results()) != 0 || m.Dropped() != 1 {
		t.Fatalf("stale count: results %q, dropped %d", show(m.Results()), m.Dropped())
	}
}

func TestSumOfSketches(t *testing.T) {
	m := New(2, time.UTC, 0)
	a, b := minute(0, 1000, 1000, true, 1), minute(0, 3000, 3000, true, 1)
	a.Exact, a.RSE, b.Exact, b.RSE = false, 0.02, false, 0.02
	for _, c := range []*bucket.Counts{counts(0, 61, a), counts(1, 61, b)} {
		if err := m.Add(c); err != nil {
			t.Fatal(err)
		}
	}
	r := m.Results()[0]
	want := math.Sqrt(20*20+60*60) / 4000
	if r.Users != 4000 || r.Exact || math.Abs(r.RSE-want) > 1e-12 {
		t.Fatalf("sum of sketches: %+v, want 4000 users, rse %g", r, want)
	}
}

func TestBucketOutOfRange(t *testing.T) {
	if err := New(2, time.UTC, 0).Add(counts(2, 0)); err == nil {
		t.Fatal("a third bucket's counts were accepted by a merge of two")
	}
}

func TestEnded(t *testing.T) {
	m := New(2, time.UTC, 0)
	e := func(p int32, o int64) bucket.End { return bucket.End{Topic: "in", Partition: p, Offset: o} }
	_ = m.Add(&bucket.Counts{Bucket: 0, Watermark: watermark.None, Ends: []bucket.End{e(0, 10), e(1, 7)}})
	if _, ok := m.Ended(); ok {
		t.Fatal("ended with one bucket of two")
	}
	_ = m.Add(&bucket.Counts{Bucket: 1, Watermark: watermark.None, Ends: []bucket.End{e(1, 5), e(0, 10)}})
	ends, ok := m.Ended()
	if !ok || fmt.Sprint(ends) != fmt.Sprint([]bucket.End{e(0, 10), e(1, 5)}) {
		t.Fatalf("Ended = %v, %v", ends, ok)
	}
}

func TestSnapshotResumesTheSame(t *testing.T) {
	in := []*bucket.Counts{
		counts(0, 61, minute(0, 3, 5, true, 1), minute(1, 1, 1, false, 0)),
		{Bucket: 1, Watermark: t0 + 30, Results: []result.Result{minute(0, 2, 2, false, 0)}, Ends: []bucket.End{{Topic: "x", Partition: 1, Offset: 9}}},
		counts(1, 61, minute(0, 4, 4, true, 1)),
		counts(0, 130, minute(0, 4, 6, true, 2), minute(1, 2, 2, true, 1)),
		counts(1, 130),
	}
	for cut := range in {
		whole, resumed := New(2, time.UTC, time.Hour), New(2, time.UTC, time.Hour)
		var want, got []string
		for i, c := range in {
			if err := whole.Add(c); err != nil {
				t.Fatal(err)
			}
			want = append(want, show(whole.Results()))
			whole.Clear()
			if i < cut {
				if err := resumed.Add(c); err != nil {
					t.Fatal(err)
				}
				got = append(got, show(resumed.Results()))
				resumed.Clear()
				continue
			}
			if i == cut {
				state, _ := resumed.MarshalBinary()
				resumed = New(2, time.UTC, time.Hour)
				if err := resumed.UnmarshalBinary(state); err != nil {
					t.Fatalf("cut %d: %v", cut, err)
				}
			}
			if err := resumed.Add(c); err != nil {
				t.Fatal(err)
			}
			got = append(got, show(resumed.Results()))
			resumed.Clear()
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("resumed before record %d:\n got %q\nwant %q", cut, got, want)
		}
	}
}

func FuzzState(f *testing.F) {
	m := New(2, time.UTC, time.Hour)
	_ = m.Add(counts(0, 61, minute(0, 3, 5, true, 1)))
	s, _ := m.MarshalBinary()
	f.Add(s)
	f.Fuzz(func(t *testing.T, b []byte) {
		m := New(2, time.UTC, time.Hour)
		if m.UnmarshalBinary(b) == nil {
			if _, err := m.MarshalBinary(); err != nil {
				t.Fatal(err)
			}
			_ = m.Add(counts(1, 1e6))
		}
	})
}

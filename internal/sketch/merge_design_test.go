package sketch

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// TestMergeDesigns measures the two ways several members can count one
// window exactly (issue 10), on traffic of the reference shape: 1,000
// frames/s for 17 minutes from 100,000 users, on 4 partitions filled round
// robin (a keyless producer, so a user's frames land on every partition).
//
//   - partials: each input partition counts its own exact set per window; a
//     merge unions the partitions' sets. Memory and bytes shipped grow with
//     the number of partitions a user appears in.
//   - buckets: members re-key each parsed frame (ts, uid hash: 16 bytes) by
//     hash bucket; each bucket's owner counts a disjoint share of the users,
//     and the merge adds the counts. Nothing is held twice; every frame is
//     shipped once more, small.
//
// It checks that both give the exact count and logs the table written in
// docs/ARCHITECTURE.md ("Several members: two designs measured").
func TestMergeDesigns(t *testing.T) {
	const (
		parts   = 4
		buckets = 4
		users   = 100000
		seconds = 17 * 60
		rate    = 1000
	)
	r := rand.New(rand.NewPCG(1, 2))
	type window struct {
		partials [parts]*Counter
		buckets  [buckets]*Counter
		truth    map[uint64]bool
		frames   int
	}
	newWindow := func() *window {
		w := &window{truth: map[uint64]bool{}}
		for i := range w.partials {
			w.partials[i] = New(Config{Mode: Exact})
		}
		for i := range w.buckets {
			w.buckets[i] = New(Config{Mode: Exact})
		}
		return w
	}
	minutes := map[int]*window{}
	month := newWindow()
	i := 0
	for sec := range seconds {
		for range rate {
			h := (uint64(r.IntN(users)) + 1) * 0x9e3779b97f4a7c15
			p := i % parts // round robin
			i++
			m := minutes[sec/60]
			if m == nil {
				m = newWindow()
				minutes[sec/60] = m
			}
			for _, w := range []*window{m, month} {
				w.partials[p].Add(h)
				w.buckets[h%buckets].Add(h)
				w.truth[h] = true
				w.frames++
			}
		}
	}
	type measure struct {
		unique, partialEntries, partialBytes, bucketBytes int
		unionTime                                         time.Duration
	}
	measureWindow := func(w *window) measure {
		var m measure
		m.unique = len(w.truth)
		for _, c := range w.partials {
			m.partialEntries += int(c.Count())
			b, err := c.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			m.partialBytes += len(b)
		}
		begin := time.Now()
		u := New(Config{Mode: Exact})
		for _, c := range w.partials {
			if err := u.Merge(c); err != nil {
				t.Fatal(err)
			}
		}
		m.unionTime = time.Since(begin)
		var sum uint64
		for _, c := range w.buckets {
			sum += c.Count()
		}
		if u.Count() != uint64(m.unique) || sum != uint64(m.unique) {
			t.Fatalf("union %d, bucket sum %d, want %d", u.Count(), sum, m.unique)
		}
		m.bucketBytes = 16 * w.frames // (ts, uid hash) per frame, re-keyed once
		return m
	}
	var mins measure
	for _, w := range minutes {
		m := measureWindow(w)
		mins.unique += m.unique
		mins.partialEntries += m.partialEntries
		mins.partialBytes += m.partialBytes
		mins.bucketBytes += m.bucketBytes
		mins.unionTime += m.unionTime
	}
	n := len(minutes)
	mo := measureWindow(month)
	t.Logf("%d partitions, %d buckets, %d users, %d frames", parts, buckets, users, seconds*rate)
	t.Logf("| window | unique users | partials: hashes held (x unique) | partials: bytes shipped per publish | partials: union time | buckets: bytes shipped (re-key, once) | buckets: merge |")
	t.Logf("| minute (mean of %d) | %d | %d (%.2fx) | %s | %s | %s | a sum of %d counts |", n, mins.unique/n,
		mins.partialEntries/n, float64(mins.partialEntries)/float64(mins.unique), size(mins.partialBytes/n), mins.unionTime/time.Duration(n), size(mins.bucketBytes/n), buckets)
	t.Logf("| month (17 min of it) | %d | %d (%.2fx) | %s | %s | %s | a sum of %d counts |", mo.unique,
		mo.partialEntries, float64(mo.partialEntries)/float64(mo.unique), size(mo.partialBytes), mo.unionTime, size(mo.bucketBytes), buckets)
}

func size(b int) string {
	switch {
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.0f KiB", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%d B", b)
}

package merge

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/headcount/headcount/internal/bucket"
	"github.com/headcount/headcount/internal/result"
	"github.com/headcount/headcount/internal/watermark"
)

// Merge is the state of the merge: each bucket's watermark and, per window
// not yet past its keep, each bucket's latest count. Used by one goroutine.
type Merge struct {
	loc     *time.Location
	keep    int64 // seconds a published window takes corrections
	marks   []int64
	ends    [][]bucket.End // per bucket; non-nil once it ended
	windows map[key]*win
	// floor is the watermark below which windows are gone: a count for
	// one is stale (a bucket re-sent after its window was evicted) and
	// dropped, never published as a new window.
	floor   int64
	out     []result.Result
	dropped uint64
}

type key struct {
	window string
	start  int64
}

type win struct {
	end       int64
	parts     map[int32]part
	rev       int  // revisions published final; 0: none yet
	changed   bool // a bucket's count changed since the last result
	early     bool // a bucket sent a provisional count since then
	published part // the sum last published
}

// part is one bucket's count of a window (or a sum of them).
type part struct {
	users, frames uint64
	exact         bool
	rse           float64
}

// New returns the merge of n buckets, publishing windows in the zone loc
// and keeping each published window for keep after its end (the buckets'
// --keep) to take corrections.
func New(n int, loc *time.Location, keep time.Duration) *Merge {
	m := &Merge{loc: loc, keep: int64(keep / time.Second), marks: make([]int64, n), ends: make([][]bucket.End, n), windows: map[key]*win{}, floor: watermark.None}
	for i := range m.marks {
		m.marks[i] = watermark.None
	}
	return m
}

// Buckets is the number of buckets merged.
func (m *Merge) Buckets() int { return len(m.marks) }

// Add applies one record of a bucket: its results, then its watermark.
// Results come out of Results once the windows they complete are settled.
func (m *Merge) Add(c *bucket.Counts) error {
	if c.Bucket < 0 || int(c.Bucket) >= len(m.marks) {
		return fmt.Errorf("merge: counts of bucket %d, but there are %d buckets (was the bucket topic resized?)", c.Bucket, len(m.marks))
	}
	for i := range c.Results {
		m.apply(c.Bucket, &c.Results[i])
	}
	m.marks[c.Bucket] = max(m.marks[c.Bucket], c.Watermark)
	if c.Ends != nil {
		m.ends[c.Bucket] = slices.Clone(c.Ends)
	} else if len(c.Results) > 0 {
		// Counting again after an end (a later run on more input).
		m.ends[c.Bucket] = nil
	}
	m.settle()
	return nil
}

func (m *Merge) apply(b int32, r *result.Result) {
	k := key{r.Window, r.Start.Unix()}
	w := m.windows[k]
	if w == nil {
		if r.End.Unix()+m.keep <= m.floor {
			m.dropped++
			return
		}
		w = &win{end: r.End.Unix(), parts: map[int32]part{}}
		m.windows[k] = w
	}
	p := part{users: r.Users, frames: r.Frames, exact: r.Exact, rse: r.RSE}
	if old, ok := w.parts[b]; ok && old == p {
		return
	}
	w.parts[b] = p
	if r.Final {
		w.changed = true
	} else {
		w.early = true
	}
}

// low is the watermark every bucket has passed; an ended bucket has
// passed everything.
func (m *Merge) low() int64 {
	low := int64(math.MaxInt64)
	for i, w := range m.marks {
		if m.ends[i] == nil {
			low = min(low, w)
		}
	}
	return low
}

// settle publishes what the buckets' watermarks allow, in a fixed order:
// windows by end, then start, then kind.
func (m *Merge) settle() {
	low := m.low()
	for _, k := range m.sortedKeys() {
		w := m.windows[k]
		switch {
		case w.rev == 0 && w.end <= low:
			w.rev = 1
			m.publish(k, w, true)
		case w.rev > 0 && w.changed:
			if s := w.sum(); s.users != w.published.users || s.frames != w.published.frames {
				w.rev++
				m.publish(k, w, true)
			}
		case w.rev == 0 && w.early:
			m.publish(k, w, false)
		}
		w.changed, w.early = false, false
		if low != math.MaxInt64 && w.rev > 0 && w.end+m.keep <= low {
			delete(m.windows, k)
		}
	}
	if low != math.MaxInt64 {
		m.floor = max(m.floor, low)
	}
}

func (m *Merge) sortedKeys() []key {
	ks := slices.Collect(maps.Keys(m.windows))
	slices.SortFunc(ks, func(a, b key) int {
		return cmp.Or(cmp.Compare(m.windows[a].end, m.windows[b].end), cmp.Compare(a.start, b.start), cmp.Compare(a.window, b.window))
	})
	return ks
}

func (m *Merge) publish(k key, w *win, final bool) {
	s := w.sum()
	rev := 0
	if final {
		rev = w.rev
		w.published = s
	}
	m.out = append(m.out, result.Result{
		Window: k.window, Start: time.Unix(k.start, 0).In(m.loc), End: time.Unix(w.end, 0).In(m.loc),
		Users: s.users, Frames: s.frames, Final: final, Rev: rev, Exact: s.exact, RSE: s.rse,
	})
}

// sum adds the buckets' counts. The buckets' errors are independent, so
// their variances add: the sum's relative error is at most the largest.
func (w *win) sum() part {
	s := part{exact: true}
	var variance float64
	for _, p := range w.parts {
		s.users += p.users
		s.frames += p.frames
		s.exact = s.exact && p.exact
		if !p.exact {
			e := p.rse * float64(p.users)
			variance += e * e
		}
	}
	if !s.exact && s.users > 0 {
		s.rse = math.Sqrt(variance) / float64(s.users)
	}
	return s
}

// Results are the results published since the last Clear, in order.
func (m *Merge) Results() []result.Result { return m.out }

// Clear forgets the results taken by the caller.
func (m *Merge) Clear() { m.out = m.out[:0] }

// Dropped is the number of counts dropped for windows already gone.
func (m *Merge) Dropped() uint64 { return m.dropped }

// Open is the number of windows held.
func (m *Merge) Open() int { return len(m.windows) }

// Watermark is the watermark every bucket has passed (watermark.None
// before each has one; math.MaxInt64 once all ended).
func (m *Merge) Watermark() int64 { return m.low() }

// Ended reports whether every bucket has counted its whole input, and
// where each input partition ended: the smallest end any bucket saw.
func (m *Merge) Ended() ([]bucket.End, bool) {
	type tp struct {
		topic string
		p     int32
	}
	ends := map[tp]int64{}
	for _, es := range m.ends {
		if es == nil {
			return nil, false
		}
		for _, e := range es {
			k := tp{e.Topic, e.Partition}
			if o, ok := ends[k]; !ok || e.Offset < o {
				ends[k] = e.Offset
			}
		}
	}
	out := make([]bucket.End, 0, len(ends))
	for k, o := range ends {
		out = append(out, bucket.End{Topic: k.topic, Partition: k.p, Offset: o})
	}
	slices.SortFunc(out, func(a, b bucket.End) int {
		return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
	})
	return out, true
}

package window

import (
	"math"
	"slices"
	"time"

	"github.com/headcount/headcount/internal/result"
	"github.com/headcount/headcount/internal/sketch"
)

// Config says which windows to count and how.
type Config struct {
	Kinds   []Kind         // window kinds; default minute
	Loc     *time.Location // calendar zone; default UTC
	Counter sketch.Config  // exact, hll or auto
}

// state is one open window.
type state struct {
	start, end int64
	counter    *sketch.Counter
	frames     uint64
	rev        int
	dirty      bool // changed since the last provisional result
}

// lane holds the open windows of one kind.
type lane struct {
	kind Kind
	cur  *state           // window of the previous frame: most frames hit it
	open map[int64]*state // by start
}

// Engine counts frames into windows. It is used by one goroutine.
type Engine struct {
	loc      *time.Location
	counter  sketch.Config
	lanes    []lane
	closedTo int64 // the watermark of the last Close: windows ending at or before it are closed
	next     int64 // the earliest end of an open window
	free     []*state
}

// NewEngine returns an engine with no open windows.
func NewEngine(cfg Config) *Engine {
	kinds := cfg.Kinds
	if len(kinds) == 0 {
		kinds = []Kind{Minute}
	}
	loc := cfg.Loc
	if loc == nil {
		loc = time.UTC
	}
	e := &Engine{loc: loc, counter: cfg.Counter, closedTo: math.MinInt64, next: math.MaxInt64}
	for _, k := range kinds {
		e.lanes = append(e.lanes, lane{kind: k, open: map[int64]*state{}})
	}
	return e
}

// Add counts hash h of a frame with timestamp ts in every window kind. It
// reports late when the frame's window of some kind has already closed;
// that window does not count it, the others do.
func (e *Engine) Add(ts int64, h uint64) (late bool) {
	for i := range e.lanes {
		l := &e.lanes[i]
		s := l.cur
		if s == nil || ts < s.start || ts >= s.end {
			if s = e.find(l, ts); s == nil {
				late = true
				continue
			}
			l.cur = s
		}
		s.counter.Add(h)
		s.frames++
		s.dirty = true
	}
	return late
}

// find returns the open window of l containing ts, opening it if needed, or
// nil if that window has closed.
func (e *Engine) find(l *lane, ts int64) *state {
	start, end := Bounds(l.kind, e.loc, ts)
	if end <= e.closedTo {
		return nil
	}
	if s := l.open[start]; s != nil {
		return s
	}
	var s *state
	if n := len(e.free); n > 0 {
		s = e.free[n-1]
		e.free = e.free[:n-1]
		s.counter.Reset()
		s.frames, s.rev, s.dirty = 0, 0, false
	} else {
		s = &state{counter: sketch.New(e.counter)}
	}
	s.start, s.end = start, end
	l.open[start] = s
	e.next = min(e.next, end)
	return s
}

// NextClose is the earliest end of an open window: a watermark at or past
// it closes something.
func (e *Engine) NextClose() int64 { return e.next }

// Close closes every window whose end is at or before watermark wm and
// appends their final results to dst, ordered by end, then kind.
func (e *Engine) Close(wm int64, dst []result.Result) []result.Result {
	if wm <= e.closedTo {
		return dst
	}
	e.closedTo = wm
	if wm < e.next {
		return dst
	}
	return e.closeIf(func(s *state) bool { return s.end <= wm }, dst)
}

// Flush closes every open window (end of input).
func (e *Engine) Flush(dst []result.Result) []result.Result {
	return e.closeIf(func(*state) bool { return true }, dst)
}

func (e *Engine) closeIf(done func(*state) bool, dst []result.Result) []result.Result {
	first := len(dst)
	e.next = math.MaxInt64
	for i := range e.lanes {
		l := &e.lanes[i]
		for start, s := range l.open {
			if !done(s) {
				e.next = min(e.next, s.end)
				continue
			}
			s.rev++
			dst = append(dst, e.result(l.kind, s, true))
			delete(l.open, start)
			if l.cur == s {
				l.cur = nil
			}
			e.free = append(e.free, s)
		}
	}
	slices.SortFunc(dst[first:], func(a, b result.Result) int {
		if c := a.End.Compare(b.End); c != 0 {
			return c
		}
		return a.Start.Compare(b.Start)
	})
	return dst
}

// Early appends a provisional result (final:false) for every open window
// that counted a frame since its last provisional result.
func (e *Engine) Early(dst []result.Result) []result.Result {
	first := len(dst)
	for i := range e.lanes {
		l := &e.lanes[i]
		for _, s := range l.open {
			if s.dirty {
				s.dirty = false
				dst = append(dst, e.result(l.kind, s, false))
			}
		}
	}
	slices.SortFunc(dst[first:], func(a, b result.Result) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return a.End.Compare(b.End)
	})
	return dst
}

// Open returns the number of open windows.
func (e *Engine) Open() int {
	n := 0
	for i := range e.lanes {
		n += len(e.lanes[i].open)
	}
	return n
}

func (e *Engine) result(k Kind, s *state, final bool) result.Result {
	return result.Result{
		Window: k.String(),
		Start:  time.Unix(s.start, 0).In(e.loc),
		End:    time.Unix(s.end, 0).In(e.loc),
		Users:  s.counter.Count(),
		Frames: s.frames,
		Final:  final,
		Rev:    s.rev,
		Exact:  s.counter.Exact(),
		RSE:    s.counter.RSE(),
	}
}

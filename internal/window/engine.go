package window

import (
	"errors"
	"fmt"
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
	// Keep is how long (event time) a closed window is kept after its
	// end for late frames; each late frame within it is counted and the
	// window republished with rev+1. 0 keeps nothing.
	Keep time.Duration
	// CorrectEvery coalesces corrections: the late frames counted in
	// closed windows are published (rev+1) when the watermark crosses a
	// multiple of it, at most one revision per window per interval, and
	// in any case before a window is forgotten (Keep) or at the end. 0
	// publishes at every move of the watermark.
	CorrectEvery time.Duration
}

// DefaultCorrectEvery is the run command's --correct-every.
const DefaultCorrectEvery = 10 * time.Second

// DefaultKeep is the run command's --keep.
const DefaultKeep = time.Hour

// DefaultConfig is the run command's configuration: minutes in UTC, exact
// counts, closed windows kept an hour for corrections.
func DefaultConfig() Config {
	return Config{
		Kinds:   []Kind{Minute},
		Loc:     time.UTC,
		Counter: sketch.Config{Mode: sketch.Exact, Precision: sketch.DefaultPrecision, Budget: sketch.DefaultBudget},
		Keep:    DefaultKeep,

		CorrectEvery: DefaultCorrectEvery,
	}
}

// Validate reports every setting out of range, naming the flag that sets it.
func (c Config) Validate() error {
	var errs []error
	if c.Keep < 0 {
		errs = append(errs, fmt.Errorf("--keep must not be negative (got %s)", c.Keep))
	}
	if c.CorrectEvery < 0 || c.CorrectEvery%time.Second != 0 {
		errs = append(errs, fmt.Errorf("--correct-every must be whole seconds, 0 or more (got %s)", c.CorrectEvery))
	}
	for _, k := range c.Kinds {
		if int(k) >= len(kindNames) {
			errs = append(errs, fmt.Errorf("--windows: unknown window kind %d", uint8(k)))
		}
	}
	if err := c.Counter.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// ParseZone loads the IANA zone of the window calendar (--tz). Unlike
// time.LoadLocation it refuses an empty name, which would silently mean UTC.
func ParseZone(name string) (*time.Location, error) {
	if name == "" {
		return nil, errors.New("--tz must name a time zone (such as UTC or Europe/Zurich), not be empty")
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("--tz: %w", err)
	}
	return loc, nil
}

// state is one open window.
type state struct {
	start, end int64
	counter    *sketch.Counter
	frames     uint64
	rev        int
	dirty      bool // changed since the last result (provisional or correction)
	closed     bool // final result published; kept for corrections
}

// lane holds the open windows of one kind.
type lane struct {
	kind Kind
	cur  *state           // window of the previous frame: most frames hit it
	open map[int64]*state // by start
	kept map[int64]*state // closed windows within Keep, by start
}

// Engine counts frames into windows. It is used by one goroutine.
type Engine struct {
	loc      *time.Location
	counter  sketch.Config
	lanes    []lane
	closedTo int64 // the watermark of the last Close: windows ending at or before it are closed
	next     int64 // the earliest end of an open window
	keep     int64
	free     []*state
	// keptEnd is the earliest end of a kept window, and corrected says a
	// kept window counted a late frame: both spare Close and Corrections
	// a walk over the kept windows at every move of the watermark (sparse
	// history moves it at nearly every frame).
	keptEnd   int64
	corrected bool
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
	e := &Engine{loc: loc, counter: cfg.Counter, closedTo: math.MinInt64, next: math.MaxInt64, keptEnd: math.MaxInt64, keep: int64(cfg.Keep / time.Second)}
	for _, k := range kinds {
		e.lanes = append(e.lanes, lane{kind: k, open: map[int64]*state{}, kept: map[int64]*state{}})
	}
	return e
}

// NoFloor is Add's floor when the frame's partition has no watermark yet.
const NoFloor = math.MinInt64

// Add counts hash h of a frame with timestamp ts in every window kind. A
// frame for a closed window within Keep is counted there as a correction.
// floor is the watermark of the frame's own input partition (None if
// unknown): a window that ended more than Keep before it is too late for
// the frame even if the engine has not closed it yet, because another
// partition lags. Add returns how many window kinds counted the frame and
// how many were too late for it.
func (e *Engine) Add(ts int64, h uint64, floor int64) (counted, late int) {
	// Windows ending at or before limit are too late for this frame.
	limit := max(e.closedTo, floor)
	if limit != math.MinInt64 {
		limit = subSat(limit, max(e.keep, 0))
	}
	for i := range e.lanes {
		l := &e.lanes[i]
		s := l.cur
		if s == nil || ts < s.start || ts >= s.end || s.end <= limit {
			if s = e.find(l, ts, limit); s == nil {
				late++
				continue
			}
			l.cur = s
		}
		s.counter.Add(h)
		s.frames++
		s.dirty = true
		if s.closed {
			e.corrected = true
		}
		counted++
	}
	return counted, late
}

// find returns the window of l containing ts, opening it if needed, or nil
// if that window ended at or before limit (too late).
func (e *Engine) find(l *lane, ts, limit int64) *state {
	start, end := Bounds(l.kind, e.loc, ts)
	if end <= limit {
		return nil
	}
	if end <= e.closedTo {
		s := l.kept[start]
		if s == nil {
			// A window that closed empty gets its first result now.
			s = e.alloc(start, end)
			s.closed = true
			l.kept[start] = s
			e.keptEnd = min(e.keptEnd, end)
		}
		return s
	}
	if s := l.open[start]; s != nil {
		return s
	}
	s := e.alloc(start, end)
	l.open[start] = s
	e.next = min(e.next, end)
	return s
}

// subSat is a-b (b >= 0) clamped at the smallest int64.
func subSat(a, b int64) int64 {
	if a < math.MinInt64+b {
		return math.MinInt64
	}
	return a - b
}

func (e *Engine) alloc(start, end int64) *state {
	var s *state
	if n := len(e.free); n > 0 {
		s = e.free[n-1]
		e.free = e.free[:n-1]
		s.counter.Reset()
		s.frames, s.rev, s.dirty, s.closed = 0, 0, false, false
	} else {
		s = &state{counter: sketch.New(e.counter)}
	}
	s.start, s.end = start, end
	return s
}

// Close closes every window whose end is at or before watermark wm and
// appends their final results to dst, ordered by end (shorter windows first).
func (e *Engine) Close(wm int64, dst []result.Result) []result.Result {
	if wm <= e.closedTo {
		return dst
	}
	e.closedTo = wm
	if e.keep > 0 && e.keptEnd <= wm-e.keep {
		dst = e.evict(wm, dst)
	}
	if wm < e.next {
		return dst
	}
	return e.closeIf(func(s *state) bool { return s.end <= wm }, dst)
}

// evict frees kept windows that are past Keep at watermark wm, after
// appending the correction of any that counted late frames since its last
// revision (coalesced corrections not yet published).
func (e *Engine) evict(wm int64, dst []result.Result) []result.Result {
	e.keptEnd = math.MaxInt64
	first := len(dst)
	for i := range e.lanes {
		l := &e.lanes[i]
		for start, s := range l.kept {
			if s.end > wm-e.keep {
				e.keptEnd = min(e.keptEnd, s.end)
				continue
			}
			if s.dirty {
				s.dirty = false
				s.rev++
				dst = append(dst, e.result(l.kind, s, true))
			}
			delete(l.kept, start)
			if l.cur == s {
				l.cur = nil
			}
			e.free = append(e.free, s)
		}
	}
	sortByEnd(dst[first:])
	return dst
}

// Flush closes every open window (end of input).
func (e *Engine) Flush(dst []result.Result) []result.Result {
	dst = e.Corrections(dst)
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
			s.dirty = false
			s.closed = true
			dst = append(dst, e.result(l.kind, s, true))
			delete(l.open, start)
			if e.keep > 0 && s.end > e.closedTo-e.keep {
				l.kept[start] = s
				e.keptEnd = min(e.keptEnd, s.end)
				continue
			}
			if l.cur == s {
				l.cur = nil
			}
			e.free = append(e.free, s)
		}
	}
	sortByEnd(dst[first:])
	return dst
}

// sortByEnd orders results by end; of windows ending together, the
// shorter comes first (the minute before its hour).
func sortByEnd(rs []result.Result) {
	slices.SortFunc(rs, func(a, b result.Result) int {
		if c := a.End.Compare(b.End); c != 0 {
			return c
		}
		return b.Start.Compare(a.Start)
	})
}

// Corrections appends a new revision (final, rev+1) of every kept window
// that counted late frames since its last result.
func (e *Engine) Corrections(dst []result.Result) []result.Result {
	if !e.corrected {
		return dst
	}
	e.corrected = false
	first := len(dst)
	dst = e.changed(dst, true)
	sortByEnd(dst[first:])
	return dst
}

// Early appends a provisional result (final:false) for every open window
// that counted a frame since its last provisional result.
func (e *Engine) Early(dst []result.Result) []result.Result {
	first := len(dst)
	dst = e.changed(dst, false)
	slices.SortFunc(dst[first:], func(a, b result.Result) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return a.End.Compare(b.End)
	})
	return dst
}

// changed appends a result of every window that counted a frame since its
// last result: of the kept windows as corrections (final, rev+1), or of the
// open ones as provisional results.
func (e *Engine) changed(dst []result.Result, kept bool) []result.Result {
	for i := range e.lanes {
		l := &e.lanes[i]
		windows := l.open
		if kept {
			windows = l.kept
		}
		for _, s := range windows {
			if !s.dirty {
				continue
			}
			s.dirty = false
			if kept {
				s.rev++
			}
			dst = append(dst, e.result(l.kind, s, kept))
		}
	}
	return dst
}

// Open returns the number of open and kept windows.
func (e *Engine) Open() (open, kept int) {
	for i := range e.lanes {
		open += len(e.lanes[i].open)
		kept += len(e.lanes[i].kept)
	}
	return open, kept
}

// MemBytes is the approximate memory held by the counters of open and kept
// windows.
func (e *Engine) MemBytes() int {
	n := 0
	for i := range e.lanes {
		for _, s := range e.lanes[i].open {
			n += s.counter.MemBytes()
		}
		for _, s := range e.lanes[i].kept {
			n += s.counter.MemBytes()
		}
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

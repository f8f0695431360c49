package window

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Kind is a window length: a minute to a year.
type Kind uint8

// Window kinds, shortest first: ParseKinds returns them in this order.
const (
	Minute Kind = iota
	Hour
	Day
	Week // ISO 8601: Monday to Monday
	Month
	Year
)

var kindNames = [...]string{"minute", "hour", "day", "week", "month", "year"}

// String returns the name ParseKinds accepts ("minute", "hour", ...).
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// ParseKind parses one kind name, case-insensitively.
func ParseKind(s string) (Kind, error) {
	w := strings.ToLower(strings.TrimSpace(s))
	if i := slices.Index(kindNames[:], w); i >= 0 {
		return Kind(i), nil
	}
	return 0, fmt.Errorf("window: unknown window kind %q (want minute, hour, day, week, month or year)", s)
}

// ParseKinds parses a comma-separated list such as "minute,hour,day" (the
// --windows flag) into distinct kinds, shortest first. Spaces around names
// are ignored; an empty list or an empty name is an error, and an error names
// the word it did not understand.
func ParseKinds(s string) ([]Kind, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("window: no window kinds given (want a list such as minute,hour,day)")
	}
	var out []Kind
	for w := range strings.SplitSeq(s, ",") {
		k, err := ParseKind(w)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// maxTS bounds the timestamps that get calendar windows: |ts| < 2^62 s,
// 146 billion years either way. Inside it every sum below (ts plus an offset
// plus a year) fits an int64 and the time package's zone lookups are sound.
// Beyond it (only corrupt timestamps get there) each side is one catch-all
// window: [MinInt64, -2^62) and [2^62, MaxInt64). The one ts that no window
// [start, end) of int64s can contain is MaxInt64 itself: Bounds returns
// [2^62, MaxInt64) for it, so end == ts; callers reject such timestamps long
// before (the watermark's plausibility check).
const maxTS = 1 << 62

// Bounds returns the window of kind k, in the calendar of loc, that contains
// the unix second ts: [start, end) in unix seconds, start ≤ ts < end (except
// for ts = MaxInt64, see maxTS). Windows of one kind and zone tile the
// timeline: no gaps, no overlaps, and Bounds of any second of a window gives
// that window. A nil loc means UTC. An unknown kind gives the one-second
// window [ts, ts+1).
//
// Minute and hour windows are aligned in local time, using the UTC offset in
// force: in Asia/Kolkata (+5:30) an hour window starts at :30 UTC, in
// Asia/Kathmandu (+5:45) at :15 UTC. A window never spans a change of UTC
// offset: it is cut where the offset changes. For whole-hour DST changes this
// changes nothing for hour windows (they are UTC hours shifted by whole
// hours), and the local hour repeated at a fall-back is two windows (02:00
// CEST and 02:00 CET: distinct [start, end)). For offset changes by other
// amounts (Australia/Lord_Howe's 30-minute DST, historical changes of local
// mean time) the window around the change is shorter than an hour rather
// than overlapping its neighbour.
//
// Day, week (ISO 8601, Monday start), month and year windows are the runs of
// time during which the local calendar date stays in the same day, week,
// month or year: a DST day in Europe/Zurich is 23 hours (2026-03-29) or 25
// hours (2026-10-25) long; a day whose local midnight does not exist (a DST
// change at midnight, as in America/Santiago) starts at the change (local
// 01:00). If local time runs backwards across a date boundary (America/Sitka
// in 1867 repeated a day), the repeated date is a second, distinct window.
//
// Cost: for UTC (and nil) no zone lookup, only integer arithmetic; otherwise
// two lookups in loc, plus two per zone change inside the window (a year
// window in a DST zone: about six). Callers that see many timestamps of one
// long window should keep its [start, end) and call Bounds only when ts
// falls outside.
func Bounds(k Kind, loc *time.Location, ts int64) (start, end int64) {
	if ts < -maxTS || ts >= maxTS {
		if ts < 0 {
			return math.MinInt64, -maxTS
		}
		return maxTS, math.MaxInt64
	}
	if k > Year {
		return ts, ts + 1
	}
	if loc == nil || loc == time.UTC {
		ls, le := localSpan(k, ts)
		return clip(ls, le)
	}

	z := lookup(loc, ts)
	off := z.off
	ls, le := localSpan(k, ts+off)
	start, end = max(z.start, ls-off), min(z.end, le-off)

	// Extend across zone changes while the window's key still holds on the
	// other side: for minute and hour the key includes the offset (so they
	// never extend across an offset change), for day and longer only the
	// calendar span counts (so a DST day extends across its change).
	sameOff := k <= Hour
	for prev, hops := z, 0; start == prev.start && hops < maxHops; hops++ {
		u := prev.start - 1
		if u < -maxTS {
			break
		}
		prev = lookup(loc, u)
		if pls, _ := localSpan(k, u+prev.off); pls != ls || sameOff && prev.off != off {
			break
		}
		start = max(prev.start, ls-prev.off)
	}
	for next, hops := z, 0; end == next.end && hops < maxHops; hops++ {
		u := next.end
		if u >= maxTS {
			break
		}
		next = lookup(loc, u)
		if nls, _ := localSpan(k, u+next.off); nls != ls || sameOff && next.off != off {
			break
		}
		end = min(next.end, le-next.off)
	}
	return clip(start, end)
}

// maxHops caps the zone changes a window may extend across. Real zones have
// at most a handful per year (Morocco: four); the cap only matters for
// broken zone data, where it keeps Bounds finite (the window still contains
// ts, it may just be cut short).
const maxHops = 32

// clip keeps windows inside the calendar domain, so that they tile it
// together with the two catch-all windows outside.
func clip(start, end int64) (int64, int64) {
	return max(start, -maxTS), min(end, maxTS)
}

// period is a stretch of time with one UTC offset: off holds for
// start ≤ u < end (MinInt64 / MaxInt64 when unbounded).
type period struct {
	off        int64
	start, end int64
}

// maxOffset bounds an offset so that ts+off cannot overflow; tzdata offsets
// are under a day, only a hand-made time.FixedZone can exceed this.
const maxOffset = 1 << 31

// lookup returns the zone period of loc containing unix second u
// (|u| < maxTS).
func lookup(loc *time.Location, u int64) period {
	t := time.Unix(u, 0).In(loc)
	_, off := t.Zone()
	zs, ze := t.ZoneBounds()
	p := period{off: min(max(int64(off), -maxOffset), maxOffset), start: math.MinInt64, end: math.MaxInt64}
	if !zs.IsZero() {
		p.start = zs.Unix()
	}
	if !ze.IsZero() {
		p.end = ze.Unix()
	}
	// The bounds need not be the real zone changes: a boundary where nothing
	// changes costs Bounds one more lookup, nothing else. But they must
	// contain u, and the time package's tzset (the rule that extends a zone
	// past its last listed change: 2037 in "fat" zone files, earlier in
	// "slim" ones) ends every year at start-of-year + 365 days, so on the
	// last day of a leap year it returns an end ≤ u. That year ends at the
	// next UTC midnight, and no zone change comes before it (the year's
	// changes are behind u), so use that.
	if p.end <= u {
		p.end = u - mod(u, 86400) + 86400
	}
	if p.start > u {
		p.start = u // not seen; a boundary at u is always safe
	}
	return p
}

// localSpan returns the span [ls, le), in local seconds (seconds since
// 1970-01-01 00:00 local), of the calendar unit of kind k that contains local
// second l. |l| < maxTS + maxOffset.
func localSpan(k Kind, l int64) (ls, le int64) {
	const day = 86400
	switch k {
	case Minute:
		ls = l - mod(l, 60)
		return ls, ls + 60
	case Hour:
		ls = l - mod(l, 3600)
		return ls, ls + 3600
	}
	d := floorDiv(l, day)
	switch k {
	case Day:
		return d * day, (d + 1) * day
	case Week:
		// 1970-01-01 was a Thursday: (d+3) mod 7 is 0 on Mondays.
		s := d - mod(d+3, 7)
		return s * day, (s + 7) * day
	case Month:
		y, m := civil(d)
		ny, nm := y, m+1
		if nm > 12 {
			ny, nm = y+1, 1
		}
		return firstOfMonth(y, m) * day, firstOfMonth(ny, nm) * day
	default: // Year
		y, _ := civil(d)
		return firstOfMonth(y, 1) * day, firstOfMonth(y+1, 1) * day
	}
}

// civil returns the year and month (1..12) of day number d (days since
// 1970-01-01) in the proleptic Gregorian calendar, for any d whose year fits
// an int64. Howard Hinnant's civil_from_days: eras of 400 years (146097
// days) starting on March 1, so that leap days fall at the end of a year.
func civil(d int64) (y, m int64) {
	d += 719468 // days from 0000-03-01 to 1970-01-01
	era := floorDiv(d, 146097)
	doe := d - era*146097                                  // day of era, 0..146096
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365 // year of era, 0..399
	doy := doe - (365*yoe + yoe/4 - yoe/100)               // day of (March-based) year, 0..365
	mp := (5*doy + 2) / 153                                // month from March, 0..11
	m = mp + 3
	if m > 12 {
		m -= 12
	}
	y = yoe + era*400
	if m <= 2 {
		y++
	}
	return y, m
}

// firstOfMonth returns the day number of the first day of month m (1..12)
// of year y: Hinnant's days_from_civil with d = 1.
func firstOfMonth(y, m int64) int64 {
	if m <= 2 {
		y--
	}
	era := floorDiv(y, 400)
	yoe := y - era*400
	mp := m - 3
	if mp < 0 {
		mp += 12
	}
	doy := (153*mp + 2) / 5
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// floorDiv and mod round towards negative infinity (b > 0), so that times
// before 1970 fall into the right window.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b < 0 {
		q--
	}
	return q
}

func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

package window

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Kind is a window size.
type Kind uint8

// Window kinds, shortest first.
const (
	Minute Kind = iota
	Hour
	Day
	Week
	Month
	Year
)

var kindNames = [...]string{"minute", "hour", "day", "week", "month", "year"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// ParseKinds parses a comma-separated list of kinds.
func ParseKinds(s string) ([]Kind, error) {
	var out []Kind
	for _, w := range strings.Split(s, ",") {
		w = strings.TrimSpace(w)
		i := slices.Index(kindNames[:], w)
		if i < 0 {
			return nil, fmt.Errorf("unknown window %q (want minute, hour, day, week, month or year)", w)
		}
		out = append(out, Kind(i))
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// Bounds returns the window [start, end) of kind k in loc containing ts.
func Bounds(k Kind, loc *time.Location, ts int64) (start, end int64) {
	switch k {
	case Minute:
		s := ts - mod(ts, 60)
		return s, s + 60
	case Hour:
		_, off := time.Unix(ts, 0).In(loc).Zone()
		s := ts - mod(ts+int64(off), 3600)
		return s, s + 3600
	}
	t := time.Unix(ts, 0).In(loc)
	y, m, d := t.Date()
	var a, b time.Time
	switch k {
	case Day:
		a, b = time.Date(y, m, d, 0, 0, 0, 0, loc), time.Date(y, m, d+1, 0, 0, 0, 0, loc)
	case Week:
		back := (int(t.Weekday()) + 6) % 7
		a, b = time.Date(y, m, d-back, 0, 0, 0, 0, loc), time.Date(y, m, d-back+7, 0, 0, 0, 0, loc)
	case Month:
		a, b = time.Date(y, m, 1, 0, 0, 0, 0, loc), time.Date(y, m+1, 1, 0, 0, 0, 0, loc)
	default:
		a, b = time.Date(y, 1, 1, 0, 0, 0, 0, loc), time.Date(y+1, 1, 1, 0, 0, 0, 0, loc)
	}
	return a.Unix(), b.Unix()
}

func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

package window

import (
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	// The tests need real zones whatever the machine has installed. Whether
	// the binary embeds tzdata too is decided in cmd/, not here.
	_ "time/tzdata"
)

func mustLoad(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("LoadLocation(%q): %v", name, err)
	}
	return loc
}

func unix(t testing.TB, s string) int64 {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("bad time %q: %v", s, err)
	}
	return tm.Unix()
}

func TestKindString(t *testing.T) {
	for k, want := range []string{"minute", "hour", "day", "week", "month", "year"} {
		if got := Kind(k).String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", k, got, want)
		}
	}
	if got := Kind(6).String(); got != "Kind(6)" {
		t.Errorf("Kind(6).String() = %q", got)
	}
}

func TestParseKinds(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []Kind
		bad  string // the word the error must name
	}{
		{in: "minute", want: []Kind{Minute}},
		{in: "minute,hour,day", want: []Kind{Minute, Hour, Day}},
		{in: "year, Month ,week,day,hour,minute", want: []Kind{Minute, Hour, Day, Week, Month, Year}},
		{in: "day,minute,day", want: []Kind{Minute, Day}},
		{in: "", bad: "no window kinds"},
		{in: "  ", bad: "no window kinds"},
		{in: "minute,fortnight", bad: `"fortnight"`},
		{in: "minute,,hour", bad: `""`},
		{in: "minutes", bad: `"minutes"`},
	} {
		got, err := ParseKinds(tc.in)
		if tc.bad != "" {
			if err == nil || !strings.Contains(err.Error(), tc.bad) {
				t.Errorf("ParseKinds(%q) error = %v, want one naming %s", tc.in, err, tc.bad)
			}
			continue
		}
		if err != nil || !slicesEqual(got, tc.want) {
			t.Errorf("ParseKinds(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func slicesEqual(a, b []Kind) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestBounds: windows written out in full, in RFC 3339 with the local offset,
// so each row reads as the calendar fact it checks.
func TestBounds(t *testing.T) {
	for _, tc := range []struct {
		name       string
		kind       Kind
		zone       string
		ts         string
		start, end string
	}{
		// UTC, every kind.
		{"utc minute", Minute, "UTC", "2016-07-11T13:40:25Z", "2016-07-11T13:40:00Z", "2016-07-11T13:41:00Z"},
		{"utc minute edge", Minute, "UTC", "2016-07-11T13:41:00Z", "2016-07-11T13:41:00Z", "2016-07-11T13:42:00Z"},
		{"utc hour", Hour, "UTC", "2016-07-11T13:40:25Z", "2016-07-11T13:00:00Z", "2016-07-11T14:00:00Z"},
		{"utc day", Day, "UTC", "2016-07-11T13:40:25Z", "2016-07-11T00:00:00Z", "2016-07-12T00:00:00Z"},
		{"utc week monday", Week, "UTC", "2016-07-11T00:00:00Z", "2016-07-11T00:00:00Z", "2016-07-18T00:00:00Z"},
		{"utc week sunday", Week, "UTC", "2016-07-17T23:59:59Z", "2016-07-11T00:00:00Z", "2016-07-18T00:00:00Z"},
		{"utc month", Month, "UTC", "2016-07-11T13:40:25Z", "2016-07-01T00:00:00Z", "2016-08-01T00:00:00Z"},
		{"utc year", Year, "UTC", "2016-07-11T13:40:25Z", "2016-01-01T00:00:00Z", "2017-01-01T00:00:00Z"},
		{"utc before 1970", Minute, "UTC", "1969-12-31T23:59:59Z", "1969-12-31T23:59:00Z", "1970-01-01T00:00:00Z"},
		{"utc day before 1970", Day, "UTC", "1969-12-31T23:59:59Z", "1969-12-31T00:00:00Z", "1970-01-01T00:00:00Z"},
		{"utc week 1970", Week, "UTC", "1970-01-01T00:00:00Z", "1969-12-29T00:00:00Z", "1970-01-05T00:00:00Z"},
		{"leap february", Month, "UTC", "2024-02-29T12:00:00Z", "2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z"},
		{"2100 february", Month, "UTC", "2100-02-10T00:00:00Z", "2100-02-01T00:00:00Z", "2100-03-01T00:00:00Z"},
		{"december", Month, "UTC", "2026-12-31T23:59:59Z", "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"},
		// ISO weeks across a month and a year boundary: 2026-12-31 is a
		// Thursday, its week starts Monday 2026-12-28; week 1 of 2027 starts
		// Monday 2027-01-04.
		{"week across month", Week, "UTC", "2026-07-01T12:00:00Z", "2026-06-29T00:00:00Z", "2026-07-06T00:00:00Z"},
		{"week across year", Week, "UTC", "2026-12-31T12:00:00Z", "2026-12-28T00:00:00Z", "2027-01-04T00:00:00Z"},
		{"week across year sunday", Week, "UTC", "2027-01-03T23:59:59Z", "2026-12-28T00:00:00Z", "2027-01-04T00:00:00Z"},
		{"iso week 1 of 2027", Week, "UTC", "2027-01-04T00:00:00Z", "2027-01-04T00:00:00Z", "2027-01-11T00:00:00Z"},

		// Europe/Zurich: DST days are 23 and 25 hours long.
		{"zurich spring day (23h)", Day, "Europe/Zurich", "2026-03-29T12:00:00+02:00", "2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00"},
		{"zurich autumn day (25h)", Day, "Europe/Zurich", "2026-10-25T12:00:00+01:00", "2026-10-25T00:00:00+02:00", "2026-10-26T00:00:00+01:00"},
		{"zurich autumn day, early", Day, "Europe/Zurich", "2026-10-25T01:00:00+02:00", "2026-10-25T00:00:00+02:00", "2026-10-26T00:00:00+01:00"},
		{"zurich day before spring", Day, "Europe/Zurich", "2026-03-28T23:59:59+01:00", "2026-03-28T00:00:00+01:00", "2026-03-29T00:00:00+01:00"},
		// The repeated hour 02:00-03:00 on 2026-10-25 is two windows.
		{"zurich 02:30 CEST", Hour, "Europe/Zurich", "2026-10-25T02:30:00+02:00", "2026-10-25T02:00:00+02:00", "2026-10-25T03:00:00+02:00"},
		{"zurich 02:30 CET", Hour, "Europe/Zurich", "2026-10-25T02:30:00+01:00", "2026-10-25T02:00:00+01:00", "2026-10-25T03:00:00+01:00"},
		{"zurich 01:59 before spring", Hour, "Europe/Zurich", "2026-03-29T01:59:59+01:00", "2026-03-29T01:00:00+01:00", "2026-03-29T03:00:00+02:00"},
		{"zurich 03:00 after spring", Hour, "Europe/Zurich", "2026-03-29T03:00:00+02:00", "2026-03-29T03:00:00+02:00", "2026-03-29T04:00:00+02:00"},
		{"zurich week with fall-back", Week, "Europe/Zurich", "2026-10-25T23:00:00+01:00", "2026-10-19T00:00:00+02:00", "2026-10-26T00:00:00+01:00"},
		{"zurich october", Month, "Europe/Zurich", "2026-10-31T23:59:59+01:00", "2026-10-01T00:00:00+02:00", "2026-11-01T00:00:00+01:00"},
		{"zurich year", Year, "Europe/Zurich", "2026-07-01T00:00:00+02:00", "2026-01-01T00:00:00+01:00", "2027-01-01T00:00:00+01:00"},

		// :30 and :45 offsets: hour windows start at :30 / :15 UTC.
		{"kolkata hour", Hour, "Asia/Kolkata", "2026-01-15T10:45:00Z", "2026-01-15T10:30:00Z", "2026-01-15T11:30:00Z"},
		{"kolkata hour edge", Hour, "Asia/Kolkata", "2026-01-15T10:30:00Z", "2026-01-15T10:30:00Z", "2026-01-15T11:30:00Z"},
		{"kolkata minute", Minute, "Asia/Kolkata", "2026-01-15T10:45:20Z", "2026-01-15T10:45:00Z", "2026-01-15T10:46:00Z"},
		{"kolkata day", Day, "Asia/Kolkata", "2026-01-15T10:45:00Z", "2026-01-15T00:00:00+05:30", "2026-01-16T00:00:00+05:30"},
		{"kathmandu hour", Hour, "Asia/Kathmandu", "2026-01-15T10:00:00Z", "2026-01-15T09:15:00Z", "2026-01-15T10:15:00Z"},
		{"kathmandu hour edge", Hour, "Asia/Kathmandu", "2026-01-15T10:14:59Z", "2026-01-15T09:15:00Z", "2026-01-15T10:15:00Z"},

		// America/New_York: months that contain a DST change.
		{"new york march", Month, "America/New_York", "2026-03-15T12:00:00-04:00", "2026-03-01T00:00:00-05:00", "2026-04-01T00:00:00-04:00"},
		{"new york november", Month, "America/New_York", "2026-11-30T23:59:59-05:00", "2026-11-01T00:00:00-04:00", "2026-12-01T00:00:00-05:00"},
		{"new york month start", Month, "America/New_York", "2026-11-01T00:00:00-04:00", "2026-11-01T00:00:00-04:00", "2026-12-01T00:00:00-05:00"},

		// Local midnight that does not exist: the day starts at the change.
		// America/Santiago moves from 24:00 -04 to 01:00 -03 on 2026-09-06.
		{"santiago day without midnight", Day, "America/Santiago", "2026-09-06T12:00:00-03:00", "2026-09-06T01:00:00-03:00", "2026-09-07T00:00:00-03:00"},
		{"santiago day before it", Day, "America/Santiago", "2026-09-05T23:59:59-04:00", "2026-09-05T00:00:00-04:00", "2026-09-06T01:00:00-03:00"},
		{"santiago hour after it", Hour, "America/Santiago", "2026-09-06T01:00:00-03:00", "2026-09-06T01:00:00-03:00", "2026-09-06T02:00:00-03:00"},
		// Asia/Beirut moved from 00:00 +02 to 01:00 +03 on 2010-03-28.
		{"beirut day without midnight", Day, "Asia/Beirut", "2010-03-28T12:00:00+03:00", "2010-03-28T01:00:00+03:00", "2010-03-29T00:00:00+03:00"},
		{"beirut week without midnight", Week, "Asia/Beirut", "2010-03-24T12:00:00+02:00", "2010-03-22T00:00:00+02:00", "2010-03-29T00:00:00+03:00"},

		// Australia/Lord_Howe changes by 30 minutes (02:00 +10:30 -> 02:30
		// +11 on 2026-10-04): the hour around the change is cut at it.
		{"lord howe hour before", Hour, "Australia/Lord_Howe", "2026-10-04T01:59:59+10:30", "2026-10-04T01:00:00+10:30", "2026-10-04T02:00:00+10:30"},
		{"lord howe short hour", Hour, "Australia/Lord_Howe", "2026-10-04T02:40:00+11:00", "2026-10-04T02:30:00+11:00", "2026-10-04T03:00:00+11:00"},
		{"lord howe day", Day, "Australia/Lord_Howe", "2026-10-04T12:00:00+11:00", "2026-10-04T00:00:00+10:30", "2026-10-05T00:00:00+11:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			loc := mustLoad(t, tc.zone)
			ts := unix(t, tc.ts)
			gs, ge := Bounds(tc.kind, loc, ts)
			ws, we := unix(t, tc.start), unix(t, tc.end)
			if gs != ws || ge != we {
				t.Fatalf("Bounds(%v, %s, %s) = [%s, %s) (%v), want [%s, %s) (%v)", tc.kind, tc.zone, tc.ts,
					time.Unix(gs, 0).In(loc).Format(time.RFC3339), time.Unix(ge, 0).In(loc).Format(time.RFC3339), time.Duration(ge-gs)*time.Second,
					tc.start, tc.end, time.Duration(we-ws)*time.Second)
			}
		})
	}
}

func TestNilLocationIsUTC(t *testing.T) {
	for k := Minute; k <= Year; k++ {
		ts := int64(1468244384)
		s1, e1 := Bounds(k, nil, ts)
		s2, e2 := Bounds(k, time.UTC, ts)
		s3, e3 := Bounds(k, mustLoad(t, "Etc/UTC"), ts) // not time.UTC: the general path
		if s1 != s2 || e1 != e2 || s1 != s3 || e1 != e3 {
			t.Errorf("%v: nil [%d,%d), UTC [%d,%d), Etc/UTC [%d,%d)", k, s1, e1, s2, e2, s3, e3)
		}
	}
}

// TestCivil checks the day arithmetic against the time package over a wide
// range of days, including far from 1970 and before year 0.
func TestCivil(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	days := []int64{0, -1, 1, -719468, -719469, 10957, 2932896, -2932897}
	for range 20000 {
		days = append(days, r.Int64N(2*400_000_000)-400_000_000) // ±1.1 million years
	}
	for _, d := range days {
		tm := time.Unix(d*86400, 0).UTC()
		y, m := civil(d)
		if y != int64(tm.Year()) || m != int64(tm.Month()) {
			t.Fatalf("civil(%d) = %d-%d, time says %d-%d", d, y, m, tm.Year(), tm.Month())
		}
		if f := firstOfMonth(y, m); f*86400 != time.Date(tm.Year(), tm.Month(), 1, 0, 0, 0, 0, time.UTC).Unix() {
			t.Fatalf("firstOfMonth(%d, %d) = %d", y, m, f)
		}
	}
}

// checkTile asserts the invariants every window has: it contains ts, every
// second of it maps to it (checked at its ends), and its neighbours touch it.
func checkTile(t testing.TB, k Kind, loc *time.Location, ts int64) (start, end int64) {
	t.Helper()
	s, e := Bounds(k, loc, ts)
	if !(s <= ts && ts < e) {
		t.Fatalf("%v %v ts=%d: [%d, %d) does not contain ts", k, loc, ts, s, e)
	}
	if s2, e2 := Bounds(k, loc, s); s2 != s || e2 != e {
		t.Fatalf("%v %v ts=%d: window [%d,%d) but its start maps to [%d,%d)", k, loc, ts, s, e, s2, e2)
	}
	if s2, e2 := Bounds(k, loc, e-1); s2 != s || e2 != e {
		t.Fatalf("%v %v ts=%d: window [%d,%d) but its last second maps to [%d,%d)", k, loc, ts, s, e, s2, e2)
	}
	if s > math.MinInt64 {
		if _, pe := Bounds(k, loc, s-1); pe != s {
			t.Fatalf("%v %v ts=%d: window [%d,%d) but the one before ends at %d", k, loc, ts, s, e, pe)
		}
	}
	if e < math.MaxInt64 {
		if ns, _ := Bounds(k, loc, e); ns != e {
			t.Fatalf("%v %v ts=%d: window [%d,%d) but the one after starts at %d", k, loc, ts, s, e, ns)
		}
	}
	return s, e
}

// calendarKey is the local-calendar identity of a day+ window of the time
// t, computed with the time package (independently of Bounds' arithmetic).
func calendarKey(k Kind, t time.Time) [2]int {
	y, m, d := t.Date()
	switch k {
	case Day:
		return [2]int{y, t.YearDay()}
	case Week:
		wy, w := t.ISOWeek()
		return [2]int{wy, w}
	case Month:
		return [2]int{y, int(m)}
	case Year:
		return [2]int{y, 0}
	}
	return [2]int{y*10000 + int(m)*100 + d, t.Hour()}
}

// TestZonesTile walks zone changes (1900..2100) of many zones and checks,
// around each change, the tiling invariants and, for day and longer, that
// the window is exactly the run of the local calendar date (per the time
// package). Every zone on the machine (from 1960) without -short; a list of
// odd ones (from 1900) with it.
func TestZonesTile(t *testing.T) {
	zones := []string{
		"UTC", "Europe/Zurich", "America/New_York", "Asia/Kolkata", "Asia/Kathmandu",
		"America/Santiago", "Asia/Beirut", "Australia/Lord_Howe", "Pacific/Apia",
		"Pacific/Kiritimati", "America/Sitka", "Africa/Casablanca", "America/St_Johns",
		"Asia/Tehran", "Europe/Dublin", "Antarctica/Troll", "America/Havana",
		"Asia/Gaza", "America/Asuncion", "America/Sao_Paulo", "Pacific/Chatham",
		"Europe/Moscow", "Asia/Pyongyang", "America/Caracas", "Pacific/Kwajalein",
	}
	odd := len(zones)
	if !testing.Short() {
		zones = append(zones, systemZones()...)
	}
	hi := unix(t, "2100-01-01T00:00:00Z")
	r := rand.New(rand.NewPCG(5, 6))
	for i, name := range zones {
		// The odd zones from 1900 and closely, the rest from 1960 and more
		// coarsely: keeps the test to a few seconds.
		lo := unix(t, "1900-01-01T00:00:00Z")
		if i >= odd {
			lo = unix(t, "1960-01-01T00:00:00Z")
		}
		loc, err := time.LoadLocation(name)
		if err != nil {
			continue // a name from the system list the embedded data lacks
		}
		// Instants to probe: around each zone change, and random ones.
		var probes []int64
		u := lo
		for range 400 {
			_, ze := time.Unix(u, 0).In(loc).ZoneBounds()
			if ze.IsZero() || ze.Unix() >= hi {
				break
			}
			c := ze.Unix()
			if i < odd {
				probes = append(probes, c-86400, c-3601, c-1, c, c+1, c+1799, c+3600, c+86400)
			} else {
				probes = append(probes, c-1, c+1799)
			}
			u = c
		}
		for range 20 {
			probes = append(probes, lo+r.Int64N(hi-lo))
		}
		// Past Go's tzdata (2037) the time package computes changes from
		// the zone's rule, and its period bounds are wrong on the last day
		// of leap years (see lookup): probe around those year ends.
		for _, y := range []int{2040, 2041, 2096, 2100, 2104, 2400, 9999} {
			ny := time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
			probes = append(probes, ny-86400-1, ny-86400, ny-3600, ny-1, ny, ny+86400)
		}
		for _, ts := range probes {
			for k := Minute; k <= Year; k++ {
				s, e := checkTile(t, k, loc, ts)
				if k >= Day {
					key := calendarKey(k, time.Unix(ts, 0).In(loc))
					if calendarKey(k, time.Unix(s, 0).In(loc)) != key || calendarKey(k, time.Unix(e-1, 0).In(loc)) != key {
						t.Fatalf("%s %v ts=%s: window [%s, %s) is not one local %v",
							name, k, time.Unix(ts, 0).In(loc), time.Unix(s, 0).In(loc), time.Unix(e, 0).In(loc), k)
					}
				} else {
					unit := int64(60)
					if k == Hour {
						unit = 3600
					}
					if e-s > unit {
						t.Fatalf("%s %v ts=%s: window of %ds", name, k, time.Unix(ts, 0).In(loc), e-s)
					}
				}
			}
		}
	}
}

// systemZones lists the zones under /usr/share/zoneinfo, if there is one.
func systemZones() []string {
	const root = "/usr/share/zoneinfo"
	var out []string
	seen := map[string]bool{}
	_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		name, _ := filepath.Rel(root, path)
		if c := name[0]; c < 'A' || c > 'Z' || strings.HasPrefix(name, "posix") || strings.HasPrefix(name, "right") || strings.Contains(name, ".") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil || !strings.HasPrefix(string(b), "TZif") || seen[string(b)] {
			return nil // not a zone, or a link to one already listed
		}
		seen[string(b)] = true
		out = append(out, name)
		return nil
	})
	return out
}

// TestBoundsExtremes: bit-flipped timestamps. Inside ±2^62 windows are real
// calendar windows; beyond, one catch-all window per side. MaxInt64 is the
// one ts no [start, end) can contain: it gets [2^62, MaxInt64).
func TestBoundsExtremes(t *testing.T) {
	zones := []*time.Location{nil, time.UTC, mustLoad(t, "Europe/Zurich"), mustLoad(t, "America/Santiago"),
		mustLoad(t, "Asia/Kathmandu"), time.FixedZone("far", 1<<40), time.FixedZone("neg", -(1 << 40))}
	tss := []int64{
		math.MinInt64, math.MinInt64 + 1, -maxTS - 1, -maxTS, -maxTS + 1, -(1 << 61), -(1 << 40), -1, 0,
		1 << 40, 1 << 61, maxTS - 1, maxTS, maxTS + 1, math.MaxInt64 - 1,
	}
	for _, loc := range zones {
		for k := Minute; k <= Year+1; k++ {
			for _, ts := range tss {
				s, e := Bounds(k, loc, ts)
				if !(s <= ts && ts < e) {
					t.Fatalf("%v %v ts=%d: [%d, %d)", k, loc, ts, s, e)
				}
			}
			if s, e := Bounds(k, loc, math.MaxInt64); s != maxTS || e != math.MaxInt64 {
				t.Fatalf("%v %v ts=MaxInt64: [%d, %d), want the documented [2^62, MaxInt64)", k, loc, s, e)
			}
		}
	}
	// The catch-all windows and the calendar windows next to them touch.
	for _, loc := range zones[:5] {
		for k := Minute; k <= Year; k++ {
			if _, e := Bounds(k, loc, maxTS-1); e != maxTS {
				t.Fatalf("%v %v: last calendar window ends at %d, want 2^62", k, loc, e)
			}
			if s, _ := Bounds(k, loc, -maxTS); s != -maxTS {
				t.Fatalf("%v %v: first calendar window starts at %d, want -2^62", k, loc, s)
			}
		}
	}
}

func FuzzBounds(f *testing.F) {
	locs := []*time.Location{nil, mustLoad(f, "Europe/Zurich"), mustLoad(f, "Asia/Kathmandu"),
		mustLoad(f, "America/Santiago"), mustLoad(f, "Australia/Lord_Howe"), mustLoad(f, "America/Sitka"),
		time.FixedZone("odd", 12345)}
	for _, ts := range []int64{0, 1468244384, -1, 1 << 62, -(1 << 62), math.MaxInt64, math.MinInt64, 1 << 40, -5e12} {
		f.Add(ts, uint8(0), uint8(1))
	}
	f.Fuzz(func(t *testing.T, ts int64, kind, zone uint8) {
		k := Kind(kind % 7) // includes one invalid kind
		loc := locs[int(zone)%len(locs)]
		s, e := Bounds(k, loc, ts)
		if ts == math.MaxInt64 {
			if s > ts || e != ts {
				t.Fatalf("MaxInt64: [%d, %d)", s, e)
			}
			return
		}
		if !(s <= ts && ts < e) {
			t.Fatalf("%v %v ts=%d: [%d, %d)", k, loc, ts, s, e)
		}
		if k <= Year {
			checkTile(t, k, loc, ts)
		}
	})
}

// BenchmarkBounds: cost per call by kind and zone, for a 2016 timestamp
// (a replay: the zone is not the time package's cached "current" one) and a
// current one.
//
//	go test ./internal/window -run '^$' -bench Bounds
func BenchmarkBounds(b *testing.B) {
	zones := []string{"UTC", "Asia/Kolkata", "Europe/Zurich"}
	for _, name := range zones {
		loc := mustLoad(b, name)
		for _, when := range []struct {
			name string
			ts   int64
		}{{"2016", 1468244384}, {"now", time.Now().Unix()}} {
			for k := Minute; k <= Year; k++ {
				b.Run(name+"/"+when.name+"/"+k.String(), func(b *testing.B) {
					var sink int64
					for i := range b.N {
						s, _ := Bounds(k, loc, when.ts+int64(i&1023)*7)
						sink += s
					}
					_ = sink
				})
			}
		}
	}
}

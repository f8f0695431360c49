package pipeline

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/headcount/headcount/internal/gen"
	"github.com/headcount/headcount/internal/watermark"
	"github.com/headcount/headcount/internal/window"
)

// naiveStart is an independent window start: the calendar arithmetic of
// the time package, nothing shared with package window.
func naiveStart(kind string, loc *time.Location, ts int64) int64 {
	t := time.Unix(ts, 0).In(loc)
	y, m, d := t.Date()
	switch kind {
	case "minute":
		return ts - int64(t.Second())
	case "hour":
		return ts - int64(t.Minute()*60+t.Second())
	case "day":
		return time.Date(y, m, d, 0, 0, 0, 0, loc).Unix()
	case "week":
		back := (int(t.Weekday()) + 6) % 7
		return time.Date(y, m, d-back, 0, 0, 0, 0, loc).Unix()
	case "month":
		return time.Date(y, m, 1, 0, 0, 0, 0, loc).Unix()
	}
	return time.Date(y, 1, 1, 0, 0, 0, 0, loc).Unix()
}

// TestWindowsIndependent counts every window kind at once, in several
// zones, over streams that cross DST changes, a month end inside a week
// and a year end, and compares each window with an independent count.
func TestWindowsIndependent(t *testing.T) {
	kinds := []string{"minute", "hour", "day", "week", "month", "year"}
	streams := []struct {
		name  string
		start string
		rate  float64
	}{
		{"zurich spring forward", "2026-03-28T12:00:00Z", 0.05},
		{"zurich fall back", "2026-10-24T12:00:00Z", 0.05},
		{"year end, week across months", "2026-12-20T00:00:00Z", 0.005},
	}
	for _, zone := range []string{"UTC", "Europe/Zurich", "Asia/Kolkata", "Asia/Kathmandu", "America/New_York"} {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range streams {
			t.Run(zone+"/"+st.name, func(t *testing.T) {
				start, _ := time.Parse(time.RFC3339, st.start)
				var buf bytes.Buffer
				cfg := gen.Config{Count: size(10000), Rate: st.rate * float64(size(10000)) / 10000, Users: 500, Start: start.Unix(), Seed: 9}
				if _, err := gen.WriteTo(context.Background(), &buf, cfg, false); err != nil {
					t.Fatal(err)
				}
				type key struct {
					kind  string
					start int64
				}
				want := map[key]map[string]bool{}
				eachFrame(t, buf.Bytes(), func(uid string, ts int64) {
					for _, k := range kinds {
						kk := key{k, naiveStart(k, loc, ts)}
						if want[kk] == nil {
							want[kk] = map[string]bool{}
						}
						want[kk][uid] = true
					}
				})
				all, _ := window.ParseKinds(strings.Join(kinds, ","))
				c, stats := runFile(t, writeTemp(t, buf.Bytes()), Config{
					Window:    window.Config{Kinds: all, Loc: loc},
					Watermark: watermark.Config{Lateness: time.Second},
				})
				if stats.RejectedTotal() != 0 {
					t.Fatalf("stats %+v", stats)
				}
				got := map[key]uint64{}
				for _, r := range c.rs {
					k := key{r.Window, r.Start.Unix()}
					if _, dup := got[k]; dup {
						t.Errorf("window %v published twice", k)
					}
					got[k] = r.Users
					if r.Start.Location() != loc {
						t.Errorf("%v: start not in %s", k, zone)
					}
				}
				if len(got) != len(want) {
					t.Errorf("%d windows, want %d", len(got), len(want))
				}
				for k, users := range want {
					if got[k] != uint64(len(users)) {
						t.Errorf("%s %s: %d users, want %d", k.kind, time.Unix(k.start, 0).In(loc).Format(time.RFC3339), got[k], len(users))
					}
				}
				// The DST days are 23 and 25 hours long in Zurich.
				if zone == "Europe/Zurich" {
					for _, r := range c.rs {
						if r.Window == "day" {
							day := r.Start.Format("2006-01-02")
							h := r.End.Sub(r.Start).Hours()
							if (day == "2026-03-29" && h != 23) || (day == "2026-10-25" && h != 25) {
								t.Errorf("day %s lasts %vh", day, h)
							}
						}
					}
				}
			})
		}
	}
}

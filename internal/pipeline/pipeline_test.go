package pipeline

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/headcount/headcount/internal/gen"
	"github.com/headcount/headcount/internal/result"
	"github.com/headcount/headcount/internal/source"
	"github.com/headcount/headcount/internal/watermark"
	"github.com/headcount/headcount/internal/window"
)

// collect is a sink that keeps every result.
type collect struct{ rs []result.Result }

func (c *collect) Write(_ context.Context, rs []result.Result) error {
	c.rs = append(c.rs, rs...)
	return nil
}

// minuteLine is one line of a sample's .minute.txt: "start unique frames".
type minuteLine struct {
	start         int64
	users, frames uint64
}

func finals(rs []result.Result, kind string) []minuteLine {
	var out []minuteLine
	for _, r := range rs {
		if r.Final && r.Window == kind {
			out = append(out, minuteLine{r.Start.Unix(), r.Users, r.Frames})
		}
	}
	return out
}

func runFile(t *testing.T, path string, cfg Config) (*collect, Stats) {
	t.Helper()
	in, err := source.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var c collect
	st, err := Run(context.Background(), source.NewLines(in, source.Fill(true), source.ChunkSize(64<<10)), &c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &c, st
}

// runMapped runs the pipeline on path memory-mapped (source.MapFile).
func runMapped(t *testing.T, path string, cfg Config, opts ...source.LinesOption) (*collect, Stats) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := source.MapFile(f, append(opts, source.DeferCut(true))...) // as run does
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var c collect
	st, err := Run(context.Background(), m, &c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &c, st
}

func readCounts(t *testing.T, path string) []minuteLine {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []minuteLine
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var m minuteLine
		if _, err := fmt.Sscan(l, &m.start, &m.users, &m.frames); err != nil {
			t.Fatalf("%s: %q: %v", path, l, err)
		}
		out = append(out, m)
	}
	return out
}

// TestSamples checks the exact per-minute and per-hour counts of the
// reference samples.
func TestSamples(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "samples")
	for _, tc := range []struct {
		name     string
		lateness time.Duration
	}{
		{"sample-ordered", 5 * time.Second},
		// Delays reach 30 s; corrections are another issue, so the
		// lateness covers them here.
		{"sample-late", 30 * time.Second},
	} {
		for _, kind := range []string{"minute", "hour"} {
			t.Run(tc.name+"/"+kind, func(t *testing.T) {
				k, err := window.ParseKinds(kind)
				if err != nil {
					t.Fatal(err)
				}
				c, st := runFile(t, filepath.Join(dir, tc.name+".jsonl.gz"), Config{
					Window:    window.Config{Kinds: k},
					Watermark: watermark.Config{Lateness: tc.lateness},
				})
				want := readCounts(t, filepath.Join(dir, tc.name+"."+kind+".txt"))
				got := finals(c.rs, kind)
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("got  %v\nwant %v", got, want)
				}
				if st.RejectedTotal() != 0 || st.Counted != 2000 {
					t.Errorf("stats %+v", st)
				}
			})
		}
	}
}

// reference counts unique users per minute with encoding/json and a map,
// independently of the pipeline.
func reference(t *testing.T, data []byte) []minuteLine {
	t.Helper()
	users := map[int64]map[string]struct{}{}
	frames := map[int64]uint64{}
	eachFrame(t, data, func(uid string, ts int64) {
		m := ts - ts%60
		if users[m] == nil {
			users[m] = map[string]struct{}{}
		}
		users[m][uid] = struct{}{}
		frames[m]++
	})
	var out []minuteLine
	for m, u := range users {
		out = append(out, minuteLine{m, uint64(len(u)), frames[m]})
	}
	sortLines(out)
	return out
}

// TestGenerated compares the pipeline with the independent count on
// generated traffic, with and without delays, for several worker counts and
// chunk sizes (batch boundaries must not change any count).
func TestGenerated(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  gen.Config
	}{
		{"ordered", gen.Config{Count: 20000, Rate: 100, Users: 3000, Seed: 1}},
		{"delayed", gen.Config{Count: 20000, Rate: 100, Users: 3000, Seed: 2, Delay: 30 * time.Second, DelayProb: 0.2}},
		{"crlf and string ts", gen.Config{Count: 5000, Rate: 50, Users: 500, Seed: 3, CRLF: true, TSStringProb: 0.3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if _, err := gen.WriteTo(context.Background(), &buf, tc.cfg, false); err != nil {
				t.Fatal(err)
			}
			want := reference(t, buf.Bytes())
			path := filepath.Join(t.TempDir(), "in.jsonl")
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, workers := range []int{1, 3} {
				cfg := Config{Workers: workers, Watermark: watermark.Config{Lateness: 31 * time.Second}}
				c, st := runFile(t, path, cfg)
				if got := finals(c.rs, "minute"); fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("workers %d:\ngot  %v\nwant %v", workers, got, want)
				}
				if st.Counted != uint64(tc.cfg.Count) || st.RejectedTotal() != 0 {
					t.Errorf("workers %d: stats %+v", workers, st)
				}
				// The same bytes cut into other batches: a 4 KiB chunk holds
				// one or two frames, 100 KiB about fifty.
				for _, chunk := range []int{4 << 10, 100 << 10} {
					var c collect
					st, err := Run(context.Background(), source.NewLines(bytes.NewReader(buf.Bytes()), source.ChunkSize(chunk), source.Fill(true)), &c, cfg)
					if err != nil {
						t.Fatal(err)
					}
					if got := finals(c.rs, "minute"); fmt.Sprint(got) != fmt.Sprint(want) || st.Counted != uint64(tc.cfg.Count) {
						t.Errorf("workers %d, chunk %d: counted %d\ngot  %v\nwant %v", workers, chunk, st.Counted, got, want)
					}
					// Mapped, its pages given back behind the slowest
					// worker at nearly every batch.
					mc, st := runMapped(t, path, cfg, source.ChunkSize(chunk), source.ReleaseEvery(os.Getpagesize()))
					if got := finals(mc.rs, "minute"); fmt.Sprint(got) != fmt.Sprint(want) || st.Counted != uint64(tc.cfg.Count) {
						t.Errorf("workers %d, chunk %d, mapped, releasing: counted %d\ngot  %v\nwant %v", workers, chunk, st.Counted, got, want)
					}
				}
			}
		})
	}
}

func sortLines(ls []minuteLine) {
	sort.Slice(ls, func(i, j int) bool { return ls[i].start < ls[j].start })
}

// eachFrame decodes every line of data with encoding/json, independently of
// package frame, and calls fn with its uid and ts.
func eachFrame(t *testing.T, data []byte, fn func(uid string, ts int64)) {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		// A map, not a struct: struct fields match keys case-insensitively,
		// and the generator's decoy keys such as "\u0055ID" would win.
		var f map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
			t.Fatal(err)
		}
		var uid string
		if err := json.Unmarshal(f["uid"], &uid); err != nil {
			t.Fatal(err)
		}
		ts, err := strconv.ParseInt(strings.Trim(string(f["ts"]), `"`), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		fn(uid, ts)
	}
}

package gen

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// sampleDir holds the reference samples (see its README.md).
const sampleDir = "../../testdata/samples"

// sampleLike is the traffic of the samples: 2000 frames, 300 users, ~11
// frames a second.
var sampleLike = Config{Count: 2000, Users: 300, Rate: 11}

// member is one top-level member, its name decoded.
type member struct {
	name string
	raw  json.RawMessage
}

// topLevel splits a frame into its top-level members, keeping duplicates
// and order, which decoding into a map would lose.
func topLevel(t *testing.T, frame []byte) []member {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(frame))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("frame does not start an object (%v, %v): %.200s", tok, err, frame)
	}
	var ms []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("key: %v: %.200s", err, frame)
		}
		var m member
		m.name = tok.(string)
		if err := dec.Decode(&m.raw); err != nil {
			t.Fatalf("value of %q: %v: %.200s", m.name, err, frame)
		}
		ms = append(ms, m)
	}
	if _, err := dec.Token(); err != nil {
		t.Fatalf("end: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Fatalf("data after the object: %.200s", frame)
	}
	return ms
}

// checkFrame asserts the rules every frame obeys and returns the top-level
// uid and ts it carries.
func checkFrame(t *testing.T, frame []byte) (uid string, ts int64) {
	t.Helper()
	if !utf8.Valid(frame) || !json.Valid(frame) {
		t.Fatalf("invalid frame: %.200s", frame)
	}
	if bytes.ContainsAny(frame, "\r\n") {
		t.Fatalf("raw line break in frame: %.200s", frame)
	}
	var uids, tss int
	for _, m := range topLevel(t, frame) {
		switch m.name {
		case "uid":
			uids++
			if err := json.Unmarshal(m.raw, &uid); err != nil || uid == "" {
				t.Fatalf("uid %s is not a non-empty string", m.raw)
			}
		case "ts":
			tss++
			s := string(m.raw)
			if len(s) > 2 && s[0] == '"' {
				s = s[1 : len(s)-1]
				if strings.Trim(s, "0123456789") != "" {
					t.Fatalf("ts %s is not a string of digits", m.raw)
				}
			}
			var err error
			if ts, err = strconv.ParseInt(s, 10, 64); err != nil {
				t.Fatalf("ts %s: %v", m.raw, err)
			}
		}
	}
	if uids != 1 || tss != 1 {
		t.Fatalf("%d top-level uid and %d ts, want 1 each: %.300s", uids, tss, frame)
	}
	return uid, ts
}

// event is the truth Next reports about a frame.
type event struct {
	uid         string
	user        int
	ts, arrival int64
	elapsed     time.Duration
}

func generate(t testing.TB, cfg Config) ([][]byte, []event) {
	t.Helper()
	g := New(cfg)
	var frames [][]byte
	var events []event
	for {
		f, uid, ts, arrival, ok := g.Next(nil)
		if !ok {
			break
		}
		frames = append(frames, f)
		events = append(events, event{uid, g.User(), ts, arrival, g.Elapsed()})
	}
	return frames, events
}

// truth is generate without keeping the frames.
func truth(t testing.TB, cfg Config) []event {
	t.Helper()
	g := New(cfg)
	buf := make([]byte, 0, 64<<10)
	var events []event
	for {
		var uid string
		var ts, arrival int64
		var ok bool
		buf, uid, ts, arrival, ok = g.Next(buf[:0])
		if !ok {
			return events
		}
		events = append(events, event{uid, g.User(), ts, arrival, g.Elapsed()})
	}
}

func writeAll(t *testing.T, cfg Config) []byte {
	t.Helper()
	var b bytes.Buffer
	n, err := WriteTo(context.Background(), &b, cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := New(cfg).Config().Count; n != int64(want) {
		t.Fatalf("WriteTo wrote %d frames, want %d", n, want)
	}
	return b.Bytes()
}

func TestDeterminism(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"default", Config{Count: 300}},
		{"late", Config{Count: 300, Delay: 30 * time.Second, Seed: 7}},
		{"everything", Config{Count: 300, Rate: 3, Users: 10, Delay: time.Minute, DelayProb: .5, BitFlipProb: .1, TSStringProb: .3, TrapKeyProb: .5, FrameSize: 700, CRLF: true, Seed: 1 << 60}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := writeAll(t, tt.cfg), writeAll(t, tt.cfg)
			if !bytes.Equal(a, b) {
				t.Fatal("same config, different bytes")
			}
			other := tt.cfg
			other.Seed++
			if bytes.Equal(a, writeAll(t, other)) {
				t.Fatal("different seed, same bytes")
			}
			// Next and WriteTo produce the same frames.
			frames, _ := generate(t, tt.cfg)
			eol := "\n"
			if tt.cfg.CRLF {
				eol = "\r\n"
			}
			if got := string(a); got != string(bytes.Join(frames, []byte(eol)))+eol {
				t.Fatal("WriteTo and Next differ")
			}
		})
	}
}

// TestGolden pins the bytes: the reference data set is "gen --count 1000000"
// and must stay reproducible. Change the hash only on purpose.
func TestGolden(t *testing.T) {
	sum := sha256.Sum256(writeAll(t, Config{Count: 200, Seed: 42, Delay: 30 * time.Second, BitFlipProb: 0.01}))
	const want = "f2f771e85822f7c9cdbd965aea7581f25c8c4c67f4c375bd8607e2e7cadcdfdc"
	if got := hex.EncodeToString(sum[:]); got != want {
		t.Errorf("sha256 = %s, want %s: the generated bytes changed", got, want)
	}
}

// TestTruthIndependent checks that the shape options do not move the users,
// and the ts options do not move the users or the schedule.
func TestTruthIndependent(t *testing.T) {
	base := Config{Count: 500, Users: 1000, Rate: 20, Seed: 3}
	want := truth(t, base)
	for _, cfg := range []Config{
		{Count: 500, Users: 1000, Rate: 20, Seed: 3, FrameSize: 300, TrapKeyProb: 1},
		{Count: 500, Users: 1000, Rate: 20, Seed: 3, Delay: 10 * time.Second, BitFlipProb: .5, TSStringProb: 1},
	} {
		got := truth(t, cfg)
		for i := range want {
			if got[i].uid != want[i].uid || got[i].arrival != want[i].arrival || got[i].elapsed != want[i].elapsed {
				t.Fatalf("%+v: frame %d is %+v, want %+v", cfg, i, got[i], want[i])
			}
		}
	}
}

func TestFrames(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"samples", sampleLike},
		{"default", Config{Count: 2000, Seed: 1}},
		{"small frames", Config{Count: 2000, FrameSize: 100, Seed: 2}},
		{"tiny frames", Config{Count: 500, FrameSize: 1, Seed: 2}},
		{"big frames", Config{Count: 100, FrameSize: 64 << 10, Seed: 3}},
		{"all options", Config{Count: 2000, Users: 5, Delay: time.Hour, DelayProb: 1, BitFlipProb: .3, TSStringProb: .5, TrapKeyProb: 1, Seed: 4}},
		{"users beyond table", Config{Count: 200, Users: uidTableMax + 5, Seed: 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frames, events := generate(t, tt.cfg)
			users := New(tt.cfg).Config().Users
			for i, f := range frames {
				uid, ts := checkFrame(t, f)
				if uid != events[i].uid || ts != events[i].ts {
					t.Fatalf("frame %d carries %q %d, Next reported %q %d", i, uid, ts, events[i].uid, events[i].ts)
				}
				if len(uid) != UIDLen || strings.Trim(uid, "0123456789abcdef") != "" {
					t.Fatalf("uid %q is not %d hex digits", uid, UIDLen)
				}
				if u := events[i].user; u < 0 || u >= users || UID(u) != uid {
					t.Fatalf("frame %d: user %d of %d, uid %q", i, u, users, uid)
				}
			}
		})
	}
}

func TestNextEnds(t *testing.T) {
	g := New(Config{Count: 3})
	for i := range 3 {
		if _, _, _, _, ok := g.Next(nil); !ok {
			t.Fatalf("frame %d missing", i)
		}
	}
	if f, _, _, _, ok := g.Next([]byte("x")); ok || string(f) != "x" {
		t.Fatalf("Next after Count: ok=%v frame=%q", ok, f)
	}
	g = New(Config{Count: -1, Rate: 1e6})
	for i := range 5000 {
		if _, _, _, _, ok := g.Next(nil); !ok {
			t.Fatalf("endless generator ended at %d", i)
		}
	}
}

func TestUsers(t *testing.T) {
	seen := map[string]int{}
	for i := range 200000 {
		u := UID(i)
		if j, dup := seen[u]; dup {
			t.Fatalf("UID(%d) == UID(%d) == %q", i, j, u)
		}
		seen[u] = i
	}
	if UID(7) != string(AppendUID([]byte{}, 7)) {
		t.Fatal("UID and AppendUID differ")
	}

	// Uniform over the population, and User() points at the uid.
	const users, n = 50, 50000
	g := New(Config{Count: n, Users: users, Seed: 9})
	count := make([]int, users)
	for {
		_, uid, _, _, ok := g.Next(nil)
		if !ok {
			break
		}
		if UID(g.User()) != uid {
			t.Fatalf("User() = %d, but uid %q", g.User(), uid)
		}
		count[g.User()]++
	}
	for i, c := range count {
		if math.Abs(float64(c)-n/users) > 6*math.Sqrt(n/users) {
			t.Errorf("user %d has %d frames, want ~%d", i, c, n/users)
		}
	}
}

// shapeStats are figures that tell a stream's shape apart: mean frame size,
// mean nesting depth, the share of frames whose uid comes before their ts,
// nested uid/ts decoys and backslashes per frame, and the share of non-ASCII
// bytes.
type shapeStats struct {
	meanSize, depth, uidFirst, decoys, backslashes, nonASCII float64
}

func measure(t *testing.T, frames [][]byte) shapeStats {
	t.Helper()
	var s shapeStats
	var total, nonASCII int
	for _, f := range frames {
		total += len(f)
		for _, c := range f {
			if c >= 0x80 {
				nonASCII++
			}
		}
		s.backslashes += float64(bytes.Count(f, []byte{'\\'}))
		for _, m := range topLevel(t, f) {
			if m.name == "uid" {
				s.uidFirst++
				break
			}
			if m.name == "ts" {
				break
			}
		}
		// Decoded into a map on purpose: a repeated key is seen once, with its
		// last value, as a JSON library's user would see it.
		var v any
		if err := json.Unmarshal(f, &v); err != nil {
			t.Fatal(err)
		}
		maxDepth, decoys := walk(v, 0)
		s.depth += float64(maxDepth)
		s.decoys += float64(decoys)
	}
	n := float64(len(frames))
	s.meanSize = float64(total) / n
	s.nonASCII = float64(nonASCII) / float64(total)
	s.uidFirst /= n
	s.depth /= n
	s.decoys /= n
	s.backslashes /= n
	return s
}

func walk(v any, depth int) (maxDepth, decoys int) {
	maxDepth = depth
	visit := func(x any) {
		d, n := walk(x, depth+1)
		maxDepth = max(maxDepth, d)
		decoys += n
	}
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if depth > 0 && (k == "uid" || k == "ts") {
				decoys++
			}
			visit(x)
		}
	case []any:
		for _, x := range v {
			visit(x)
		}
	}
	return maxDepth, decoys
}

func TestShape(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"samples", sampleLike},
		{"seed 1", Config{Count: 2000, Seed: 1}},
		{"seed 2", Config{Count: 2000, Seed: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frames, _ := generate(t, tt.cfg)
			s := measure(t, frames)
			t.Logf("%+v", s)
			within := func(what string, got, lo, hi float64) {
				if got < lo || got > hi {
					t.Errorf("%s = %.3f, want within [%.3f, %.3f]", what, got, lo, hi)
				}
			}
			within("mean size", s.meanSize, DefaultFrameSize*.95, DefaultFrameSize*1.05)
			within("decoys per frame", s.decoys, .5, 1.1)
			within("backslashes per frame", s.backslashes, 120, 200)
			within("non-ASCII share", s.nonASCII, .04, .08)
			within("uid before ts", s.uidFirst, .4, .6)
			within("max depth mean", s.depth, 2.2, 3)
		})
	}
}

func TestFrameSize(t *testing.T) {
	for _, size := range []int{256, 512, 1024, 2080, 4096, 16384} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			n := max(200, 4_000_000/size)
			frames, _ := generate(t, Config{Count: n, FrameSize: size, Seed: uint64(size)})
			var total int
			for _, f := range frames {
				total += len(f)
			}
			if mean := float64(total) / float64(n); math.Abs(mean/float64(size)-1) > .05 {
				t.Errorf("mean frame size %.0f, want %d ± 5%%", mean, size)
			}
		})
	}
}

// TestSamples compares the generator with the reference samples.
func TestSamples(t *testing.T) {
	read := func(t *testing.T, name string) [][]byte {
		t.Helper()
		f, err := os.Open(filepath.Join(sampleDir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		z, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		var frames [][]byte
		sc := bufio.NewScanner(z)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			frames = append(frames, bytes.Clone(sc.Bytes()))
		}
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
		return frames
	}
	for _, tt := range []struct {
		sample string
		cfg    Config
	}{
		{"sample-ordered.jsonl.gz", sampleLike},
		{"sample-late.jsonl.gz", Config{Count: 2000, Users: 300, Rate: 11, Delay: 30 * time.Second}},
	} {
		t.Run(tt.sample, func(t *testing.T) {
			ref := read(t, tt.sample)
			for _, f := range ref {
				checkFrame(t, f) // the samples obey the rules the tests check
			}
			frames, events := generate(t, tt.cfg)
			want, got := measure(t, ref), measure(t, frames)
			t.Logf("sample    %+v", want)
			t.Logf("generated %+v", got)
			near := func(what string, got, want, tol float64) {
				if math.Abs(got-want) > tol {
					t.Errorf("%s = %.3f, sample %.3f (tolerance %.3f)", what, got, want, tol)
				}
			}
			near("mean size", got.meanSize, want.meanSize, want.meanSize*.01)
			near("max depth mean", got.depth, want.depth, .25)
			near("uid before ts", got.uidFirst, want.uidFirst, .06)
			near("decoys per frame", got.decoys, want.decoys, .12)
			near("backslashes per frame", got.backslashes, want.backslashes, want.backslashes*.08)
			near("non-ASCII share", got.nonASCII, want.nonASCII, .006)
			near("older than max ts so far", outOfOrder(tss(t, frames)), outOfOrder(tss(t, ref)), .03)
			users := map[string]bool{}
			for _, e := range events {
				users[e.uid] = true
			}
			near("distinct users", float64(len(users)), 300, 3)
		})
	}
}

func tss(t *testing.T, frames [][]byte) []int64 {
	var ts []int64
	for _, f := range frames {
		_, x := checkFrame(t, f)
		ts = append(ts, x)
	}
	return ts
}

// outOfOrder is the share of timestamps below the largest one before them.
func outOfOrder(ts []int64) float64 {
	var late int
	maxTS := int64(math.MinInt64)
	for _, x := range ts {
		if x < maxTS {
			late++
		}
		maxTS = max(maxTS, x)
	}
	return float64(late) / float64(len(ts))
}

func TestDelay(t *testing.T) {
	tests := []struct {
		name     string
		cfg      Config
		wantProb float64
		maxLate  int64
	}{
		{"none", Config{Count: 20000, Rate: 50}, 0, 0},
		{"like sample-late", Config{Count: 20000, Rate: 50, Delay: 30 * time.Second, DelayProb: .2}, .2, 30},
		{"default prob", Config{Count: 20000, Rate: 50, Delay: 5 * time.Second}, DefaultDelayProb, 5},
		{"prob off", Config{Count: 20000, Rate: 50, Delay: 5 * time.Second, DelayProb: -1}, 0, 0},
		{"sub-second rounds up", Config{Count: 20000, Rate: 50, Delay: 300 * time.Millisecond, DelayProb: .5}, .5, 1},
		{"everything late", Config{Count: 20000, Rate: 50, Delay: 90 * time.Second, DelayProb: 1}, 1, 90},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events := truth(t, tt.cfg)
			var delayed int
			hist := map[int64]int{}
			for i, e := range events {
				late := e.arrival - e.ts
				if late < 0 || late > tt.maxLate {
					t.Fatalf("frame %d: ts %d, arrival %d: late by %ds, want 0..%d", i, e.ts, e.arrival, late, tt.maxLate)
				}
				if late > 0 {
					delayed++
					hist[late]++
				}
			}
			if got := float64(delayed) / float64(len(events)); math.Abs(got-tt.wantProb) > .015 {
				t.Errorf("%.3f of frames delayed, want %.3f", got, tt.wantProb)
			}
			// Delays are uniform over 1..maxLate seconds.
			for s := int64(1); s <= tt.maxLate; s++ {
				want := float64(delayed) / float64(tt.maxLate)
				if got := float64(hist[s]); math.Abs(got-want) > 5*math.Sqrt(want) {
					t.Errorf("%d frames delayed by %ds, want ~%.0f", hist[s], s, want)
				}
			}
		})
	}
}

func TestBitFlip(t *testing.T) {
	const n = 20000
	events := truth(t, Config{Count: n, BitFlipProb: .05, Seed: 11})
	var flipped, negative int
	for _, e := range events {
		d := e.ts - e.arrival
		switch {
		case d == 0:
		case d >= 1<<31 || d <= -(1<<31):
			flipped++
			if e.ts < 0 {
				negative++
			}
		default:
			t.Fatalf("ts %d is %ds from arrival: neither exact nor a high bit", e.ts, d)
		}
	}
	if got := float64(flipped) / n; math.Abs(got-.05) > .008 {
		t.Errorf("%.3f of frames flipped, want .05", got)
	}
	if negative == 0 {
		t.Error("no flip of the sign bit")
	}
}

var tsDigits = regexp.MustCompile(`"ts":"[0-9]+"`)

func TestTSString(t *testing.T) {
	tests := []struct {
		cfg  Config
		want float64
	}{
		{Config{Count: 30000}, DefaultTSStringProb},
		{Config{Count: 20000, TSStringProb: -1}, 0},
		{Config{Count: 20000, TSStringProb: .5}, .5},
		{Config{Count: 20000, TSStringProb: 1}, 1},
	}
	for _, tt := range tests {
		g := New(tt.cfg)
		var strs, n int
		for f, _, _, _, ok := g.Next(nil); ok; f, _, _, _, ok = g.Next(f[:0]) {
			n++
			// No string of the corpus is all digits: only the real ts matches.
			if tsDigits.Match(f) {
				strs++
			}
		}
		if got := float64(strs) / float64(n); math.Abs(got-tt.want) > 3*math.Sqrt(tt.want*(1-tt.want)/float64(n))+1e-9 {
			t.Errorf("TSStringProb %v: %.4f of ts are strings, want %.4f", tt.cfg.TSStringProb, got, tt.want)
		}
	}
}

func TestTrapKeys(t *testing.T) {
	for _, k := range trapKeys {
		var m map[string]int
		if err := json.Unmarshal([]byte("{"+k+"1}"), &m); err != nil {
			t.Fatalf("trap key %s: %v", k, err)
		}
		for name := range m {
			if name == "uid" || name == "ts" {
				t.Errorf("trap key %s decodes to %q", k, name)
			}
		}
	}
	frames, _ := generate(t, Config{Count: 1000, TrapKeyProb: 1})
	var traps int
	for _, f := range frames {
		checkFrame(t, f)
		for _, k := range trapKeys {
			if bytes.Contains(f, []byte(k)) {
				traps++
				break
			}
		}
	}
	if traps < 950 {
		t.Errorf("%d of 1000 frames have a trap key with TrapKeyProb 1", traps)
	}
}

func TestEscapes(t *testing.T) {
	frames, _ := generate(t, Config{Count: 2000})
	all := bytes.Join(frames, nil)
	for _, esc := range []string{`\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t`, `\u04`, `\ud83d\udc7f`} {
		if !bytes.Contains(all, []byte(esc)) {
			t.Errorf("no %s in 2000 frames", esc)
		}
	}
}

func TestRate(t *testing.T) {
	for _, rate := range []float64{0.3, 1, 11, 1000} {
		t.Run(strconv.FormatFloat(rate, 'g', -1, 64), func(t *testing.T) {
			// Seconds are bursty (sd ~ mean), so measure over 2000 of them,
			// with tiny frames: the schedule does not depend on their shape.
			n := int(2000 * rate)
			g := New(Config{Count: n, Rate: rate, FrameSize: 1, Seed: 5})
			buf := make([]byte, 0, 1024)
			var first, last int64
			var prev time.Duration
			for i := 0; ; i++ {
				var arrival int64
				var ok bool
				buf, _, _, arrival, ok = g.Next(buf[:0])
				if !ok {
					break
				}
				if i == 0 {
					first = arrival
					if arrival != DefaultStart || g.Elapsed() != 0 {
						t.Fatalf("first frame arrives at %d+%v, want %d+0", arrival, g.Elapsed(), DefaultStart)
					}
				}
				if g.Elapsed() < prev || arrival != DefaultStart+int64(g.Elapsed()/time.Second) {
					t.Fatalf("frame %d: arrival %d, elapsed %v after %v", i, arrival, g.Elapsed(), prev)
				}
				prev, last = g.Elapsed(), arrival
			}
			if got := float64(n) / float64(last-first+1); math.Abs(got/rate-1) > .1 {
				t.Errorf("%.2f frames per second, want %v", got, rate)
			}
		})
	}
}

func TestCRLF(t *testing.T) {
	for _, crlf := range []bool{false, true} {
		out := writeAll(t, Config{Count: 500, CRLF: crlf})
		lines := bytes.Count(out, []byte("\n"))
		crlfs := bytes.Count(out, []byte("\r\n"))
		if want := map[bool]int{false: 0, true: 500}[crlf]; lines != 500 || crlfs != want {
			t.Errorf("CRLF %v: %d lines, %d ending in \\r\\n", crlf, lines, crlfs)
		}
		if !bytes.HasSuffix(out, []byte("}\n")) && !bytes.HasSuffix(out, []byte("}\r\n")) {
			t.Errorf("CRLF %v: output does not end with a line end", crlf)
		}
	}
}

// flushRecorder records when each Write and Flush happens.
type flushRecorder struct {
	pw      *io.PipeWriter
	flushes int
}

func (f *flushRecorder) Write(p []byte) (int, error) { return f.pw.Write(p) }
func (f *flushRecorder) Flush() error                { f.flushes++; return nil }

// TestWriteToLive: live output is the fast output, paced: no frame is
// written before its arrival time (a lower bound per line, which a loaded
// machine cannot break), and the writer is flushed.
func TestWriteToLive(t *testing.T) {
	cfg := Config{Rate: 40, Seed: 1}
	// Enough frames to span ~0.4 s of event time; due[i] is frame i's
	// arrival after the first.
	g := New(Config{Rate: 40, Seed: 1, Count: -1})
	var due []time.Duration
	for g.Elapsed() < 400*time.Millisecond {
		g.Next(nil)
		due = append(due, g.Elapsed())
		cfg.Count++
	}

	pr, pw := io.Pipe()
	rec := &flushRecorder{pw: pw}
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		_, err := WriteTo(context.Background(), rec, cfg, true)
		pw.CloseWithError(err)
		done <- err
	}()
	br := bufio.NewReader(pr)
	var got bytes.Buffer
	for i := 0; ; i++ {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			if took := time.Since(start); i < len(due) && took < due[i] {
				t.Errorf("frame %d read after %v, before its arrival at %v", i, took, due[i])
			}
		}
		got.Write(line)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), writeAll(t, cfg)) {
		t.Error("live output differs from the fast output")
	}
	if rec.flushes == 0 {
		t.Error("live WriteTo never flushed")
	}
}

// TestWriteToLiveFirstAtOnce: the first frame is written and flushed at
// once, before the writer waits for the next one. The next frame is due
// minutes later (Rate 1/3600), so the first line can only be read if it
// was not held back for it; the test then cancels the wait.
func TestWriteToLiveFirstAtOnce(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"sparse", Config{Count: 2, Rate: 1.0 / 3600, Seed: 1}},
		{"sparse crlf", Config{Count: 2, Rate: 1.0 / 3600, Seed: 2, CRLF: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := New(tc.cfg)
			g.Next(nil)
			g.Next(nil)
			if g.Elapsed() < 2*time.Minute { // twice the test's hang guard below
				t.Fatalf("the second frame arrives after %v; the test needs a long wait", g.Elapsed())
			}
			first, _, _ := bytes.Cut(writeAll(t, tc.cfg), []byte("\n"))
			first = append(first, '\n')

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			pr, pw := io.Pipe()
			rec := &flushRecorder{pw: pw}
			done := make(chan error, 1)
			go func() {
				_, err := WriteTo(ctx, rec, tc.cfg, true)
				pw.CloseWithError(err)
				done <- err
			}()
			lines := make(chan []byte, 1)
			go func() {
				line, _ := bufio.NewReader(pr).ReadBytes('\n')
				lines <- line
			}()
			select {
			case line := <-lines:
				if !bytes.Equal(line, first) {
					t.Errorf("first line %q, want %q", line, first)
				}
			case <-time.After(time.Minute): // only a writer waiting for the second frame gets here
				t.Fatal("the first frame was not written before the wait for the second")
			}
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v, want the context's", err)
			}
			if rec.flushes == 0 {
				t.Error("the first frame was written but not flushed")
			}
		})
	}
}

func TestWriteToCancel(t *testing.T) {
	for _, live := range []bool{false, true} {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		start := time.Now()
		n, err := WriteTo(ctx, io.Discard, Config{Count: -1, Rate: 1}, live)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("live %v: err = %v after %d frames, want the context's", live, err, n)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("live %v: stopped %v after the context", live, d)
		}
	}
}

type failWriter struct{ after int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.after <= 0 {
		return 0, io.ErrClosedPipe
	}
	w.after--
	return len(p), nil
}

func TestWriteToError(t *testing.T) {
	n, err := WriteTo(context.Background(), &failWriter{after: 1}, Config{Count: 5000}, false)
	if !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("err = %v", err)
	}
	if n <= 0 || n >= 5000 {
		t.Errorf("%d frames reported written before the error", n)
	}
}

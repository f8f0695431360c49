package eventtime

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/cockroachdb/datadriven"

	"github.com/headcount/headcount/internal/frame"
	"github.com/headcount/headcount/internal/result"
	"github.com/headcount/headcount/internal/sketch"
	"github.com/headcount/headcount/internal/watermark"
	"github.com/headcount/headcount/internal/window"
)

// TestScripts runs the semantic test scripts in testdata/scripts through
// the core: frames in, results out. Each case is
//
//	run [windows=minute,hour] [tz=UTC] [lateness=5s] [count=exact] [early]
//	    [keep=1h] [correct-every=10s] [max-jump=1h] [max-future=1h] [min-ts=0]
//	    [confirm=3] [refute=1000]
//	<input, one line each: "uid ts" shorthand or a raw frame, of partition
//	 0 or, prefixed "@N ", of partition N; "revoke N" revokes partition N>
//	----
//	<results, then rejected frames by reason>
//
// Frames are parsed by frame.Parser as the pipeline does. With "early",
// provisional results are produced after every input line (as if the
// --early ticker fired between frames). Run with -rewrite to update the
// expected output after a deliberate change.
func TestScripts(t *testing.T) {
	datadriven.Walk(t, "testdata/scripts", func(t *testing.T, path string) {
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			if d.Cmd != "run" {
				t.Fatalf("unknown command %q", d.Cmd)
			}
			return runScript(t, d)
		})
	})
}

// parseInto returns a setter of a script argument: it parses the value
// and stores it in dst.
func parseInto[T any](dst *T, parse func(string) (T, error)) func(string) error {
	return func(v string) (err error) {
		*dst, err = parse(v)
		return err
	}
}

func runScript(t *testing.T, d *datadriven.TestData) string {
	win := window.Config{}
	wm := watermark.Config{Lateness: 5 * time.Second}
	early := false
	// Each argument and where its value goes.
	args := map[string]func(v string) error{
		"windows":       parseInto(&win.Kinds, window.ParseKinds),
		"tz":            parseInto(&win.Loc, window.ParseZone),
		"lateness":      parseInto(&wm.Lateness, time.ParseDuration),
		"count":         parseInto(&win.Counter.Mode, sketch.ParseMode),
		"early":         func(string) error { early = true; return nil },
		"keep":          parseInto(&win.Keep, time.ParseDuration),
		"correct-every": parseInto(&win.CorrectEvery, time.ParseDuration),
		"max-jump":      parseInto(&wm.MaxJump, time.ParseDuration),
		"max-future":    parseInto(&wm.MaxFuture, time.ParseDuration),
		"min-ts":        parseInto(&wm.MinTS, func(v string) (int64, error) { return strconv.ParseInt(v, 10, 64) }),
		"confirm":       parseInto(&wm.Confirm, strconv.Atoi),
		"refute":        parseInto(&wm.Refute, strconv.Atoi),
	}
	for _, a := range d.CmdArgs {
		set, ok := args[a.Key]
		if !ok {
			t.Fatalf("%s: unknown argument %q", d.Pos, a.Key)
		}
		if err := set(strings.Join(a.Vals, ",")); err != nil {
			t.Fatalf("%s: %s: %v", d.Pos, a.Key, err)
		}
	}
	c := New(win, wm)
	var rs []result.Result
	var rejected [frame.NumReasons]int
	take := func() {
		rs = append(rs, c.Results()...)
		for _, r := range c.Rejects() {
			rejected[r.Reason]++
		}
		c.Clear()
	}
	var p frame.Parser
	for i, l := range strings.Split(d.Input, "\n") {
		if strings.TrimSpace(l) == "" {
			continue
		}
		c.Tick(time.Now())
		part := int32(0)
		if n, ok := strings.CutPrefix(l, "revoke "); ok {
			id, err := strconv.Atoi(n)
			if err != nil {
				t.Fatalf("%s: %q: %v", d.Pos, l, err)
			}
			c.Revoke(int32(id))
			take()
			continue
		}
		if rest, ok := strings.CutPrefix(l, "@"); ok {
			id, frameText, _ := strings.Cut(rest, " ")
			n, err := strconv.Atoi(id)
			if err != nil {
				t.Fatalf("%s: %q: %v", d.Pos, l, err)
			}
			part, l = int32(n), frameText
		}
		f := []byte(expand(l))
		uid, ts, r := p.Parse(f)
		if r != frame.OK {
			rejected[r]++
			continue
		}
		c.Offer(part, Frame{TS: ts, Hash: xxhash.Sum64(uid), Offset: int64(i), Bytes: f})
		if early {
			c.Early()
		}
		take()
	}
	c.Finish()
	take()
	var out strings.Builder
	for _, r := range rs {
		state := "final"
		if !r.Final {
			state = "early"
		}
		fmt.Fprintf(&out, "%s %s..%s users=%d frames=%d %s rev=%d", r.Window,
			r.Start.Format(time.RFC3339), r.End.Format(time.RFC3339), r.Users, r.Frames, state, r.Rev)
		if !r.Exact {
			fmt.Fprintf(&out, " rse=%.4f", r.RSE)
		}
		out.WriteByte('\n')
	}
	for r := frame.Reason(1); r < frame.NumReasons; r++ {
		if n := rejected[r]; n > 0 {
			fmt.Fprintf(&out, "rejected %s: %d\n", r, n)
		}
	}
	return out.String()
}

// expand turns the shorthand "uid ts" into a frame; other lines are raw.
func expand(l string) string {
	f := strings.Fields(l)
	if len(f) == 2 && !strings.ContainsAny(l, "{}[]\"") {
		if _, err := strconv.ParseInt(f[1], 10, 64); err == nil {
			return fmt.Sprintf(`{"uid":%q,"ts":%s}`, f[0], f[1])
		}
	}
	return l
}

package pipeline

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"

	"github.com/headcount/headcount/internal/frame"
	"github.com/headcount/headcount/internal/sketch"
	"github.com/headcount/headcount/internal/source"
	"github.com/headcount/headcount/internal/watermark"
	"github.com/headcount/headcount/internal/window"
)

// TestScripts runs the semantic test scripts in testdata/scripts: frames in,
// results out. Each case is
//
//	run [windows=minute,hour] [tz=UTC] [lateness=5s] [count=exact] [early]
//	    [keep=1h] [max-jump=1h] [max-future=1h] [min-ts=0] [confirm=3] [refute=1000]
//	<frames, one per line: "uid ts" shorthand, or a raw frame>
//	----
//	<results, then rejected frames by reason>
//
// With "early", provisional results are produced after every input line
// (as if the --early ticker fired between frames). Run with -rewrite to
// update the expected output after a deliberate change.
func TestScripts(t *testing.T) {
	datadriven.Walk(t, "testdata/scripts", func(t *testing.T, path string) {
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			switch d.Cmd {
			case "run":
				return runScript(t, d)
			}
			t.Fatalf("unknown command %q", d.Cmd)
			return ""
		})
	})
}

func runScript(t *testing.T, d *datadriven.TestData) string {
	cfg := Config{Workers: 1, Watermark: watermark.Config{Lateness: 5 * time.Second}}
	early := false
	for _, a := range d.CmdArgs {
		v := strings.Join(a.Vals, ",")
		var err error
		switch a.Key {
		case "windows":
			cfg.Window.Kinds, err = window.ParseKinds(v)
		case "tz":
			cfg.Window.Loc, err = time.LoadLocation(v)
		case "lateness":
			cfg.Watermark.Lateness, err = time.ParseDuration(v)
		case "count":
			cfg.Window.Counter.Mode, err = sketch.ParseMode(v)
		case "early":
			early = true
		case "keep":
			cfg.Window.Keep, err = time.ParseDuration(v)
		case "max-jump":
			cfg.Watermark.MaxJump, err = time.ParseDuration(v)
		case "max-future":
			cfg.Watermark.MaxFuture, err = time.ParseDuration(v)
		case "min-ts":
			cfg.Watermark.MinTS, err = strconv.ParseInt(v, 10, 64)
		case "confirm":
			cfg.Watermark.Confirm, err = strconv.Atoi(v)
		case "refute":
			cfg.Watermark.Refute, err = strconv.Atoi(v)
		default:
			t.Fatalf("%s: unknown argument %q", d.Pos, a.Key)
		}
		if err != nil {
			t.Fatalf("%s: %s: %v", d.Pos, a.Key, err)
		}
	}
	var lines []string
	for _, l := range strings.Split(d.Input, "\n") {
		if strings.TrimSpace(l) == "" {
			continue
		}
		lines = append(lines, expand(l))
	}
	var c collect
	var st Stats
	if early {
		// One batch per frame, with provisional results after each.
		a := newApplier(cfg)
		var p frame.Parser
		for i, l := range lines {
			j := &job{b: &source.Batch{Frames: [][]byte{[]byte(l)}, Offset: int64(i)}}
			parse(&p, j)
			if err := a.apply(j); err != nil {
				t.Fatal(err)
			}
			a.out = a.eng.Early(a.out)
			if err := a.flush(context.Background(), &c); err != nil {
				t.Fatal(err)
			}
		}
		if err := a.finish(); err != nil {
			t.Fatal(err)
		}
		a.flush(context.Background(), &c)
		st = a.stats
	} else {
		src := source.NewLines(strings.NewReader(strings.Join(lines, "\n")))
		var err error
		if st, err = Run(context.Background(), src, &c, cfg); err != nil {
			return "error: " + err.Error()
		}
	}
	var out strings.Builder
	for _, r := range c.rs {
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
		if n := st.Rejected[r]; n > 0 {
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

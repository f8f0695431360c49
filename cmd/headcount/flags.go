package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/headcount/headcount/internal/cli"
	"github.com/headcount/headcount/internal/pipeline"
	"github.com/headcount/headcount/internal/sketch"
	"github.com/headcount/headcount/internal/window"
)

// parseArgs parses args into fs (the command line, then HEADCOUNT_*
// variables) and refuses positional arguments. With ok false the command
// exits with code: 0 after --help, 2 after an error, which is printed once
// (the flag set prints its own errors with the usage).
func parseArgs(fs *flag.FlagSet, args []string) (code int, ok bool) {
	if err := cli.Parse(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		var envErr *cli.EnvError
		if errors.As(err, &envErr) {
			fmt.Fprintf(os.Stderr, "headcount %s: %v\n", fs.Name(), err)
		}
		return 2, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "headcount %s: unexpected argument %q (inputs are flags, such as --in FILE)\n", fs.Name(), fs.Arg(0))
		return 2, false
	}
	return 0, true
}

// withUsage makes fs print text, then its flags, for --help.
func withUsage(fs *flag.FlagSet, text string) *flag.FlagSet {
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), text)
		fs.PrintDefaults()
	}
	return fs
}

// parsed is a flag whose text a package parses into the Config field p
// (the rules live with the package, not here).
type parsed[T any] struct {
	p     *T
	text  string
	parse func(string) (T, error)
}

func (v *parsed[T]) String() string { return v.text }

func (v *parsed[T]) Set(s string) error {
	x, err := v.parse(s)
	if err != nil {
		return err
	}
	*v.p, v.text = x, s
	return nil
}

// parsedVar defines flag name over *p, shown with default text def (*p
// already holds the default).
func parsedVar[T any](fs *flag.FlagSet, p *T, name, def, usage string, parse func(string) (T, error)) {
	fs.Var(&parsed[T]{p: p, text: def, parse: parse}, name, usage)
}

// addConfigFlags binds the counting flags of run and bench to cfg, whose
// values are the defaults shown.
func addConfigFlags(fs *flag.FlagSet, cfg *pipeline.Config) {
	w, m := &cfg.Window, &cfg.Watermark
	parsedVar(fs, &w.Kinds, "windows", "minute", "window kinds, comma-separated: minute,hour,day,week,month,year", window.ParseKinds)
	parsedVar(fs, &w.Loc, "tz", "UTC", "IANA time zone of the window calendar (day and longer follow its DST)", window.ParseZone)
	parsedVar(fs, &w.Counter.Mode, "count", "exact", "counting mode: exact (set of 64-bit hashes), hll (HyperLogLog) or auto (exact until --memory-budget, then hll)", sketch.ParseMode)
	parsedVar(fs, &w.Counter.Precision, "precision", strconv.Itoa(sketch.DefaultPrecision), "HyperLogLog precision p (2^p registers; relative standard error 1.04/sqrt(2^p))", sketch.ParsePrecision)
	fs.IntVar(&w.Counter.Budget, "memory-budget", w.Counter.Budget, "auto mode: bytes one window's exact set may use before it becomes a sketch")
	fs.DurationVar(&m.Lateness, "lateness", m.Lateness, "allowed lateness: a window closes when the largest ts seen minus this passes its end")
	fs.DurationVar(&m.Idle, "idle", m.Idle, "a partition without frames for this long (wall clock) stops holding the watermark back; when all are idle and the data is live, the watermark follows the wall clock (0: never)")
	fs.DurationVar(&w.Keep, "keep", w.Keep, "how long (event time) a closed window is kept after its end: a late frame within it is counted and the window republished with rev+1; older frames are rejected as too-late")
	fs.DurationVar(&w.CorrectEvery, "correct-every", w.CorrectEvery, "coalesce corrections: a closed window that counted late frames is republished (rev+1) when the watermark crosses a multiple of this (event time), at most once per interval, and always before it is forgotten (--keep) or at the end; 0: at every move of the watermark")
	parsedVar(fs, &m.MinTS, "min-ts", time.Unix(m.MinTS, 0).UTC().Format(time.RFC3339), "frames with an earlier ts are rejected as bogus-ts (unix seconds or RFC 3339)", cli.ParseUnix)
	fs.DurationVar(&m.MaxFuture, "max-future", m.MaxFuture, "frames whose ts is further ahead of the wall clock are rejected as bogus-ts (0: no check, for synthetic future data)")
	fs.DurationVar(&m.MaxJump, "max-jump", m.MaxJump, "a frame this far ahead of its partition's largest ts is held until other frames confirm the new time, else rejected as bogus-ts (0: no guard)")
	fs.DurationVar(&cfg.Early, "early", cfg.Early, "interval of provisional results (final:false) for open windows that changed; 0 turns them off")
	fs.IntVar(&cfg.Workers, "workers", cfg.Workers, "parse goroutines (default: one per core)")
	fs.IntVar(&cfg.MaxFrame, "max-frame", cfg.MaxFrame, "longest accepted frame in bytes; longer ones are rejected as too-large")
	fs.BoolVar(&cfg.TrustProducer, "trust-producer", cfg.TrustProducer, "fast mode that trusts the producer: stop reading a frame once its top-level uid and ts are found; the rest of the frame is not validated (broken or duplicate-key frames after them count)")
}

// flagGroup is a heading of --help and the flags under it, in order.
type flagGroup struct {
	title string
	names []string
}

// withGroupedUsage makes fs print text, then its flags under the headings
// of groups (flags in none of them under "Other"), then examples.
func withGroupedUsage(fs *flag.FlagSet, text string, groups []flagGroup, examples string) *flag.FlagSet {
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprint(out, text)
		listed := map[string]bool{}
		for _, g := range groups {
			fmt.Fprintf(out, "\n%s:\n", g.title)
			for _, name := range g.names {
				if f := fs.Lookup(name); f != nil {
					printFlag(out, f)
					listed[name] = true
				}
			}
		}
		first := true
		fs.VisitAll(func(f *flag.Flag) {
			if listed[f.Name] {
				return
			}
			if first {
				fmt.Fprint(out, "\nOther:\n")
				first = false
			}
			printFlag(out, f)
		})
		if examples != "" {
			fmt.Fprintf(out, "\nExamples:\n%s", examples)
		}
	}
	return fs
}

// printFlag prints one flag as flag.PrintDefaults does.
func printFlag(out io.Writer, f *flag.Flag) {
	name, usage := flag.UnquoteUsage(f)
	line := "  --" + f.Name
	if name != "" {
		line += " " + name
	}
	usage = strings.ReplaceAll(usage, "\n", "\n    \t")
	fmt.Fprintf(out, "%s\n    \t%s", line, usage)
	if d := f.DefValue; d != "" && d != "0" && d != "false" && d != "0s" {
		if _, isString := f.Value.(interface{ IsBoolFlag() bool }); !isString && name == "string" {
			d = strconv.Quote(d)
		}
		fmt.Fprintf(out, " (default %s)", d)
	}
	fmt.Fprintln(out)
}

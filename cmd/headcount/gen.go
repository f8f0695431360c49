package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/headcount/headcount/internal/cli"
	"github.com/headcount/headcount/internal/gen"
	"github.com/headcount/headcount/internal/progress"
)

func init() { commands["gen"] = runGen }

const genUsage = `Usage: headcount gen [flags]

Generate deterministic traffic in the shape of the reference data set: one
~2 KB JSON object per line with a top-level uid and ts, nested decoy uid/ts
keys, duplicate keys, every JSON escape and UTF-8 text. The same flags give
the same bytes.

Examples:
  headcount gen --count 1000000 --out ref.jsonl.zst     # the reference set
  headcount gen --count 2000 --users 300 --rate 11 --delay 30s --out late.jsonl
  headcount gen --count -1 --live --start now | headcount run --in -

Every flag can also be set by its environment variable, HEADCOUNT_<FLAG>.

Flags:
`

func runGen(args []string) int {
	cfg, live, out, code, ok := parseGen(args)
	if !ok {
		return code
	}
	// A reader that goes away (head) must end us quietly: with SIGPIPE
	// caught, a write to the closed pipe fails with EPIPE instead of
	// killing the process.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	w, closeOut, err := openOut(out)
	if err != nil {
		fmt.Fprintf(os.Stderr, "headcount gen: %v\n", err)
		return 1
	}
	begin := time.Now()
	var frames int64
	if cfg.Count != 0 {
		frames, err = gen.WriteTo(ctx, w, cfg, live)
	}
	if cerr := closeOut(); err == nil {
		err = cerr
	}
	switch {
	case err == nil:
		if out != "-" {
			// A file: say what was made (stdout is someone's input).
			size := ""
			if st, serr := os.Stat(out); serr == nil {
				size = fmt.Sprintf(" (%.1f MB)", float64(st.Size())/1e6)
			}
			fmt.Fprintf(os.Stderr, "headcount gen: %s frames%s to %s in %.1fs\n", progress.Thousands(uint64(frames)), size, out, time.Since(begin).Seconds())
		}
		return 0
	case errors.Is(err, syscall.EPIPE):
		return 0
	case errors.Is(err, context.Canceled):
		return 130 // interrupted: the output holds whole frames and is properly closed
	}
	fmt.Fprintf(os.Stderr, "headcount gen: %v\n", err) // names the file
	return 1
}

// parseGen parses gen's flags into a generator Config; with ok false the
// command exits with code.
func parseGen(args []string) (cfg gen.Config, live bool, out string, code int, ok bool) {
	fs := withUsage(flag.NewFlagSet("gen", flag.ContinueOnError), genUsage)
	cfg = gen.DefaultConfig()
	start := strconv.Itoa(gen.DefaultStart)
	fs.IntVar(&cfg.Count, "count", cfg.Count, "number of frames to write; -1 writes until interrupted")
	fs.Float64Var(&cfg.Rate, "rate", cfg.Rate, "mean frames per second of event time; seconds are bursty (1 + geometric)")
	fs.IntVar(&cfg.Users, "users", cfg.Users, "number of distinct users the uids are drawn from, uniformly")
	fs.StringVar(&start, "start", start, `arrival time of the first frame: unix seconds, RFC 3339, or "now"`)
	fs.DurationVar(&cfg.Delay, "delay", 0, "maximum delay of a delayed frame: its ts is 1..ceil(delay) seconds before its arrival (default 0: no delays)")
	fs.Float64Var(&cfg.DelayProb, "delay-prob", cfg.DelayProb, "probability that a frame is delayed, when --delay is set")
	fs.Float64Var(&cfg.BitFlipProb, "bitflip-prob", 0, "probability that a frame's ts has one random bit of 31..63 flipped, a bogus far-future or far-past timestamp (default 0: none)")
	fs.Float64Var(&cfg.TSStringProb, "ts-string-prob", cfg.TSStringProb, `probability that ts is written as a string of digits ("1468244385")`)
	fs.Float64Var(&cfg.TrapKeyProb, "trap-key-prob", cfg.TrapKeyProb, `probability that a frame has a top-level key escaped to look like uid or ts but naming something else ("\u0055ID")`)
	fs.IntVar(&cfg.FrameSize, "frame-size", cfg.FrameSize, "target mean frame size in bytes, line end excluded")
	fs.BoolVar(&cfg.CRLF, "crlf", false, `end lines with \r\n instead of \n (default false)`)
	fs.Uint64Var(&cfg.Seed, "seed", 0, "random seed: the same flags and seed give the same bytes (default 0)")
	fs.BoolVar(&live, "live", false, "pace frames by their arrival times on the wall clock, the first at once, instead of writing as fast as possible (default false)")
	fs.StringVar(&out, "out", "-", `output: "-" for stdout, or a file; a name ending in .gz is gzip-compressed, .zst zstd-compressed`)
	if code, ok := parseArgs(fs, args); !ok {
		return cfg, false, "", code, false
	}
	var err error
	if cfg.Start, err = cli.ParseUnix(start); err != nil {
		err = fmt.Errorf("--start: %w", err)
	} else {
		err = cfg.Validate()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "headcount gen: %v\n", err)
		return cfg, false, "", 2, false
	}
	// In gen.Config a zero probability means "the default"; on the command
	// line it means none.
	for _, p := range []*float64{&cfg.DelayProb, &cfg.TSStringProb, &cfg.TrapKeyProb} {
		if *p == 0 {
			*p = -1
		}
	}
	return cfg, live, out, 0, true
}

// openOut opens the output named by path, compressing by its extension.
// close flushes and closes everything opened.
func openOut(path string) (w io.Writer, close func() error, err error) {
	if path == "-" {
		return os.Stdout, func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, err
	}
	var c io.WriteCloser
	switch {
	case strings.HasSuffix(path, ".gz"):
		c = gzip.NewWriter(f)
	case strings.HasSuffix(path, ".zst"):
		c, err = zstd.NewWriter(f)
		if err != nil {
			f.Close()
			return nil, nil, err
		}
	default:
		return f, f.Close, nil
	}
	return c, func() error {
		err := c.Close()
		if ferr := f.Close(); err == nil {
			err = ferr
		}
		return err
	}, nil
}

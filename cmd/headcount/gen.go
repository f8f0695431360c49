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

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/headcount/headcount/internal/cli"
	"github.com/headcount/headcount/internal/gen"
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
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), genUsage)
		fs.PrintDefaults()
	}
	count := fs.Int("count", gen.DefaultCount, "number of frames to write; -1 writes until interrupted")
	rate := fs.Float64("rate", gen.DefaultRate, "mean frames per second of event time; seconds are bursty (1 + geometric)")
	users := fs.Int("users", gen.DefaultUsers, "number of distinct users the uids are drawn from, uniformly")
	start := fs.String("start", strconv.Itoa(gen.DefaultStart), `arrival time of the first frame: unix seconds, RFC 3339, or "now"`)
	delay := fs.Duration("delay", 0, "maximum delay of a delayed frame: its ts is 1..ceil(delay) seconds before its arrival (default 0: no delays)")
	delayProb := fs.Float64("delay-prob", gen.DefaultDelayProb, "probability that a frame is delayed, when --delay is set")
	bitflipProb := fs.Float64("bitflip-prob", 0, "probability that a frame's ts has one random bit of 31..63 flipped, a bogus far-future or far-past timestamp (default 0: none)")
	tsStringProb := fs.Float64("ts-string-prob", gen.DefaultTSStringProb, `probability that ts is written as a string of digits ("1468244385")`)
	trapKeyProb := fs.Float64("trap-key-prob", gen.DefaultTrapKeyProb, `probability that a frame has a top-level key escaped to look like uid or ts but naming something else ("\u0055ID")`)
	frameSize := fs.Int("frame-size", gen.DefaultFrameSize, "target mean frame size in bytes, line end excluded")
	crlf := fs.Bool("crlf", false, `end lines with \r\n instead of \n (default false)`)
	seed := fs.Uint64("seed", 0, "random seed: the same flags and seed give the same bytes (default 0)")
	live := fs.Bool("live", false, "pace frames by their arrival times on the wall clock, the first at once, instead of writing as fast as possible (default false)")
	out := fs.String("out", "-", `output: "-" for stdout, or a file; a name ending in .gz is gzip-compressed, .zst zstd-compressed`)

	if err := cli.Parse(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		// fs printed its own errors, not the environment's.
		var envErr *cli.EnvError
		if errors.As(err, &envErr) {
			fmt.Fprintf(os.Stderr, "headcount gen: %v\n", err)
		}
		return 2
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(os.Stderr, "headcount gen: "+format+"\n", a...)
		return 2
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q", fs.Arg(0))
	}
	startUnix, err := cli.ParseUnix(*start)
	if err != nil {
		return usageErr("--start: %v", err)
	}
	switch {
	case *rate <= 0:
		return usageErr("--rate must be positive, got %v", *rate)
	case *users <= 0:
		return usageErr("--users must be positive, got %d", *users)
	case *frameSize <= 0:
		return usageErr("--frame-size must be positive, got %d", *frameSize)
	case *delay < 0:
		return usageErr("--delay must not be negative, got %v", *delay)
	}
	for _, p := range []struct {
		name string
		v    float64
	}{{"delay-prob", *delayProb}, {"bitflip-prob", *bitflipProb}, {"ts-string-prob", *tsStringProb}, {"trap-key-prob", *trapKeyProb}} {
		if !(p.v >= 0 && p.v <= 1) {
			return usageErr("--%s must be within [0, 1], got %v", p.name, p.v)
		}
	}
	// In gen.Config a zero probability means "the default"; on the command
	// line it means zero.
	off := func(p float64) float64 {
		if p == 0 {
			return -1
		}
		return p
	}
	cfg := gen.Config{
		Count:        *count,
		Rate:         *rate,
		Users:        *users,
		Start:        startUnix,
		Delay:        *delay,
		DelayProb:    off(*delayProb),
		BitFlipProb:  *bitflipProb,
		TSStringProb: off(*tsStringProb),
		TrapKeyProb:  off(*trapKeyProb),
		FrameSize:    *frameSize,
		CRLF:         *crlf,
		Seed:         *seed,
	}

	// A reader that goes away (head) must end us quietly: with SIGPIPE
	// caught, a write to the closed pipe fails with EPIPE instead of
	// killing the process.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	w, closeOut, err := openOut(*out)
	if err != nil {
		fmt.Fprintf(os.Stderr, "headcount gen: %v\n", err)
		return 1
	}
	if *count != 0 {
		_, err = gen.WriteTo(ctx, w, cfg, *live)
	}
	if cerr := closeOut(); err == nil {
		err = cerr
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, syscall.EPIPE):
		return 0
	case errors.Is(err, context.Canceled):
		return 130 // interrupted: the output holds whole frames and is properly closed
	}
	fmt.Fprintf(os.Stderr, "headcount gen: %v\n", err) // names the file
	return 1
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

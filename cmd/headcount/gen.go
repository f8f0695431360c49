package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
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
	"github.com/headcount/headcount/internal/logging"
	"github.com/headcount/headcount/internal/progress"
)

func init() { commands["gen"] = runGen }

const genUsage = `Usage: headcount gen [flags]

Generate deterministic traffic in the shape of the reference data set: one
~2 KB JSON object per line with a top-level uid and ts, nested decoy uid/ts
keys, duplicate keys, every JSON escape and UTF-8 text. The same flags give
the same bytes. Writing a file, it reports its progress on stderr (a line
every second on a terminal, a log record every 2 s otherwise) and, at the
end, what it wrote.

Examples:
  headcount gen --count 1000000 --out ref.jsonl.zst     # the reference set
  headcount gen --count 2000 --users 300 --rate 11 --delay 30s --out late.jsonl
  headcount gen --count -1 --live --start now | headcount run --in -

Every flag can also be set by its environment variable, HEADCOUNT_<FLAG>.

Flags:
`

// genProgressEvery is how often gen reports its progress when it writes a
// file: on a terminal, and as log records (a variable for the tests).
var genProgressEvery = [2]time.Duration{time.Second, 2 * time.Second}

func runGen(args []string) int {
	o, code := parseGen(args)
	if o == nil {
		return code
	}
	// A reader that goes away (head) must end us quietly: with SIGPIPE
	// caught, a write to the closed pipe fails with EPIPE instead of
	// killing the process.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	w, closeOut, err := openOut(o.out)
	if err != nil {
		return fail(err)
	}
	begin := time.Now()
	frames, err := o.write(ctx, w)
	if cerr := closeOut(); err == nil {
		err = cerr
	}
	switch {
	case err == nil:
		if o.out != "-" {
			o.summary(frames, time.Since(begin)) // stdout is someone's input
		}
		return 0
	case errors.Is(err, syscall.EPIPE):
		return 0
	case errors.Is(err, context.Canceled):
		// The output holds whole frames and is properly closed.
		if o.out != "-" {
			slog.Warn("interrupted", "frames", frames, "out", o.out)
		}
		return 130
	}
	return fail(err) // names the file
}

// genOpts are gen's flags: the generator's Config and the output.
type genOpts struct {
	cfg  gen.Config
	live bool
	out  string
	log  *logging.Log
}

// write writes the frames to w, reporting progress when w is a file.
func (o *genOpts) write(ctx context.Context, w io.Writer) (frames int64, err error) {
	if o.cfg.Count == 0 {
		return 0, nil
	}
	if o.out == "-" {
		return gen.WriteTo(ctx, w, o.cfg, o.live)
	}
	c := &progress.Counter{W: w}
	total := uint64(max(o.cfg.Count, 0))
	stop := startProgress(o.log, "gen", genProgressEvery[0], genProgressEvery[1], func() progress.Sample {
		s := c.Sample()
		s.TotalFrames = total
		return s
	})
	defer stop()
	return gen.WriteTo(ctx, c, o.cfg, o.live)
}

// summary says what gen wrote to its file: a line for a person (text), a
// record in JSON.
func (o *genOpts) summary(frames int64, d time.Duration) {
	size, mb := int64(-1), ""
	if st, err := os.Stat(o.out); err == nil {
		size, mb = st.Size(), fmt.Sprintf(" (%.1f MB)", float64(st.Size())/1e6)
	}
	text := fmt.Sprintf("headcount gen: %s frames%s to %s in %.1fs\n", progress.Thousands(uint64(frames)), mb, o.out, d.Seconds())
	o.log.Report(text, "summary", slog.Int64("frames", frames), slog.Int64("file_bytes", size), slog.String("out", o.out),
		slog.Float64("seconds", math.Round(d.Seconds()*1000)/1000))
}

// parseGen parses gen's flags; with a nil result the command exits with
// code.
func parseGen(args []string) (*genOpts, int) {
	fs := withUsage(flag.NewFlagSet("gen", flag.ContinueOnError), genUsage)
	o := &genOpts{cfg: gen.DefaultConfig()}
	cfg, live, out := &o.cfg, &o.live, &o.out
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
	fs.BoolVar(live, "live", false, "pace frames by their arrival times on the wall clock, the first at once, instead of writing as fast as possible (default false)")
	fs.StringVar(out, "out", "-", `output: "-" for stdout, or a file; a name ending in .gz is gzip-compressed, .zst zstd-compressed`)
	logFlags := addLogFlags(fs)
	if code, ok := parseArgs(fs, args); !ok {
		return nil, code
	}
	o.log = logFlags.start("gen")
	var err error
	if cfg.Start, err = cli.ParseUnix(start); err != nil {
		err = fmt.Errorf("--start: %w", err)
	} else {
		err = cfg.Validate()
	}
	if err != nil {
		return nil, usageErr(err)
	}
	// In gen.Config a zero probability means "the default"; on the command
	// line it means none.
	for _, p := range []*float64{&cfg.DelayProb, &cfg.TSStringProb, &cfg.TrapKeyProb} {
		if *p == 0 {
			*p = -1
		}
	}
	return o, 0
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

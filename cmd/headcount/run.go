package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/headcount/headcount/internal/cli"
	"github.com/headcount/headcount/internal/dashboard"
	"github.com/headcount/headcount/internal/frame"
	"github.com/headcount/headcount/internal/metrics"
	"github.com/headcount/headcount/internal/pipeline"
	"github.com/headcount/headcount/internal/progress"
	"github.com/headcount/headcount/internal/result"
	"github.com/headcount/headcount/internal/sink"
	"github.com/headcount/headcount/internal/sketch"
	"github.com/headcount/headcount/internal/source"
	"github.com/headcount/headcount/internal/watermark"
	"github.com/headcount/headcount/internal/window"
)

func init() { commands["run"] = runRun }

func runRun(args []string) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	in := fs.String("in", "-", "input: a file of JSON lines (plain, .gz or .zst, detected from its bytes), - for stdin, or kafka://HOST:PORT[,HOST:PORT]/TOPIC[,TOPIC] (see the Kafka flags)")
	out := fs.String("out", "-", "output: - for stdout (one JSON result per line), a file path, or kafka://HOST:PORT/TOPIC (one record per result keyed <window>/<start unix>; the topic is created compacted when missing)")
	windows := fs.String("windows", "minute", "window kinds, comma-separated: minute,hour,day,week,month,year")
	tz := fs.String("tz", "UTC", "IANA time zone of the window calendar (day and longer follow its DST)")
	count := fs.String("count", "exact", "counting mode: exact (set of 64-bit hashes), hll (HyperLogLog) or auto (exact until --memory-budget, then hll)")
	precision := fs.Uint("precision", sketch.DefaultPrecision, "HyperLogLog precision p (2^p registers; relative standard error 1.04/sqrt(2^p))")
	budget := fs.Int("memory-budget", sketch.DefaultBudget, "auto mode: bytes one window's exact set may use before it becomes a sketch")
	lateness := fs.Duration("lateness", 5*time.Second, "allowed lateness: a window closes when the largest ts seen minus this passes its end")
	idle := fs.Duration("idle", 10*time.Second, "a partition without frames for this long (wall clock) stops holding the watermark back; when all are idle and the data is live, the watermark follows the wall clock (0: never)")
	keep := fs.Duration("keep", time.Hour, "how long (event time) a closed window is kept after its end: a late frame within it is counted and the window republished with rev+1; older frames are rejected as too-late")
	minTS := fs.String("min-ts", "2000-01-01T00:00:00Z", "frames with an earlier ts are rejected as bogus-ts (unix seconds or RFC 3339)")
	maxFuture := fs.Duration("max-future", time.Hour, "frames whose ts is further ahead of the wall clock are rejected as bogus-ts (0: no check, for synthetic future data)")
	maxJump := fs.Duration("max-jump", time.Hour, "a frame this far ahead of its partition's largest ts is held until other frames confirm the new time, else rejected as bogus-ts (0: no guard)")
	early := fs.Duration("early", 0, "interval of provisional results (final:false) for open windows that changed; 0 turns them off")
	workers := fs.Int("workers", 0, "parse goroutines (default: one per core)")
	maxFrame := fs.Int("max-frame", source.DefaultMaxFrame, "longest accepted frame in bytes; longer ones are rejected as too-large")
	dead := fs.String("dead-letter", "", "file that receives every rejected frame with its reason (JSON lines), or kafka://HOST:PORT/TOPIC (the frame unchanged, the reason in header headcount-reason); empty: none")
	trust := fs.Bool("trust-producer", false, "fast mode that trusts the producer: stop reading a frame once its top-level uid and ts are found; the rest of the frame is not validated (broken or duplicate-key frames after them count)")
	httpAddr := fs.String("http", "", "HOST:PORT to serve the live dashboard (/), Prometheus /metrics and /healthz on (e.g. 127.0.0.1:9464); empty: none")
	showProgress := fs.Bool("progress", false, "print progress (frames/s, MB/s, ETA, watermark) on stderr every second even when it is not a terminal (default: only on a terminal, and not with --quiet)")
	quiet := fs.Bool("quiet", false, "no end-of-run summary on stderr")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile (go tool pprof) of the run to this file")
	kf := addKafkaFlags(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: headcount run [flags]\n\nCounts unique users per window and prints each window's result as JSON.\n\nFlags (each also from HEADCOUNT_<FLAG>):\n")
		fs.PrintDefaults()
	}
	if err := cli.Parse(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(os.Stderr, "headcount run:", err)
		return 2
	}
	if fs.NArg() > 0 {
		return usageErr(fmt.Errorf("unexpected argument %q (the input is --in FILE)", fs.Arg(0)))
	}
	kinds, err := window.ParseKinds(*windows)
	if err != nil {
		return usageErr(err)
	}
	loc, err := time.LoadLocation(*tz)
	if err != nil {
		return usageErr(fmt.Errorf("--tz: %w", err))
	}
	mode, err := sketch.ParseMode(*count)
	if err != nil {
		return usageErr(err)
	}
	sk := sketch.Config{Mode: mode, Precision: uint8(*precision), Budget: *budget}
	if *precision > 255 {
		sk.Precision = 255
	}
	if err := sk.Validate(); err != nil {
		return usageErr(err)
	}
	if *lateness < 0 || *keep < 0 || *idle < 0 || *maxFuture < 0 || *maxJump < 0 {
		return usageErr(errors.New("durations must not be negative"))
	}
	// Timestamps are whole seconds: a positive bound under a second would
	// act as 0 and hold every frame that moves time forward.
	if (*maxJump > 0 && *maxJump < time.Second) || (*maxFuture > 0 && *maxFuture < time.Second) {
		return usageErr(errors.New("--max-jump and --max-future are 0 (off) or at least 1s"))
	}
	if *maxFrame < 1 {
		return usageErr(fmt.Errorf("--max-frame must be at least 1 byte, not %d", *maxFrame))
	}
	floor, err := cli.ParseUnix(*minTS)
	if err != nil {
		return usageErr(fmt.Errorf("--min-ts: %w", err))
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	src, closeIn, err := kf.openInput(ctx, *in, *maxFrame)
	if err != nil {
		return fail(err)
	}
	defer closeIn() // error paths; the normal path closes and checks below
	results, closeOut, err := kf.openOutput(ctx, *out)
	if err != nil {
		return fail(err)
	}
	defer closeOut()
	cfg := pipeline.Config{
		Workers: *workers,
		Window:  window.Config{Kinds: kinds, Loc: loc, Counter: sk, Keep: *keep},
		Watermark: watermark.Config{
			Lateness: *lateness, Idle: *idle,
			MinTS: floor, MaxFuture: *maxFuture, MaxJump: *maxJump,
		},
		Early:         *early,
		TrustProducer: *trust,
	}
	var dl *sink.DeadLines
	kdl, closeDead, isKafka, err := kf.openDeadLetters(ctx, *dead, src)
	if err != nil {
		return fail(err)
	}
	defer closeDead()
	if isKafka {
		cfg.Dead = kdl
	} else if *dead != "" {
		f, err := os.Create(*dead)
		if err != nil {
			return fail(fmt.Errorf("open dead-letter file: %w", err))
		}
		dl = sink.NewDeadLines(f, f)
		cfg.Dead = dl
	}
	var observers []func(*pipeline.Stats)
	stopProgress := func() {}
	if *httpAddr != "" {
		m := metrics.New()
		board := dashboard.New()
		addr, err := m.Serve(ctx, *httpAddr, board.Register)
		if err != nil {
			return fail(err)
		}
		observers = append(observers, m.Observe, board.Observe)
		results = board.Tee(results)
		slog.Info("serving", "dashboard", "http://"+addr.String()+"/", "metrics", "http://"+addr.String()+"/metrics")
	}
	tty := progress.IsTerminal(os.Stderr)
	if *showProgress || (tty && !*quiet) {
		var mu sync.Mutex
		var last pipeline.Stats
		observers = append(observers, func(s *pipeline.Stats) { mu.Lock(); last = *s; mu.Unlock() })
		total := uint64(source.PlainSize(*in))
		stopProgress = progress.Start(os.Stderr, "run", tty, time.Second, func() progress.Sample {
			mu.Lock()
			s := last
			mu.Unlock()
			note := ""
			if s.Watermark != watermark.None && s.Watermark != 0 {
				note = "watermark " + time.Unix(s.Watermark, 0).In(loc).Format(time.RFC3339)
			}
			return progress.Sample{Frames: s.Frames, Bytes: s.Bytes, Total: total, Note: note}
		})
		defer func() { stopProgress() }() // error paths; the normal path stops it before the summary
	}
	if len(observers) > 0 {
		cfg.Observe = func(s *pipeline.Stats) {
			for _, o := range observers {
				o(s)
			}
		}
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fail(fmt.Errorf("cpu profile: %w", err))
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fail(fmt.Errorf("cpu profile: %w", err))
		}
		defer pprof.StopCPUProfile()
	}
	begin := time.Now()
	stats, err := pipeline.Run(ctx, src, results, cfg)
	stopProgress()
	stopProgress = func() {}
	// Outputs first, input last: the input's Close commits Kafka offsets.
	if dl != nil {
		if cerr := dl.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("dead-letter file: %w", cerr)
		}
	}
	for _, c := range []closer{closeDead, closeOut, closeIn} {
		if cerr := c(); err == nil && cerr != nil {
			err = cerr
		}
	}
	if !*quiet {
		summary(os.Stderr, &stats, time.Since(begin))
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, context.Canceled):
		slog.Warn("interrupted: open windows were not flushed")
		return 130
	default:
		return fail(err)
	}
}

// summary prints the end-of-run totals and the rejects by reason.
func summary(w io.Writer, s *pipeline.Stats, d time.Duration) {
	secs := d.Seconds()
	fmt.Fprintf(w, "headcount: %d frames (%.1f MB) in %.2fs: %.0f frames/s, %.1f MB/s; %d counted, %d rejected, %d results\n",
		s.Frames, float64(s.Bytes)/1e6, secs, float64(s.Frames)/secs, float64(s.Bytes)/1e6/secs, s.Counted, s.RejectedTotal(), s.Results)
	if s.PartlyLate > 0 {
		fmt.Fprintf(w, "  %d frames counted in longer windows were too late for a shorter one\n", s.PartlyLate)
	}
	for r := frame.Reason(1); r < frame.NumReasons; r++ {
		if n := s.Rejected[r]; n > 0 {
			fmt.Fprintf(w, "  rejected %-10s %d\n", r.String()+":", n)
		}
	}
}

func usageErr(err error) int {
	fmt.Fprintln(os.Stderr, "headcount:", err)
	return 2
}

func fail(err error) int {
	fmt.Fprintln(os.Stderr, "headcount:", err)
	return 1
}

// discard is a sink that drops results (bench).
type discard struct{}

func (discard) Write(context.Context, []result.Result) error { return nil }

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	slices.Sort(s)
	return s[len(s)/2]
}

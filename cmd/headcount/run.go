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
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/headcount/headcount/internal/checkpoint"
	"github.com/headcount/headcount/internal/dashboard"
	"github.com/headcount/headcount/internal/frame"
	"github.com/headcount/headcount/internal/kafka"
	"github.com/headcount/headcount/internal/logging"
	"github.com/headcount/headcount/internal/metrics"
	"github.com/headcount/headcount/internal/pipeline"
	"github.com/headcount/headcount/internal/progress"
	"github.com/headcount/headcount/internal/result"
	"github.com/headcount/headcount/internal/source"
	"github.com/headcount/headcount/internal/watermark"
)

func init() { commands["run"] = runRun }

// runOpts are run's flags: the pipeline's Config and where things go.
type runOpts struct {
	cfg                                                 pipeline.Config
	in, out, dead, httpAddr, cpuOut, memOut, checkpoint string
	progress, quiet                                     bool
	readyLag                                            int64
	kafka                                               *kafkaFlags
	logFlags                                            *logFlags
	log                                                 *logging.Log
	// With --checkpoint: the checkpointer, and the lengths its output
	// files are cut back to when the run resumes (nil: a first run).
	saver   *checkpoint.File
	lengths []int64
	// tap, once set, sees the results a group member's merge publishes
	// (the dashboard), from the merge's goroutine.
	tap atomic.Pointer[pipeline.Sink]
}

// parseRun parses and validates run's flags; a nil result means exit with
// code.
func parseRun(args []string) (*runOpts, int) {
	o := &runOpts{cfg: pipeline.DefaultConfig()}
	fs := o.flags()
	if code, ok := parseArgs(fs, args); !ok {
		return nil, code
	}
	o.log = o.logFlags.start("run")
	if err := o.cfg.Validate(); err != nil {
		return nil, usageErr(err)
	}
	return o, 0
}

// flags binds run's flags to o (the deployment tests look flags up in it).
func (o *runOpts) flags() *flag.FlagSet {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.StringVar(&o.in, "in", "-", "input: a file of JSON lines (plain, .gz or .zst, detected from its bytes), - for stdin, or kafka://HOST:PORT[,HOST:PORT]/TOPIC[,TOPIC] (see the Kafka flags)")
	fs.StringVar(&o.out, "out", "-", "output: - for stdout (one JSON result per line), a file path, or kafka://HOST:PORT/TOPIC (one record per result keyed <window>/<start unix>; the topic is created compacted when missing)")
	addConfigFlags(fs, &o.cfg)
	fs.StringVar(&o.dead, "dead-letter", "", "file that receives every rejected frame with its reason (JSON lines), or kafka://HOST:PORT/TOPIC (the frame unchanged, the reason in header headcount-reason); empty: none")
	fs.StringVar(&o.httpAddr, "http", "", "HOST:PORT to serve the live dashboard (/), Prometheus /metrics, /healthz and /readyz on (e.g. 127.0.0.1:9464); empty: none")
	fs.Int64Var(&o.readyLag, "ready-lag", metrics.DefaultMaxLag, "Kafka input: /readyz answers 503 while a partition lags more records than this")
	fs.BoolVar(&o.progress, "progress", false, "print progress (frames/s, MB/s, ETA, watermark) on stderr every second even when it is not a terminal, as log records (default: only on a terminal, and not with --quiet)")
	fs.BoolVar(&o.quiet, "quiet", false, "no end-of-run summary on stderr")
	fs.StringVar(&o.cpuOut, "cpuprofile", "", "write a CPU profile (go tool pprof) of the run to this file")
	fs.StringVar(&o.memOut, "memprofile", "", "write the run's allocations (go tool pprof -sample_index=alloc_space) to this file at its end")
	fs.StringVar(&o.checkpoint, "checkpoint", "", "file input: save the state in this file every --checkpoint-interval and on SIGTERM/SIGINT; the same command started again resumes from it (output files are cut back to what the state covers); removed when the input is done")
	o.cfg.CheckpointEvery = 10 * time.Second
	fs.DurationVar(&o.cfg.CheckpointEvery, "checkpoint-interval", o.cfg.CheckpointEvery, "how often --checkpoint saves the state (wall clock)")
	o.kafka = addKafkaFlags(fs)
	o.logFlags = addLogFlags(fs)
	return withGroupedUsage(fs, "Usage: headcount run [flags]\n\nCounts unique users per window and prints each window's result as JSON.\nWithout --in it reads JSON lines from stdin. Every flag can also be set\nby an environment variable HEADCOUNT_<FLAG> (HEADCOUNT_LATENESS=30s).\n", runFlagGroups, runExamples)
}

// runFlagGroups are run's --help headings.
var runFlagGroups = []flagGroup{
	{"Input and output", []string{"in", "out", "dead-letter", "max-frame", "trust-producer", "workers"}},
	{"Windows", []string{"windows", "tz", "early"}},
	{"Time: lateness, corrections, bad timestamps", []string{"lateness", "idle", "keep", "correct-every", "min-ts", "max-future", "max-jump"}},
	{"Counting", []string{"count", "precision", "memory-budget"}},
	{"Kafka input and output", []string{"group", "start", "until-end", "exactly-once", "commit-interval", "instance-id", "session-timeout",
		"buckets", "assign-timeout", "out-partitions", "state-topic", "transactional-id"}},
	{"Kafka connection", []string{"tls", "tls-ca", "tls-cert", "tls-key", "tls-insecure", "sasl", "sasl-user", "sasl-password", "client-id"}},
	{"Operations", []string{"checkpoint", "checkpoint-interval", "http", "ready-lag", "progress", "quiet", "log-format", "log-level", "cpuprofile", "memprofile"}},
}

const runExamples = `  headcount run --in events.jsonl                           every minute of a file, to stdout
  headcount run --in events.jsonl.zst --windows minute,hour,day --tz Europe/Zurich
  headcount gen --live --count -1 --start now | headcount run --early 5s
  headcount run --in events.jsonl --out results.jsonl --checkpoint events.state
  headcount run --in kafka://127.0.0.1:9092/events --out kafka://127.0.0.1:9092/headcount \
      --group headcount --instance-id "$(hostname)"          the service; start more to scale out
  headcount run --in kafka://127.0.0.1:9092/events --until-end --group backfill-1
`

func runRun(args []string) int {
	o, code := parseRun(args)
	if o == nil {
		return code
	}
	o.hintStdin()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop, release := onSignals(cancel, o.graceful())
	defer release()
	o.cfg.Stop = stop
	ends, err := o.open(ctx)
	defer ends.close(nil) // error paths; the normal path closes and checks below
	if err != nil {
		return fail(err)
	}
	stopObserving, err := o.observe(ctx, ends)
	defer stopObserving()
	if err != nil {
		return fail(err)
	}
	stopProfiles, err := o.profiles()
	if err != nil {
		return fail(err)
	}
	defer stopProfiles()
	ends.watchMember(ctx, cancel)
	begin := time.Now()
	stats, err := pipeline.Run(ctx, ends.src, ends.results, o.cfg)
	stopObserving()
	err = ends.close(ends.memberOutcome(&stats, err))
	if !o.quiet {
		o.summary(&stats, time.Since(begin))
	}
	switch {
	case err == nil:
		if o.checkpoint != "" {
			// The input is done: a run started again starts over.
			if err := os.Remove(o.checkpoint); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fail(fmt.Errorf("remove the checkpoint: %w", err))
			}
		}
		return 0
	case errors.Is(err, pipeline.ErrStopped) && o.checkpoint != "":
		slog.Info("stopped; the state is saved in " + o.checkpoint + ": run the same command again to go on")
		return 0
	case errors.Is(err, pipeline.ErrStopped):
		slog.Info("stopped; the results, the state and the offsets are committed to Kafka: run the same command again to go on")
		return 0
	case errors.Is(err, context.Canceled):
		slog.Warn("interrupted: open windows were not flushed")
		return 130
	default:
		return fail(err)
	}
}

// hintStdin says, when stdin is a terminal, that run reads it: not a hang.
func (o *runOpts) hintStdin() {
	if o.in == "-" && progress.IsTerminal(os.Stdin) {
		slog.Info("reading JSON lines from stdin (end with Ctrl-D, stop with Ctrl-C); " +
			"--in FILE or --in kafka://HOST:PORT/TOPIC reads elsewhere (headcount run --help)")
	}
}

// runEnds are the input and outputs of a run, with what closes them.
type runEnds struct {
	src     source.Source
	results pipeline.Sink
	member  *kafka.Member // a member of a group that counts together
	closers []closer      // in closing order: outputs first, the input last
}

// graceful says whether the first SIGTERM or SIGINT saves the state and
// stops (exit 0) rather than stopping at once: with a checkpoint, or an
// exactly-once Kafka input.
func (o *runOpts) graceful() bool {
	return o.checkpoint != "" || (kafka.IsURL(o.in) && *o.kafka.exactlyOnce && *o.kafka.group != "")
}

// onSignals handles SIGINT and SIGTERM: with graceful, the first closes
// the returned channel (the run saves its state and stops) and a second
// cancels; without, the first cancels (the run stops at once). release
// stops listening (the signals are then ignored).
func onSignals(cancel context.CancelFunc, graceful bool) (stop <-chan struct{}, release func()) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	stopped, done := make(chan struct{}), make(chan struct{})
	go func() {
		n := 0
		for {
			select {
			case <-sigs:
			case <-done:
				return
			}
			if n++; graceful && n == 1 {
				close(stopped)
				continue
			}
			cancel()
		}
	}()
	// Released, the signals are ignored rather than reset: one that comes
	// while a finished run exits must not kill it with another status.
	return stopped, func() { signal.Ignore(os.Interrupt, syscall.SIGTERM); signal.Stop(sigs); close(done) }
}

// resume prepares --checkpoint: the input must be a regular file; a
// checkpoint of it, if there is one, is the state to go on from.
func (o *runOpts) resume() error {
	if o.in == "-" || kafka.IsURL(o.in) {
		return errors.New("--checkpoint needs --in FILE: stdin cannot be read again, and a Kafka input's position is its committed offsets")
	}
	id, err := checkpoint.Identify(o.in)
	if err != nil {
		return err
	}
	files := 0
	for _, out := range []string{o.out, o.dead} {
		if out != "" && out != "-" && !kafka.IsURL(out) {
			files++
		}
	}
	state, lengths, err := checkpoint.Resume(o.checkpoint, id, files)
	if err != nil {
		return err
	}
	o.cfg.Resume, o.lengths = state, lengths
	o.saver = &checkpoint.File{Path: o.checkpoint, Input: id}
	o.cfg.Checkpoint = o.saver
	return nil
}

// create opens an output file: new, or with --checkpoint cut back to what
// the checkpoint covers; with --checkpoint each is synced at every save.
func (o *runOpts) create(path string) (*os.File, error) {
	if o.saver == nil {
		return os.Create(path)
	}
	length := int64(-1)
	if i := len(o.saver.Outputs); i < len(o.lengths) {
		length = o.lengths[i]
	}
	f, err := checkpoint.OpenOutput(path, length)
	if err != nil {
		return nil, err
	}
	o.saver.Outputs = append(o.saver.Outputs, f)
	return f, nil
}

// open opens --in, --out and --dead-letter (in that order: the order of a
// checkpoint's outputs).
func (o *runOpts) open(ctx context.Context) (*runEnds, error) {
	e := &runEnds{}
	if o.checkpoint == "" && o.together() {
		return o.openMember(ctx)
	}
	if o.checkpoint != "" {
		if err := o.resume(); err != nil {
			return e, err
		}
	}
	src, closeIn, err := o.kafka.openInput(ctx, o.in, o.cfg.MaxFrame)
	if err != nil {
		return e, err
	}
	e.src = src
	if o.kafka.txn != nil {
		o.cfg.Checkpoint = o.kafka.txn
	}
	results, closeOut, err := o.kafka.openOutput(ctx, o.out, o.create)
	if err != nil {
		e.closers = []closer{closeIn}
		return e, err
	}
	e.results = results
	dead, closeDead, err := o.kafka.openDeadLetters(ctx, o.dead, src, o.create)
	// The input's Close commits Kafka offsets: it comes after the outputs.
	e.closers = []closer{closeDead, closeOut, closeIn}
	if err != nil {
		return e, err
	}
	if dead != nil {
		o.cfg.Dead = dead
	}
	return e, nil
}

// watchMember stops the run (cancel) if a step of a group member fails.
func (e *runEnds) watchMember(ctx context.Context, cancel context.CancelFunc) {
	if e.member == nil {
		return
	}
	go func() {
		select {
		case <-e.member.Failed():
			cancel()
		case <-ctx.Done():
		}
	}()
}

// memberOutcome adds a group member's own counts to the run's stats (in a
// group, counted is what this member parsed and sent to the buckets; the
// rejects and results are those of its buckets and merge) and returns the
// run's error: none when the run was stopped by a failed step, whose
// error close returns.
func (e *runEnds) memberOutcome(stats *pipeline.Stats, err error) error {
	m := e.member
	if m == nil {
		return err
	}
	stats.Results = m.Published()
	for r, n := range m.Rejected() {
		stats.Rejected[r] += n
	}
	if errors.Is(err, context.Canceled) {
		select {
		case <-m.Failed():
			return nil
		default:
		}
	}
	return err
}

// kafkaInput is the Kafka input /metrics and /readyz ask for its lag and
// readiness; nil for a file or stdin.
func (e *runEnds) kafkaInput() metrics.Input {
	if e.member != nil {
		return e.member
	}
	in, _ := e.src.(metrics.Input)
	return in
}

// close closes every end; the first error wins, err (the run's) first.
func (e *runEnds) close(err error) error {
	for _, c := range e.closers {
		if c == nil {
			continue
		}
		if cerr := c(); err == nil && cerr != nil {
			err = cerr
		}
	}
	return err
}

// observe starts what watches the run: the dashboard and metrics server,
// and the progress line. stop may be called more than once.
func (o *runOpts) observe(ctx context.Context, e *runEnds) (stop func(), err error) {
	var observers []func(*pipeline.Stats)
	stop = func() {}
	if o.httpAddr != "" {
		m, board := metrics.New(), dashboard.New()
		addr, err := m.Serve(ctx, o.httpAddr, board.Register)
		if err != nil {
			return stop, err
		}
		m.SetReadiness(metrics.Readiness{Input: e.kafkaInput(), Stream: o.in == "-", MaxLag: o.readyLag})
		observers = append(observers, m.Observe, board.Observe)
		o.cfg.Dead = board.TeeDead(o.cfg.Dead) // nil: the board only
		if e.member != nil {
			tap := board.Tee(discard{})
			o.tap.Store(&tap)
		} else {
			e.results = board.Tee(e.results)
		}
		slog.Info("serving", "dashboard", "http://"+addr.String()+"/", "metrics", "http://"+addr.String()+"/metrics")
	}
	if o.progress || (progress.IsTerminal(os.Stderr) && !o.quiet) {
		var mu sync.Mutex
		var last pipeline.Stats
		observers = append(observers, func(s *pipeline.Stats) { mu.Lock(); last = *s; mu.Unlock() })
		total := uint64(source.PlainSize(o.in))
		loc := o.cfg.Window.Loc
		stop = onlyOnce(startProgress(o.log, "run", time.Second, time.Second, func() progress.Sample {
			mu.Lock()
			s := last
			mu.Unlock()
			p := progress.Sample{Frames: s.Frames, Bytes: s.Bytes, Total: total}
			if s.Watermark != watermark.None {
				wm := time.Unix(s.Watermark, 0).In(loc).Format(time.RFC3339)
				p.Note, p.Attrs = "watermark "+wm, []slog.Attr{slog.String("watermark", wm)}
			}
			return p
		}))
	}
	if len(observers) > 0 {
		o.cfg.Observe = func(s *pipeline.Stats) {
			for _, obs := range observers {
				obs(s)
			}
		}
	}
	return stop, nil
}

// onlyOnce makes stop safe to call again.
func onlyOnce(stop func()) func() {
	var once sync.Once
	return func() { once.Do(stop) }
}

// profiles starts the CPU profile (--cpuprofile); stop ends it and writes
// the allocations (--memprofile).
func (o *runOpts) profiles() (stop func(), err error) {
	stopCPU := func() {}
	if o.cpuOut != "" {
		if stopCPU, err = startProfile(o.cpuOut); err != nil {
			return nil, err
		}
	}
	return func() {
		stopCPU()
		if o.memOut != "" {
			writeAllocs(o.memOut)
		}
	}, nil
}

// startProfile writes a CPU profile to path until stop.
func startProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// writeAllocs writes the allocations so far (pprof's allocs profile) to
// path; a failure is only reported. The profile is as of the last garbage
// collection: one runs first, so the last allocations count too.
func writeAllocs(path string) {
	runtime.GC()
	f, err := os.Create(path)
	if err == nil {
		err = pprof.Lookup("allocs").WriteTo(f, 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		slog.Warn("memory profile", "err", err)
	}
}

// summary reports the end-of-run totals: for a person (text), the lines
// of summary; in JSON, one record.
func (o *runOpts) summary(s *pipeline.Stats, d time.Duration) {
	var text strings.Builder
	summary(&text, s, d)
	secs := d.Seconds()
	attrs := []slog.Attr{
		slog.Uint64("frames", s.Frames), slog.Uint64("bytes", s.Bytes), slog.Float64("seconds", math.Round(secs*1000)/1000),
		slog.Uint64("frames_per_s", uint64(float64(s.Frames)/secs)), slog.Float64("mb_per_s", math.Round(float64(s.Bytes)/1e5/secs)/10),
		slog.Uint64("counted", s.Counted), slog.Uint64("rejected", s.RejectedTotal()), slog.Uint64("results", s.Results),
	}
	if s.PartlyLate > 0 {
		attrs = append(attrs, slog.Uint64("partly_late", s.PartlyLate))
	}
	var reasons []any
	for r := frame.Reason(1); r < frame.NumReasons; r++ {
		if c := s.Rejected[r]; c > 0 {
			reasons = append(reasons, slog.Uint64(r.String(), c))
		}
	}
	if len(reasons) > 0 {
		attrs = append(attrs, slog.Group("reasons", reasons...))
	}
	o.log.Report(text.String(), "summary", attrs...)
}

// summary prints the end-of-run totals and the rejects by reason.
func summary(w io.Writer, s *pipeline.Stats, d time.Duration) {
	secs := d.Seconds()
	n := progress.Thousands
	fmt.Fprintf(w, "headcount: %s frames (%.1f MB) in %.2fs: %s frames/s, %.1f MB/s; %s counted, %s rejected, %s\n",
		n(s.Frames), float64(s.Bytes)/1e6, secs, n(uint64(float64(s.Frames)/secs)), float64(s.Bytes)/1e6/secs,
		n(s.Counted), n(s.RejectedTotal()), plural(s.Results, "result"))
	if s.PartlyLate > 0 {
		fmt.Fprintf(w, "  %s counted in longer windows were too late for a shorter one\n", plural(s.PartlyLate, "frame"))
	}
	for r := frame.Reason(1); r < frame.NumReasons; r++ {
		if c := s.Rejected[r]; c > 0 {
			fmt.Fprintf(w, "  rejected %-10s %s\n", r.String()+":", n(c))
		}
	}
}

// plural is "1 result", "2 results", "1,000 results".
func plural(c uint64, noun string) string {
	if c == 1 {
		return "1 " + noun
	}
	return progress.Thousands(c) + " " + noun + "s"
}

// usageErr logs err, a command line the command refuses: exit status 2.
func usageErr(err error) int {
	slog.Error(err.Error())
	return 2
}

// fail logs err, which ended the command: exit status 1.
func fail(err error) int {
	slog.Error(err.Error())
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

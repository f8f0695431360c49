package main

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/headcount/headcount/internal/dashboard"
	"github.com/headcount/headcount/internal/demo"
	"github.com/headcount/headcount/internal/kafka"
	"github.com/headcount/headcount/internal/logging"
	"github.com/headcount/headcount/internal/metrics"
)

func init() { commands["demo"] = runDemo }

const demoUsage = `Usage: headcount demo [flags]

Zero set-up: starts an embedded Kafka-compatible broker in this process,
produces generated traffic to it (late frames, bad frames and flipped
timestamps included, as real traffic has them), runs the real
pipeline (Kafka source, counting, Kafka sink) and prints each minute's
final unique-user count as it arrives on the output topic, with a status
line every few seconds. Ctrl-C stops it.

Event time runs --speedup times faster than the wall clock (default 10: a
minute closes every 6 seconds), so results appear within seconds; the
minutes shown are demo time, starting at the current minute.

Every flag can also be set by its environment variable, HEADCOUNT_<FLAG>.

Flags:
`

func runDemo(args []string) int {
	fs := withUsage(flag.NewFlagSet("demo", flag.ContinueOnError), demoUsage)
	cfg := demo.DefaultConfig()
	fs.Float64Var(&cfg.Rate, "rate", cfg.Rate, "frames per second of event time (the wall-clock rate is --rate × --speedup)")
	fs.IntVar(&cfg.Users, "users", cfg.Users, "number of distinct users the uids are drawn from")
	fs.IntVar(&cfg.Minutes, "minutes", 0, "stop after this many final minutes (default 0: until Ctrl-C)")
	fs.Float64Var(&cfg.Speedup, "speedup", cfg.Speedup, "event time runs this many times faster than the wall clock: a minute closes every 60/N seconds")
	fs.IntVar(&cfg.Partitions, "partitions", cfg.Partitions, "partitions of the input topic")
	fs.Float64Var(&cfg.BadProb, "bad-prob", cfg.BadProb, "share of frames broken as real traffic breaks them (truncated, not UTF-8, no uid…), all rejected; 0: none")
	fs.Float64Var(&cfg.BitFlipProb, "bitflip-prob", cfg.BitFlipProb, "share of frames whose ts has a flipped bit (decades away), rejected as bogus-ts; 0: none")
	httpAddr := fs.String("http", "127.0.0.1:8080", "HOST:PORT of the live dashboard (and /metrics); if it is taken, a free port is used; empty: none")
	logFlags := addLogFlags(fs)
	if code, ok := parseArgs(fs, args); !ok {
		return code
	}
	log := logFlags.start("demo")
	if err := cfg.Validate(); err != nil {
		return usageErr(err)
	}
	// In demo.Config a zero share means "the default"; on the command line
	// it means none.
	for _, p := range []*float64{&cfg.BadProb, &cfg.BitFlipProb} {
		if *p == 0 {
			*p = -1
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The status lines are the demo's display; its Kafka clients' notices
	// of partitions and state would only interrupt it: they log from
	// warnings up, unless --log-level debug asks for everything.
	cfg.Out, cfg.Status = os.Stdout, log.Display()
	kafkaLevel := max(logFlags.level, slog.LevelWarn)
	if logFlags.level < slog.LevelInfo {
		kafkaLevel = logFlags.level
	}
	cfg.Logger = logging.New(os.Stderr, logFlags.options("demo", kafkaLevel)).Logger
	if *httpAddr != "" {
		m, board := metrics.New(), dashboard.New()
		addr, err := m.Serve(ctx, *httpAddr, board.Register)
		if err != nil {
			addr, err = m.Serve(ctx, "127.0.0.1:0", board.Register)
		}
		if err != nil {
			return fail(err)
		}
		slog.Info("serving", "dashboard", "http://"+addr.String()+"/")
		cfg.Observe, cfg.Board = m.Observe, board
		cfg.Input = func(src *kafka.Source) { m.SetReadiness(metrics.Readiness{Input: src, MaxLag: metrics.DefaultMaxLag}) }
	}
	if err := demo.Run(ctx, cfg); err != nil {
		return fail(err)
	}
	if ctx.Err() != nil {
		slog.Info("stopped")
	} else {
		slog.Info("done: " + plural(uint64(cfg.Minutes), "final minute") + " shown (--minutes)")
	}
	return 0
}

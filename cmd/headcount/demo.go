package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/headcount/headcount/internal/dashboard"
	"github.com/headcount/headcount/internal/demo"
	"github.com/headcount/headcount/internal/kafka"
	"github.com/headcount/headcount/internal/metrics"
	"github.com/headcount/headcount/internal/pipeline"
)

func init() { commands["demo"] = runDemo }

const demoUsage = `Usage: headcount demo [flags]

Zero set-up: starts an embedded Kafka-compatible broker in this process,
produces generated traffic to it (late frames included), runs the real
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
	httpAddr := fs.String("http", "127.0.0.1:8080", "HOST:PORT of the live dashboard (and /metrics); if it is taken, a free port is used; empty: none")
	if code, ok := parseArgs(fs, args); !ok {
		return code
	}
	if err := cfg.Validate(); err != nil {
		return usageErr(fmt.Errorf("demo: %w", err))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg.Out, cfg.Status = os.Stdout, os.Stderr
	if *httpAddr != "" {
		m, board := metrics.New(), dashboard.New()
		addr, err := m.Serve(ctx, *httpAddr, board.Register)
		if err != nil {
			addr, err = m.Serve(ctx, "127.0.0.1:0", board.Register)
		}
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(os.Stderr, "demo: live dashboard at http://%s/\n", addr)
		cfg.Observe = func(s *pipeline.Stats) { m.Observe(s); board.Observe(s) }
		cfg.Input = func(src *kafka.Source) { m.SetReadiness(metrics.Readiness{Input: src, MaxLag: metrics.DefaultMaxLag}) }
		cfg.Tee = board.Tee
	}
	if err := demo.Run(ctx, cfg); err != nil {
		return fail(err)
	}
	if ctx.Err() != nil {
		fmt.Fprintln(os.Stderr, "demo: stopped")
	} else {
		fmt.Fprintf(os.Stderr, "demo: done: %s shown (--minutes)\n", plural(uint64(cfg.Minutes), "final minute"))
	}
	return 0
}

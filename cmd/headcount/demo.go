package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/headcount/headcount/internal/cli"
	"github.com/headcount/headcount/internal/dashboard"
	"github.com/headcount/headcount/internal/demo"
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
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), demoUsage)
		fs.PrintDefaults()
	}
	rate := fs.Float64("rate", 1000, "frames per second of event time (the wall-clock rate is --rate × --speedup)")
	users := fs.Int("users", 20000, "number of distinct users the uids are drawn from")
	minutes := fs.Int("minutes", 0, "stop after this many final minutes (default 0: until Ctrl-C)")
	speedup := fs.Float64("speedup", 10, "event time runs this many times faster than the wall clock: a minute closes every 60/N seconds")
	partitions := fs.Int("partitions", 4, "partitions of the input topic")
	httpAddr := fs.String("http", "127.0.0.1:8080", "HOST:PORT of the live dashboard (and /metrics); if it is taken, a free port is used; empty: none")
	if err := cli.Parse(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		// fs printed its own errors, not the environment's.
		var envErr *cli.EnvError
		if errors.As(err, &envErr) {
			fmt.Fprintln(os.Stderr, "headcount demo:", err)
		}
		return 2
	}
	switch {
	case fs.NArg() > 0:
		return usageErr(fmt.Errorf("demo: unexpected argument %q", fs.Arg(0)))
	case *rate <= 0 || *users <= 0 || *speedup <= 0 || *partitions <= 0 || *minutes < 0:
		return usageErr(errors.New("demo: --rate, --users, --speedup and --partitions must be positive, --minutes not negative"))
	case *rate**speedup > 100000:
		return usageErr(fmt.Errorf("demo: --rate × --speedup = %g frames/s of wall time is more than this demo is meant for (100,000)", *rate**speedup))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg := demo.Config{
		Rate:       *rate,
		Users:      *users,
		Minutes:    *minutes,
		Speedup:    *speedup,
		Partitions: *partitions,
		Out:        os.Stdout,
		Status:     os.Stderr,
	}
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
		cfg.Tee = board.Tee
	}
	err := demo.Run(ctx, cfg)
	if err != nil {
		return fail(err)
	}
	if ctx.Err() != nil {
		fmt.Fprintln(os.Stderr, "demo: stopped")
	}
	return 0
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/headcount/headcount/internal/pipeline"
	"github.com/headcount/headcount/internal/source"
)

func init() { commands["bench"] = runBench }

// runBench reads one input three times: read only, read and parse, and the
// full pipeline (to a discarded output), so a user sees where time goes.
func runBench(args []string) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	in := fs.String("in", "", "input file of JSON lines (plain, .gz or .zst); required")
	runs := fs.Int("runs", 3, "runs of each stage; the median is reported")
	cfg := pipeline.DefaultConfig()
	addConfigFlags(fs, &cfg)
	withUsage(fs, "Usage: headcount bench --in FILE [flags]\n\nRuns the input through the pipeline read-only, read+parse, and in full, and prints frames/s and MB/s of each (medians).\n\nFlags (each also from HEADCOUNT_<FLAG>):\n")
	logFlags := addLogFlags(fs)
	if code, ok := parseArgs(fs, args); !ok {
		return code
	}
	log := logFlags.start("bench")
	if *in == "" || *in == "-" {
		return usageErr(errors.New("bench needs --in FILE (it reads the input several times)"))
	}
	if *runs < 1 {
		*runs = 1
	}
	if err := cfg.Validate(); err != nil {
		return usageErr(err)
	}
	fmt.Printf("%-8s %12s %10s %9s\n", "stage", "frames/s", "MB/s", "seconds")
	for _, st := range []struct {
		name  string
		stage pipeline.Stage
	}{{"read", pipeline.Read}, {"parse", pipeline.Parse}, {"full", pipeline.Full}} {
		var secs []float64
		var stats pipeline.Stats
		for range *runs {
			input, err := source.Open(*in)
			if err != nil {
				return fail(err)
			}
			begin := time.Now()
			cfg.Stage = st.stage
			stats, err = pipeline.Run(context.Background(), source.NewSource(input, source.MaxFrame(cfg.MaxFrame), source.DeferCut(true)), discard{}, cfg)
			input.Close()
			if err != nil {
				return fail(err)
			}
			secs = append(secs, time.Since(begin).Seconds())
		}
		m := median(secs)
		fmt.Printf("%-8s %12.0f %10.1f %9.3f\n", st.name, float64(stats.Frames)/m, float64(stats.Bytes)/1e6/m, m)
	}
	log.Report(fmt.Sprintf("(medians of %d runs; full = parse, the event-time core with run's settings, results discarded)\n", *runs),
		"medians", slog.Int("runs", *runs))
	return 0
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/headcount/headcount/internal/kafka"
	"github.com/headcount/headcount/internal/logging"
	"github.com/headcount/headcount/internal/progress"
	"github.com/headcount/headcount/internal/source"
)

func init() { commands["produce"] = runProduce }

const produceUsage = `Usage: headcount produce --out kafka://HOST:PORT/TOPIC [--in FILE|-] [flags]

Load JSON lines (plain, .gz or .zst, detected from the bytes) into a Kafka
topic, one record per line, as fast as the broker takes them: records are
batched per partition (--linger, --batch-bytes) and compressed
(--compression). Records have no key; franz-go's sticky partitioner sends
each batch to one partition and the next batch to another (like the Java
client, KIP-480), so partitions fill evenly and each keeps the input's
order. Empty lines are skipped.

Progress (frames/s, MB/s) is shown on stderr when it is a terminal or with
--progress; a summary follows at the end. The exit status is 1 if any record
was not delivered.

Examples:
  headcount gen --count 1000000 --seed 1 --out ref.jsonl.zst
  headcount produce --in ref.jsonl.zst --out kafka://127.0.0.1:9092/events --partitions 4

Every flag can also be set by its environment variable, HEADCOUNT_<FLAG>.

Flags:
`

// produceOpts are produce's flags.
type produceOpts struct {
	in, out         string
	maxFrame        int
	progress, quiet bool
	cfg             kafka.ProducerConfig
	logFlags        *logFlags
	log             *logging.Log
}

// parseProduce parses and checks produce's flags; with a nil result the
// command exits with code.
func parseProduce(args []string) (*produceOpts, int) {
	fs := withUsage(flag.NewFlagSet("produce", flag.ContinueOnError), produceUsage)
	o := &produceOpts{cfg: kafka.ProducerConfig{Compression: kafka.DefaultCompression, Linger: 5 * time.Millisecond, BatchMaxBytes: 1000000}}
	var partitions, batchBytes int
	fs.StringVar(&o.in, "in", "-", "input: a file of JSON lines (plain, .gz or .zst) or - for stdin")
	fs.StringVar(&o.out, "out", "", "the topic: kafka://HOST:PORT[,HOST:PORT]/TOPIC (required)")
	fs.IntVar(&partitions, "partitions", 0, "create the topic with this many partitions when it is missing (replication: the broker's default.replication.factor); 0: the topic must exist (default 0)")
	fs.StringVar(&o.cfg.Compression, "compression", o.cfg.Compression, "record batch compression: none, gzip, snappy, lz4 or zstd (Java: compression.type)")
	fs.DurationVar(&o.cfg.Linger, "linger", o.cfg.Linger, "how long a partition's batch waits for more records before it is sent (Java: linger.ms)")
	fs.IntVar(&batchBytes, "batch-bytes", int(o.cfg.BatchMaxBytes), "largest record batch in bytes, before compression (Java: batch.size); keep it under the broker's message.max.bytes")
	fs.IntVar(&o.maxFrame, "max-frame", source.DefaultMaxFrame, "longest line in bytes; longer lines are skipped and counted")
	fs.BoolVar(&o.progress, "progress", false, "print progress on stderr every second even when it is not a terminal, as log records (default: only on a terminal)")
	fs.BoolVar(&o.quiet, "quiet", false, "no summary on stderr")
	conn := addConnFlags(fs)
	o.logFlags = addLogFlags(fs)
	if code, ok := parseArgs(fs, args); !ok {
		return nil, code
	}
	o.log = o.logFlags.start("produce")
	o.cfg.Partitions, o.cfg.BatchMaxBytes = int32(min(max(partitions, -1), 1<<30)), int32(min(max(batchBytes, -1), 1<<30))
	if batchBytes == 0 {
		o.cfg.BatchMaxBytes = -1 // 0 would mean "the default" to the producer
	}
	brokers, topic, err := kafka.ParseTopicURL("--out", o.out)
	if o.out == "" {
		err = errors.New("--out kafka://HOST:PORT/TOPIC is required")
	}
	if err == nil {
		err = o.cfg.Validate()
	}
	if err != nil {
		return nil, usageErr(err)
	}
	o.cfg.Config, o.cfg.Topic = conn.config(brokers), topic
	return o, 0
}

func runProduce(args []string) int {
	o, code := parseProduce(args)
	if o == nil {
		return code
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	input, err := source.Open(o.in)
	if err != nil {
		return fail(err)
	}
	defer input.Close()
	p, err := kafka.NewProducer(ctx, o.cfg)
	if err != nil {
		return fail(err)
	}
	defer p.Close()

	begin := time.Now()
	stopProgress := func() {}
	if progress.IsTerminal(os.Stderr) || o.progress {
		stopProgress = startProgress(o.log, "produce", time.Second, time.Second, func() progress.Sample {
			_, _, frames, bytes := p.Progress()
			return progress.Sample{Frames: frames, Bytes: bytes, Note: "acknowledged"}
		})
	}
	skipped, err := p.Load(ctx, source.NewSource(input, source.MaxFrame(o.maxFrame)))
	stopProgress()
	if !o.quiet {
		o.summary(p, skipped, time.Since(begin))
	}
	switch {
	case err == nil:
		return 0
	case ctx.Err() != nil:
		slog.Warn("interrupted")
		return 130
	}
	return fail(err)
}

// summary reports what was produced: a line for a person (text), one
// record in JSON.
func (o *produceOpts) summary(p *kafka.Producer, skipped uint64, d time.Duration) {
	_, _, frames, bytes := p.Progress()
	secs := d.Seconds()
	text := fmt.Sprintf("headcount produce: %s frames (%.1f MB) to %s in %.2fs: %s frames/s, %.1f MB/s; %d skipped (empty or longer than --max-frame)\n",
		progress.Thousands(frames), float64(bytes)/1e6, o.cfg.Topic, secs, progress.Thousands(uint64(float64(frames)/secs)), float64(bytes)/1e6/secs, skipped)
	o.log.Report(text, "summary", slog.Uint64("frames", frames), slog.Uint64("bytes", bytes), slog.String("topic", o.cfg.Topic),
		slog.Float64("seconds", math.Round(secs*1000)/1000), slog.Uint64("skipped", skipped))
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/headcount/headcount/internal/cli"
	"github.com/headcount/headcount/internal/kafka"
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

func runProduce(args []string) int {
	fs := flag.NewFlagSet("produce", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), produceUsage)
		fs.PrintDefaults()
	}
	in := fs.String("in", "-", "input: a file of JSON lines (plain, .gz or .zst) or - for stdin")
	out := fs.String("out", "", "the topic: kafka://HOST:PORT[,HOST:PORT]/TOPIC (required)")
	partitions := fs.Int("partitions", 0, "create the topic with this many partitions when it is missing (replication: the broker's default.replication.factor); 0: the topic must exist (default 0)")
	compression := fs.String("compression", kafka.DefaultCompression, "record batch compression: none, gzip, snappy, lz4 or zstd (Java: compression.type)")
	linger := fs.Duration("linger", 5*time.Millisecond, "how long a partition's batch waits for more records before it is sent (Java: linger.ms)")
	batchBytes := fs.Int("batch-bytes", 1000000, "largest record batch in bytes, before compression (Java: batch.size); keep it under the broker's message.max.bytes")
	maxFrame := fs.Int("max-frame", source.DefaultMaxFrame, "longest line in bytes; longer lines are skipped and counted")
	showProgress := fs.Bool("progress", false, "print progress on stderr every second even when it is not a terminal (default: only on a terminal)")
	quiet := fs.Bool("quiet", false, "no summary on stderr")
	conn := addConnFlags(fs)

	if err := cli.Parse(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		// fs printed its own errors, not the environment's.
		var envErr *cli.EnvError
		if errors.As(err, &envErr) {
			fmt.Fprintln(os.Stderr, "headcount produce:", err)
		}
		return 2
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(os.Stderr, "headcount produce: "+format+"\n", a...)
		return 2
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q (the input is --in)", fs.Arg(0))
	}
	if *out == "" {
		return usageErr("--out kafka://HOST:PORT/TOPIC is required")
	}
	u, err := kafka.ParseURL(*out)
	if err != nil {
		return usageErr("--out: %v", err)
	}
	if len(u.Topics) != 1 {
		return usageErr("--out %s: want exactly one topic", *out)
	}
	if _, err := kafka.ParseCompression(*compression); err != nil {
		return usageErr("--compression: %v", err)
	}
	if *partitions < 0 || *batchBytes <= 0 || *linger < 0 {
		return usageErr("--partitions, --batch-bytes and --linger must not be negative")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	input, err := source.Open(*in)
	if err != nil {
		fmt.Fprintln(os.Stderr, "headcount produce:", err)
		return 1
	}
	defer input.Close()
	src := source.NewSource(input, source.MaxFrame(*maxFrame))

	p, err := kafka.NewProducer(ctx, kafka.ProducerConfig{
		Config:        conn.config(u.Brokers),
		Topic:         u.Topics[0],
		Partitions:    int32(*partitions),
		Compression:   *compression,
		Linger:        *linger,
		BatchMaxBytes: int32(*batchBytes),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "headcount produce:", err)
		return 1
	}
	defer p.Close()

	begin := time.Now()
	tty := progress.IsTerminal(os.Stderr)
	stopProgress := func() {}
	if tty || *showProgress {
		stopProgress = progress.Start(os.Stderr, "produce", tty, time.Second, func() progress.Sample {
			_, _, frames, bytes := p.Progress()
			return progress.Sample{Frames: frames, Bytes: bytes, Note: "acknowledged"}
		})
	}
	skipped, err := p.Load(ctx, src)
	stopProgress()
	if !*quiet {
		_, _, frames, bytes := p.Progress()
		secs := time.Since(begin).Seconds()
		fmt.Fprintf(os.Stderr, "headcount produce: %s frames (%.1f MB) to %s in %.2fs: %s frames/s, %.1f MB/s; %d skipped (empty or longer than --max-frame)\n",
			progress.Thousands(frames), float64(bytes)/1e6, u.Topics[0], secs, progress.Thousands(uint64(float64(frames)/secs)), float64(bytes)/1e6/secs, skipped)
	}
	switch {
	case err == nil:
		return 0
	case ctx.Err() != nil:
		fmt.Fprintln(os.Stderr, "headcount produce: interrupted")
		return 130
	}
	fmt.Fprintln(os.Stderr, "headcount produce:", err)
	return 1
}

package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/headcount/headcount/internal/frame"
	"github.com/headcount/headcount/internal/gen"
	"github.com/headcount/headcount/internal/kafka"
	"github.com/headcount/headcount/internal/pipeline"
	"github.com/headcount/headcount/internal/watermark"
	"github.com/headcount/headcount/internal/window"
)

// Topic names on the embedded broker.
const (
	InputTopic  = "events"
	OutputTopic = "headcount-results"
	Group       = "headcount-demo"
)

// Config sets up a demo. Zero fields take the defaults below.
type Config struct {
	// Rate is frames per second of event time (default 1000, like the
	// reference traffic); the wall-clock rate is Rate × Speedup.
	Rate float64
	// Users is the population of uids (default 20000).
	Users int
	// Minutes stops the demo after this many final minutes (default 0:
	// until ctx is done).
	Minutes int
	// Speedup makes event time run this many times faster than the wall
	// clock (default 10: a minute closes every 6 s).
	Speedup float64
	// Partitions of the input topic (default 4).
	Partitions int
	// Lateness is the pipeline's allowed lateness in event time (default
	// 5s). Frames are late by up to 30 s (1%): those that miss their
	// minute's close are counted as corrections.
	Lateness time.Duration
	// Out receives the final counts; Status the periodic status lines.
	Out, Status io.Writer
	// StatusEvery is the wall-clock interval of status lines (default 5s).
	StatusEvery time.Duration
	// Logger for the Kafka clients; default: warnings and errors only.
	Logger *slog.Logger
	// Observe and Tee, if set, connect a dashboard: Observe receives the
	// pipeline's stats, Tee wraps its result sink.
	Observe func(*pipeline.Stats)
	Tee     func(pipeline.Sink) pipeline.Sink
}

func (c *Config) defaults() {
	if c.Rate <= 0 {
		c.Rate = 1000
	}
	if c.Users <= 0 {
		c.Users = 20000
	}
	if c.Speedup <= 0 {
		c.Speedup = 10
	}
	if c.Partitions <= 0 {
		c.Partitions = 4
	}
	if c.Lateness <= 0 {
		c.Lateness = 5 * time.Second
	}
	if c.StatusEvery <= 0 {
		c.StatusEvery = 5 * time.Second
	}
	if c.Out == nil {
		c.Out = io.Discard
	}
	if c.Status == nil {
		c.Status = io.Discard
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(c.Status, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
}

// Clock is the demo's event clock: it starts at the beginning of the
// current minute and runs Speedup times faster than the wall clock. The
// generator, the pipeline's wall clock (idle partitions, plausibility) and
// the status line all read it, so the whole demo lives in one sped-up time.
type Clock struct {
	wall0   time.Time
	event0  time.Time
	speedup float64
}

// NewClock starts a clock at the minute containing now.
func NewClock(now time.Time, speedup float64) *Clock {
	return &Clock{wall0: now, event0: now.UTC().Truncate(time.Minute), speedup: speedup}
}

// Now returns the current event time.
func (c *Clock) Now() time.Time {
	return c.event0.Add(time.Duration(float64(time.Since(c.wall0)) * c.speedup))
}

// wallAt returns the wall time at which event time event0+d arrives.
func (c *Clock) wallAt(d time.Duration) time.Time {
	return c.wall0.Add(time.Duration(float64(d) / c.speedup))
}

// Stats are the live counters the status line shows.
type Stats struct {
	Produced, Consumed, TooLate, Rejected atomic.Uint64
}

// Run starts an embedded Kafka-compatible broker, produces generated
// traffic to it at the configured pace, runs the real pipeline (Kafka
// source, counting, Kafka sink) and prints every final per-minute count as
// it arrives on the output topic. It returns nil when ctx is done or after
// Minutes final minutes.
func Run(ctx context.Context, cfg Config) error {
	cfg.defaults()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(int32(cfg.Partitions), InputTopic))
	if err != nil {
		return fmt.Errorf("demo: start the embedded broker: %w", err)
	}
	defer cluster.Close()
	conn := kafka.Config{Brokers: cluster.ListenAddrs(), ClientID: "headcount-demo", Logger: cfg.Logger}
	clock := NewClock(time.Now(), cfg.Speedup)
	var st Stats

	fmt.Fprintf(cfg.Status, "demo: embedded Kafka broker at %s, topic %q with %d partitions; %s frames/s of event time from %s users, event time %g× the wall clock (a minute every %.1fs)\n",
		conn.Brokers[0], InputTopic, cfg.Partitions, fmtInt(uint64(cfg.Rate)), fmtInt(uint64(cfg.Users)), cfg.Speedup, 60/cfg.Speedup)

	src, err := kafka.NewSource(ctx, kafka.SourceConfig{Config: conn, Topics: []string{InputTopic}, Group: Group, CommitInterval: time.Second})
	if err != nil {
		return err
	}
	defer src.Close()
	sink, err := kafka.NewSink(ctx, kafka.SinkConfig{Config: conn, Topic: OutputTopic})
	if err != nil {
		return err
	}
	defer sink.Close()

	var wg sync.WaitGroup
	errs := make(chan error, 4)
	goRun := func(name string, fn func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(ctx); err != nil && ctx.Err() == nil {
				errs <- fmt.Errorf("demo %s: %w", name, err)
				cancel()
			}
		}()
	}
	goRun("producer", func(ctx context.Context) error { return produce(ctx, conn, cfg, clock, &st) })
	goRun("printer", func(ctx context.Context) error { return printResults(ctx, conn, cfg, clock, cancel) })
	goRun("status", func(ctx context.Context) error { return status(ctx, conn, cfg, clock, &st, src) })

	pcfg := pipeline.Config{
		// The run command's defaults: late frames within an hour are
		// corrections, and the guard against bogus timestamps is on.
		Window: window.Config{Kinds: []window.Kind{window.Minute}, Keep: time.Hour},
		Watermark: watermark.Config{
			Lateness: cfg.Lateness, Idle: 30 * time.Second,
			MinTS: 946684800, MaxFuture: time.Hour, MaxJump: time.Hour,
		},
		Early: time.Second,
		Dead:  &countDead{st: &st},
		Now:   clock.Now,
	}
	var results pipeline.Sink = sink
	if cfg.Tee != nil {
		results = cfg.Tee(results)
	}
	pcfg.Observe = cfg.Observe
	_, err = pipeline.Run(ctx, src, results, pcfg)
	cancel()
	wg.Wait()
	close(errs)
	if perr := <-errs; perr != nil {
		return perr
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("demo pipeline: %w", err)
	}
	return nil
}

// produce sends generated frames when their arrival time comes on the event
// clock.
func produce(ctx context.Context, conn kafka.Config, cfg Config, clock *Clock, st *Stats) error {
	opts, err := conn.Opts()
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(append(opts,
		kgo.DefaultProduceTopic(InputTopic),
		kgo.ProducerLinger(5*time.Millisecond),
		kgo.ProducerBatchCompression(kgo.Lz4Compression()),
		// Keyless records round-robin over the partitions, so every
		// partition's event time moves on together and none holds the
		// watermark back.
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner()),
	)...)
	if err != nil {
		return err
	}
	defer cl.Close()
	g := gen.New(gen.Config{
		Count:     -1,
		Rate:      cfg.Rate,
		Users:     cfg.Users,
		Start:     clock.event0.Unix(),
		Delay:     30 * time.Second,
		DelayProb: 0.01,
		Seed:      rand.Uint64(),
	})
	var perr atomic.Pointer[error]
	promise := func(_ *kgo.Record, err error) {
		if err != nil {
			perr.CompareAndSwap(nil, &err)
		}
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		if p := perr.Load(); p != nil {
			return *p
		}
		f, _, _, _, _ := g.Next(nil)
		if wait := time.Until(clock.wallAt(g.Elapsed())); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return nil
			case <-timer.C:
			}
		}
		cl.Produce(ctx, &kgo.Record{Value: f}, promise)
		st.Produced.Add(1)
	}
}

// result is the part of an output record the printer shows.
type result struct {
	Window string  `json:"window"`
	Start  string  `json:"start"`
	Users  uint64  `json:"users"`
	Frames uint64  `json:"frames"`
	Final  bool    `json:"final"`
	Rev    int     `json:"rev"`
	Exact  bool    `json:"exact"`
	RSE    float64 `json:"rse"`
}

// printResults reads the output topic like any consumer of headcount would
// and prints each final minute.
func printResults(ctx context.Context, conn kafka.Config, cfg Config, clock *Clock, stop context.CancelFunc) error {
	opts, err := conn.Opts()
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(append(opts, kgo.ConsumeTopics(OutputTopic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
	if err != nil {
		return err
	}
	defer cl.Close()
	finals := 0
	// Corrections come once per second of event time while late frames
	// arrive; only the latest of each minute is shown, just before the
	// next minute's final result.
	pending := map[string]result{}
	var pendingRaw = map[string][]byte{}
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil
		}
		for _, e := range fs.Errors() {
			cfg.Logger.Warn("demo: reading results", "err", e.Err)
		}
		var done bool
		fs.EachRecord(func(r *kgo.Record) {
			var res result
			if err := json.Unmarshal(r.Value, &res); err != nil || !res.Final || res.Window != "minute" {
				return
			}
			if t, err := time.Parse(time.RFC3339, res.Start); err == nil && t.Before(clock.event0) {
				// Only the frames that were "delayed" from before the
				// demo began: not a minute worth showing.
				return
			}
			if res.Rev > 1 {
				pending[res.Start] = res
				pendingRaw[res.Start] = append([]byte(nil), r.Value...)
				return
			}
			for _, start := range slices.Sorted(maps.Keys(pending)) {
				fmt.Fprintf(cfg.Out, "%s\n    %s\n", describe(pending[start]), pendingRaw[start])
			}
			clear(pending)
			clear(pendingRaw)
			fmt.Fprintf(cfg.Out, "%s\n    %s\n", describe(res), r.Value)
			finals++
			if cfg.Minutes > 0 && finals >= cfg.Minutes {
				done = true
			}
		})
		if done {
			stop()
			return nil
		}
	}
}

// describe renders a result for people: "13:40 UTC  47,232 users  63,858 frames  (final, exact)".
func describe(r result) string {
	when := r.Start
	if t, err := time.Parse(time.RFC3339, r.Start); err == nil {
		when = t.UTC().Format("15:04 MST")
	}
	kind := "exact"
	if !r.Exact {
		kind = fmt.Sprintf("±%.1f%%", 100*r.RSE)
	}
	state := "final, " + kind
	if r.Rev > 1 {
		state = fmt.Sprintf("corrected, rev %d, %s", r.Rev, kind)
	}
	return fmt.Sprintf("%s  %8s users  %8s frames  (%s)", when, fmtInt(r.Users), fmtInt(r.Frames), state)
}

// status prints a status line every StatusEvery and trims the consumed
// part of the input topic, since the embedded broker keeps its log in
// memory.
func status(ctx context.Context, conn kafka.Config, cfg Config, clock *Clock, st *Stats, src *kafka.Source) error {
	opts, err := conn.Opts()
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	t := time.NewTicker(cfg.StatusEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		now := clock.Now()
		fmt.Fprintf(cfg.Status, "status: event time %s (%g× speed) · produced %s · counted from Kafka %s · too late %s · rejected %s\n",
			now.Format("15:04:05"), cfg.Speedup, fmtInt(st.Produced.Load()), fmtInt(src.Frames()), fmtInt(st.TooLate.Load()), fmtInt(st.Rejected.Load()))
		trim(ctx, adm)
	}
}

// trim deletes input records the demo group has committed.
func trim(ctx context.Context, adm *kadm.Client) {
	committed, err := adm.FetchOffsets(ctx, Group)
	if err != nil {
		return
	}
	os := committed.Offsets()
	if len(os) > 0 {
		_, _ = adm.DeleteRecords(ctx, os) // best effort: memory, not correctness
	}
}

// countDead counts rejected frames for the status line (the demo keeps no
// dead-letter topic).
type countDead struct{ st *Stats }

func (c *countDead) Reject(_ int32, _ int64, _ []byte, r frame.Reason) error {
	if r == frame.TooLate {
		c.st.TooLate.Add(1)
	} else {
		c.st.Rejected.Add(1)
	}
	return nil
}

// fmtInt formats n with thousands separators.
func fmtInt(n uint64) string {
	s := strconv.FormatUint(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/headcount/headcount/internal/frame"
	"github.com/headcount/headcount/internal/gen"
	"github.com/headcount/headcount/internal/kafka"
	"github.com/headcount/headcount/internal/pipeline"
	"github.com/headcount/headcount/internal/progress"
	"github.com/headcount/headcount/internal/result"
	"github.com/headcount/headcount/internal/source"
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
	// DemoLateness). Frames are late by up to 30 s (1%): with a lateness
	// that covers it, a minute is right at its first final result; with
	// less, the frames that miss their minute's close are corrections.
	Lateness time.Duration
	// Out receives the final counts; Status the periodic status lines.
	Out, Status io.Writer
	// StatusEvery is the wall-clock interval of status lines (default 5s).
	StatusEvery time.Duration
	// Logger for the Kafka clients; default: warnings and errors only.
	Logger *slog.Logger
	// BadProb is the share of frames broken in one of the ways real
	// traffic breaks (badKinds: truncated, not UTF-8, uid missing…;
	// default 0.005, negative: none), BitFlipProb the share whose ts has a
	// flipped bit (default 0.001, negative: none). The pipeline rejects
	// them all and the counts stay those of the good frames.
	BadProb, BitFlipProb float64
	// Observe, if set, receives the pipeline's stats (metrics).
	Observe func(*pipeline.Stats)
	// Board, if set, shows the demo live (the dashboard).
	Board Board
	// Input, if set, is handed the pipeline's Kafka source once it is
	// open (its lag and readiness, for metrics).
	Input func(*kafka.Source)
}

// Board is what shows a demo live: it sees the pipeline's stats, results
// and dead letters, and is told the demo's clock.
type Board interface {
	Observe(*pipeline.Stats)
	Tee(pipeline.Sink) pipeline.Sink
	TeeDead(pipeline.DeadLetters) pipeline.DeadLetters
	// DemoClock is called once, before any frame: event time starts at
	// start and runs speedup times faster than the wall clock.
	DemoClock(start time.Time, speedup float64, now func() time.Time)
}

// The shares of bad frames in the demo's traffic: about what real traffic
// carries, enough to show on the dashboard every few seconds.
const (
	DefaultBadProb     = 0.005
	DefaultBitFlipProb = 0.001
)

// MaxWallRate is the most frames per second of wall time (Rate × Speedup)
// the demo is meant for.
const MaxWallRate = 100000

// DefaultConfig is the demo command's settings, explicitly.
func DefaultConfig() Config {
	c := Config{}
	c.defaults()
	// The writers and logger stay unset: Run fills them from Out and Status.
	c.Out, c.Status, c.Logger = nil, nil, nil
	return c
}

// Validate checks a configuration whose fields are set explicitly (as
// DefaultConfig's are), naming the flag of the demo command that sets each
// one out of range.
func (c Config) Validate() error {
	var errs []error
	if !(c.Rate > 0) || c.Users <= 0 || !(c.Speedup > 0) || c.Partitions <= 0 || c.Minutes < 0 {
		errs = append(errs, errors.New("--rate, --users, --speedup and --partitions must be positive, --minutes not negative"))
	}
	if !(c.BadProb >= 0 && c.BadProb <= 1 && c.BitFlipProb >= 0 && c.BitFlipProb <= 1) {
		errs = append(errs, errors.New("--bad-prob and --bitflip-prob must be within [0, 1]"))
	}
	if c.Rate*c.Speedup > MaxWallRate {
		errs = append(errs, fmt.Errorf("--rate × --speedup = %g frames/s of wall time is more than this demo is meant for (%d)", c.Rate*c.Speedup, MaxWallRate))
	}
	return errors.Join(errs...)
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
	if c.BadProb == 0 {
		c.BadProb = DefaultBadProb
	}
	if c.BitFlipProb == 0 {
		c.BitFlipProb = DefaultBitFlipProb
	}
	if c.Lateness <= 0 {
		c.Lateness = DemoLateness
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
	if cfg.Board != nil {
		cfg.Board.DemoClock(clock.event0, cfg.Speedup, clock.Now)
	}
	var st Stats

	fmt.Fprintf(cfg.Status, "demo: embedded Kafka broker at %s, topic %q with %d partitions; %s frames/s of event time from %s users, event time %g× the wall clock (a minute every %.1fs)\n",
		conn.Brokers[0], InputTopic, cfg.Partitions, progress.Thousands(uint64(cfg.Rate)), progress.Thousands(uint64(cfg.Users)), cfg.Speedup, 60/cfg.Speedup)

	c, err := openClients(ctx, conn, cfg.Input)
	if err != nil {
		return err
	}
	defer c.close()
	producer, src, reader, admin := c.producer, c.src, c.reader, c.admin

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
	goRun("producer", func(ctx context.Context) error {
		_, err := producer.Load(ctx, newPaced(clock, cfg, &st))
		return err
	})
	goRun("printer", func(ctx context.Context) error { return printResults(ctx, reader, cfg, clock, cancel) })
	goRun("status", func(ctx context.Context) error { return status(ctx, cfg, clock, &st, producer, src, admin) })

	pcfg, results := pipelineConfig(cfg, clock, &st, c.sink)
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

// clients are the demo's Kafka clients, each the one the commands use
// (internal/kafka).
type clients struct {
	producer *kafka.Producer
	src      *kafka.Source
	sink     *kafka.Sink
	reader   *kafka.ResultReader
	admin    *kafka.Admin
	closers  []func() error // in the order opened
}

// openClients opens the demo's clients; input, if set, is handed the source
// once it is open (Config.Input).
func openClients(ctx context.Context, conn kafka.Config, input func(*kafka.Source)) (c *clients, err error) {
	c = &clients{}
	defer func() {
		if err != nil {
			c.close()
		}
	}()
	c.producer, err = kafka.NewProducer(ctx, kafka.ProducerConfig{
		Config: conn, Topic: InputTopic,
		// Keyless records one by one over the partitions, so every
		// partition's event time moves on together and none holds the
		// watermark back.
		RoundRobin: true,
	})
	if err != nil {
		return c, fmt.Errorf("demo producer: %w", err)
	}
	c.closers = append(c.closers, c.producer.Close)
	if c.src, err = kafka.NewSource(ctx, kafka.SourceConfig{Config: conn, Topics: []string{InputTopic}, Group: Group, CommitInterval: time.Second}); err != nil {
		return c, fmt.Errorf("demo source: %w", err)
	}
	c.closers = append(c.closers, c.src.Close)
	if input != nil {
		input(c.src)
	}
	if c.sink, err = kafka.NewSink(ctx, kafka.SinkConfig{Config: conn, Topic: OutputTopic}); err != nil {
		return c, fmt.Errorf("demo sink: %w", err)
	}
	c.closers = append(c.closers, c.sink.Close)
	if c.reader, err = kafka.NewResultReader(ctx, kafka.ResultReaderConfig{Config: conn, Topic: OutputTopic}); err != nil {
		return c, fmt.Errorf("demo result reader: %w", err)
	}
	c.closers = append(c.closers, c.reader.Close)
	if c.admin, err = kafka.NewAdmin(ctx, conn); err != nil {
		return c, fmt.Errorf("demo admin: %w", err)
	}
	c.closers = append(c.closers, c.admin.Close)
	return c, nil
}

// close closes the clients, the last opened first.
func (c *clients) close() {
	for _, f := range slices.Backward(c.closers) {
		f()
	}
}

// pipelineConfig is the run command's settings (corrections within an
// hour, the guard against bogus timestamps), on the demo's clock: its
// wall-clock durations run Speedup times faster, so --idle is scaled to
// mean what it means for run. The board, if any, sees the stats, results
// and dead letters.
func pipelineConfig(cfg Config, clock *Clock, st *Stats, sink pipeline.Sink) (pipeline.Config, pipeline.Sink) {
	pcfg := pipeline.DefaultConfig()
	pcfg.Watermark.Lateness = cfg.Lateness
	pcfg.Watermark.Idle = time.Duration(float64(pcfg.Watermark.Idle) * cfg.Speedup)
	pcfg.Early = time.Second
	pcfg.Dead = &countDead{st: st, log: cfg.Logger}
	pcfg.Now = clock.Now
	pcfg.Observe = cfg.Observe
	b := cfg.Board
	if b == nil {
		return pcfg, sink
	}
	pcfg.Dead = b.TeeDead(pcfg.Dead)
	pcfg.Observe = func(s *pipeline.Stats) {
		if cfg.Observe != nil {
			cfg.Observe(s)
		}
		b.Observe(s)
	}
	return pcfg, b.Tee(sink)
}

// paced is the demo's input: generated frames, each handed out when its
// arrival time comes on the event clock. It is a source.Source, so the
// bulk loader (kafka.Producer.Load) sends it.
type paced struct {
	g       *gen.Generator
	clock   *Clock
	next    []byte // generated, not yet due
	timer   *time.Timer
	rng     *rand.Rand // which frames are broken, and how
	badProb float64
	st      *Stats
}

// pacedBatch caps a batch of frames that are due at once (after a stall).
const pacedBatch = 1024

// demoDelay is how late the demo's traffic is at most (1% of frames).
const demoDelay = 30 * time.Second

// DemoLateness is the demo's default lateness: its traffic's delays and a
// second, so that every minute is right when it closes (measured on the
// reference traffic, which has the same delays: 18 of 18 minutes right at
// their first final result, against 1 of 18 with the run command's 5 s).
const DemoLateness = demoDelay + time.Second

func newPaced(clock *Clock, cfg Config, st *Stats) *paced {
	cfg.defaults()
	return &paced{
		rng:     rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
		badProb: cfg.BadProb,
		st:      st,
		g: gen.New(gen.Config{
			Count:     -1,
			Rate:      cfg.Rate,
			Users:     cfg.Users,
			Start:     clock.event0.Unix(),
			Delay:     demoDelay,
			DelayProb: 0.01,
			// gen's zero is "none", the demo's negative.
			BitFlipProb: max(cfg.BitFlipProb, 0),
			Seed:        rand.Uint64(),
		}),
		clock: clock,
	}
}

// Next returns the frames that are due, waiting for the first of them.
func (p *paced) Next(ctx context.Context) (*source.Batch, error) {
	if err := ctx.Err(); err != nil {
		return nil, err // even when frames are due: the demo is over
	}
	b := &source.Batch{}
	for len(b.Frames) < pacedBatch {
		if p.next == nil {
			p.next = p.generate()
		}
		if wait := time.Until(p.clock.wallAt(p.g.Elapsed())); wait > 0 {
			if len(b.Frames) > 0 {
				break
			}
			if err := p.sleep(ctx, wait); err != nil {
				return nil, err
			}
		}
		b.Frames = append(b.Frames, p.next)
		p.next = nil
	}
	return b, nil
}

// generate returns the next frame, broken now and then as real traffic
// is, and counts it by the reason it must be rejected for (OK: good).
func (p *paced) generate() []byte {
	f, uid, ts, arrival, _ := p.g.Next(nil) // endless: Count is -1
	why := frame.OK
	if ts > arrival || ts < arrival-int64(demoDelay/time.Second) {
		why = frame.BogusTS // a flipped bit: decades away, or negative
	} else if p.badProb > 0 && p.rng.Float64() < p.badProb {
		k := badKinds[p.rng.IntN(len(badKinds))]
		f, why = k.make(f, uid, ts), k.reason
	}
	p.st.Sent[why].Add(1)
	return f
}

func (p *paced) sleep(ctx context.Context, d time.Duration) error {
	if p.timer == nil {
		p.timer = time.NewTimer(d)
	} else {
		p.timer.Reset(d)
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-p.timer.C:
		return nil
	}
}

func (p *paced) Close() error {
	if p.timer != nil {
		p.timer.Stop()
	}
	return nil
}

// printResults reads the output topic like any consumer of headcount would
// and prints each final minute, until Minutes of them.
func printResults(ctx context.Context, reader *kafka.ResultReader, cfg Config, clock *Clock, stop context.CancelFunc) error {
	pr := printer{out: cfg.Out, minutes: cfg.Minutes, since: clock.event0}
	for {
		recs, err := reader.Poll(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			cfg.Logger.Warn("demo: reading results", "err", err)
		}
		for _, r := range recs {
			if pr.add(r) {
				stop()
				return nil
			}
		}
	}
}

// printer shows final minutes as they arrive. Corrections come once per
// second of event time while late frames arrive; only the latest of each
// minute is shown, just before the next minute's final result.
type printer struct {
	out     io.Writer
	minutes int       // stop after this many finals; 0: never
	since   time.Time // minutes before it are not shown
	finals  int
	pending map[int64]kafka.ResultRecord // latest correction by start
}

// add prints what r calls for and reports whether the demo is done.
func (p *printer) add(r kafka.ResultRecord) (done bool) {
	res := r.Result
	if !res.Final || res.Window != "minute" || res.Start.Before(p.since) {
		// Provisional, or a minute of the frames "delayed" from before
		// the demo began: not worth showing.
		return false
	}
	if res.Rev > 1 {
		if p.pending == nil {
			p.pending = map[int64]kafka.ResultRecord{}
		}
		p.pending[res.Start.Unix()] = r
		return false
	}
	for _, start := range slices.Sorted(maps.Keys(p.pending)) {
		c := p.pending[start]
		fmt.Fprintf(p.out, "%s\n    %s\n", describe(c.Result), c.Value)
	}
	clear(p.pending)
	fmt.Fprintf(p.out, "%s\n    %s\n", describe(res), r.Value)
	p.finals++
	return p.minutes > 0 && p.finals >= p.minutes
}

// describe renders a result for people: "13:40 UTC  47,232 users  63,858 frames  (final, exact)".
func describe(r result.Result) string {
	kind := "exact"
	if !r.Exact {
		kind = fmt.Sprintf("±%.1f%%", 100*r.RSE)
	}
	state := "final, " + kind
	if r.Rev > 1 {
		state = fmt.Sprintf("corrected, rev %d, %s", r.Rev, kind)
	}
	return fmt.Sprintf("%s  %8s users  %8s frames  (%s)", r.Start.UTC().Format("15:04 MST"), progress.Thousands(r.Users), progress.Thousands(r.Frames), state)
}

// status prints a status line every StatusEvery and trims the consumed
// part of the input topic, since the embedded broker keeps its log in
// memory.
func status(ctx context.Context, cfg Config, clock *Clock, st *Stats, producer *kafka.Producer, src *kafka.Source, admin *kafka.Admin) error {
	t := time.NewTicker(cfg.StatusEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		produced, _, _, _ := producer.Progress()
		fmt.Fprintf(cfg.Status, "status: event time %s (%g× speed) · produced %s · read from Kafka %s · rejected %s of the %s bad frames sent · too late %s\n",
			clock.Now().Format("15:04:05"), cfg.Speedup, progress.Thousands(produced), progress.Thousands(src.Frames()),
			progress.Thousands(total(&st.Rejected)), progress.Thousands(total(&st.Sent)), progress.Thousands(st.Rejected[frame.TooLate].Load()))
		// Memory, not correctness: a failure is reported and the demo
		// goes on.
		if err := admin.DeleteCommitted(ctx, Group); err != nil && ctx.Err() == nil {
			cfg.Logger.Warn("demo: trim the input topic", "err", err)
		}
	}
}

// countDead counts rejected frames for the status line (the demo keeps no
// dead-letter topic) and reports any reject beyond the bad frames sent: a
// good frame rejected would make a count wrong.
type countDead struct {
	st  *Stats
	log *slog.Logger
}

func (c *countDead) Reject(partition int32, off int64, f []byte, r frame.Reason) error {
	n := c.st.Rejected[r].Add(1)
	if r != frame.TooLate && n > c.st.Sent[r].Load() {
		c.st.Unexpected.Add(1)
		c.log.Warn("demo: a frame sent as good was rejected", "reason", r.String(), "partition", partition, "offset", off, "frame", string(f[:min(len(f), 200)]))
	}
	return nil
}

// A member of a group that counts together: several headcount processes
// with the same --group share the input's partitions and publish one exact
// result per window. Unique counts do not add up across partitions, so the
// members re-key the frames by user (Flink's split distinct aggregation):
//
//	input partitions --(split, in each member's pipeline)--> bucket topic
//	bucket topic partitions --(count: one event-time core per bucket)--> counts topic
//	counts topic (1 partition) --(merge: sum, once every bucket is past a window)--> output
//
// Each arrow is a consumer group of its own and every step commits what it
// produced with its consumed offsets and its state in one Kafka transaction,
// so a crash, a rebalance or a member added or removed loses and doubles
// nothing. docs/ARCHITECTURE.md draws the topology and gives the measured
// reasons for this design.

package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/headcount/headcount/internal/bucket"
	"github.com/headcount/headcount/internal/frame"
	"github.com/headcount/headcount/internal/pipeline"
	"github.com/headcount/headcount/internal/result"
	"github.com/headcount/headcount/internal/watermark"
	"github.com/headcount/headcount/internal/window"
)

// MemberConfig configures a Member.
type MemberConfig struct {
	// Source is the input; it needs a Group. ExactlyOnce, BucketTopic and
	// Finished are set by NewMember.
	Source    SourceConfig
	Window    window.Config
	Watermark watermark.Config
	Early     time.Duration
	// Buckets is the number of partitions of the bucket topic when it is
	// created (default: as many as the input has): how many members can
	// count at once. An existing topic keeps its number.
	Buckets int
	// OpenResults opens where the merge writes results, producing through
	// txn when it is a Kafka topic.
	OpenResults func(txn *Txn) (pipeline.Sink, func() error, error)
	// OpenDeadLetters, if set, opens where the buckets' counters send the
	// frames they reject (too late, bogus timestamps), producing through
	// txn when it is a Kafka topic; origin names the input partitions.
	OpenDeadLetters func(txn *Txn, origin func(int32) (string, int32, bool)) (pipeline.DeadLetters, func() error, error)
	// Observe, if set, sees every result this member publishes.
	Observe func([]result.Result)
}

// Member runs the three steps of one member: its Source feeds the caller's
// pipeline, whose Counter (NewCounter) splits frames by bucket; the count
// and merge stages run on goroutines of their own until Close.
type Member struct {
	src     *Source
	buckets int
	topic   string // the bucket topic
	stages  []*stage
	closers []func() error
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	errOnce sync.Once
	err     error
	failed  chan struct{}
	// finished is closed once the group has published everything this
	// member's --until-end input covers (finish).
	finished   chan struct{}
	finishOnce sync.Once
	untilEnd   bool
	ends       []bucket.End // where the input ends (untilEnd)
	// leave, for an --until-end member with an instance id, takes it out
	// of its groups at Close: a static member's partitions otherwise wait
	// for its session, and a backfill that ended is not restarted.
	leave func()
	// Closed once the internal topics exist, or could not be created
	// (topicsErr).
	topicsReady chan struct{}
	topicsErr   error

	// What this member's steps counted, for the run's summary and
	// metrics (group_ops.go).
	published   atomic.Uint64
	corrections atomic.Uint64
	rejected    [frame.NumReasons]atomic.Uint64
	watermark   atomic.Int64 // the lowest of the buckets counted here
}

// Published is the number of results this member's merge published
// (committed or not: an aborted commit publishes them again).
func (m *Member) Published() uint64 { return m.published.Load() }

// Rejected is the number of frames this member's buckets rejected, by
// reason (frames that do not parse are the pipeline's).
func (m *Member) Rejected() [frame.NumReasons]uint64 {
	var out [frame.NumReasons]uint64
	for i := range out {
		out[i] = m.rejected[i].Load()
	}
	return out
}

// Topic names of a group's internal topics.
func bucketTopic(group string) string { return group + ".headcount-buckets" }
func countTopic(group string) string  { return group + ".headcount-counts" }

// NewMember creates the group's internal topics when missing, joins the
// three consumer groups and starts counting and merging.
func NewMember(ctx context.Context, cfg MemberConfig) (*Member, error) {
	sc := cfg.Source
	if sc.Group == "" {
		return nil, errors.New("kafka: counting together needs a consumer group")
	}
	if sc.StateTopic == "" {
		sc.StateTopic = sc.Group + ".headcount-state"
	}
	m := &Member{topic: bucketTopic(sc.Group), failed: make(chan struct{}), finished: make(chan struct{})}
	m.watermark.Store(watermark.None)
	if err := m.start(ctx, cfg, sc); err != nil {
		_ = m.Close()
		return nil, err
	}
	return m, nil
}

// start opens the member's stages and source.
func (m *Member) start(ctx context.Context, cfg MemberConfig, sc SourceConfig) error {
	inputs, err := m.prepareTopics(ctx, &sc, cfg.Buckets)
	if err != nil {
		return err
	}
	sctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	// The input first: its fetches begin while the steps after it join
	// their groups.
	if err := m.openSource(ctx, sc); err != nil {
		return err
	}
	if err := m.openCount(ctx, cfg, &sc, inputs); err != nil {
		return err
	}
	if err := m.openMerge(ctx, cfg, &sc); err != nil {
		return err
	}
	for _, st := range m.stages {
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			// An error once the member is closing is the closing's
			// (a commit cut short aborts): not a failure.
			if err := st.run(sctx); err != nil && sctx.Err() == nil {
				m.fail(err)
			}
		}()
	}
	if sc.UntilEnd {
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			if err := m.topics(sctx); err != nil {
				return // reported by the steps
			}
			m.watchDone(sctx, &sc.Config, countTopic(sc.Group))
		}()
	}
	return nil
}

// openSource opens the member's input, whose pipeline splits the frames.
func (m *Member) openSource(ctx context.Context, sc SourceConfig) error {
	sc.ExactlyOnce, sc.BucketTopic = true, m.topic
	if sc.UntilEnd {
		sc.Finished = m.finished
		if sc.InstanceID != "" {
			cfg := sc.Config
			m.leave = func() { leaveStatic(&cfg, sc.InstanceID, sc.Group, m.topic, countTopic(sc.Group)) }
		}
	}
	var err error
	if m.src, err = NewSource(ctx, sc); err != nil {
		return err
	}
	m.untilEnd, m.ends = sc.UntilEnd, m.src.Ends()
	return nil
}

// finish ends an --until-end member's input: the group has published
// everything up to ends, and ends cover where this member's input ends.
func (m *Member) finish(ends []bucket.End) {
	if m.untilEnd && covers(ends, m.ends) {
		m.finishOnce.Do(func() { close(m.finished) })
	}
}

// openCount opens the buckets' counters (not yet running).
func (m *Member) openCount(ctx context.Context, cfg MemberConfig, sc *SourceConfig, inputs *inputIDs) error {
	count := &countWork{win: cfg.Window, wm: cfg.Watermark, early: cfg.Early, inputs: inputs, countTopic: countTopic(sc.Group),
		buckets: map[int32]*bucketCounter{}, log: sc.logger(), rejected: &m.rejected, watermark: &m.watermark}
	st, err := openStage(ctx, stageConfig{name: "count", topic: m.topic, group: m.topic, txnID: sc.transactionalID() + "-count",
		stateTopic: sc.StateTopic, every: sc.commitInterval(), member: sc, ready: m.topics, plain: true}, count)
	if err != nil {
		return err
	}
	m.stages = append(m.stages, st)
	if cfg.OpenDeadLetters != nil {
		d, c, err := cfg.OpenDeadLetters(st.txn, inputs.origin)
		if err != nil {
			return err
		}
		count.dead = d
		m.closers = append(m.closers, c)
	}
	return nil
}

// openMerge opens the merge (not yet running) and its results' sink.
func (m *Member) openMerge(ctx context.Context, cfg MemberConfig, sc *SourceConfig) error {
	mw := &mergeWork{buckets: m.buckets, loc: cfg.Window.Loc, keep: cfg.Window.Keep, countTopic: countTopic(sc.Group), log: sc.logger(),
		finished: m.finish}
	mw.observe = func(rs []result.Result) {
		m.published.Add(uint64(len(rs)))
		m.corrections.Add(pipeline.CountCorrections(rs))
		if cfg.Observe != nil {
			cfg.Observe(rs)
		}
	}
	st, err := openStage(ctx, stageConfig{name: "merge", topic: countTopic(sc.Group), group: countTopic(sc.Group), txnID: sc.transactionalID() + "-merge",
		stateTopic: sc.StateTopic, every: sc.commitInterval(), member: sc, ready: m.topics}, mw)
	if err != nil {
		return err
	}
	m.stages = append(m.stages, st)
	sink, c, err := cfg.OpenResults(st.txn)
	if err != nil {
		return err
	}
	mw.sink = sink
	m.closers = append(m.closers, c)
	return nil
}

// prepareTopics returns the input's partitions and settles the number of
// buckets (the bucket topic's, or the default for a new one), and creates
// the bucket, counts and state topics when missing, in the background:
// the member's clients start meanwhile, and what uses the topics waits
// for them (topicsReady). A first run of a group saves the creation's
// round trips to the controller (about 0.1 s).
func (m *Member) prepareTopics(ctx context.Context, sc *SourceConfig, buckets int) (*inputIDs, error) {
	cl, err := connect(ctx, &sc.Config)
	if err != nil {
		return nil, err
	}
	tctx, cancel := context.WithTimeout(ctx, sc.connectTimeout())
	defer cancel()
	parts, err := TopicPartitions(tctx, cl, sc.Topics...)
	if err != nil {
		cl.Close()
		return nil, err
	}
	for t, n := range parts {
		if n >= 1<<16 {
			cl.Close()
			return nil, fmt.Errorf("kafka: topic %s has %d partitions; a group counts up to 65536 per topic", t, n)
		}
	}
	if have, err := TopicPartitions(tctx, cl, m.topic); err == nil {
		buckets = have[m.topic] // an existing group keeps its buckets
	} else if buckets <= 0 {
		for _, n := range parts {
			buckets = max(buckets, n)
		}
	}
	m.buckets = buckets
	topics := []Topic{
		{Name: m.topic, Partitions: int32(buckets)},
		{Name: countTopic(sc.Group), Partitions: 1},
		{Name: sc.StateTopic, Partitions: 1, Compact: true},
	}
	m.topicsReady = make(chan struct{})
	go func() {
		defer close(m.topicsReady)
		defer cl.Close()
		cctx, cancel := context.WithTimeout(context.Background(), sc.connectTimeout())
		defer cancel()
		errs := make([]error, len(topics))
		var wg sync.WaitGroup
		for i, t := range topics {
			wg.Go(func() { _, errs[i] = EnsureTopic(cctx, cl, t) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			m.topicsErr = fmt.Errorf("kafka: group %s: %w", sc.Group, err)
		}
	}()
	return newInputIDs(parts), nil
}

// topics waits until the internal topics exist (prepareTopics).
func (m *Member) topics(ctx context.Context) error {
	select {
	case <-m.topicsReady:
		return m.topicsErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Source is the member's input, for the caller's pipeline.
func (m *Member) Source() *Source { return m.src }

// NewCounter makes the pipeline's counter (pipeline.Config.Counter): the
// splitter that sends frames to their buckets in the source's transaction.
func (m *Member) NewCounter() pipeline.Counter {
	return newSplitter(m.src.Txn(), m.topic, m.buckets, m.src.Origin, m.topics)
}

// Failed is closed when a stage stopped with an error (Close returns it):
// the caller stops its pipeline.
func (m *Member) Failed() <-chan struct{} { return m.failed }

func (m *Member) fail(err error) {
	m.errOnce.Do(func() {
		m.err = err
		close(m.failed)
	})
}

// Close stops the stages (their open transactions abort: what they had
// not committed is done again by the next owner), closes the outputs and
// the source, and returns the first error.
func (m *Member) Close() error {
	if m.cancel != nil {
		m.cancel()
	}
	m.wg.Wait()
	if m.topicsReady != nil {
		<-m.topicsReady // its client closes
	}
	// The steps and the input leave their groups at the same time: each
	// waits for the broker.
	var wg sync.WaitGroup
	for _, st := range m.stages {
		wg.Go(st.close)
	}
	var srcErr error
	if m.src != nil {
		wg.Go(func() { srcErr = m.src.Close() })
	}
	wg.Wait()
	errs := []error{m.err, srcErr}
	for _, c := range m.closers {
		errs = append(errs, c())
	}
	if m.leave != nil {
		m.leave()
	}
	return errors.Join(errs...)
}

// watchDone reads the counts topic for the merge's done records and
// finishes the member once one covers every input partition up to where
// its input ends (--until-end). The merge of this member finishes it at
// once when it commits such a record; the others learn it here.
func (m *Member) watchDone(ctx context.Context, c *Config, topic string) {
	// A short fetch wait: the done record is seen within it of the
	// merge's commit, and a read_committed fetch may not be answered
	// early when a transaction ends.
	cl, err := connect(ctx, c, kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.FetchMaxWait(20*time.Millisecond),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}))
	if err != nil {
		if ctx.Err() == nil {
			m.fail(err)
		}
		return
	}
	defer cl.Close()
	for ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		fs.EachRecord(func(r *kgo.Record) {
			var d bucket.Done
			if bucket.IsDone(r.Value) && d.UnmarshalBinary(r.Value) == nil {
				m.finish(d.Ends)
			}
		})
	}
}

// covers says whether done reaches every end of want.
func covers(done, want []bucket.End) bool {
	for _, w := range want {
		i := slices.IndexFunc(done, func(d bucket.End) bool { return d.Topic == w.Topic && d.Partition == w.Partition })
		if i < 0 || done[i].Offset < w.Offset {
			return false
		}
	}
	return true
}

// The Source: its configuration, its construction (connecting, checking the
// topics), Next and Close. The concerns it is made of live beside it, each in
// a file of its own so that it reads alone: source_fetch.go, source_untilend.go,
// source_assign.go, source_commit.go and source_partitions.go.

package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/headcount/headcount/internal/source"
)

// SourceConfig configures a Source.
type SourceConfig struct {
	Config
	// Topics to consume, every partition of each.
	Topics []string
	// Group is the consumer group (Java: group.id). Offsets are committed
	// only with a group; without one every partition is read by this
	// process from the start position and nothing is committed.
	Group string
	// StartLatest starts a group without a committed offset (or a
	// group-less source) at the end of each partition instead of its
	// beginning (Java: auto.offset.reset=latest; default earliest).
	StartLatest bool
	// UntilEnd lists each partition's end offset at start and returns
	// io.EOF once every partition has been read up to it: a backfill that
	// ends. Partitions that are already consumed up to their end at start
	// (empty, or committed by the group) count as done. With a group the
	// whole input must be read by this member (see source_untilend.go):
	// it reads nothing until it is assigned every partition, fails if
	// that takes longer than AssignTimeout or if a rebalance takes a
	// partition away before the end, and commits only at the end.
	UntilEnd bool
	// AssignTimeout bounds how long an UntilEnd group member waits to be
	// assigned every partition of its topics (default 60s).
	AssignTimeout time.Duration
	// MaxFrame is the longest record value passed on as a frame; longer
	// ones are counted as too large (Batch.Oversize) and skipped, like
	// over-long lines of a file. 0: no limit beyond the broker's.
	MaxFrame int
	// CommitInterval is how often applied offsets are committed while
	// running (Java: auto.commit.interval.ms; default 5s); with
	// ExactlyOnce, how often a transaction commits (default 1s).
	CommitInterval time.Duration
	// ExactlyOnce consumes in transactions (see Txn): results and dead
	// letters produced through Txn().Client(), the pipeline's state and
	// the consumed offsets commit together, and an assigned group starts
	// from its last committed state. It needs a Group, and one member per
	// group (the state covers every partition).
	ExactlyOnce bool
	// TransactionalID names the transactional producer (Java:
	// transactional.id; default "headcount-<group>-<instance id>", or a
	// new one per process without an instance id): a restarted process
	// with the same id fences the open transaction of the one it
	// replaces; two live members must not share one.
	TransactionalID string
	// StateTopic keeps the state of an ExactlyOnce run (default Group +
	// ".headcount-state"); created compacted when missing.
	StateTopic string
	// InstanceID makes this member static (Java: group.instance.id): a
	// process restarted with the same id takes the old member's place and
	// partitions at once, instead of waiting for the dead member's session
	// to expire. Two live processes must never share an id.
	InstanceID string
	// SessionTimeout is how long the broker waits for a silent member
	// before it gives the member's partitions to others (Java:
	// session.timeout.ms; default franz-go's 45s). The broker bounds it by
	// group.min.session.timeout.ms and group.max.session.timeout.ms.
	SessionTimeout time.Duration
	// BucketTopic makes the source a member's input in a group that
	// counts together (Member): the pipeline sends each frame to the
	// counter of its user's bucket, through the source's transaction, on
	// this topic (its records name their partition). The transaction
	// carries no state (the counters hold it), so any number of members
	// share the group; with UntilEnd each member reads what it is
	// assigned, tells the pipeline when a partition is read to its end
	// (Batch.Ended), and ends once Finished says the group has published
	// everything.
	BucketTopic string
	// Alone makes an at-least-once group member fail once it holds only
	// part of the input (another member joined): members that do not
	// count together would each publish their partitions' counts as the
	// windows'. The run command sets it; a library user may share
	// partitions deliberately.
	Alone bool
	// Finished is closed when the group that an UntilEnd member counts
	// together with has published everything: the source ends (io.EOF)
	// then, a poll under way is cut short.
	Finished <-chan struct{}
	// LagInterval is how often the partitions' end offsets and the
	// group's committed offsets are listed for Lag (default
	// DefaultLagInterval).
	LagInterval time.Duration
}

// DefaultTxnInterval is how often an exactly-once source commits.
const DefaultTxnInterval = time.Second

// Source reads record values of Kafka topics as batches of frames. It
// implements source.Source and pipeline.Committer. Next is called by one
// goroutine; MarkApplied and Origin may be called from others. A goroutine
// of its own polls franz-go ahead of Next (see fetchLoop).
type Source struct {
	cl    *kgo.Client
	cfg   SourceConfig
	group bool
	pool  *recordPool // the buffers the frames alias (pool.go)

	// Owned by Next.
	cur []*source.Batch // batches of the current poll not yet returned
	end error           // io.EOF or the error that ended fetchLoop

	polls    chan polled
	stop     context.CancelFunc
	loopDone chan struct{}

	// Owned by fetchLoop.
	queue  []*source.Batch // batches cut from the current poll
	byPart [][]*source.Batch
	ids    map[topicPartition]int32
	until  map[topicPartition]*target // UntilEnd only
	total  map[string]int             // partitions per topic at start (not UntilEnd)
	// endedNew says a partition was just read to its end; endsDue that
	// the next barrier tells the pipeline (BucketTopic).
	endedNew, endsDue bool
	paused            map[string][]int32

	mu       sync.Mutex
	names    []topicPartition // by dense id
	marks    map[*source.Batch]mark
	assigned map[topicPartition]bool // group members: what this member owns now
	whole    *whole                  // UntilEnd with a group: one member reads everything
	// Assignment changes not yet announced to the pipeline (fetchLoop
	// turns them into frameless batches).
	announce, revoke []topicPartition

	frames atomic.Uint64
	closed atomic.Bool

	// For Lag and NotReady (source_lag.go): joined says the group has
	// assigned this member its partitions (none, maybe), under mu.
	lag     lagBook
	joined  bool
	lagDone chan struct{}

	// ExactlyOnce only.
	txn      *Txn
	restored atomic.Bool   // the group's state was read (fetchLoop)
	resumed  chan struct{} // Txn.Save done: polling may go on
	barrierq atomic.Bool   // a barrier is wanted now (RequestBarrier)
	// reopen says a transaction aborted: a member's UntilEnd targets
	// are read again from the committed offsets; recheck says partitions
	// were assigned: those already committed to their end are done
	// (BucketTopic only).
	reopen, recheck atomic.Bool
}

// NewSource connects and checks the topics. With UntilEnd it also lists
// the end offsets and, for a group, the committed ones. Every start-up
// request is bounded by cfg.ConnectTimeout.
func NewSource(ctx context.Context, cfg SourceConfig) (*Source, error) {
	if len(cfg.Topics) == 0 {
		return nil, errors.New("kafka source: no topic")
	}
	s := &Source{
		cfg:      cfg,
		group:    cfg.Group != "",
		ids:      map[topicPartition]int32{},
		marks:    map[*source.Batch]mark{},
		assigned: map[topicPartition]bool{},
	}
	if cfg.ExactlyOnce && !s.group {
		return nil, errors.New("kafka source: exactly-once needs a consumer group")
	}
	if s.group && cfg.UntilEnd && cfg.BucketTopic == "" {
		s.whole = &whole{start: time.Now(), pending: map[topicPartition]kgo.EpochOffset{}}
	}
	if !s.group && (cfg.InstanceID != "" || cfg.SessionTimeout > 0) {
		return nil, errors.New("kafka source: an instance id or a session timeout needs a consumer group")
	}
	opts := s.consumeOpts()
	// Topics are checked before the client that consumes them exists, so
	// a missing topic is an error and not a group member waiting for it.
	cl, err := connect(ctx, &cfg.Config)
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithTimeout(ctx, cfg.connectTimeout())
	defer cancel()
	if cfg.UntilEnd {
		err = s.listTargets(sctx, kadm.NewClient(cl))
	} else {
		s.total, err = TopicPartitions(sctx, cl, cfg.Topics...)
	}
	cl.Close()
	if err != nil {
		if sctx.Err() != nil && ctx.Err() == nil {
			err = fmt.Errorf("%w (no answer within %s)", err, cfg.connectTimeout())
		}
		return nil, err
	}
	if cfg.ExactlyOnce {
		if err := s.openTxn(ctx, opts); err != nil {
			return nil, err
		}
	} else if s.cl, err = connect(ctx, &cfg.Config, opts...); err != nil {
		return nil, err
	}
	var lctx context.Context
	lctx, s.stop = context.WithCancel(context.Background())
	s.polls = make(chan polled, 1)
	s.loopDone, s.lagDone = make(chan struct{}), make(chan struct{})
	go s.fetchLoop(lctx)
	go s.lagLoop(lctx)
	return s, nil
}

// consumeOpts returns the consumer's options: what it reads, the buffers
// its records are decompressed into, and its group.
func (s *Source) consumeOpts() []kgo.Opt {
	cfg := &s.cfg
	reset := kgo.NewOffset().AtStart()
	if cfg.StartLatest {
		reset = kgo.NewOffset().AtEnd()
	}
	opts := []kgo.Opt{
		kgo.ConsumeTopics(cfg.Topics...),
		kgo.ConsumeResetOffset(reset),
		// Transaction markers take offsets too; seeing them lets
		// UntilEnd reach an end offset that is a marker.
		kgo.KeepControlRecords(),
	}
	s.pool = newRecordPool()
	opts = append(opts, s.pool.opts()...)
	if s.group {
		opts = append(opts,
			kgo.ConsumerGroup(cfg.Group),
			kgo.OnPartitionsAssigned(s.onAssigned),
			kgo.OnPartitionsRevoked(s.onRevoked),
			kgo.OnPartitionsLost(s.onLost),
		)
		opts = append(opts, cfg.groupOpts()...)
	}
	if s.group && !cfg.ExactlyOnce {
		interval := cfg.CommitInterval
		if interval <= 0 {
			interval = 5 * time.Second
		}
		opts = append(opts, kgo.AutoCommitMarks(), kgo.AutoCommitInterval(interval))
	}
	return opts
}

// groupOpts returns the membership options: static membership and session
// timeout. The group protocol stays classic: KIP-848 (kgo.ServerSideBalancer)
// brings a killed member back no sooner (the broker's own 45 s session) and
// refuses a restarted static member until then (docs/BENCHMARKS.md).
func (cfg *SourceConfig) groupOpts() []kgo.Opt {
	var opts []kgo.Opt
	if cfg.InstanceID != "" {
		opts = append(opts, kgo.InstanceID(cfg.InstanceID))
	}
	if cfg.SessionTimeout > 0 {
		// franz-go's default heartbeat (3s) must stay well under the
		// session: Java's rule of a third of it.
		opts = append(opts, kgo.SessionTimeout(cfg.SessionTimeout),
			kgo.HeartbeatInterval(min(3*time.Second, cfg.SessionTimeout/3)))
	}
	return opts
}

// Next returns the next batch: the records of one partition from one fetch.
func (s *Source) Next(ctx context.Context) (*source.Batch, error) {
	for {
		if len(s.cur) > 0 {
			b := s.cur[0]
			s.cur[0] = nil
			s.cur = s.cur[1:]
			return b, nil
		}
		if s.end != nil {
			return nil, s.end
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case p, ok := <-s.polls:
			if !ok {
				s.end = errors.New("kafka source: closed")
				continue
			}
			s.cur, s.end = p.batches, p.err
			if s.end == io.EOF && s.whole != nil && len(s.cur) == 0 {
				s.whole.delivered.Store(true)
			}
		}
	}
}

// Frames returns how many frames Next has handed out so far.
func (s *Source) Frames() uint64 { return s.frames.Load() }

// Close commits the applied offsets synchronously, leaves the group and
// closes the connections. Call it after the pipeline has returned, so that
// every batch it applied has been marked.
func (s *Source) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.stop()
	<-s.loopDone
	<-s.lagDone
	var err error
	if s.txn != nil {
		// What the pipeline committed is committed; the rest is aborted.
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.connectTimeout())
		err = s.txn.end(ctx)
		cancel()
	} else if s.group && s.commitAtClose() {
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.connectTimeout())
		if cerr := s.cl.CommitMarkedOffsets(ctx); cerr != nil {
			err = fmt.Errorf("kafka: commit offsets of group %s: %w", s.cfg.Group, cerr)
		}
		cancel()
	}
	s.cl.Close()
	if s.whole != nil && s.cfg.InstanceID != "" {
		s.leaveStatic()
	}
	return err
}

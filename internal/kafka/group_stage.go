// A stage: one transactional consume-process-produce loop of a group that
// counts together (Member runs two: the buckets' counters and the merge).
// Each partition of the stage's topic has a state of its own on the state
// topic, committed in the same transaction as what the stage produced from
// it and its consumed offsets; a partition that moves to another member (a
// rebalance, a crash) goes on there from that state. Apart because both
// stages share it and it is the one place they begin and end transactions.

package kafka

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/headcount/headcount/internal/pipeline"
)

// stageWork is what a stage does with its partitions' records.
type stageWork interface {
	// load makes partition p this member's, going on from state (nil:
	// none saved yet). Loading a partition already held replaces it.
	load(p int32, state []byte) error
	drop(p int32)
	record(p int32, r *kgo.Record) error
	// tick is called after every poll with the wall clock; true asks
	// for a commit now (the end of a backfill is not kept waiting).
	tick(now time.Time) bool
	// emit produces, through t, what the records applied since the last
	// emit produced; called before every commit.
	emit(ctx context.Context, t *Txn) error
	// state is partition p's state to commit.
	state(p int32) ([]byte, error)
}

// afterCommit is a stageWork that acts once what it emitted has committed.
type afterCommit interface{ committed() }

// stage runs a stageWork over the partitions a consumer group gives it.
type stage struct {
	name       string // for logs and state keys
	cfg        *Config
	group      string
	stateTopic string
	every      time.Duration
	ready      func(context.Context) error // the topics exist
	work       stageWork
	txn        *Txn
	sess       *kgo.GroupTransactSession

	mu           sync.Mutex
	added, taken []int32 // assignment changes since the last poll
	owned        map[int32]uint64
	// For Member.NotReady, under mu: the group has assigned this stage
	// its partitions (none, maybe); partitions assigned are not loaded
	// yet.
	joined, restoring bool
	// ckpt describes the commits, under ckptMu (Member.Commits).
	ckptMu sync.Mutex
	ckpt   pipeline.CheckpointStats
}

// stageConfig is what differs between stages.
type stageConfig struct {
	name, topic, group, txnID, stateTopic string
	every                                 time.Duration
	member                                *SourceConfig // connection and membership settings
	ready                                 func(context.Context) error
	// plain turns lz4 off: the count stage's states are sets of 64-bit
	// hashes, which do not compress.
	plain bool
}

func openStage(ctx context.Context, sc stageConfig, work stageWork) (*stage, error) {
	st := &stage{name: sc.name, cfg: &sc.member.Config, group: sc.group, stateTopic: sc.stateTopic, every: sc.every, ready: sc.ready, work: work, owned: map[int32]uint64{}}
	st.ckpt.Last = time.Now() // the age of "no commit yet" counts from the start
	st.txn = &Txn{group: sc.group}
	base, err := sc.member.Opts()
	if err != nil {
		return nil, err
	}
	opts := append(base,
		kgo.ConsumeTopics(sc.topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.ConsumerGroup(sc.group),
		// The stage's topic may have just been created: its metadata
		// is asked for again soon rather than after franz-go's 5 s.
		kgo.MetadataMinAge(100*time.Millisecond),
		kgo.OnPartitionsAssigned(st.onAssigned),
		kgo.OnPartitionsRevoked(st.onTaken),
		kgo.OnPartitionsLost(st.onTaken),
	)
	opts = append(opts, st.txn.sessionOpts(sc.txnID)...)
	opts = append(opts, sc.member.groupOpts()...)
	if sc.plain {
		opts = append(opts, kgo.ProducerBatchCompression(kgo.NoCompression()))
	}
	sess, err := kgo.NewGroupTransactSession(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka: %s: transactional session: %w", sc.name, err)
	}
	if err := sess.Begin(); err != nil {
		sess.Close()
		return nil, fmt.Errorf("kafka: %s: begin transaction: %w", sc.name, err)
	}
	st.sess, st.txn.sess = sess, sess
	return st, nil
}

func (st *stage) onAssigned(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.joined = true
	for _, ps := range m {
		st.added = append(st.added, ps...)
		st.restoring = st.restoring || len(ps) > 0
	}
}

func (st *stage) onTaken(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, ps := range m {
		st.taken = append(st.taken, ps...)
	}
}

// run polls, applies and commits every st.every until ctx is done. It
// returns nil when ctx is done; an error only when the stage cannot go on.
func (st *stage) run(ctx context.Context) error {
	last := time.Now()
	for ctx.Err() == nil {
		pctx, cancel := context.WithTimeout(ctx, max(time.Millisecond, st.every-time.Since(last)))
		fs := st.sess.PollFetches(pctx)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		if err := st.check(fs); err != nil {
			return err
		}
		if err := st.reassign(ctx); err != nil {
			return err
		}
		var rerr error
		fs.EachRecord(func(r *kgo.Record) {
			if rerr == nil && !r.Attrs.IsControl() {
				if _, ok := st.owned[r.Partition]; ok {
					rerr = st.work.record(r.Partition, r)
				}
			}
		})
		if rerr != nil {
			return fmt.Errorf("kafka: %s: %w", st.name, rerr)
		}
		urgent := st.work.tick(time.Now())
		if urgent || time.Since(last) >= st.every {
			if err := st.commit(ctx); err != nil {
				return err
			}
			last = time.Now()
		}
	}
	return nil
}

// check returns the fatal fetch errors; franz-go retries the others.
func (st *stage) check(fs kgo.Fetches) error {
	var fatal error
	fs.EachError(func(topic string, p int32, err error) {
		var ke *kerr.Error
		if fatal == nil && errors.As(err, &ke) && !ke.Retriable {
			fatal = fmt.Errorf("kafka: %s: consume %s: %w", st.name, describeTP(topic, p), err)
		} else if fatal == nil && errors.Is(err, kgo.ErrClientClosed) {
			fatal = fmt.Errorf("kafka: %s: client closed", st.name)
		}
	})
	return fatal
}

// reassign applies the assignment changes: taken partitions are dropped,
// new ones loaded from their committed state.
func (st *stage) reassign(ctx context.Context) error {
	st.mu.Lock()
	added, taken := st.added, st.taken
	st.added, st.taken = nil, nil
	st.mu.Unlock()
	for _, p := range taken {
		if _, ok := st.owned[p]; ok {
			st.work.drop(p)
			delete(st.owned, p)
		}
	}
	if len(added) > 0 {
		if err := st.load(ctx, added); err != nil {
			return err
		}
	}
	st.mu.Lock()
	st.restoring = len(st.added) > 0
	st.mu.Unlock()
	return nil
}

// notReady says why the stage is not ready ("" once it is).
func (st *stage) notReady() string {
	st.mu.Lock()
	defer st.mu.Unlock()
	switch {
	case !st.joined:
		return fmt.Sprintf("the %s step is waiting for group %s to assign partitions", st.name, st.group)
	case st.restoring:
		return fmt.Sprintf("the %s step is restoring its state", st.name)
	}
	return ""
}

// saved records a commit that succeeded (or had nothing to commit: the
// committed state is current) after it began at begin.
func (st *stage) saved(begin time.Time) {
	end := time.Now()
	st.ckptMu.Lock()
	st.ckpt.Saved(end, end.Sub(begin))
	st.ckptMu.Unlock()
}

// commits returns the stage's commit stats.
func (st *stage) commits() pipeline.CheckpointStats {
	st.ckptMu.Lock()
	defer st.ckptMu.Unlock()
	return st.ckpt
}

// load reads the committed states of ps and hands them to the work.
func (st *stage) load(ctx context.Context, ps []int32) error {
	owners := make([]string, len(ps))
	for i, p := range ps {
		owners[i] = st.owner(p)
	}
	if st.ready != nil {
		if err := st.ready(ctx); err != nil {
			return err
		}
	}
	states, err := st.readStates(ctx, owners)
	if err != nil {
		return fmt.Errorf("kafka: %s: %w", st.name, err)
	}
	for i, p := range ps {
		saved := states[owners[i]]
		if err := st.work.load(p, saved.payload); err != nil {
			return fmt.Errorf("kafka: %s: state of partition %d: %w", st.name, p, err)
		}
		st.owned[p] = saved.gen
	}
	st.cfg.logger().Info("kafka: state restored", "stage", st.name, "partitions", fmt.Sprint(ps))
	return nil
}

// stateRetry bounds how long a stage tries to read its states while the
// broker cannot answer (a restart, a leader election): long enough for a
// broker to come back, short enough that a member that cannot go on says so.
const stateRetry = 2 * time.Minute

// readStates reads the committed states of owners, again and again while
// the broker is away: the states are the only way on, and franz-go retries
// everything else by itself.
func (st *stage) readStates(ctx context.Context, owners []string) (map[string]savedState, error) {
	deadline := time.Now().Add(stateRetry)
	for {
		rctx, cancel := context.WithTimeout(ctx, st.cfg.connectTimeout())
		states, err := readStates(rctx, st.cfg, st.stateTopic, owners)
		cancel()
		if err == nil || ctx.Err() != nil || errors.Is(err, ErrState) || time.Now().After(deadline) {
			return states, err
		}
		st.cfg.logger().Warn("kafka: reading the state failed, trying again", "stage", st.name, "err", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// owner is the state key prefix of partition p.
func (st *stage) owner(p int32) string { return st.group + "/p" + strconv.Itoa(int(p)) }

// commit produces what the work has, the states of the partitions held,
// and commits them with the consumed offsets in one transaction. An abort
// (a rebalance during it, a failed produce) sends every partition held back
// to its committed state: franz-go rewinds the consumed offsets to match.
func (st *stage) commit(ctx context.Context) error {
	begin := time.Now()
	err := st.work.emit(ctx, st.txn)
	if err == nil && st.txn.empty() {
		st.saved(begin)
		return nil // nothing consumed or produced: the states are unchanged
	}
	ps := slices.Sorted(maps.Keys(st.owned))
	for _, p := range ps {
		if err != nil {
			break
		}
		var state []byte
		if state, err = st.work.state(p); err == nil {
			for _, r := range stateRecords(st.stateTopic, st.owner(p), st.owned[p]+1, state) {
				st.sess.Produce(ctx, r, st.txn.promise)
			}
		}
	}
	committed, cause, cerr := st.txn.commit(ctx, err)
	if cerr != nil {
		return fmt.Errorf("kafka: %s: %w", st.name, cerr)
	}
	if committed {
		for _, p := range ps {
			if _, ok := st.owned[p]; ok {
				st.owned[p]++
			}
		}
		st.saved(begin)
		if a, ok := st.work.(afterCommit); ok {
			a.committed()
		}
		return nil
	}
	st.cfg.logger().Warn("kafka: transaction aborted, going back to the last committed state", "stage", st.name, "err", cause)
	return st.load(ctx, slices.Sorted(maps.Keys(st.owned)))
}

// close aborts the open transaction and leaves the group.
func (st *stage) close() {
	ctx, cancel := context.WithTimeout(context.Background(), st.cfg.connectTimeout())
	defer cancel()
	if _, err := st.sess.End(ctx, kgo.TryAbort); err != nil && !errors.Is(err, context.Canceled) {
		st.cfg.logger().Warn("kafka: abort transaction", "stage", st.name, "err", err)
	}
	st.sess.Close()
}

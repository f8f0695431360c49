// Exactly-once: the transaction of a Source made with ExactlyOnce. The
// source consumes through a franz-go GroupTransactSession; the result sink
// and the dead letters produce through the same client (SinkConfig.Txn,
// DeadLetterConfig.Txn); and Save, called by the pipeline at each barrier
// the source sends, writes the pipeline's state to the state topic and
// commits results, dead letters, state and consumed offsets in one
// transaction. Apart because it is the one place that begins and ends
// transactions.

package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/headcount/headcount/internal/pipeline"
)

// Txn commits a transactional Source's work. It implements
// pipeline.Checkpointer.
type Txn struct {
	src        *Source
	sess       *kgo.GroupTransactSession
	stateTopic string
	group      string
	gen        uint64 // generation of the last state written

	mu  sync.Mutex
	err error // the first failed produce of the open transaction
	// produced says a record was produced in the open transaction
	// (producedHook, on the session's client).
	produced atomic.Bool
}

// producedHook marks a transaction that has records: one with neither
// records nor offsets is not ended (see empty).
type producedHook struct{ t *Txn }

func (h producedHook) OnProduceRecordBuffered(*kgo.Record) { h.t.produced.Store(true) }

// empty says the open transaction has nothing to commit: no record produced,
// no offset consumed. Such a transaction is left open rather than ended:
// franz-go holds a session's lock for 500 ms after a commit without
// offsets (it cannot tell that the broker has KIP-447), which would stall
// every idle interval and the end of every run.
func (t *Txn) empty() bool {
	return !t.produced.Load() && len(t.sess.Client().UncommittedOffsets()) == 0
}

// Client is the transactional client: records produced through it are part
// of the open transaction.
func (t *Txn) Client() *kgo.Client { return t.sess.Client() }

// promise records a failed produce: the transaction then aborts.
func (t *Txn) promise(_ *kgo.Record, err error) {
	if err != nil {
		t.mu.Lock()
		if t.err == nil {
			t.err = err
		}
		t.mu.Unlock()
	}
}

// Save commits the open transaction with state (the pipeline's, covering
// every batch before the barrier being applied) and begins the next. The
// source's polling is paused meanwhile: the offsets committed are those of
// everything handed out, which is everything applied. If the transaction
// cannot commit (a rebalance, a failed produce), it is aborted, franz-go
// rewinds the consumer to the last committed offsets, and Save returns
// pipeline.ErrAborted: the pipeline goes back to the state committed with
// them.
func (t *Txn) Save(ctx context.Context, state []byte) error {
	if !t.src.restored.Load() {
		// Before the group's state was read nothing was applied, and a
		// save would overwrite the committed state with an empty one.
		return nil
	}
	defer t.src.resume()
	if t.empty() {
		return nil
	}
	if t.stateTopic != "" {
		payload := encodePayload(t.src.partitionNames(), state)
		for _, r := range stateRecords(t.stateTopic, t.group, t.gen+1, payload) {
			t.sess.Produce(ctx, r, t.promise)
		}
	}
	committed, failed, err := t.commit(ctx, nil)
	if err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	if !committed {
		t.src.cfg.logger().Warn("kafka: transaction aborted, going back to the last committed state", "group", t.group, "produce_err", failed)
		t.src.reopen.Store(true)
		return pipeline.ErrAborted
	}
	t.gen++
	return nil
}

// commit ends the open transaction and begins the next. It commits unless
// failed is set or a record of the transaction failed (then it aborts, and
// franz-go rewinds the consumer to the committed offsets): committed says
// which, cause why not. err is an error the session cannot go on from.
// Shared by the source's barriers (Save) and the stages of a Member.
func (t *Txn) commit(ctx context.Context, failed error) (committed bool, cause, err error) {
	// Everything of the transaction is delivered (or failed) before it
	// ends: a failed record must abort it, never be committed without.
	if ferr := t.sess.Client().Flush(ctx); failed == nil {
		failed = ferr
	}
	t.mu.Lock()
	if failed == nil {
		failed = t.err
	}
	t.err = nil
	t.mu.Unlock()
	try := kgo.TryCommit
	if failed != nil {
		try = kgo.TryAbort
	}
	ended, err := t.sess.End(ctx, try)
	t.produced.Store(false)
	if err != nil {
		return false, failed, fmt.Errorf("end transaction: %w", err)
	}
	if err := t.sess.Begin(); err != nil {
		return false, failed, fmt.Errorf("begin transaction: %w", err)
	}
	return ended && failed == nil, failed, nil
}

// sessionOpts are the options of a transactional session with id: the
// transaction's, and the hook that tells an empty one (see empty).
func (t *Txn) sessionOpts(id string) []kgo.Opt {
	return []kgo.Opt{
		kgo.TransactionalID(id),
		kgo.WithHooks(producedHook{t}),
		// A member killed in a transaction holds back the readers of
		// its outputs (and the restarted member's offsets) until the
		// broker aborts it: at most this long, when no producer of the
		// same id fences it first.
		kgo.TransactionTimeout(txnTimeout),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.RecordDeliveryTimeout(DefaultDeliveryTimeout),
		kgo.ProducerBatchCompression(kgo.Lz4Compression(), kgo.NoCompression()),
	}
}

// end aborts the open transaction (Close).
func (t *Txn) end(ctx context.Context) error {
	_, err := t.sess.End(ctx, kgo.TryAbort)
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("kafka: abort transaction: %w", err)
	}
	return nil
}

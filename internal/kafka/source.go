package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
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
	// (empty, or committed by the group) count as done.
	UntilEnd bool
	// MaxFrame is the longest record value passed on as a frame; longer
	// ones are counted as too large (Batch.Oversize) and skipped, like
	// over-long lines of a file. 0: no limit beyond the broker's.
	MaxFrame int
	// CommitInterval is how often applied offsets are committed while
	// running (Java: auto.commit.interval.ms; default 5s).
	CommitInterval time.Duration
}

// Batch limits: a fetch of one partition can hold up to
// FetchMaxPartitionBytes; cutting it keeps the pipeline's parse workers busy
// in parallel instead of giving one worker a giant batch.
const (
	maxBatchFrames = 4096
	maxBatchBytes  = 1 << 20
)

type topicPartition struct {
	topic     string
	partition int32
}

// mark is what MarkApplied commits for one batch.
type mark struct {
	tp topicPartition
	eo kgo.EpochOffset
}

// target is a partition's end for UntilEnd.
type target struct {
	end  int64
	done bool
}

// Source reads record values of Kafka topics as batches of frames. It
// implements source.Source and pipeline.Committer. Next is called by one
// goroutine; MarkApplied and Origin may be called from others. A goroutine
// of its own polls franz-go ahead of Next (see fetchLoop).
type Source struct {
	cl    *kgo.Client
	cfg   SourceConfig
	group bool

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
	paused map[string][]int32

	mu           sync.Mutex
	names        []topicPartition // by dense id
	marks        map[*source.Batch]mark
	assigned     map[topicPartition]bool // group members: what this member owns now
	everAssigned bool
	// Assignment changes not yet announced to the pipeline (fetchLoop
	// turns them into frameless batches).
	announce, revoke []topicPartition

	frames atomic.Uint64
	closed atomic.Bool
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
	if s.group {
		interval := cfg.CommitInterval
		if interval <= 0 {
			interval = 5 * time.Second
		}
		opts = append(opts,
			kgo.ConsumerGroup(cfg.Group),
			kgo.AutoCommitMarks(),
			kgo.AutoCommitInterval(interval),
			kgo.OnPartitionsAssigned(s.onAssigned),
			kgo.OnPartitionsRevoked(s.onRevoked),
			kgo.OnPartitionsLost(s.onLost),
		)
	}
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
		_, err = TopicPartitions(sctx, cl, cfg.Topics...)
	}
	cl.Close()
	if err != nil {
		if sctx.Err() != nil && ctx.Err() == nil {
			err = fmt.Errorf("%w (no answer within %s)", err, cfg.connectTimeout())
		}
		return nil, err
	}
	if s.cl, err = connect(ctx, &cfg.Config, opts...); err != nil {
		return nil, err
	}
	var lctx context.Context
	lctx, s.stop = context.WithCancel(context.Background())
	s.polls = make(chan polled, 1)
	s.loopDone = make(chan struct{})
	go s.fetchLoop(lctx)
	return s, nil
}

// listTargets records each partition's end offset and whether it is already
// consumed up to it.
func (s *Source) listTargets(ctx context.Context, adm *kadm.Client) error {
	ends, err := listOffsets(ctx, adm, true, s.cfg.Topics)
	if err != nil {
		return err
	}
	var committed, starts offsets
	if s.group {
		if committed, err = committedOffsets(ctx, adm, s.cfg.Group, s.cfg.Topics); err != nil {
			return err
		}
	}
	if !s.cfg.StartLatest {
		if starts, err = listOffsets(ctx, adm, false, s.cfg.Topics); err != nil {
			return err
		}
	}
	s.until = map[topicPartition]*target{}
	for t, ps := range ends {
		for p, end := range ps {
			pos, ok := committed[t][p]
			if !ok {
				if s.cfg.StartLatest {
					pos = end
				} else {
					pos = starts[t][p]
				}
			}
			s.until[topicPartition{t, p}] = &target{end: end, done: pos >= end}
		}
	}
	return nil
}

// polled is what one poll gave: batches, or the end (io.EOF or an error).
type polled struct {
	batches []*source.Batch
	err     error
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
		}
	}
}

// fetchLoop polls ahead of Next, one poll in hand and one in the channel.
//
// franz-go sends a broker its next fetch request only once the previous
// response has been polled. Polled only when the pipeline asked for more,
// fetching (broker read, transfer, decompression) and counting would take
// turns; polled from here, the next fetch is on its way while the pipeline
// parses this one.
func (s *Source) fetchLoop(ctx context.Context) {
	defer close(s.loopDone)
	defer close(s.polls)
	send := func(p polled) bool {
		select {
		case s.polls <- p:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for {
		pctx, cancel := ctx, context.CancelFunc(func() {})
		if s.until != nil {
			if s.allDone() {
				send(polled{err: io.EOF})
				return
			}
			// Wake up now and then: a rebalance can make this member
			// done without any record arriving.
			pctx, cancel = context.WithTimeout(ctx, time.Second)
		}
		fs := s.cl.PollFetches(pctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err := s.check(fs); err != nil {
			send(polled{err: err})
			return
		}
		s.queue = nil // the previous poll's slice belongs to Next now
		s.announceChanges()
		fs.EachPartition(s.cut)
		s.interleave()
		if len(s.queue) > 0 && !send(polled{batches: s.queue}) {
			return
		}
	}
}

// announceChanges queues a frameless batch for each partition assigned or
// revoked since the last poll. A new partition then holds the watermark
// back from the start, before its first frame arrives (else a partition
// served by a slower broker could find its windows closed by the others);
// a revoked one stops holding it back.
func (s *Source) announceChanges() {
	s.mu.Lock()
	add, rm := s.announce, s.revoke
	s.announce, s.revoke = nil, nil
	// Revokes go first; an assignment revoked again before this poll
	// (assign, revoke both pending) is not announced at all.
	owned := add[:0]
	for _, key := range add {
		if s.assigned[key] {
			owned = append(owned, key)
		}
	}
	s.mu.Unlock()
	for _, key := range rm {
		s.queue = append(s.queue, &source.Batch{Partition: s.id(key), Revoked: true})
	}
	for _, key := range owned {
		s.queue = append(s.queue, &source.Batch{Partition: s.id(key)})
	}
}

// interleave reorders the batches of one poll round-robin by partition: the
// first batch of each partition, then the second of each, and so on.
//
// The pipeline's watermark is the minimum over the partitions it has seen,
// and a poll can hold seconds or hours of event time per partition (a
// backfill). Handed out partition after partition, the first partition's
// frames would move the watermark past windows that the next partitions
// still have frames for, and those would be dropped as too late.
// Interleaved, the partitions' event times advance together.
func (s *Source) interleave() {
	if len(s.queue) < 2 {
		return
	}
	s.byPart = s.byPart[:0]
	pos := map[int32]int{}
	for _, b := range s.queue {
		i, ok := pos[b.Partition]
		if !ok {
			i = len(s.byPart)
			pos[b.Partition] = i
			s.byPart = append(s.byPart, nil)
		}
		s.byPart[i] = append(s.byPart[i], b)
	}
	if len(s.byPart) == 1 {
		s.byPart[0] = nil
		return
	}
	s.queue = s.queue[:0]
	for round := 0; ; round++ {
		added := false
		for _, bs := range s.byPart {
			if round < len(bs) {
				s.queue = append(s.queue, bs[round])
				added = true
			}
		}
		if !added {
			break
		}
	}
	for i := range s.byPart {
		clear(s.byPart[i])
		s.byPart[i] = s.byPart[i][:0]
	}
}

// check turns fatal fetch errors into an error and logs the others, which
// franz-go retries by itself (a broker restarting, a leader moving).
func (s *Source) check(fs kgo.Fetches) error {
	var fatal error
	fs.EachError(func(topic string, p int32, err error) {
		var ke *kerr.Error
		switch {
		case fatal != nil:
		case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
			// Our own poll timeout (Next checks the caller's ctx).
		case errors.Is(err, kgo.ErrClientClosed):
			fatal = errors.New("kafka source: client closed")
		case errors.As(err, &ke) && !ke.Retriable:
			fatal = fmt.Errorf("kafka: consume %s: %w", describeTP(topic, p), err)
		default:
			s.cfg.logger().Warn("kafka: fetch error, retrying", "topic", topic, "partition", p, "err", err)
		}
	})
	return fatal
}

// cut turns one partition of a fetch into batches.
func (s *Source) cut(p kgo.FetchTopicPartition) {
	recs := p.Records
	if len(recs) == 0 {
		return
	}
	key := topicPartition{p.Topic, p.Partition}
	end := int64(math.MaxInt64)
	var tgt *target
	if s.until != nil {
		if tgt = s.until[key]; tgt == nil || tgt.done {
			// Done, or created after start: not part of this run.
			s.pause(key)
			return
		}
		end = tgt.end
	}
	id := s.id(key)
	for len(recs) > 0 && recs[0].Offset < end {
		n := 0
		size := 0
		for n < len(recs) && n < maxBatchFrames && size < maxBatchBytes && recs[n].Offset < end {
			size += len(recs[n].Value)
			n++
		}
		b := &source.Batch{
			Partition: id,
			Frames:    make([][]byte, 0, n),
			Offsets:   make([]int64, 0, n),
			Offset:    recs[0].Offset,
		}
		for _, r := range recs[:n] {
			if r.Attrs.IsControl() {
				continue // a transaction marker: an offset, not a frame
			}
			if s.cfg.MaxFrame > 0 && len(r.Value) > s.cfg.MaxFrame {
				b.AddOversize(r.Offset, r.Value)
				continue
			}
			b.Frames = append(b.Frames, r.Value)
			b.Offsets = append(b.Offsets, r.Offset)
		}
		last := recs[n-1]
		if len(b.Offsets) > 0 {
			b.Offset = b.Offsets[0]
		}
		empty := len(b.Frames) == 0 && len(b.Oversize) == 0
		if s.group {
			// An all-marker batch is still handed on, empty, so that
			// its offsets are committed in order after the batches
			// before it.
			s.mu.Lock()
			s.marks[b] = mark{key, kgo.EpochOffset{Epoch: last.LeaderEpoch, Offset: last.Offset + 1}}
			s.mu.Unlock()
		} else if empty {
			recs = recs[n:]
			continue
		}
		s.frames.Add(uint64(len(b.Frames)))
		s.queue = append(s.queue, b)
		recs = recs[n:]
	}
	// Done when the end offset was read, or a record at or past it shows
	// that the offsets before it are gone (compacted away).
	if tgt != nil && (len(recs) > 0 || p.Records[len(p.Records)-1].Offset+1 >= end) {
		tgt.done = true
		s.pause(key) // records past the end would only be dropped
	}
}

// id returns the dense partition id of key, assigning the next one when new.
func (s *Source) id(key topicPartition) int32 {
	if id, ok := s.ids[key]; ok {
		return id
	}
	s.mu.Lock()
	id := int32(len(s.names))
	s.names = append(s.names, key)
	s.mu.Unlock()
	s.ids[key] = id
	return id
}

func (s *Source) pause(key topicPartition) {
	if s.paused == nil {
		s.paused = map[string][]int32{}
	}
	for _, p := range s.paused[key.topic] {
		if p == key.partition {
			return
		}
	}
	s.paused[key.topic] = append(s.paused[key.topic], key.partition)
	s.cl.PauseFetchPartitions(map[string][]int32{key.topic: {key.partition}})
}

// allDone reports whether UntilEnd has read every partition this process is
// responsible for: all of them without a group; for a group member, those
// assigned to it once it has joined (partitions another member owns are
// that member's to finish).
func (s *Source) allDone() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for key, t := range s.until {
		if t.done {
			continue
		}
		if s.group && s.everAssigned && !s.assigned[key] {
			continue
		}
		return false
	}
	return true
}

// MarkApplied records that b's frames are in the windows: its offsets may
// be committed. Batches must be reported in the order Next returned them
// per partition (the pipeline applies in input order).
func (s *Source) MarkApplied(b *source.Batch) {
	if !s.group {
		return
	}
	s.mu.Lock()
	m, ok := s.marks[b]
	delete(s.marks, b)
	s.mu.Unlock()
	if ok {
		// Ignored by franz-go if the partition was revoked meanwhile.
		s.cl.MarkCommitOffsets(map[string]map[int32]kgo.EpochOffset{m.tp.topic: {m.tp.partition: m.eo}})
	}
}

// Origin returns the topic and partition of a dense partition id.
func (s *Source) Origin(id int32) (topic string, partition int32, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id < 0 || int(id) >= len(s.names) {
		return "", 0, false
	}
	tp := s.names[id]
	return tp.topic, tp.partition, true
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
	var err error
	if s.group {
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.connectTimeout())
		if cerr := s.cl.CommitMarkedOffsets(ctx); cerr != nil {
			err = fmt.Errorf("kafka: commit offsets of group %s: %w", s.cfg.Group, cerr)
		}
		cancel()
	}
	s.cl.Close()
	return err
}

func (s *Source) onAssigned(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.everAssigned = true
	for t, ps := range m {
		for _, p := range ps {
			s.assigned[topicPartition{t, p}] = true
			s.announce = append(s.announce, topicPartition{t, p})
		}
	}
	s.cfg.logger().Info("kafka: partitions assigned", "group", s.cfg.Group, "partitions", formatAssignment(m))
}

// onRevoked commits what was applied of the revoked partitions while this
// member still owns them; frames fetched but not yet applied are read again
// by the next owner (at-least-once: see the package doc).
func (s *Source) onRevoked(ctx context.Context, cl *kgo.Client, m map[string][]int32) {
	if err := cl.CommitMarkedOffsets(ctx); err != nil {
		s.cfg.logger().Warn("kafka: commit on revoke failed", "group", s.cfg.Group, "err", err)
	}
	s.forget(m)
	if len(m) > 0 {
		s.cfg.logger().Info("kafka: partitions revoked", "group", s.cfg.Group, "partitions", formatAssignment(m))
	}
}

func (s *Source) onLost(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	s.forget(m)
	if len(m) > 0 {
		s.cfg.logger().Warn("kafka: partitions lost (group session ended); their applied offsets may not be committed", "group", s.cfg.Group, "partitions", formatAssignment(m))
	}
}

func (s *Source) forget(m map[string][]int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for t, ps := range m {
		for _, p := range ps {
			delete(s.assigned, topicPartition{t, p})
			s.revoke = append(s.revoke, topicPartition{t, p})
		}
	}
}

func formatAssignment(m map[string][]int32) string {
	var parts []string
	for t, ps := range m {
		for _, p := range ps {
			parts = append(parts, describeTP(t, p))
		}
	}
	return strings.Join(parts, ",")
}

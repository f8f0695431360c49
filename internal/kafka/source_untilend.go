// --until-end bookkeeping: the end offset of every partition listed at start,
// which of them are read up to it, and pausing those that are. With a group,
// the rule that one member reads the whole input (whole). Apart because only
// a backfill needs it (s.until is nil otherwise) and its rules for group
// members are subtle.

package kafka

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/headcount/headcount/internal/bucket"
	"github.com/headcount/headcount/internal/source"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// DefaultAssignTimeout is SourceConfig.AssignTimeout's default.
const DefaultAssignTimeout = 60 * time.Second

// whole is the state of an --until-end group member. Unique counts of parts
// of the input do not add up (a user in two partitions would be counted
// twice), so until members can merge their sketches a backfill is read by
// one member: a window flushed final at the end must hold every partition.
// The member therefore
//
//   - reads nothing until it is assigned every partition of its topics
//     (fetching is paused from the first assignment callback, which
//     franz-go calls before it fetches), and fails after AssignTimeout;
//   - fails if a rebalance takes a partition from it before the end;
//   - commits only at the end (Close after Next returned io.EOF): a failed
//     or killed backfill leaves the group's offsets where they were, so the
//     member that runs next reads the whole input again instead of
//     publishing the counts of a remainder as final.
type whole struct {
	start time.Time

	// Under Source.mu.
	open    bool  // assigned every partition: fetching
	broken  error // a partition was taken away after open
	pending map[topicPartition]kgo.EpochOffset

	refreshed bool        // owned by fetchLoop: committed offsets reread once open
	ended     atomic.Bool // fetchLoop reached the end: later revokes are harmless
	delivered atomic.Bool // Next returned io.EOF: Close commits
}

func (c *SourceConfig) assignTimeout() time.Duration {
	if c.AssignTimeout > 0 {
		return c.AssignTimeout
	}
	return DefaultAssignTimeout
}

// gate pauses fetching until this member is assigned every partition of the
// input and resumes it then. Called with s.mu held.
func (s *Source) gate(cl *kgo.Client) {
	w := s.whole
	if w.open {
		return
	}
	if len(s.missing()) > 0 {
		cl.PauseFetchTopics(s.cfg.Topics...)
		return
	}
	w.open = true
	cl.ResumeFetchTopics(s.cfg.Topics...)
	s.cfg.logger().Info("kafka: --until-end: this member holds every partition of the input; reading", "group", s.cfg.Group)
}

// missing returns the partitions of the input not assigned to this member.
// Called with s.mu held.
func (s *Source) missing() []topicPartition {
	var out []topicPartition
	for key := range s.until {
		if !s.assigned[key] {
			out = append(out, key)
		}
	}
	return out
}

// sortedTargets returns the partitions of the input in order. s.until's
// keys never change after NewSource, so any goroutine may call it.
func (s *Source) sortedTargets() []topicPartition {
	out := slices.Collect(maps.Keys(s.until))
	slices.SortFunc(out, func(a, b topicPartition) int {
		if c := strings.Compare(a.topic, b.topic); c != 0 {
			return c
		}
		return int(a.partition - b.partition)
	})
	return out
}

// breakWhole records that partitions were taken from a member that had
// started reading: it can no longer count the whole input.
func (s *Source) breakWhole(how string, m map[string][]int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.whole
	if !w.open || w.broken != nil || w.ended.Load() || len(formatAssignment(m)) == 0 {
		return
	}
	w.broken = fmt.Errorf("kafka: --until-end: partitions %s of group %s were %s before this member had read the input to its end "+
		"(another member joined the group, or this member's session expired); a backfill is read by one member, "+
		"so it stops here and commits nothing: run it again when it is the group's only member",
		formatAssignment(m), s.cfg.Group, how)
}

// checkWhole is the fetch loop's check of an --until-end group member: the
// error that ends it (a partition taken away, or not every partition
// assigned within AssignTimeout), and once it holds everything, the
// committed offsets read again (see refresh).
func (s *Source) checkWhole(ctx context.Context) error {
	w := s.whole
	s.mu.Lock()
	open, broken := w.open, w.broken
	var missing, held []string
	if !open {
		for _, key := range s.sortedTargets() {
			if s.assigned[key] {
				held = append(held, describeTP(key.topic, key.partition))
			} else {
				missing = append(missing, describeTP(key.topic, key.partition))
			}
		}
	}
	s.mu.Unlock()
	switch {
	case broken != nil:
		return broken
	case !open && time.Since(w.start) > s.cfg.assignTimeout():
		holds := "none"
		if len(held) > 0 {
			holds = strings.Join(held, ", ")
		}
		return fmt.Errorf("kafka: --until-end: group %s did not assign this member every partition of the input within %s (--assign-timeout): "+
			"it holds %s; %s held by other members; a backfill is read by one member (unique counts of parts do not add up), "+
			"so nothing was counted, published or committed: stop the other members of group %s, or give the backfill a group of its own",
			s.cfg.Group, s.cfg.assignTimeout(), holds, strings.Join(missing, ", "), s.cfg.Group)
	case open && !w.refreshed:
		w.refreshed = true
		return s.refresh(ctx)
	}
	return nil
}

// refresh marks done the partitions whose committed offset has reached the
// end since start: a member that read the whole input before this one held
// it committed them, and no record will arrive to show it.
func (s *Source) refresh(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.connectTimeout())
	defer cancel()
	committed, err := committedOffsets(ctx, kadm.NewClient(s.cl), s.cfg.Group, s.cfg.Topics)
	if err != nil {
		return err
	}
	for key, t := range s.until {
		if pos, ok := committed[key.topic][key.partition]; ok && !t.done && pos >= t.end {
			t.done, s.endedNew = true, s.cfg.BucketTopic != ""
			s.pause(key)
		}
	}
	return nil
}

// commitAtClose reports whether Close commits, and for an --until-end group
// member marks the offsets it held back: only once Next returned io.EOF, and
// only if the member still holds every partition. One taken away after the
// end was read (the counts are whole) cannot be committed any more, and a
// commit of the others alone would let the group's next run count that
// partition by itself: then nothing is committed and the next run reads the
// whole input again.
func (s *Source) commitAtClose() bool {
	w := s.whole
	if w == nil {
		return true
	}
	if !w.delivered.Load() {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if missing := s.missing(); len(missing) > 0 {
		s.cfg.logger().Warn("kafka: --until-end: a rebalance took partitions of the input from this member after it had read them; "+
			"nothing is committed, so the group's next run reads the whole input again", "group", s.cfg.Group, "partitions", len(missing))
		return false
	}
	marks := map[string]map[int32]kgo.EpochOffset{}
	for key, eo := range w.pending {
		if marks[key.topic] == nil {
			marks[key.topic] = map[int32]kgo.EpochOffset{}
		}
		marks[key.topic][key.partition] = eo
	}
	s.cl.MarkCommitOffsets(marks)
	return true
}

// leaveStatic takes a static member (InstanceID) out of the group once a
// backfill has ended, however it ended: franz-go's Close leaves a static
// member's partitions reserved for its session timeout, for a restart, and
// a backfill that is over is not restarted: the next member must not wait.
func (s *Source) leaveStatic() { leaveStatic(&s.cfg.Config, s.cfg.InstanceID, s.cfg.Group) }

// leaveStatic takes static member id out of groups.
func leaveStatic(c *Config, id string, groups ...string) {
	ctx, cancel := context.WithTimeout(context.Background(), c.connectTimeout())
	defer cancel()
	cl, err := connect(ctx, c)
	if err != nil {
		c.logger().Warn("kafka: leaving the groups failed; their partitions wait for this member's session timeout", "groups", groups, "instance", id, "err", err)
		return
	}
	defer cl.Close()
	for _, g := range groups {
		resp, err := kadm.NewClient(cl).LeaveGroup(ctx, kadm.LeaveGroup(g).InstanceIDs(id).Reason("headcount --until-end ended"))
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			c.logger().Warn("kafka: leaving the group failed; its partitions wait for this member's session timeout", "group", g, "instance", id, "err", err)
		}
	}
}

// target is a partition's end for UntilEnd.
type target struct {
	end  int64
	done bool
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

// allDone reports whether UntilEnd has read every partition of the input
// to its end; a group member must also hold all of them (whole).
func (s *Source) allDone() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.whole != nil && !s.whole.open {
		return false
	}
	for _, t := range s.until {
		if !t.done {
			return false
		}
	}
	return true
}

// ended reports whether an UntilEnd source is at its end: every partition
// read to it or, for a member of a group that counts together, the group
// done (Finished).
func (s *Source) ended() bool {
	if s.cfg.BucketTopic != "" {
		select {
		case <-s.cfg.Finished: // a nil channel: never
			return true
		default:
			return false
		}
	}
	return s.allDone()
}

// reopenTargets is a counting-together member's bookkeeping of its ends.
// After an aborted transaction every partition is read again from the
// committed offsets (franz-go rewinds them), so none is done any more;
// after an assignment, a partition that the group has already committed to
// its end is done, though no record will come to show it.
func (s *Source) reopenTargets(ctx context.Context) error {
	reopen := s.reopen.Swap(false)
	if !reopen && !s.recheck.Swap(false) {
		return nil
	}
	if reopen {
		for _, t := range s.until {
			t.done = false
		}
		if len(s.paused) > 0 {
			s.cl.ResumeFetchPartitions(s.paused)
			s.paused = nil
		}
	}
	if err := s.refresh(ctx); err != nil {
		return err
	}
	// The partitions this member now holds that are read to their end
	// (by it, or already when it started: no record will come to show
	// it) go to the buckets with the next barrier, at once.
	s.endsDue = true
	s.barrierq.Store(true)
	return nil
}

// endedBatches tells the pipeline, before the barrier that follows a
// partition's end, which of this member's partitions are read to their
// end; the splitter sends the ends in that transaction. If it aborts,
// reopenTargets reads them again, and the ends come again.
func (s *Source) endedBatches() []*source.Batch {
	if s.cfg.BucketTopic == "" || s.until == nil || !s.endsDue {
		return nil
	}
	s.endsDue = false
	return s.ownedEnded()
}

// ownedEnded are frameless Ended batches of the partitions this member
// holds that are read to their end.
func (s *Source) ownedEnded() []*source.Batch {
	var out []*source.Batch
	for _, key := range s.sortedTargets() {
		s.mu.Lock()
		owned := s.assigned[key]
		s.mu.Unlock()
		if t := s.until[key]; owned && t.done {
			out = append(out, &source.Batch{Partition: s.id(key), Ended: true, Offset: t.end})
		}
	}
	return out
}

// Ends lists where each partition of an UntilEnd source ends.
func (s *Source) Ends() []bucket.End {
	var out []bucket.End
	for _, key := range s.sortedTargets() {
		out = append(out, bucket.End{Topic: key.topic, Partition: key.partition, Offset: s.until[key].end})
	}
	return out
}

// describeEnded lists the partitions of this member read to their end.
func (s *Source) describeEnded() string {
	var out []string
	for _, b := range s.ownedEnded() {
		if t, p, ok := s.Origin(b.Partition); ok {
			out = append(out, describeTP(t, p))
		}
	}
	return strings.Join(out, ",")
}

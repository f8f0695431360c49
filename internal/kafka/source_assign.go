// Assignment callbacks: franz-go's group callbacks record which partitions this
// member owns, and the fetch loop turns the changes into frameless batches
// that tell the pipeline to hold the watermark for a new partition or forget a
// revoked one. Apart because they run on franz-go's goroutines, under s.mu.

package kafka

import (
	"context"
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/headcount/headcount/internal/source"
)

// announceChanges queues a frameless batch for each partition assigned or
// revoked since the last poll. A new partition then holds the watermark
// back from the start, before its first frame arrives (else a partition
// served by a slower broker could find its windows closed by the others);
// a revoked one stops holding it back.
//
// It reports whether partitions were assigned.
func (s *Source) announceChanges() bool {
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
	return len(owned) > 0
}

func (s *Source) onAssigned(_ context.Context, cl *kgo.Client, m map[string][]int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.joined = true // franz-go calls it after every join, with nothing new too
	for t, ps := range m {
		for _, p := range ps {
			s.assigned[topicPartition{t, p}] = true
			s.announce = append(s.announce, topicPartition{t, p})
		}
	}
	s.cfg.logger().Info("kafka: partitions assigned", "group", s.cfg.Group, "partitions", formatAssignment(m))
	if s.whole != nil {
		// Called before fetching of these partitions begins, so a
		// pause here keeps every frame of them out until the gate opens.
		s.gate(cl)
	}
}

// onRevoked commits what was applied of the revoked partitions while this
// member still owns them; frames fetched but not yet applied are read again
// by the next owner (at-least-once: see the package doc). An --until-end
// member commits nothing here: it has lost part of the input and fails.
func (s *Source) onRevoked(ctx context.Context, cl *kgo.Client, m map[string][]int32) {
	if s.whole != nil {
		s.breakWhole("revoked", m)
	} else if s.cfg.ExactlyOnce {
		// Offsets commit only with the transaction (an open one aborts).
	} else if err := cl.CommitMarkedOffsets(ctx); err != nil {
		s.cfg.logger().Warn("kafka: commit on revoke failed", "group", s.cfg.Group, "err", err)
	}
	s.forget(m)
	if len(m) > 0 {
		s.cfg.logger().Info("kafka: partitions revoked", "group", s.cfg.Group, "partitions", formatAssignment(m))
	}
}

func (s *Source) onLost(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	s.mu.Lock()
	s.joined = false // until the group has this member again
	s.mu.Unlock()
	s.forget(m)
	if s.whole != nil {
		s.breakWhole("lost", m)
	}
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
			s.lag.forget(topicPartition{t, p})
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

// checkAlone fails an at-least-once group member that holds only part of
// the input: members counting apart would each publish the count of their
// partitions as the window's (unique counts do not add up), so the second
// member of such a group stops both, loudly. Exactly-once members count
// together (Member); an --until-end member has rules of its own (whole).
func (s *Source) checkAlone() error {
	if !s.cfg.Alone || !s.group || s.cfg.ExactlyOnce || s.until != nil || s.total == nil {
		return nil
	}
	s.mu.Lock()
	held := len(s.assigned)
	s.mu.Unlock()
	all := 0
	for _, n := range s.total {
		all += n
	}
	if held == 0 || held >= all {
		return nil
	}
	return fmt.Errorf("kafka: group %s: this member holds %d of the input's %d partitions: another member joined. "+
		"At-least-once members (--exactly-once=false) do not merge their counts, and unique counts of parts of the input do not add up; "+
		"run one at-least-once member per group, or count together exactly once (the default)", s.cfg.Group, held, all)
}

// --until-end bookkeeping: the end offset of every partition listed at start,
// which of them are read up to it, and pausing those that are. Apart because
// only a backfill needs it (s.until is nil otherwise) and its rules for group
// members (another member's partitions are its own to finish) are subtle.

package kafka

import (
	"context"

	"github.com/twmb/franz-go/pkg/kadm"
)

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

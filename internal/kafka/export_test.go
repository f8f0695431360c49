package kafka

import (
	"context"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Test access to the state topic's reader and writer.

// SavedState is one owner's latest state as ReadStates returns it.
type SavedState struct {
	Payload []byte
	Gen     uint64
}

// ReadStates reads the latest committed states of owners from topic.
func ReadStates(ctx context.Context, c *Config, topic string, owners []string) (map[string]SavedState, error) {
	states, err := readStates(ctx, c, topic, owners)
	out := map[string]SavedState{}
	for o, s := range states {
		out[o] = SavedState{s.payload, s.gen}
	}
	return out, err
}

// StateRecords cuts payload into the state records of owner's generation gen.
func StateRecords(topic, owner string, gen uint64, payload []byte) []*kgo.Record {
	return stateRecords(topic, owner, gen, payload)
}

// Reused is how many decompression buffers the source's records gave back
// were decoded into again.
func (s *Source) Reused() uint64 { return s.pool.reused.Load() }

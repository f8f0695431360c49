// The state topic of an exactly-once run: the pipeline's state, written in
// the same transaction as the results and the consumed offsets, read back
// when the group's partitions are assigned. Apart because it is a format
// (chunks of one snapshot on a compacted topic) with its own reader.

package kafka

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/headcount/headcount/internal/binio"
)

// stateChunk is the most bytes of state in one record: under the broker's
// default message.max.bytes (1 MB) with room for the key and headers.
const stateChunk = 512 << 10

// ErrState is wrapped by every error about a state record.
var ErrState = errors.New("kafka: invalid state on the state topic")

// A saved state is split into records keyed "<group>/<i>", i from 0 to
// n-1, each valued:
//
//	"hcT" 1, uvarint generation, uvarint n, bytes
//
// The generation grows with every commit; a reader takes the latest record
// of each key (the topic is compacted) and accepts the state only if
// chunks 0..n-1 all carry chunk 0's generation (all were written in one
// transaction, so a read_committed reader sees all or none of them; older
// chunks past n are left from a larger state and ignored).
var stateHeader = binio.Header{Magic: "hcT", Version: 1, Err: ErrState}

// The state proper, before chunking: the partitions in the order of the
// pipeline's dense ids, then the pipeline's state.
//
//	"hcG" 1, uvarint partitions, then per partition: bytes topic, varint partition
//	bytes pipeline state
var payloadHeader = binio.Header{Magic: "hcG", Version: 1, Err: ErrState}

func encodePayload(names []topicPartition, state []byte) []byte {
	b := payloadHeader.Append(nil)
	b = binary.AppendUvarint(b, uint64(len(names)))
	for _, n := range names {
		b = binio.AppendBytes(b, []byte(n.topic))
		b = binary.AppendVarint(b, int64(n.partition))
	}
	return binio.AppendBytes(b, state)
}

func decodePayload(b []byte) (names []topicPartition, state []byte, err error) {
	r, err := payloadHeader.Open(b)
	if err != nil {
		return nil, nil, err
	}
	n := r.Count(2)
	for range n {
		names = append(names, topicPartition{topic: string(r.Bytes()), partition: int32(r.Varint())})
	}
	state = r.Bytes()
	if err := payloadHeader.Finish(r); err != nil {
		return nil, nil, err
	}
	return names, state, nil
}

// stateRecords cuts payload into the records of generation gen.
func stateRecords(topic, group string, gen uint64, payload []byte) []*kgo.Record {
	n := max(1, (len(payload)+stateChunk-1)/stateChunk)
	recs := make([]*kgo.Record, 0, n)
	for i := range n {
		part := payload[min(i*stateChunk, len(payload)):min((i+1)*stateChunk, len(payload))]
		v := stateHeader.Append(nil)
		v = binary.AppendUvarint(v, gen)
		v = binary.AppendUvarint(v, uint64(n))
		v = binio.AppendBytes(v, part)
		recs = append(recs, &kgo.Record{Topic: topic, Key: []byte(group + "/" + strconv.Itoa(i)), Value: v})
	}
	return recs
}

// readState reads the state topic to its last stable offset (committed
// transactions only) and returns the group's latest state and its
// generation; a nil payload when there is none.
func readState(ctx context.Context, c *Config, topic, group string) (payload []byte, gen uint64, err error) {
	states, err := readStates(ctx, c, topic, []string{group})
	if err != nil {
		return nil, 0, err
	}
	st := states[group]
	return st.payload, st.gen, nil
}

// savedState is one owner's latest state: nil payload when none.
type savedState struct {
	payload []byte
	gen     uint64
}

// readStates reads the state topic once for the states of several owners
// (a group, or one partition of a counting stage: the key prefixes).
func readStates(ctx context.Context, c *Config, topic string, owners []string) (map[string]savedState, error) {
	// Transaction markers take offsets: kept, they show where the end is.
	cl, err := connect(ctx, c, kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	// The high watermark, not the last stable offset: another member's open
	// transaction holds the LSO back below states committed after it began,
	// and a state read short of them is older than the offsets that the
	// group hands out (which wait for pending transactions), so the frames in
	// between would be lost. A read_committed reader waits at the LSO until
	// every transaction open now has ended, and then sees everything below it.
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("kafka: state topic %s: %w", topic, err)
	}
	want := map[int32]int64{}
	offsets := map[string]map[int32]kgo.Offset{topic: {}}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			want[o.Partition] = o.Offset
			offsets[topic][o.Partition] = kgo.NewOffset().AtStart()
		}
	})
	out := map[string]savedState{}
	if len(want) == 0 {
		return out, nil
	}
	cl.AddConsumePartitions(offsets)
	latest := map[string][]byte{} // the last value of each owner's keys
	for len(want) > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("kafka: read state topic %s: %w", topic, err)
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) { ferr = err })
		if ferr != nil {
			return nil, fmt.Errorf("kafka: read state topic %s: %w", topic, ferr)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if !r.Attrs.IsControl() && ownedBy(string(r.Key), owners) {
				latest[string(r.Key)] = r.Value
			}
			if r.Offset+1 >= want[r.Partition] {
				delete(want, r.Partition)
			}
		})
	}
	for _, o := range owners {
		payload, gen, err := assemble(latest, o)
		if err != nil {
			return nil, fmt.Errorf("state of %s: %w", o, err)
		}
		out[o] = savedState{payload, gen}
	}
	return out, nil
}

// ownedBy says whether a state key ("<owner>/<chunk>") is one of owners'.
func ownedBy(key string, owners []string) bool {
	i := strings.LastIndexByte(key, '/')
	return i >= 0 && slices.Contains(owners, key[:i])
}

// assemble joins the chunks of the latest generation.
func assemble(latest map[string][]byte, group string) ([]byte, uint64, error) {
	first, ok := latest[group+"/0"]
	if !ok {
		return nil, 0, nil
	}
	gen, n, part, err := chunk(first)
	if err != nil {
		return nil, 0, err
	}
	payload := append([]byte(nil), part...)
	for i := 1; i < int(n); i++ {
		v, ok := latest[group+"/"+strconv.Itoa(i)]
		if !ok {
			return nil, 0, fmt.Errorf("%w: chunk %d of %d missing", ErrState, i, n)
		}
		g, _, part, err := chunk(v)
		if err != nil {
			return nil, 0, err
		}
		if g != gen {
			return nil, 0, fmt.Errorf("%w: chunk %d is of generation %d, chunk 0 of %d", ErrState, i, g, gen)
		}
		payload = append(payload, part...)
	}
	return payload, gen, nil
}

func chunk(v []byte) (gen, n uint64, part []byte, err error) {
	r, err := stateHeader.Open(v)
	if err != nil {
		return 0, 0, nil, err
	}
	gen, n, part = r.Uvarint(), r.Uvarint(), r.Bytes()
	if err := stateHeader.Finish(r); err != nil {
		return 0, 0, nil, err
	}
	if n == 0 || n > 1<<20 {
		return 0, 0, nil, fmt.Errorf("%w: %d chunks", ErrState, n)
	}
	return gen, n, part, nil
}

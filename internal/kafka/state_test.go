package kafka

import (
	"bytes"
	"errors"
	"strconv"
	"testing"
)

// TestStateChunks: a state cut into records and assembled again is the
// same; a missing chunk, chunks of two generations, damaged or foreign
// bytes are ErrState; chunks of an older, larger state past n are ignored.
func TestStateChunks(t *testing.T) {
	names := []topicPartition{{"events", 0}, {"events", 1}, {"other", 3}}
	state := bytes.Repeat([]byte("0123456789"), 150000) // 1.5 MB: 3 chunks
	payload := encodePayload(names, state)
	latest := func(gen uint64, p []byte) map[string][]byte {
		m := map[string][]byte{}
		for _, r := range stateRecords("st", "g", gen, p) {
			m[string(r.Key)] = r.Value
		}
		return m
	}
	m := latest(7, payload)
	if len(m) != 3 {
		t.Fatalf("%d chunks, want 3", len(m))
	}
	got, gen, err := assemble(m, "g")
	if err != nil || gen != 7 || !bytes.Equal(got, payload) {
		t.Fatalf("assemble: gen %d, %d bytes, %v", gen, len(got), err)
	}
	gotNames, gotState, err := decodePayload(got)
	if err != nil || len(gotNames) != 3 || gotNames[2] != names[2] || !bytes.Equal(gotState, state) {
		t.Fatalf("decode: %v %d %v", gotNames, len(gotState), err)
	}
	// A smaller state of a later generation: the old chunk 2 is left.
	small := encodePayload(names, []byte("small"))
	for k, v := range latest(8, small) {
		m[k] = v
	}
	if got, gen, err := assemble(m, "g"); err != nil || gen != 8 || !bytes.Equal(got, small) {
		t.Errorf("later smaller state: gen %d, %v", gen, err)
	}
	if got, _, err := assemble(map[string][]byte{}, "g"); got != nil || err != nil {
		t.Errorf("no state: %v %v", got, err)
	}
	bad := map[string]map[string][]byte{
		"missing chunk":   {"g/0": latest(9, payload)["g/0"], "g/2": latest(9, payload)["g/2"]},
		"two generations": {"g/0": latest(9, payload)["g/0"], "g/1": latest(10, payload)["g/1"], "g/2": latest(9, payload)["g/2"]},
		"foreign":         {"g/0": []byte("not a chunk")},
		"newer version":   {"g/0": append([]byte("hcT\x02"), latest(9, small)["g/0"][4:]...)},
	}
	for name, m := range bad {
		if _, _, err := assemble(m, "g"); !errors.Is(err, ErrState) {
			t.Errorf("%s: %v, want ErrState", name, err)
		}
	}
	if _, _, err := decodePayload([]byte("hcG\x01" + strconv.Itoa(5))); !errors.Is(err, ErrState) {
		t.Errorf("damaged payload: %v", err)
	}
}

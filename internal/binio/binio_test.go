package binio

import (
	"encoding/binary"
	"errors"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	var b []byte
	b = binary.AppendUvarint(b, 300)
	b = binary.AppendVarint(b, -5)
	b = append(b, 7)
	b = binary.LittleEndian.AppendUint64(b, 1<<63)
	b = AppendBytes(b, []byte("frame"))
	b = binary.AppendUvarint(b, 2)
	r := NewReader(b)
	if r.Uvarint() != 300 || r.Varint() != -5 || r.Byte() != 7 || r.Uint64() != 1<<63 || string(r.Bytes()) != "frame" || r.Count(1) != 0 {
		t.Fatal("round trip")
	}
	if !errors.Is(r.Err(), ErrShort) {
		t.Errorf("a count larger than the rest must fail: %v", r.Err())
	}
}

func TestShort(t *testing.T) {
	for _, read := range []func(*Reader){
		func(r *Reader) { r.Uvarint() },
		func(r *Reader) { r.Varint() },
		func(r *Reader) { r.Byte() },
		func(r *Reader) { r.Uint64() },
		func(r *Reader) { r.Bytes() },
	} {
		r := NewReader(nil)
		read(r)
		if !errors.Is(r.Err(), ErrShort) {
			t.Errorf("err = %v", r.Err())
		}
	}
	r := NewReader([]byte{10, 1, 2}) // a length of 10 with 2 bytes left
	if r.Bytes() != nil || r.Err() == nil {
		t.Error("oversized length accepted")
	}
	r = NewReader(nil)
	r.Fail("bad %s", "kind")
	r.Fail("second")
	if r.Err().Error() != "bad kind" {
		t.Errorf("first failure must win: %v", r.Err())
	}
}

func TestHeader(t *testing.T) {
	errBad := errors.New("bad snapshot")
	h := Header{Magic: "hcT", Version: 2, Err: errBad}
	b := binary.AppendUvarint(h.Append(nil), 7)
	r, err := h.Open(b)
	if err != nil || r.Uvarint() != 7 || h.Finish(r) != nil {
		t.Fatalf("round trip: %v", err)
	}
	for _, bad := range [][]byte{nil, []byte("hcX\x02"), []byte("hcT\x01")} {
		if _, err := h.Open(bad); !errors.Is(err, errBad) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	r, _ = h.Open(append(h.Append(nil), 1, 2))
	r.Byte()
	if err := h.Finish(r); !errors.Is(err, errBad) {
		t.Errorf("left-over bytes: %v", err)
	}
	r, _ = h.Open(h.Append(nil))
	r.Uint64()
	if err := h.Finish(r); !errors.Is(err, errBad) || !errors.Is(err, ErrShort) {
		t.Errorf("short: %v", err)
	}
}

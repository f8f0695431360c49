package bucket

import (
	"errors"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/headcount/headcount/internal/result"
)

func TestOfSpreadsUsersEvenly(t *testing.T) {
	const n, users = 6, 600000
	var counts [n]int
	h := uint64(1)
	for range users {
		h = h*6364136223846793005 + 1442695040888963407 // any spread of hashes
		b := Of(h, n)
		if b < 0 || b >= n {
			t.Fatalf("Of = %d, want 0..%d", b, n-1)
		}
		counts[b]++
	}
	for b, c := range counts {
		if d := math.Abs(float64(c)-users/n) / (users / n); d > 0.02 {
			t.Errorf("bucket %d holds %d users, %.1f%% off an even share", b, c, 100*d)
		}
	}
	if Of(12345, 1) != 0 || Of(12345, 0) != 0 {
		t.Error("one bucket (or none) must be bucket 0")
	}
}

func TestFramesRoundTrip(t *testing.T) {
	for _, f := range []Frames{
		{Topic: "events", Partition: 3, End: NoEnd, Clock: NoClock},
		{Topic: "t", Partition: 0, End: 1234, Clock: 1468244400},
		{Topic: "events", Partition: 7, End: NoEnd, Clock: NoClock,
			TS: []int64{1468244400, 1468244399, 1468247000}, Hash: []uint64{1, math.MaxUint64, 42}, Offset: []int64{10, 11, 900}},
	} {
		var got Frames
		if err := got.UnmarshalBinary(f.AppendBinary(nil)); err != nil {
			t.Fatalf("%+v: %v", f, err)
		}
		if got.Len() == 0 {
			got.TS, got.Hash, got.Offset = nil, nil, nil
		}
		if !reflect.DeepEqual(got, f) {
			t.Errorf("round trip: got %+v, want %+v", got, f)
		}
	}
}

func TestCountsRoundTrip(t *testing.T) {
	start := time.Unix(1468244400, 0).UTC()
	for _, c := range []Counts{
		{Bucket: 0, Watermark: math.MinInt64, Results: []result.Result{}},
		{Bucket: 5, Watermark: 1468244465, Results: []result.Result{
			{Window: "minute", Start: start, End: start.Add(time.Minute), Users: 812, Frames: 4000, Final: true, Rev: 2, Exact: true},
			{Window: "month", Start: start, End: start.Add(720 * time.Hour), Users: 1 << 40, Frames: 1 << 41, RSE: 0.0081},
		}, Ends: []End{{Topic: "events", Partition: 2, Offset: 100000}}},
		{Bucket: 1, Watermark: 7, Results: []result.Result{}, Ends: []End{}},
	} {
		var got Counts
		if err := got.UnmarshalBinary(c.AppendBinary(nil)); err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		if !reflect.DeepEqual(got, c) {
			t.Errorf("round trip: got %+v, want %+v", got, c)
		}
	}
}

func TestDoneRoundTrip(t *testing.T) {
	d := Done{Ends: []End{{Topic: "a", Partition: 0, Offset: 5}, {Topic: "a", Partition: 1, Offset: 0}}}
	b := d.AppendBinary(nil)
	if !IsDone(b) || IsDone((&Counts{}).AppendBinary(nil)) {
		t.Fatal("IsDone tells a done record from a counts record")
	}
	var got Done
	if err := got.UnmarshalBinary(b); err != nil || !reflect.DeepEqual(got, d) {
		t.Fatalf("round trip: got %+v, %v; want %+v", got, err, d)
	}
}

func TestMalformedRecordsAreErrors(t *testing.T) {
	good := (&Frames{Topic: "t", Partition: 1, End: NoEnd, TS: []int64{5}, Hash: []uint64{9}, Offset: []int64{3}}).AppendBinary(nil)
	for name, b := range map[string][]byte{
		"empty":          {},
		"other magic":    []byte("hcC\x01"),
		"newer version":  []byte("hcB\x02"),
		"cut":            good[:len(good)-1],
		"trailing":       append(append([]byte(nil), good...), 0),
		"huge count":     append([]byte("hcB\x01\x01t\x02\x01\x00"), 0xff, 0xff, 0xff, 0xff, 0x0f),
		"negative part.": []byte("hcB\x01\x01t\x01\x01\x00\x00"),
	} {
		var f Frames
		if err := f.UnmarshalBinary(b); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: err = %v, want ErrFormat", name, err)
		}
	}
}

// The decoders read records another program could have written: no input
// may panic them or make them allocate beyond its size, and what decodes
// encodes back to the same bytes.
func FuzzFrames(f *testing.F) {
	f.Add((&Frames{Topic: "t", Partition: 1, End: NoEnd, TS: []int64{5, 3}, Hash: []uint64{9, 1}, Offset: []int64{3, 4}}).AppendBinary(nil))
	f.Add([]byte("hcB\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var fr Frames
		if fr.UnmarshalBinary(b) != nil {
			return
		}
		if again := fr.AppendBinary(nil); string(again) != string(b) {
			// Varints have one shortest form; a longer one is not
			// rewritten the same, but must decode to the same frames.
			var fr2 Frames
			if err := fr2.UnmarshalBinary(again); err != nil || !reflect.DeepEqual(fr2.TS, fr.TS) || !reflect.DeepEqual(fr2.Hash, fr.Hash) {
				t.Fatalf("re-encoded record decodes differently: %v", err)
			}
		}
	})
}

func FuzzCounts(f *testing.F) {
	start := time.Unix(60, 0).UTC()
	f.Add((&Counts{Bucket: 2, Watermark: 9, Results: []result.Result{{Window: "minute", Start: start, End: start.Add(time.Minute), Users: 3, Frames: 4, Final: true, Rev: 1, Exact: true}}, Ends: []End{{"t", 0, 5}}}).AppendBinary(nil))
	f.Add((&Done{Ends: []End{{"t", 1, 2}}}).AppendBinary(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		var c Counts
		if c.UnmarshalBinary(b) == nil {
			// Compared as bytes: an rse may be NaN, never equal to itself.
			once := c.AppendBinary(nil)
			var c2 Counts
			if err := c2.UnmarshalBinary(once); err != nil || string(c2.AppendBinary(nil)) != string(once) {
				t.Fatalf("re-encoded counts decode differently: %v", err)
			}
		}
		var d Done
		_ = d.UnmarshalBinary(b)
	})
}

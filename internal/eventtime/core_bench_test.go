package eventtime

import (
	"testing"
	"time"
)

// BenchmarkOffer is the core's cost per frame on the reference traffic's
// shape (1,000 frames/s of event time, 100,000 users, 1% up to 30 s late,
// the run command's settings): the part of a run that is not parsing.
func BenchmarkOffer(b *testing.B) {
	parts := flipStream(200000, 0, 1)
	var frames []Frame
	for _, e := range parts[0] {
		if !e.flipped {
			frames = append(frames, Frame{TS: e.ts, Hash: e.uid*0x9e3779b97f4a7c15 + 1, Offset: e.offset})
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	c := New(runDefaults())
	c.Tick(time.Now())
	shift := int64(0)
	for i := 0; b.Loop(); i++ {
		if i%len(frames) == 0 && i > 0 {
			shift += 3600 // a new hour of event time each round: windows keep closing
		}
		f := frames[i%len(frames)]
		f.TS += shift
		c.Offer(0, f)
		if i%512 == 0 {
			c.Clear()
		}
	}
}

// BenchmarkSnapshot is the cost of one checkpoint of the core on the
// reference traffic's shape: 17 minutes of 1,000 frames/s from 100,000
// users, every closed minute kept for corrections (--keep 1h), the state
// an exactly-once run commits every second. It reports the snapshot's size.
func BenchmarkSnapshot(b *testing.B) {
	c := New(runDefaults())
	c.Tick(time.Unix(1468244400, 0).Add(10 * 365 * 24 * time.Hour))
	for i := range 1020000 {
		c.Offer(int32(i%4), Frame{TS: 1468244400 + int64(i/1000), Hash: uint64(i*7919%100000)*0x9e3779b97f4a7c15 + 1})
		if i%4096 == 0 {
			c.Clear()
		}
	}
	c.Clear()
	var buf []byte
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		var err error
		if buf, err = c.AppendBinary(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(buf)), "bytes")
}

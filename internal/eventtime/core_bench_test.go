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

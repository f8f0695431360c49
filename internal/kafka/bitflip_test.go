package kafka_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/headcount/headcount/internal/frame"
	"github.com/headcount/headcount/internal/kafkatest"
	"github.com/headcount/headcount/internal/pipeline"
)

// flipCounter counts dead letters by reason.
type flipCounter struct{ n [frame.NumReasons]int }

func (d *flipCounter) Reject(_ int32, _ int64, _ []byte, r frame.Reason) error {
	d.n[r]++
	return nil
}

// TestBitFlipsRealBroker: 200,000 frames on a 4-partition topic, 0.5% of
// them with one high bit of ts cleared (the same three bits again and
// again, as a faulty device flips them: to 2015, 2014 and 2008), counted
// with --until-end and the run command's defaults (--keep 1h). The
// partitions are read in parallel, so one partition's frames are applied
// before another's first: a flipped frame must still never open a window.
// No bogus minute is published, every flipped frame is a dead letter, and
// the latest revision of every real minute equals the independent count.
func TestBitFlipsRealBroker(t *testing.T) {
	conn := kafkatest.Broker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	n := 200000
	if testing.Short() {
		n = 50000
	}
	r := rand.New(rand.NewPCG(8, 9))
	pad := strings.Repeat("x", 200)
	var frames [][]byte
	var clean [][]byte
	flipped := 0
	for i := range n {
		ts := int64(1468244400 + i/1000)
		if r.IntN(100) == 0 {
			ts -= int64(1 + r.IntN(30))
		}
		f := []byte(fmt.Sprintf(`{"pad":"%s","uid":"u%d","ts":%d}`, pad, r.IntN(20000), ts))
		if r.IntN(200) == 0 {
			bit := []uint{25, 26, 28}[r.IntN(3)]
			f = []byte(strings.Replace(string(f), fmt.Sprintf(`"ts":%d`, ts), fmt.Sprintf(`"ts":%d`, ts&^(1<<bit)), 1))
			flipped++
		} else {
			clean = append(clean, f)
		}
		frames = append(frames, f)
	}
	want := count(t, clean)
	in, out, group := kafkatest.Topic(t, "in"), kafkatest.Topic(t, "out"), kafkatest.Topic(t, "group")
	load(t, ctx, conn, in, 4, frames)

	cfg := pipeline.DefaultConfig()
	dead := &flipCounter{}
	cfg.Dead = dead
	stats := countTopic(t, ctx, conn, in, out, group, cfg)
	if got := dead.n[frame.BogusTS] + dead.n[frame.TooLate]; got != flipped || stats.Counted != uint64(n-flipped) {
		t.Errorf("%d flipped frames; dead letters: %d bogus-ts, %d too-late; %d counted of %d", flipped, dead.n[frame.BogusTS], dead.n[frame.TooLate], stats.Counted, n-flipped)
	}
	got := finals(t, kafkatest.ReadAll(t, ctx, conn, out))
	for ts, res := range got {
		if want[ts] == nil {
			t.Errorf("bogus minute %s published: %+v", time.Unix(ts, 0).UTC(), res)
		}
	}
	checkFinals(t, got, want)
}

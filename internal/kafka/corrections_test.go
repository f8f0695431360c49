package kafka_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/headcount/headcount/internal/frame"
	"github.com/headcount/headcount/internal/gen"
	"github.com/headcount/headcount/internal/kafka"
	"github.com/headcount/headcount/internal/kafkatest"
	"github.com/headcount/headcount/internal/pipeline"
	"github.com/headcount/headcount/internal/result"
	"github.com/headcount/headcount/internal/watermark"
	"github.com/headcount/headcount/internal/window"
)

// minTS is the run command's default --min-ts (2000-01-01T00:00:00Z).
const minTS = 946684800

// TestCorrectionsThroughKafka: late frames whose minute has closed become
// corrections that cross the Kafka sink, and frames beyond --keep and
// bit-flipped timestamps cross the dead-letter topic, on the real broker
// (and kfake). The run command's rules with a small lateness (5 s) against
// delays of up to 30 s and --keep 1h:
//
//   - the latest revision of each minute in the output topic equals an
//     independent count (encoding/json) of the frames that must count;
//   - the revisions of each minute are 1, 2, ... in the order the topic
//     holds them, with no gap, and some minute has more than one;
//   - every flipped frame is a bogus-ts dead letter and every frame beyond
//     --keep a too-late one, each exactly once, unchanged, and the
//     topic/partition/offset headers point at that very record of the
//     input topic.
func TestCorrectionsThroughKafka(t *testing.T) {
	onEveryBroker(t, correctionsThroughKafka)
}

func correctionsThroughKafka(t *testing.T, conn kafka.Config) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	in, out, dead := kafkatest.Topic(t, "in"), kafkatest.Topic(t, "out"), kafkatest.Topic(t, "dead")

	// Five minutes of event time, 10% of frames up to 30 s late, 1% with
	// a high bit of ts flipped.
	g := gen.New(gen.Config{Count: 6000, Rate: 20, Users: 500, Delay: 30 * time.Second, DelayProb: 0.1, BitFlipProb: 0.01, Seed: 21})
	var frames, counts [][]byte
	bogus := map[string]int{}
	var first int64
	for {
		f, _, ts, arrival, ok := g.Next(nil)
		if !ok {
			break
		}
		if first == 0 {
			first = arrival
		}
		frames = append(frames, f)
		if ts < minTS || ts > time.Now().Add(time.Hour).Unix() {
			bogus[string(f)]++
		} else {
			counts = append(counts, f)
		}
	}
	// Frames three hours behind the stream, sent after it: their minutes
	// closed more than --keep (1h) ago.
	tooLate := map[string]int{}
	var late [][]byte
	for i := range 5 {
		f := fmt.Appendf(nil, `{"uid":"late-%d","ts":%d}`, i, first-3*3600+int64(i))
		late = append(late, f)
		tooLate[string(f)]++
	}
	if len(bogus) == 0 {
		t.Fatal("the generator flipped no timestamp")
	}
	load(t, ctx, conn, in, 4, frames)
	load(t, ctx, conn, in, 4, late)
	want := count(t, counts)

	src, err := kafka.NewSource(ctx, kafka.SourceConfig{Config: conn, Topics: []string{in}, UntilEnd: true})
	if err != nil {
		t.Fatal(err)
	}
	closeSrc := sync.OnceValue(src.Close)
	defer closeSrc()
	sink, err := kafka.NewSink(ctx, kafka.SinkConfig{Config: conn, Topic: out})
	if err != nil {
		t.Fatal(err)
	}
	closeSink := sync.OnceValue(sink.Close)
	defer closeSink()
	dl, err := kafka.NewDeadLetters(ctx, kafka.DeadLetterConfig{Config: conn, Topic: dead, Origin: src.Origin})
	if err != nil {
		t.Fatal(err)
	}
	closeDead := sync.OnceValue(dl.Close)
	defer closeDead()
	cfg := pipeline.Config{
		Workers: 2,
		Window:  window.Config{Kinds: []window.Kind{window.Minute}, Keep: time.Hour},
		Watermark: watermark.Config{
			Lateness: 5 * time.Second, Idle: 10 * time.Second,
			MinTS: minTS, MaxFuture: time.Hour, MaxJump: time.Hour,
		},
		Dead: dl,
	}
	stats, err := pipeline.Run(ctx, src, sink, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]func() error{"source": closeSrc, "sink": closeSink, "dead letters": closeDead} {
		if err := c(); err != nil {
			t.Fatalf("close %s: %v", name, err)
		}
	}
	if stats.Frames != uint64(len(frames)+len(late)) || stats.Counted != uint64(len(counts)) ||
		stats.Rejected[frame.BogusTS] != uint64(len(frames)-len(counts)) || stats.Rejected[frame.TooLate] != uint64(len(late)) ||
		stats.RejectedTotal() != uint64(len(frames)-len(counts)+len(late)) {
		t.Errorf("stats %+v; want %d frames, %d counted, %d bogus-ts, %d too-late", stats, len(frames)+len(late), len(counts), len(frames)-len(counts), len(late))
	}

	// The output topic: one partition, so one order.
	latest := map[int64]result.Result{}
	corrected := 0
	for _, r := range kafkatest.ReadAll(t, ctx, conn, out) {
		res, err := result.Decode(r.Value)
		if err != nil {
			t.Fatalf("output record %q: %v", r.Value, err)
		}
		ts := res.Start.Unix()
		if key := res.Key(); string(r.Key) != key || r.Partition != 0 {
			t.Errorf("record key %q partition %d, want %q partition 0", r.Key, r.Partition, key)
		}
		prev := latest[ts]
		switch {
		case res.Window != "minute" || !res.Final || !res.Exact:
			t.Errorf("result %+v: want final exact minutes", res)
		case res.Rev != prev.Rev+1:
			t.Errorf("minute %d: rev %d follows rev %d", ts, res.Rev, prev.Rev)
		case res.Users < prev.Users || res.Frames <= prev.Frames && prev.Rev > 0:
			t.Errorf("minute %d: rev %d (%d users, %d frames) after rev %d (%d users, %d frames)", ts, res.Rev, res.Users, res.Frames, prev.Rev, prev.Users, prev.Frames)
		}
		if res.Rev > 1 {
			corrected++
		}
		latest[ts] = res
	}
	if corrected == 0 {
		t.Error("no correction (rev >= 2) reached the output topic")
	}
	if len(latest) != len(want) {
		t.Errorf("%d minutes in the output, want %d", len(latest), len(want))
	}
	for start, w := range want {
		if g := latest[start]; g.Users != uint64(len(w.users)) || g.Frames != w.frames {
			t.Errorf("minute %d: latest rev %d has %d users, %d frames; want %d, %d", start, g.Rev, g.Users, g.Frames, len(w.users), w.frames)
		}
	}

	// The dead-letter topic, checked against the input topic's records.
	input := map[string][]byte{}
	for _, r := range kafkatest.ReadAll(t, ctx, conn, in) {
		input[fmt.Sprintf("%s/%d/%d", r.Topic, r.Partition, r.Offset)] = r.Value
	}
	deadRecs := kafkatest.ReadAll(t, ctx, conn, dead)
	for _, r := range deadRecs {
		h := kafkatest.Headers(r)
		reason := h[kafka.HeaderReason]
		switch {
		case reason == frame.BogusTS.String() && bogus[string(r.Value)] > 0:
			bogus[string(r.Value)]--
		case reason == frame.TooLate.String() && tooLate[string(r.Value)] > 0:
			tooLate[string(r.Value)]--
		default:
			t.Errorf("dead letter %q with reason %q: not one of the expected frames for that reason (or once too often)", r.Value, reason)
		}
		at := h[kafka.HeaderTopic] + "/" + h[kafka.HeaderPartition] + "/" + h[kafka.HeaderOffset]
		if v, ok := input[at]; !ok || string(v) != string(r.Value) {
			t.Errorf("dead letter %q: headers point at %s, which holds %q", r.Value, at, v)
		}
	}
	for what, left := range map[string]map[string]int{"bogus-ts": bogus, "too-late": tooLate} {
		for f, n := range left {
			if n > 0 {
				t.Errorf("%s frame %q: %d dead letters missing", what, f, n)
			}
		}
	}
	t.Logf("%d frames, %d counted, %d minutes, %d corrections, %d dead letters", stats.Frames, stats.Counted, len(latest), corrected, len(deadRecs))
}

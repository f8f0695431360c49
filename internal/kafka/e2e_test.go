package kafka_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/headcount/headcount/internal/frame"
	"github.com/headcount/headcount/internal/gen"
	"github.com/headcount/headcount/internal/kafka"
	"github.com/headcount/headcount/internal/kafkatest"
	"github.com/headcount/headcount/internal/pipeline"
	"github.com/headcount/headcount/internal/result"
	"github.com/headcount/headcount/internal/source"
	"github.com/headcount/headcount/internal/watermark"
	"github.com/headcount/headcount/internal/window"
)

// generate returns n frames with late arrivals (delays up to 30 s).
func generate(n int, rate float64, users int) [][]byte {
	g := gen.New(gen.Config{Count: n, Rate: rate, Users: users, Delay: 30 * time.Second, DelayProb: 0.05, Seed: 7})
	var frames [][]byte
	for {
		f, _, _, _, ok := g.Next(nil)
		if !ok {
			return frames
		}
		frames = append(frames, f)
	}
}

// minute is the independent count of one minute.
type minute struct {
	users  map[string]struct{}
	frames uint64
}

// count is the reference counter: encoding/json into a map, which (unlike a
// struct) matches keys exactly, so the generator's decoy keys such as
// "\u0055ID" do not count as uid.
func count(t *testing.T, frames [][]byte) map[int64]*minute {
	t.Helper()
	out := map[int64]*minute{}
	for _, f := range frames {
		var m map[string]json.RawMessage
		if json.Unmarshal(f, &m) != nil {
			continue
		}
		var uid string
		if json.Unmarshal(m["uid"], &uid) != nil || uid == "" {
			continue
		}
		var ts int64
		if json.Unmarshal(m["ts"], &ts) != nil {
			var s string
			if json.Unmarshal(m["ts"], &s) != nil {
				continue
			}
			var err error
			if ts, err = strconv.ParseInt(s, 10, 64); err != nil {
				continue
			}
		}
		start := ts - ts%60
		if ts < 0 && ts%60 != 0 {
			start -= 60
		}
		w := out[start]
		if w == nil {
			w = &minute{users: map[string]struct{}{}}
			out[start] = w
		}
		w.users[uid] = struct{}{}
		w.frames++
	}
	return out
}

// load produces frames into topic, creating it with partitions.
func load(t *testing.T, ctx context.Context, conn kafka.Config, topic string, partitions int32, frames [][]byte) {
	t.Helper()
	p, err := kafka.NewProducer(ctx, kafka.ProducerConfig{Config: conn, Topic: topic, Partitions: partitions})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var data []byte
	if len(frames) > 0 {
		data = append(bytes.Join(frames, []byte("\n")), '\n')
	}
	skipped, err := p.Load(ctx, source.NewLines(bytes.NewReader(data), source.Fill(true)))
	if err != nil {
		t.Fatal(err)
	}
	_, _, acked, _ := p.Progress()
	if skipped != 0 || acked != uint64(len(frames)) {
		t.Fatalf("loaded %d frames, skipped %d; want %d, 0", acked, skipped, len(frames))
	}
}

func pipelineConfig(lateness time.Duration) pipeline.Config {
	return pipeline.Config{
		Workers:   2,
		Window:    window.Config{Kinds: []window.Kind{window.Minute}},
		Watermark: watermark.Config{Lateness: lateness},
	}
}

// count runs the real pipeline from the input topic to the output topic
// with --until-end semantics and the given group.
func countTopic(t *testing.T, ctx context.Context, conn kafka.Config, in, out, group string, cfg pipeline.Config) pipeline.Stats {
	t.Helper()
	src, err := kafka.NewSource(ctx, kafka.SourceConfig{Config: conn, Topics: []string{in}, Group: group, UntilEnd: true})
	if err != nil {
		t.Fatal(err)
	}
	sink, err := kafka.NewSink(ctx, kafka.SinkConfig{Config: conn, Topic: out})
	if err != nil {
		src.Close()
		t.Fatal(err)
	}
	stats, err := pipeline.Run(ctx, src, sink, cfg)
	if cerr := src.Close(); err == nil {
		err = cerr
	}
	if cerr := sink.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	return stats
}

// finals returns the latest final result per start (unix seconds) of the
// output topic.
func finals(t *testing.T, recs []*kgo.Record) map[int64]result.Result {
	t.Helper()
	out := map[int64]result.Result{}
	for _, r := range recs {
		res, err := result.Decode(r.Value)
		if err != nil {
			t.Fatalf("output record %q: %v", r.Value, err)
		}
		if want := res.Key(); string(r.Key) != want {
			t.Errorf("key %q, want %q", r.Key, want)
		}
		start := res.Start.Unix()
		if res.Final && res.Rev >= out[start].Rev {
			out[start] = res
		}
	}
	return out
}

// roundTrip is the end-to-end check: generated frames into a 4-partition
// topic, the pipeline with the Kafka source and sink, the output equal to
// an independent count; then a second run of the same group reads nothing.
func roundTrip(t *testing.T, conn kafka.Config, n int) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	in, out, group := kafkatest.Topic(t, "in"), kafkatest.Topic(t, "out"), kafkatest.Topic(t, "group")
	countTwice(t, ctx, conn, in, out, group, 4, n)
}

// countTwice loads n generated frames into topic in (with partitions
// partitions), counts them with the pipeline (the Kafka source as group,
// until the end, and the Kafka sink into out) and checks every final minute
// against an independent count; then a second run of the same group must
// read nothing.
func countTwice(t *testing.T, ctx context.Context, conn kafka.Config, in, out, group string, partitions int32, n int) {
	t.Helper()
	// 50 frames/s of event time: n=20,000 spans ~7 minutes, so some
	// windows close on the watermark while running, the rest at the end.
	frames := generate(n, 50, 3000)
	want := count(t, frames)
	load(t, ctx, conn, in, partitions, frames)

	// The lateness covers the 30 s delays plus the spread between
	// partitions read in parallel, so every frame counts.
	cfg := pipelineConfig(90 * time.Second)
	stats := countTopic(t, ctx, conn, in, out, group, cfg)
	if stats.Frames != uint64(n) || stats.Counted != uint64(n) {
		t.Fatalf("first run: %d frames read, %d counted; want %d (stats %+v)", stats.Frames, stats.Counted, n, stats)
	}
	recs := kafkatest.ReadAll(t, ctx, conn, out)
	checkFinals(t, finals(t, recs), want)

	// Offsets were committed: the same group has nothing left to read.
	stats2 := countTopic(t, ctx, conn, in, out, group, cfg)
	if stats2.Frames != 0 || stats2.Results != 0 {
		t.Fatalf("second run of group %s read %d frames, wrote %d results; want 0, 0", group, stats2.Frames, stats2.Results)
	}
	if again := kafkatest.ReadAll(t, ctx, conn, out); len(again) != len(recs) {
		t.Fatalf("output grew from %d to %d records on the second run", len(recs), len(again))
	}
}

// onEveryBroker runs check as subtests on the real broker, the real
// three-broker cluster and kfake.
func onEveryBroker(t *testing.T, check func(t *testing.T, conn kafka.Config)) {
	for _, tc := range []struct {
		name string
		conn func(t *testing.T) kafka.Config
	}{
		{"real broker", func(t *testing.T) kafka.Config { return kafkatest.Broker(t) }},
		{"real cluster", func(t *testing.T) kafka.Config { return kafkatest.Cluster(t) }},
		{"kfake", func(t *testing.T) kafka.Config { c, _ := kafkatest.Fake(t); return c }},
	} {
		t.Run(tc.name, func(t *testing.T) { check(t, tc.conn(t)) })
	}
}

func TestRoundTripRealBroker(t *testing.T) {
	roundTrip(t, kafkatest.Broker(t), 20000)
}

func TestRoundTripFake(t *testing.T) {
	conn, _ := kafkatest.Fake(t)
	roundTrip(t, conn, 3000)
}

// deadLetters checks that malformed frames land in the dead-letter topic
// unchanged, with their reason, topic, partition and offset in headers.
func deadLetters(t *testing.T, conn kafka.Config) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	in, out, dead := kafkatest.Topic(t, "in"), kafkatest.Topic(t, "out"), kafkatest.Topic(t, "dead")
	bad := map[string]string{ // frame -> reason
		`not json at all`:                             frame.NotJSON.String(),
		`{"uid":"a"}`:                                 frame.NoTS.String(),
		`{"ts":1468244400}`:                           frame.NoUID.String(),
		`{"uid":7,"ts":1468244400}`:                   frame.BadUID.String(),
		`[1,2,3]`:                                     frame.NotObject.String(),
		`{"uid":"a","ts":1468244400,"uid":"b"}`:       frame.DupUID.String(),
		"{\"uid\":\"\xff\",\"ts\":1468244400}":        frame.BadUTF8.String(),
		`{"uid":"a","ts":"14682x"}`:                   frame.BadTS.String(),
		`{"uid":"a","ts":1468244400,"x":[1,2,}`:       frame.NotJSON.String(),
		`{"uid":"ok1","ts":1468244401}`:               "",
		`{"uid":"ok2","ts":1468244402,"n":{"uid":1}}`: "",
	}
	var frames [][]byte
	for f := range bad {
		frames = append(frames, []byte(f))
	}
	load(t, ctx, conn, in, 1, frames)

	src, err := kafka.NewSource(ctx, kafka.SourceConfig{Config: conn, Topics: []string{in}, UntilEnd: true})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	sink, err := kafka.NewSink(ctx, kafka.SinkConfig{Config: conn, Topic: out})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	dl, err := kafka.NewDeadLetters(ctx, kafka.DeadLetterConfig{Config: conn, Topic: dead, Origin: src.Origin})
	if err != nil {
		t.Fatal(err)
	}
	cfg := pipelineConfig(5 * time.Second)
	cfg.Dead = dl
	stats, err := pipeline.Run(ctx, src, sink, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := dl.Close(); err != nil {
		t.Fatal(err)
	}
	if stats.Counted != 2 || stats.RejectedTotal() != uint64(len(bad)-2) {
		t.Fatalf("counted %d, rejected %d", stats.Counted, stats.RejectedTotal())
	}
	recs := kafkatest.ReadAll(t, ctx, conn, dead)
	if len(recs) != len(bad)-2 {
		t.Fatalf("%d dead letters, want %d", len(recs), len(bad)-2)
	}
	for _, r := range recs {
		h := map[string]string{}
		for _, kv := range r.Headers {
			h[kv.Key] = string(kv.Value)
		}
		want, ok := bad[string(r.Value)]
		switch {
		case !ok:
			t.Errorf("dead letter %q is not one of the frames (changed?)", r.Value)
		case h[kafka.HeaderReason] != want:
			t.Errorf("dead letter %q: reason %q, want %q", r.Value, h[kafka.HeaderReason], want)
		}
		if h[kafka.HeaderTopic] != in || h[kafka.HeaderPartition] != "0" || h[kafka.HeaderOffset] == "" || h[kafka.HeaderOffset] == "-1" {
			t.Errorf("dead letter %q: headers %v", r.Value, h)
		}
	}
}

func TestDeadLettersRealBroker(t *testing.T) { deadLetters(t, kafkatest.Broker(t)) }

func TestDeadLettersFake(t *testing.T) {
	conn, _ := kafkatest.Fake(t)
	deadLetters(t, conn)
}

// An unreachable broker is a clear error within the connect timeout, not a
// hang. Port 1 on loopback refuses at once; the timeout case is covered by
// the bound as well.
func TestUnreachableBroker(t *testing.T) {
	conn := kafka.Config{Brokers: []string{"127.0.0.1:1"}, ConnectTimeout: 3 * time.Second}
	begin := time.Now()
	_, err := kafka.NewSource(context.Background(), kafka.SourceConfig{Config: conn, Topics: []string{"t"}, Group: "g"})
	if err == nil || !strings.Contains(err.Error(), "cannot reach a broker at 127.0.0.1:1") {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(begin); d > 10*time.Second {
		t.Fatalf("took %v", d)
	}
	if _, err := kafka.NewSink(context.Background(), kafka.SinkConfig{Config: conn, Topic: "t"}); err == nil {
		t.Fatal("sink: no error")
	}
	if _, err := kafka.NewProducer(context.Background(), kafka.ProducerConfig{Config: conn, Topic: "t"}); err == nil {
		t.Fatal("producer: no error")
	}
}

func TestMissingTopic(t *testing.T) {
	conn, _ := kafkatest.Fake(t)
	for _, until := range []bool{false, true} {
		_, err := kafka.NewSource(context.Background(), kafka.SourceConfig{Config: conn, Topics: []string{"nope"}, UntilEnd: until})
		if err == nil || !strings.Contains(err.Error(), "topic nope does not exist") {
			t.Errorf("until-end %v: err = %v", until, err)
		}
	}
	_, err := kafka.NewProducer(context.Background(), kafka.ProducerConfig{Config: conn, Topic: "nope"})
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("producer: err = %v", err)
	}
}

// Several topics share one pipeline with distinct partition ids, and the
// source stops at the end offsets seen at start even while more arrives.
func TestMultiTopicUntilEnd(t *testing.T) {
	conn, _ := kafkatest.Fake(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a, b, empty := kafkatest.Topic(t, "a"), kafkatest.Topic(t, "b"), kafkatest.Topic(t, "empty")
	load(t, ctx, conn, a, 2, generate(500, 100, 50))
	load(t, ctx, conn, b, 3, generate(700, 100, 50))
	load(t, ctx, conn, empty, 2, nil)

	src, err := kafka.NewSource(ctx, kafka.SourceConfig{Config: conn, Topics: []string{a, b, empty}, UntilEnd: true})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	// Records produced after start are not part of the run.
	load(t, ctx, conn, a, 2, generate(100, 100, 50))

	ids := map[int32]string{}
	var frames int
	for {
		batch, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		topic, p, ok := src.Origin(batch.Partition)
		if !ok {
			t.Fatalf("no origin for id %d", batch.Partition)
		}
		if prev, seen := ids[batch.Partition]; seen && prev != topic+"/"+strconv.Itoa(int(p)) {
			t.Fatalf("id %d is %s and %s/%d", batch.Partition, prev, topic, p)
		}
		ids[batch.Partition] = topic + "/" + strconv.Itoa(int(p))
		if len(batch.Offsets) != len(batch.Frames) {
			t.Fatalf("%d offsets for %d frames", len(batch.Offsets), len(batch.Frames))
		}
		frames += len(batch.Frames)
		src.MarkApplied(batch)
		batch.Release()
	}
	if frames != 1200 || len(ids) != 5 {
		t.Fatalf("read %d frames from %d partitions (%v); want 1200 from 5", frames, len(ids), ids)
	}
}

// SASL (PLAIN and SCRAM) and the wrong password, against kfake's SASL.
func TestSASLFake(t *testing.T) {
	for _, mech := range []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"} {
		t.Run(mech, func(t *testing.T) {
			conn, _ := kafkatest.Fake(t, kfake.EnableSASL(), kfake.Superuser(mech, "alice", "secret"))
			conn.ConnectTimeout = 5 * time.Second
			conn.SASL = kafka.SASL{Mechanism: strings.ToLower(mech), User: "alice", Password: "secret"}
			ctx := context.Background()
			load(t, ctx, conn, kafkatest.Topic(t, "in"), 1, generate(10, 10, 5))

			conn.SASL.Password = "wrong"
			_, err := kafka.NewSink(ctx, kafka.SinkConfig{Config: conn, Topic: "x"})
			if err == nil {
				t.Fatal("wrong password accepted")
			}
		})
	}
}

// TLS with a CA file, against kfake serving a self-signed certificate; the
// system roots (no --tls-ca) must refuse it.
func TestTLSFake(t *testing.T) {
	ca := kafkatest.NewCA(t, "kfake CA")
	caFile := ca.File(t)
	conn, _ := kafkatest.Fake(t, kfake.TLS(&tls.Config{Certificates: []tls.Certificate{ca.Server(t, "127.0.0.1")}}))
	conn.ConnectTimeout = 5 * time.Second
	ctx := context.Background()

	conn.TLS = kafka.TLS{CAFile: caFile}
	load(t, ctx, conn, kafkatest.Topic(t, "in"), 1, generate(10, 10, 5))

	conn.TLS = kafka.TLS{Enable: true}
	if _, err := kafka.NewSink(ctx, kafka.SinkConfig{Config: conn, Topic: "x"}); err == nil {
		t.Fatal("a self-signed broker certificate was accepted without its CA")
	}
	conn.TLS = kafka.TLS{InsecureSkipVerify: true}
	s, err := kafka.NewSink(ctx, kafka.SinkConfig{Config: conn, Topic: "x"})
	if err != nil {
		t.Fatalf("--tls-insecure: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// checkFinals compares the final result of every minute with the
// independent count.
func checkFinals(t *testing.T, got map[int64]result.Result, want map[int64]*minute) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d final minutes, want %d", len(got), len(want))
	}
	for start, w := range want {
		g, ok := got[start]
		switch {
		case !ok:
			t.Errorf("minute %d: no final result", start)
		case g.Users != uint64(len(w.users)) || g.Frames != w.frames || !g.Exact:
			t.Errorf("minute %d: %d users, %d frames (exact %v); want %d users, %d frames", start, g.Users, g.Frames, g.Exact, len(w.users), w.frames)
		}
	}
}

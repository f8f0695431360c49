package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/headcount/headcount/internal/kafka"
	"github.com/headcount/headcount/internal/kafkatest"
	"github.com/headcount/headcount/internal/result"
	"github.com/headcount/headcount/internal/source"
)

// The whole command line against the real broker and the embedded one: produce a file (with
// bit-flipped timestamps) and some garbage into a topic, count it with run
// --until-end into a Kafka topic and into a file, and compare with run on the
// file itself; then run into a results topic and a dead-letter topic and read
// both back: the results are the file's, and every rejected frame is a dead
// letter with its reason.
func TestProduceRunKafkaRealBroker(t *testing.T) { produceRunKafka(t, kafkatest.Broker(t)) }

func TestProduceRunKafkaFake(t *testing.T) {
	conn, _ := kafkatest.Fake(t)
	produceRunKafka(t, conn)
}

func produceRunKafka(t *testing.T, conn kafka.Config) {
	broker := "kafka://" + strings.Join(conn.Brokers, ",")
	events, missing, results, dead, group := kafkatest.Topic(t, "events"), kafkatest.Topic(t, "missing"), kafkatest.Topic(t, "results"), kafkatest.Topic(t, "dead"), kafkatest.Topic(t, "group")
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl.zst")
	if code := runGen([]string{"--count", "3000", "--rate", "50", "--users", "400", "--delay", "20s", "--seed", "3", "--bitflip-prob", "0.02", "--out", in}); code != 0 {
		t.Fatalf("gen: exit %d", code)
	}
	if code := runProduce([]string{"--in", in, "--out", broker + "/" + events, "--partitions", "3", "--quiet"}); code != 0 {
		t.Fatalf("produce: exit %d", code)
	}
	garbage := map[string]string{ // frame -> reason
		"garbage":                        "not-json",
		`{"uid":"x"}`:                    "no-ts",
		`{"ts":1468244400}`:              "no-uid",
		`{"uid":"x","ts":1468244400.5}`:  "bad-ts",
		`{"uid":"x","ts":1,"uid":"y"}`:   "dup-uid",
		`["uid","ts"]`:                   "not-object",
		`{"uid":"","ts":"1468244400"}`:   "empty-uid",
		`{"uid":"x","ts":"1468244400" x`: "not-json",
	}
	var bad []string
	for f := range garbage {
		bad = append(bad, f)
	}
	badFile := filepath.Join(dir, "bad.jsonl")
	if err := os.WriteFile(badFile, []byte(strings.Join(bad, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code := runProduce([]string{"--in", badFile, "--out", broker + "/" + events, "--quiet"}); code != 0 {
		t.Fatalf("produce the garbage: exit %d", code)
	}
	// A missing topic without --partitions is an error, not a hang.
	if code := runProduce([]string{"--in", in, "--out", broker + "/" + missing, "--quiet"}); code != 1 {
		t.Fatalf("produce to a missing topic: exit %d", code)
	}

	common := []string{"--lateness", "60s", "--quiet", "--min-ts", "0"}
	fileOut := filepath.Join(dir, "file.jsonl")
	if code := runRun(append([]string{"--in", in, "--out", fileOut}, common...)); code != 0 {
		t.Fatalf("run on the file: exit %d", code)
	}
	kafkaOut := filepath.Join(dir, "kafka.jsonl")
	args := append([]string{"--in", broker + "/" + events, "--until-end", "--group", group, "--out", kafkaOut}, common...)
	if code := runRun(args); code != 0 {
		t.Fatalf("run on Kafka: exit %d", code)
	}
	if want, got := finalCounts(t, fileOut), finalCounts(t, kafkaOut); strings.Join(want, "\n") != strings.Join(got, "\n") || len(want) == 0 {
		t.Fatalf("Kafka results differ from the file's:\n%v\n%v", got, want)
	}
	// Offsets were committed: the same group finds nothing new.
	again := filepath.Join(dir, "again.jsonl")
	args = append([]string{"--in", broker + "/" + events, "--until-end", "--group", group, "--out", again}, common...)
	if code := runRun(args); code != 0 {
		t.Fatalf("second run: exit %d", code)
	}
	if got := finalCounts(t, again); len(got) != 0 {
		t.Fatalf("second run of the group counted again: %v", got)
	}
	// Results to a Kafka topic, dead letters to another.
	args = append([]string{"--in", broker + "/" + events, "--until-end", "--group", "", "--out", broker + "/" + results, "--dead-letter", broker + "/" + dead}, common...)
	if code := runRun(args); code != 0 {
		t.Fatalf("run to Kafka: exit %d", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// The results topic holds the file's results, one record per result
	// keyed <window>/<start>, revisions in order.
	latest := map[string]result.Result{}
	for _, r := range kafkatest.ReadAll(t, ctx, conn, results) {
		res, err := result.Decode(r.Value)
		if err != nil {
			t.Fatalf("results record %q: %v", r.Value, err)
		}
		if key := res.Window + "/" + itoa(res.Start.Unix()); string(r.Key) != key {
			t.Errorf("results record key %q, want %q", r.Key, key)
		}
		if prev := latest[string(r.Key)]; !res.Final || res.Rev != prev.Rev+1 {
			t.Errorf("results record %s: final %v rev %d after rev %d", r.Value, res.Final, res.Rev, prev.Rev)
		}
		latest[string(r.Key)] = res
	}
	var got []string
	for _, r := range latest {
		got = append(got, strings.Join([]string{itoa(r.Start.Unix()), itoa(int64(r.Users)), itoa(int64(r.Frames))}, " "))
	}
	sort.Strings(got)
	if want := finalCounts(t, fileOut); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("results topic differs from the file's results:\n%v\n%v", got, want)
	}

	// The dead-letter topic holds every rejected frame once, unchanged,
	// with its reason and where it came from: the garbage, and the frames
	// whose ts had a bit flipped (before --min-ts 0 or over an hour ahead
	// of the clock).
	want := map[string]string{}
	maps.Copy(want, garbage)
	flipped := 0
	for _, f := range readLines(t, in) {
		// A map, not a struct: struct fields match keys case-insensitively,
		// and the generator's decoy keys such as "\u0054S" would win.
		var fr map[string]json.RawMessage
		if err := json.Unmarshal([]byte(f), &fr); err != nil {
			t.Fatalf("generated frame %q: %v", f, err)
		}
		ts, err := strconv.ParseInt(strings.Trim(string(fr["ts"]), `"`), 10, 64)
		if err != nil {
			t.Fatalf("generated frame %q: ts: %v", f, err)
		}
		if ts < 0 || ts > time.Now().Add(time.Hour).Unix() {
			want[f] = "bogus-ts"
			flipped++
		}
	}
	if flipped == 0 {
		t.Fatal("gen --bitflip-prob flipped nothing")
	}
	seen := map[string]bool{}
	for _, r := range kafkatest.ReadAll(t, ctx, conn, dead) {
		h := kafkatest.Headers(r)
		f := string(r.Value)
		switch reason, ok := want[f]; {
		case !ok:
			t.Errorf("dead letter %q is not a rejected frame", f)
		case seen[f]:
			t.Errorf("dead letter %q twice", f)
		case h[kafka.HeaderReason] != reason:
			t.Errorf("dead letter %q: reason %q, want %q", f, h[kafka.HeaderReason], reason)
		}
		seen[f] = true
		if p, err := strconv.Atoi(h[kafka.HeaderPartition]); h[kafka.HeaderTopic] != events || err != nil || p < 0 || p > 2 || h[kafka.HeaderOffset] == "" {
			t.Errorf("dead letter %q: headers %v", f, h)
		}
	}
	for f, reason := range want {
		if !seen[f] {
			t.Errorf("no dead letter for %q (%s)", f, reason)
		}
	}
}

// readLines returns the lines of a (compressed) file of JSON lines.
func readLines(t *testing.T, path string) []string {
	t.Helper()
	in, err := source.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	data, err := io.ReadAll(in)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

// finalCounts returns "ts users frames" of each final result, sorted.
func finalCounts(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r struct {
			TS, Users, Frames int64
			Final             bool
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%q: %v", sc.Text(), err)
		}
		if r.Final {
			out = append(out, strings.Join([]string{itoa(r.TS), itoa(r.Users), itoa(r.Frames)}, " "))
		}
	}
	sort.Strings(out)
	return out
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// An unreachable broker is an error and exit 1 within the connect timeout
// (15 s), not a hang.
func TestRunUnreachableKafka(t *testing.T) {
	begin := time.Now()
	if code := runRun([]string{"--in", "kafka://127.0.0.1:1/events", "--out", "-", "--quiet"}); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if code := runProduce([]string{"--in", os.DevNull, "--out", "kafka://127.0.0.1:1/events", "--quiet"}); code != 1 {
		t.Fatalf("produce: exit %d, want 1", code)
	}
	if d := time.Since(begin); d > 20*time.Second {
		t.Fatalf("took %v", d)
	}
}

func TestKafkaFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--in", "kafka://h:1/t", "--start", "middle"},
		{"--in", "kafka://h:1/", "--out", "-"},
		{"--in", "kafka://h:x/t"},
		{"--in", "-", "--out", "kafka://h:1/a,b"},
		{"--in", "kafka://h:1/t", "--group", "", "--instance-id", "x"},       // static membership needs a group
		{"--in", "kafka://h:1/t", "--group", "", "--session-timeout", "10s"}, // so does a session
	} {
		if code := runRun(append(args, "--quiet")); code == 0 {
			t.Errorf("%v: exit 0", args)
		}
	}
}

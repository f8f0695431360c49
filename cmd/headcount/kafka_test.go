package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// The whole command line against an embedded broker: produce a file into a
// topic, count it with run --until-end into a Kafka topic and into a file,
// and compare with run on the file itself.
func TestProduceRunKafka(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	broker := "kafka://" + c.ListenAddrs()[0]
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl.zst")
	if code := runGen([]string{"--count", "3000", "--rate", "50", "--users", "400", "--delay", "20s", "--seed", "3", "--out", in}); code != 0 {
		t.Fatalf("gen: exit %d", code)
	}
	if code := runProduce([]string{"--in", in, "--out", broker + "/events", "--partitions", "3", "--quiet"}); code != 0 {
		t.Fatalf("produce: exit %d", code)
	}
	// A missing topic without --partitions is an error, not a hang.
	if code := runProduce([]string{"--in", in, "--out", broker + "/missing", "--quiet"}); code != 1 {
		t.Fatalf("produce to a missing topic: exit %d", code)
	}

	common := []string{"--lateness", "60s", "--quiet", "--min-ts", "0"}
	fileOut := filepath.Join(dir, "file.jsonl")
	if code := runRun(append([]string{"--in", in, "--out", fileOut}, common...)); code != 0 {
		t.Fatalf("run on the file: exit %d", code)
	}
	kafkaOut := filepath.Join(dir, "kafka.jsonl")
	args := append([]string{"--in", broker + "/events", "--until-end", "--group", "g1", "--out", kafkaOut}, common...)
	if code := runRun(args); code != 0 {
		t.Fatalf("run on Kafka: exit %d", code)
	}
	if want, got := finalCounts(t, fileOut), finalCounts(t, kafkaOut); strings.Join(want, "\n") != strings.Join(got, "\n") || len(want) == 0 {
		t.Fatalf("Kafka results differ from the file's:\n%v\n%v", got, want)
	}
	// Offsets were committed: the same group finds nothing new.
	again := filepath.Join(dir, "again.jsonl")
	args = append([]string{"--in", broker + "/events", "--until-end", "--group", "g1", "--out", again}, common...)
	if code := runRun(args); code != 0 {
		t.Fatalf("second run: exit %d", code)
	}
	if got := finalCounts(t, again); len(got) != 0 {
		t.Fatalf("second run of the group counted again: %v", got)
	}
	// Results to a Kafka topic, dead letters to another.
	args = append([]string{"--in", broker + "/events", "--until-end", "--group", "", "--out", broker + "/results", "--dead-letter", broker + "/dead"}, common...)
	if code := runRun(args); code != 0 {
		t.Fatalf("run to Kafka: exit %d", code)
	}
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
	} {
		if code := runRun(append(args, "--quiet")); code == 0 {
			t.Errorf("%v: exit 0", args)
		}
	}
}

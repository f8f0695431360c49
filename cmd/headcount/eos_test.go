package main

import (
	"bufio"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/headcount/headcount/internal/frame/frametest"
	"github.com/headcount/headcount/internal/gen"
	"github.com/headcount/headcount/internal/kafka"
	"github.com/headcount/headcount/internal/kafkatest"
	"github.com/headcount/headcount/internal/result"
	"github.com/twmb/franz-go/pkg/kadm"
)

// envCount is the positive integer in environment variable name, or def:
// the crash tests run longer by hand (scripts/chaos) than in make test.
func envCount(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// chaosKills is how many SIGKILLs the chaos test lands (HEADCOUNT_CHAOS_KILLS
// sets it for a longer run by hand, with a larger HEADCOUNT_CHAOS_FRAMES).
func chaosKills() int { return envCount("HEADCOUNT_CHAOS_KILLS", 10) }

// committedFrames is how many records of its input the group has
// committed. A new broker answers COORDINATOR_NOT_AVAILABLE until its
// offsets topic is made: asked again for a minute.
func committedFrames(t *testing.T, adm *kadm.Client, group string) int64 {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		offs, err := adm.FetchOffsets(context.Background(), group)
		if err == nil {
			var sum int64
			offs.Each(func(o kadm.OffsetResponse) { sum += o.At })
			return sum
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
	}
}

// checkDeadOnce checks that a read_committed reader of the dead-letter
// topic sees want frames, each once (by input partition and offset).
func checkDeadOnce(t *testing.T, ctx context.Context, conn kafka.Config, topic string, want int) {
	t.Helper()
	seen := map[string]int{}
	for _, rec := range kafkatest.ReadCommitted(t, ctx, conn, topic) {
		h := kafkatest.Headers(rec)
		seen[h[kafka.HeaderPartition]+"/"+h[kafka.HeaderOffset]]++
	}
	twice := 0
	for _, c := range seen {
		if c > 1 {
			twice++
		}
	}
	if len(seen) != want || twice > 0 {
		t.Errorf("%d dead letters (%d twice), want the %d flipped frames once each", len(seen), twice, want)
	}
}

// TestExactlyOnceChaosRealBroker: a generated backfill (late and bit-flipped
// frames) on a 4-partition topic is counted by `headcount run --until-end`
// with exactly-once output, killed with SIGKILL at random moments at least
// 10 times and started again each time, then stopped with SIGTERM three
// times, then run to the end. A read_committed reader of the output sees no
// (window, rev) twice and no revision missing, and the latest revision of
// every minute equals the independent count; every flipped frame is in the
// dead-letter topic exactly once.
func TestExactlyOnceChaosRealBroker(t *testing.T) {
	if testing.Short() {
		// make test runs it in full in its plain step; its -short step is
		// the -race one, where a million frames take minutes.
		t.Skip("-short: the chaos test runs in the plain test step")
	}
	conn := kafkatest.Broker(t)
	broker := "kafka://" + strings.Join(conn.Brokers, ",")
	in, out, dead, group := kafkatest.Topic(t, "in"), kafkatest.Topic(t, "out"), kafkatest.Topic(t, "dead"), kafkatest.Topic(t, "group")
	n := 1000000
	if v, err := strconv.Atoi(os.Getenv("HEADCOUNT_CHAOS_FRAMES")); err == nil && v > 0 {
		n = v
	}
	file := filepath.Join(t.TempDir(), "in.jsonl")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	cfg := gen.Config{Count: n, Rate: 1000, Users: 20000, Delay: 30 * time.Second, DelayProb: 0.1, BitFlipProb: 0.002, FrameSize: 200, Seed: 11}
	if _, err := gen.WriteTo(context.Background(), f, cfg, false); err != nil {
		t.Fatal(err)
	}
	f.Close()
	want, flipped := independentCount(t, file)
	if code := runProduce([]string{"--in", file, "--out", broker + "/" + in, "--partitions", "4", "--quiet"}); code != 0 {
		t.Fatalf("produce: exit %d", code)
	}
	args := []string{"run", "--in", broker + "/" + in, "--out", broker + "/" + out, "--dead-letter", broker + "/" + dead,
		"--group", group, "--instance-id", "m1", "--until-end", "--commit-interval", "50ms", "--min-ts", "0", "--quiet"}

	adm := kadm.NewClient(kafkatest.Client(t, conn))
	committed := func() int64 { return committedFrames(t, adm, group) }
	r := rand.New(rand.NewPCG(5, 6))
	kills, starts := 0, 0
	for kills < chaosKills() {
		if starts++; starts > 50 {
			t.Fatalf("only %d of %d runs were killed before the end of the input", kills, starts)
		}
		before := committed()
		if before >= int64(n) {
			t.Fatalf("the input was all read after %d kills: make it larger", kills)
		}
		p := startHeadcount(t, args...)
		// Kill it at a random moment after it has committed a first
		// transaction of its own: in the middle of its work.
		deadline := time.Now().Add(time.Minute)
		for committed() == before && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(time.Duration(r.IntN(40)) * time.Millisecond)
		p.cmd.Process.Signal(syscall.SIGKILL)
		err := <-p.exited
		var ee *exec.ExitError
		switch {
		case errors.As(err, &ee) && ee.ProcessState.Sys().(syscall.WaitStatus).Signaled():
			kills++
		case err != nil:
			t.Fatalf("run %d: %v; stderr:\n%s", starts, err, p.stderr.String())
		}
	}
	for range 3 {
		p := startHeadcount(t, args...)
		time.Sleep(time.Duration(300+r.IntN(700)) * time.Millisecond)
		p.cmd.Process.Signal(syscall.SIGTERM)
		if err := <-p.exited; err != nil {
			t.Fatalf("after SIGTERM: %v; stderr:\n%s", err, p.stderr.String())
		}
	}
	if code, _, stderr := runMain(t, nil, args...); code != 0 {
		t.Fatalf("the last run: exit %d; stderr:\n%s", code, stderr)
	}
	t.Logf("%d runs, %d killed with SIGKILL, 3 stopped with SIGTERM", starts+4, kills)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	got := committedFinals(t, ctx, conn, out)
	if len(got) != len(want) {
		t.Errorf("%d minutes in the output, want %d", len(got), len(want))
	}
	for ts, users := range want {
		if got[ts] != users {
			t.Errorf("minute %s: %d users, want %d", time.Unix(ts, 0).UTC(), got[ts], users)
		}
	}
	checkDeadOnce(t, ctx, conn, dead, flipped)
}

// independentCount counts unique users per minute of the file with an
// encoding/json reader, and the frames with an implausible ts (a flipped
// bit: more than a day from the stream's time).
func independentCount(t *testing.T, path string) (map[int64]uint64, int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	users := map[int64]map[string]bool{}
	flipped := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		uid, ts, ok := frametest.Reference(sc.Bytes())
		if !ok {
			t.Fatalf("generated frame not valid: %q", sc.Text())
		}
		if ts < 1468244340-86400 || ts > 1468244340+86400 {
			flipped++
			continue
		}
		m := ts - ts%60
		if users[m] == nil {
			users[m] = map[string]bool{}
		}
		users[m][uid] = true
	}
	out := map[int64]uint64{}
	for m, u := range users {
		out[m] = uint64(len(u))
	}
	return out, flipped
}

// committedFinals reads the result topic as a read_committed consumer:
// every (window, rev) once, revisions 1, 2, ... without a gap; it returns
// the users of the latest revision of each minute.
func committedFinals(t *testing.T, ctx context.Context, conn kafka.Config, topic string) map[int64]uint64 {
	t.Helper()
	latest := map[int64]result.Result{}
	for _, rec := range kafkatest.ReadCommitted(t, ctx, conn, topic) {
		res, err := result.Decode(rec.Value)
		if err != nil {
			t.Fatalf("result %q: %v", rec.Value, err)
		}
		if !res.Final {
			continue
		}
		ts := res.Start.Unix()
		if prev := latest[ts]; res.Rev != prev.Rev+1 {
			t.Errorf("%s: rev %d after rev %d (a revision twice or missing)", res.Key(), res.Rev, prev.Rev)
		}
		latest[ts] = res
	}
	out := map[int64]uint64{}
	for ts, r := range latest {
		out[ts] = r.Users
	}
	return out
}

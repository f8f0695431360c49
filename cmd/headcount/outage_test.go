package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/headcount/headcount/internal/gen"
	"github.com/headcount/headcount/internal/kafkatest"
)

// TestExactlyOnceBrokerOutage: a live exactly-once run loses its broker for
// 10 s while frames keep coming: the broker's JVM stopped with SIGSTOP and
// continued (a hung or cut-off broker), or shut down and started again on
// the same data (scripts/kafka restart). The run goes on by itself: it
// catches up with every frame, stops gracefully on SIGTERM, and a last
// --until-end run flushes the windows; the committed output has every
// (window, rev) once and the exact counts. It stops the broker every other
// test uses, so it runs only when HEADCOUNT_TEST_KAFKA_PIDFILE names the
// broker's pid file: scripts/chaos does that with a broker of its own.
func TestExactlyOnceBrokerOutage(t *testing.T) {
	pidFile := os.Getenv("HEADCOUNT_TEST_KAFKA_PIDFILE")
	if pidFile == "" {
		t.Skip("stops the broker: run by scripts/chaos (HEADCOUNT_TEST_KAFKA_PIDFILE)")
	}
	for _, tc := range []struct {
		name   string
		outage func(t *testing.T)
	}{
		{"paused", func(t *testing.T) {
			b, err := os.ReadFile(pidFile)
			if err != nil {
				t.Fatal(err)
			}
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				t.Fatal(err)
			}
			syscall.Kill(pid, syscall.SIGSTOP)
			time.Sleep(10 * time.Second)
			syscall.Kill(pid, syscall.SIGCONT)
		}},
		{"restarted", func(t *testing.T) {
			cmd := exec.Command(filepath.Join("..", "..", "scripts", "kafka"), "restart")
			cmd.Env = append(os.Environ(), "KAFKA_DOWN=10")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("scripts/kafka restart: %v\n%s", err, out)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { brokerOutage(t, tc.outage) })
	}
}

func brokerOutage(t *testing.T, outage func(t *testing.T)) {
	conn := kafkatest.Broker(t)
	broker := "kafka://" + strings.Join(conn.Brokers, ",")
	in, out, group := kafkatest.Topic(t, "in"), kafkatest.Topic(t, "out"), kafkatest.Topic(t, "group")
	dir := t.TempDir()
	first, second := filepath.Join(dir, "first.jsonl"), filepath.Join(dir, "second.jsonl")
	all := filepath.Join(dir, "all.jsonl")
	// One stream cut in two: before the outage and after it.
	var buf bytes.Buffer
	if _, err := gen.WriteTo(context.Background(), &buf, gen.Config{Count: 300000, Rate: 1000, Users: 20000, Delay: 30 * time.Second, DelayProb: 0.1, FrameSize: 200, Seed: 12}, false); err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(buf.Bytes(), []byte("\n"))
	os.WriteFile(first, bytes.Join(lines[:100000], nil), 0o644)
	os.WriteFile(second, bytes.Join(lines[100000:], nil), 0o644)
	os.WriteFile(all, buf.Bytes(), 0o644)
	want, _ := independentCount(t, all)
	if code := runProduce([]string{"--in", first, "--out", broker + "/" + in, "--partitions", "4", "--quiet"}); code != 0 {
		t.Fatalf("produce: exit %d", code)
	}
	adm := kadm.NewClient(kafkatest.Client(t, conn))
	committed := func() int64 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		offs, err := adm.FetchOffsets(ctx, group)
		if err != nil {
			return -1 // the broker is away
		}
		var sum int64
		offs.Each(func(o kadm.OffsetResponse) { sum += o.At })
		return sum
	}
	waitCommitted := func(n int64, within time.Duration) {
		t.Helper()
		deadline := time.Now().Add(within)
		for committed() < n {
			if time.Now().After(deadline) {
				t.Fatalf("the group committed %d of %d frames within %s", committed(), n, within)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	args := []string{"run", "--in", broker + "/" + in, "--out", broker + "/" + out, "--group", group, "--instance-id", "m1", "--commit-interval", "200ms", "--min-ts", "0", "--quiet"}
	p := startHeadcount(t, args...)
	waitCommitted(100000, time.Minute)

	outage(t)
	select {
	case err := <-p.exited:
		t.Fatalf("the run ended during the outage: %v; stderr:\n%s", err, p.stderr.String())
	default:
	}
	if code := runProduce([]string{"--in", second, "--out", broker + "/" + in, "--quiet"}); code != 0 {
		t.Fatalf("produce after the outage: exit %d", code)
	}
	waitCommitted(300000, 2*time.Minute)
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := <-p.exited; err != nil {
		t.Fatalf("after SIGTERM: %v; stderr:\n%s", err, p.stderr.String())
	}
	if code, _, errs := runMain(t, nil, append(args, "--until-end")...); code != 0 {
		t.Fatalf("the flushing run: exit %d; stderr:\n%s", code, errs)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	got := committedFinals(t, ctx, conn, out)
	for ts, users := range want {
		if got[ts] != users {
			t.Errorf("minute %s: %d users, want %d", time.Unix(ts, 0).UTC(), got[ts], users)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d minutes, want %d", len(got), len(want))
	}
}

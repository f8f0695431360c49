package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/headcount/headcount/internal/gen"
	"github.com/headcount/headcount/internal/kafka"
	"github.com/headcount/headcount/internal/kafkatest"
)

// groupRepeat is how many times the multi-member tests run their scenario
// (HEADCOUNT_GROUP_REPEAT sets more, as scripts/chaos does).
func groupRepeat() int { return envCount("HEADCOUNT_GROUP_REPEAT", 1) }

// skipShort skips under -short: make test runs these tests in its plain
// step; its -short step is the -race one, where processes of a race build
// counting 300,000 frames take minutes.
func skipShort(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the multi-member tests run in the plain test step")
	}
}

// groupRun is one multi-member scenario on the real broker: a generated
// input (late frames, bit flips) on a 6-partition topic, its independent
// count, and the topics and group of the members.
type groupRun struct {
	conn                 kafka.Config
	broker               string
	in, out, dead, group string
	file                 string
	n                    int
	want                 map[int64]uint64
	flipped              int
	adm                  *kadm.Client
}

func newGroupRun(t *testing.T, n int, seed uint64) *groupRun {
	conn := kafkatest.Broker(t)
	g := &groupRun{conn: conn, broker: "kafka://" + strings.Join(conn.Brokers, ","), n: n,
		in: kafkatest.Topic(t, "in"), out: kafkatest.Topic(t, "out"), dead: kafkatest.Topic(t, "dead"), group: kafkatest.Topic(t, "group")}
	g.file = filepath.Join(t.TempDir(), "in.jsonl")
	f, err := os.Create(g.file)
	if err != nil {
		t.Fatal(err)
	}
	cfg := gen.Config{Count: n, Rate: 1000, Users: 20000, Delay: 30 * time.Second, DelayProb: 0.1, BitFlipProb: 0.001, FrameSize: 200, Seed: seed}
	if _, err := gen.WriteTo(context.Background(), f, cfg, false); err != nil {
		t.Fatal(err)
	}
	f.Close()
	g.want, g.flipped = independentCount(t, g.file)
	g.adm = kadm.NewClient(kafkatest.Client(t, conn))
	return g
}

// member is the command line of member id; extra flags last.
func (g *groupRun) member(id string, extra ...string) []string {
	return append([]string{"run", "--in", g.broker + "/" + g.in, "--out", g.broker + "/" + g.out, "--dead-letter", g.broker + "/" + g.dead,
		"--group", g.group, "--instance-id", id, "--session-timeout", "6s", "--commit-interval", "100ms", "--min-ts", "0", "--quiet"}, extra...)
}

// produce loads lines [from, to) of the input into the 6-partition topic.
func (g *groupRun) produce(t *testing.T, from, to int) {
	t.Helper()
	src, err := os.Open(g.file)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	part := filepath.Join(t.TempDir(), fmt.Sprintf("part-%d.jsonl", from))
	dst, err := os.Create(part)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(src)
	sc.Buffer(nil, 1<<20)
	w := bufio.NewWriter(dst)
	for i := 0; sc.Scan() && i < to; i++ {
		if i >= from {
			w.Write(sc.Bytes())
			w.WriteByte('\n')
		}
	}
	w.Flush()
	dst.Close()
	if code := runProduce([]string{"--in", part, "--out", g.broker + "/" + g.in, "--partitions", "6", "--quiet"}); code != 0 {
		t.Fatalf("produce: exit %d", code)
	}
}

// committed is how many input records the group has committed.
func (g *groupRun) committed(t *testing.T) int64 { return committedFrames(t, g.adm, g.group) }

// waitExit waits for p to end with status 0.
func waitExit(t *testing.T, name string, p *started, within time.Duration) {
	t.Helper()
	select {
	case err := <-p.exited:
		if err != nil {
			t.Fatalf("%s: %v; stderr:\n%s", name, err, p.stderr.String())
		}
	case <-time.After(within):
		p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.exited
		t.Fatalf("%s did not exit within %s; stderr:\n%s", name, within, p.stderr.String())
	}
}

// check compares the output (read_committed: every revision once, in
// order) with the independent count, and the dead letters with the
// flipped frames.
func (g *groupRun) check(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	got := committedFinals(t, ctx, g.conn, g.out)
	wrong := 0
	for ts, users := range g.want {
		if got[ts] != users {
			wrong++
			t.Errorf("minute %s: %d users, want %d", time.Unix(ts, 0).UTC(), got[ts], users)
		}
	}
	if len(got) != len(g.want) {
		t.Errorf("%d minutes in the output, want %d", len(got), len(g.want))
	}
	checkDeadOnce(t, ctx, g.conn, g.dead, g.flipped)
	t.Logf("%d minutes, %d wrong; %d flipped frames", len(g.want), wrong, g.flipped)
}

// TestGroupBackfillKillRealBroker: three members count a backfill on six
// partitions with --until-end; one is killed with SIGKILL mid-run and
// another started in its place. Every member left exits 0 once the group
// has published everything, and the latest revision of every minute equals
// the independent count, with no revision twice.
func TestGroupBackfillKillRealBroker(t *testing.T) {
	skipShort(t)
	for i := range groupRepeat() {
		t.Run(fmt.Sprint("run", i), func(t *testing.T) {
			g := newGroupRun(t, 300000, uint64(20+i))
			g.produce(t, 0, g.n)
			ms := map[string]*started{}
			for _, id := range []string{"m1", "m2", "m3"} {
				ms[id] = startHeadcount(t, g.member(id, "--until-end")...)
			}
			for deadline := time.Now().Add(time.Minute); g.committed(t) < int64(g.n)/6; time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the group committed under a sixth of the input in a minute")
				}
			}
			ms["m2"].cmd.Process.Signal(syscall.SIGKILL)
			var ee *exec.ExitError
			if err := <-ms["m2"].exited; !errors.As(err, &ee) {
				t.Fatalf("m2 was not killed: %v", err)
			}
			delete(ms, "m2")
			t.Logf("m2 killed at %d of %d frames committed", g.committed(t), g.n)
			ms["m4"] = startHeadcount(t, g.member("m4", "--until-end")...)
			for id, p := range ms {
				waitExit(t, id, p, 3*time.Minute)
			}
			g.check(t)
		})
	}
}

// TestGroupLiveMembersRealBroker: frames arrive over time while members
// join one after another, one leaves (SIGTERM) and another joins; once the
// input is complete the live members stop and one --until-end member
// finishes. The output is exact, every revision once.
func TestGroupLiveMembersRealBroker(t *testing.T) {
	skipShort(t)
	for i := range groupRepeat() {
		t.Run(fmt.Sprint("run", i), func(t *testing.T) {
			g := newGroupRun(t, 200000, uint64(40+i))
			ms := map[string]*started{}
			steps := map[int]func(){
				0: func() { ms["m1"] = startHeadcount(t, g.member("m1")...) },
				2: func() { ms["m2"] = startHeadcount(t, g.member("m2")...) },
				4: func() { ms["m3"] = startHeadcount(t, g.member("m3")...) },
				6: func() {
					ms["m2"].cmd.Process.Signal(syscall.SIGTERM)
					waitExit(t, "m2", ms["m2"], time.Minute)
					delete(ms, "m2")
				},
				8: func() { ms["m4"] = startHeadcount(t, g.member("m4")...) },
			}
			const chunks = 10
			for c := range chunks {
				g.produce(t, c*g.n/chunks, (c+1)*g.n/chunks)
				if step := steps[c]; step != nil {
					step()
				}
				time.Sleep(500 * time.Millisecond)
			}
			for id, p := range ms {
				p.cmd.Process.Signal(syscall.SIGTERM)
				waitExit(t, id, p, time.Minute)
			}
			last := startHeadcount(t, g.member("m5", "--until-end")...)
			waitExit(t, "m5", last, 3*time.Minute)
			g.check(t)
		})
	}
}

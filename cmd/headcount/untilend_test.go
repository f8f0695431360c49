package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/headcount/headcount/internal/kafkatest"
)

// --until-end with a group never publishes the counts of part of the input
// as final. At-least-once members do not count together (exactly-once ones
// do: group_test.go), so the whole input is read by one of them. Two
// at-least-once backfill members of one group share a 4-partition topic
// (a third member, held by the test, makes sure neither of them ever holds
// every partition while the other is in the group). Member A has a short
// --assign-timeout: it fails with exit 1 naming the partitions member B
// holds and the group, and publishes and commits nothing. B, alone then,
// is assigned every partition, reads them all and publishes exactly the
// counts of the whole input (the file's), and commits the end offsets.
func TestUntilEndWholeInputRealBroker(t *testing.T) {
	conn := kafkatest.Broker(t)
	broker := "kafka://" + strings.Join(conn.Brokers, ",")
	events, group := kafkatest.Topic(t, "events"), kafkatest.Topic(t, "group")
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	if code := runGen([]string{"--count", "20000", "--rate", "100", "--users", "1500", "--delay", "20s", "--seed", "9", "--out", in}); code != 0 {
		t.Fatalf("gen: exit %d", code)
	}
	if code := runProduce([]string{"--in", in, "--out", broker + "/" + events, "--partitions", "4", "--quiet"}); code != 0 {
		t.Fatalf("produce: exit %d", code)
	}
	common := []string{"--lateness", "60s", "--quiet", "--min-ts", "0"}
	want := filepath.Join(dir, "want.jsonl")
	if code := runRun(append([]string{"--in", in, "--out", want}, common...)); code != 0 {
		t.Fatalf("run on the file: exit %d", code)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// The holder: a plain member of the group that reads nothing.
	holder := kafkatest.Client(t, conn, kgo.ConsumerGroup(group), kgo.ConsumeTopics(events), kgo.DisableAutoCommit())
	adm := kadm.NewClient(kafkatest.Client(t, conn))
	waitGroup(t, ctx, adm, group, 1)

	outA, outB := filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl")
	args := func(out, timeout string) []string {
		return append([]string{"run", "--in", broker + "/" + events, "--until-end", "--exactly-once=false", "--group", group, "--assign-timeout", timeout, "--out", out}, common...)
	}
	a := startMember(t, args(outA, "8s"))
	b := startMember(t, args(outB, "90s"))
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	waitGroup(t, wctx, adm, group, 3)
	holder.Close() // leaves: A and B share the partitions

	codeA := a.wait(t, time.Minute)
	errA := a.stderr()
	if codeA != 1 {
		t.Fatalf("member A: exit %d, want 1; stderr:\n%s", codeA, errA)
	}
	// A names the partitions it held and those held elsewhere: together
	// every partition, neither part empty.
	m := regexp.MustCompile(`within 8s \(--assign-timeout\): it holds (.*); (.*) held by other members`).FindStringSubmatch(errA)
	if m == nil || !strings.Contains(errA, "group "+group) {
		t.Fatalf("member A's error does not name the group and the partitions held elsewhere:\n%s", errA)
	}
	held, named := strings.Split(m[1], ", "), strings.Split(m[2], ", ")
	all := slices.Concat(held, named)
	slices.Sort(all)
	wantAll := []string{events + "/0", events + "/1", events + "/2", events + "/3"}
	if !slices.Equal(all, wantAll) || m[1] == "none" || m[2] == "" {
		t.Errorf("member A holds %v and names %v as held elsewhere; want together %v, neither empty", held, named, wantAll)
	}
	if data, err := os.ReadFile(outA); err != nil || len(data) != 0 {
		t.Errorf("member A published %q (err %v), want nothing", data, err)
	}

	if code := b.wait(t, 2*time.Minute); code != 0 {
		t.Fatalf("member B: exit %d, want 0; stderr:\n%s", code, b.stderr())
	}
	if got, want := finalCounts(t, outB), finalCounts(t, want); !slices.Equal(got, want) || len(want) == 0 {
		t.Fatalf("member B's results differ from the whole input's:\n%v\n%v", got, want)
	}
	// B committed every partition to its end.
	ends, err := adm.ListEndOffsets(ctx, events)
	if err != nil {
		t.Fatal(err)
	}
	committed, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	ends.Each(func(o kadm.ListedOffset) {
		if c, ok := committed.Lookup(events, o.Partition); !ok || c.At != o.Offset {
			t.Errorf("%s/%d: committed %v (%v), want the end offset %d", events, o.Partition, c.At, ok, o.Offset)
		}
	})
}

// waitGroup waits until group is stable with n members, each assigned at
// least one partition.
func waitGroup(t *testing.T, ctx context.Context, adm *kadm.Client, group string, n int) {
	t.Helper()
	for {
		if ds, err := adm.DescribeGroups(ctx, group); err == nil {
			d := ds[group]
			ok := d.State == "Stable" && len(d.Members) == n
			for _, m := range d.Members {
				if c, isConsumer := m.Assigned.AsConsumer(); !isConsumer || len(c.Topics) == 0 {
					ok = false
				}
			}
			if ok {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("group %s never had %d stable members with partitions: %v", group, n, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// wait waits for the process to exit and returns its exit status.
func (m *member) wait(t *testing.T, bound time.Duration) int {
	t.Helper()
	select {
	case <-m.exited:
	case <-time.After(bound):
		t.Fatalf("no exit within %v; stderr:\n%s", bound, m.stderr())
	}
	return m.cmd.ProcessState.ExitCode()
}

package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/headcount/headcount/internal/kafka"
	"github.com/headcount/headcount/internal/kafkatest"
)

// Back in seconds: a member killed with SIGKILL and restarted with the same
// --instance-id gets its partitions back well within the 45 s that the
// broker would otherwise wait for the dead member's session, and counts
// again. The bound is generous (a loaded CI box), the measured time is about
// a second (docs/BENCHMARKS.md).
func TestRestartAfterKillRealBroker(t *testing.T) {
	const bound = 20 * time.Second
	conn := kafkatest.Broker(t)
	topic, group := liveTopic(t, conn), kafkatest.Topic(t, "group")
	args := []string{"--group", group, "--instance-id", "member-1"}
	times := measureRestarts(t, conn, topic, args, 1)
	got := times[0]
	t.Logf("restarted member: all partitions assigned %v, first frame counted %v after the kill", got.assigned, got.counted)
	if got.assigned > bound || got.counted > bound {
		t.Fatalf("restarted member: all partitions assigned %v, first frame counted %v after the kill; want both within %v", got.assigned, got.counted, bound)
	}
}

// TestRestartTimes measures the time from a SIGKILL to the restarted
// member's assignment and first counted frame, for each way of coming back
// (docs/BENCHMARKS.md). It takes minutes (the default waits out a 45 s
// session per kill), so it runs only when asked:
//
//	HEADCOUNT_RESTART_KILLS=3 go test -run TestRestartTimes -v ./cmd/headcount/
//
// HEADCOUNT_RESTART_CASES=instance-id,session-6s picks cases. The KIP-848
// rows of docs/BENCHMARKS.md were measured at commit e8bcb43, which had a
// --group-protocol flag; it was left out for not bringing members back
// sooner.
func TestRestartTimes(t *testing.T) {
	kills, _ := strconv.Atoi(os.Getenv("HEADCOUNT_RESTART_KILLS"))
	if kills <= 0 {
		t.Skip("set HEADCOUNT_RESTART_KILLS=N to measure N kills per setting")
	}
	conn := kafkatest.Broker(t)
	only := os.Getenv("HEADCOUNT_RESTART_CASES") // comma-separated names; empty: all
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"default", nil},
		{"instance-id", []string{"--instance-id", "m1"}},
		{"session-6s", []string{"--session-timeout", "6s"}},
		{"instance-id-session-6s", []string{"--instance-id", "m1", "--session-timeout", "6s"}},
	} {
		if only != "" && !slices.Contains(strings.Split(only, ","), tc.name) {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			topic, group := liveTopic(t, conn), kafkatest.Topic(t, "group")
			times := measureRestarts(t, conn, topic, append([]string{"--group", group}, tc.args...), kills)
			var first, all, counted []time.Duration
			for _, r := range times {
				first, all, counted = append(first, r.first), append(all, r.assigned), append(counted, r.counted)
				t.Logf("%s: first assignment %v, all partitions %v, first frame counted %v", tc.name, r.first, r.assigned, r.counted)
			}
			t.Logf("| %s | %v | %v | %v | %d |", tc.name, medianDuration(first), medianDuration(all), medianDuration(counted), len(times))
		})
	}
}

func medianDuration(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2].Round(10 * time.Millisecond)
}

const livePartitions = 4

// liveTopic creates a topic of 4 partitions and produces a frame of the
// present to each partition every 40 ms until the test ends, so that a
// restarted member always has frames to count.
func liveTopic(t *testing.T, conn kafka.Config) string {
	t.Helper()
	topic := kafkatest.Topic(t, "events")
	cl := kafkatest.Client(t, conn, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(0))
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := kafka.EnsureTopic(ctx, cl, kafka.Topic{Name: topic, Partitions: livePartitions}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			v := fmt.Sprintf(`{"uid":"u%d","ts":%d}`, i%1000, time.Now().Unix())
			cl.Produce(ctx, &kgo.Record{Topic: topic, Partition: int32(i % livePartitions), Value: []byte(v)}, nil)
		}
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
	return topic
}

// restartTime is what a restart took, from the SIGKILL of the old process:
// to its first "partitions assigned", to every partition of the topic
// assigned, and to its first counted frame.
type restartTime struct{ first, assigned, counted time.Duration }

// measureRestarts starts `headcount run` on topic with args, then kills it
// with SIGKILL `kills` times, each time once it counts frames, restarting it
// at once with the same args.
func measureRestarts(t *testing.T, conn kafka.Config, topic string, args []string, kills int) []restartTime {
	t.Helper()
	args = append([]string{"run", "--in", "kafka://" + strings.Join(conn.Brokers, ",") + "/" + topic,
		"--out", os.DevNull, "--quiet", "--http", "127.0.0.1:0"}, args...)
	const bound = 2 * time.Minute // a hang, not a slow restart
	m := startMember(t, args)
	if _, err := m.allAssigned(topic, bound); err != nil {
		t.Fatal(err)
	}
	if _, err := m.counting(bound); err != nil {
		t.Fatal(err)
	}
	var times []restartTime
	for range kills {
		// A second of work first: heartbeats and a commit, as in a
		// process that has been running.
		time.Sleep(time.Second)
		killed := m.kill()
		m = startMember(t, args)
		first, err := m.waitLine("kafka: partitions assigned", bound)
		if err != nil {
			t.Fatal(err)
		}
		all, err := m.allAssigned(topic, bound)
		if err != nil {
			t.Fatal(err)
		}
		counted, err := m.counting(bound)
		if err != nil {
			t.Fatal(err)
		}
		times = append(times, restartTime{first.Sub(killed), all.Sub(killed), counted.Sub(killed)})
	}
	m.kill()
	return times
}

// member is a headcount process whose stderr lines are kept with the time
// each was read.
type member struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	lines  []stampedLine
	more   chan struct{} // closed and replaced at every line, closed at EOF
	eof    bool
	exited chan struct{}
}

type stampedLine struct {
	at   time.Time
	text string
}

func startMember(t *testing.T, args []string) *member {
	t.Helper()
	cmd := headcountCmd(args...)
	cmd.Env = []string{execEnv + "=1"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HEADCOUNT_") { // they would set flags
			cmd.Env = append(cmd.Env, kv)
		}
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	m := &member{cmd: cmd, more: make(chan struct{}), exited: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			m.mu.Lock()
			m.lines = append(m.lines, stampedLine{time.Now(), sc.Text()})
			close(m.more)
			m.more = make(chan struct{})
			m.mu.Unlock()
		}
		io.Copy(io.Discard, stderr)
		m.mu.Lock()
		m.eof = true
		close(m.more)
		m.mu.Unlock()
		cmd.Wait()
		close(m.exited)
	}()
	t.Cleanup(func() { m.kill() })
	return m
}

// kill sends SIGKILL, returns when it was sent and waits for the exit.
func (m *member) kill() time.Time {
	at := time.Now()
	m.cmd.Process.Kill()
	<-m.exited
	return at
}

func (m *member) stderr() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var b strings.Builder
	for _, l := range m.lines {
		b.WriteString(l.text + "\n")
	}
	return b.String()
}

// scan calls match on every stderr line, old and new, until it returns
// true, and returns that line's time.
func (m *member) scan(what string, bound time.Duration, match func(string) bool) (time.Time, error) {
	deadline := time.After(bound)
	for i := 0; ; {
		m.mu.Lock()
		lines, eof, more := m.lines[i:], m.eof, m.more
		m.mu.Unlock()
		for _, l := range lines {
			i++
			if match(l.text) {
				return l.at, nil
			}
		}
		if eof {
			return time.Time{}, fmt.Errorf("headcount ended without %s; stderr:\n%s", what, m.stderr())
		}
		select {
		case <-more:
		case <-deadline:
			return time.Time{}, fmt.Errorf("no %s within %v; stderr:\n%s", what, bound, m.stderr())
		}
	}
}

func (m *member) waitLine(want string, bound time.Duration) (time.Time, error) {
	return m.scan(strconv.Quote(want), bound, func(l string) bool { return strings.Contains(l, want) })
}

var assignedRE = regexp.MustCompile(`kafka: partitions assigned.* partitions=(\S+)`)

// allAssigned returns when the assignments logged so far cover every
// partition of topic.
func (m *member) allAssigned(topic string, bound time.Duration) (time.Time, error) {
	got := map[string]bool{}
	return m.scan("assignment of every partition", bound, func(l string) bool {
		if sub := assignedRE.FindStringSubmatch(l); sub != nil {
			for _, p := range strings.Split(strings.Trim(sub[1], `"`), ",") {
				if p != "" {
					got[p] = true
				}
			}
		}
		return len(got) == livePartitions
	})
}

var metricsRE = regexp.MustCompile(`metrics=(\S+)`)

// counting polls the process's /metrics until it has counted a frame and
// returns when it saw that.
func (m *member) counting(bound time.Duration) (time.Time, error) {
	var url string
	if _, err := m.scan("metrics address", bound, func(l string) bool {
		if sub := metricsRE.FindStringSubmatch(l); sub != nil {
			url = sub[1]
		}
		return url != ""
	}); err != nil {
		return time.Time{}, err
	}
	deadline := time.Now().Add(bound)
	for time.Now().Before(deadline) {
		if n := scrape(url, "headcount_frames_counted_total"); n > 0 {
			return time.Now(), nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Time{}, fmt.Errorf("no frame counted within %v; stderr:\n%s", bound, m.stderr())
}

// scrape returns the value of an unlabelled metric, 0 when it cannot.
func scrape(url, name string) float64 {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

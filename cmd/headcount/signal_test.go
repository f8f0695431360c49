package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/headcount/headcount/internal/kafka"
	"github.com/headcount/headcount/internal/kafkatest"
)

// exitBound is how long a signalled process may take to exit. Generous: it
// tells a hang from an exit, not a fast exit from a slow one.
const exitBound = 30 * time.Second

// stream collects a process's output and lets a test wait for some of it.
type stream struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
	closed  bool
}

func newStream() *stream { return &stream{changed: make(chan struct{})} }

func (s *stream) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf.Write(p)
	close(s.changed)
	s.changed = make(chan struct{})
	return len(p), nil
}

func (s *stream) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *stream) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// waitFor waits until the output contains want. The bound only stops a hang.
func (s *stream) waitFor(t *testing.T, name, want string) {
	t.Helper()
	deadline := time.After(time.Minute)
	for {
		s.mu.Lock()
		ok, closed, changed := strings.Contains(s.buf.String(), want), s.closed, s.changed
		s.mu.Unlock()
		switch {
		case ok:
			return
		case closed:
			t.Fatalf("%s ended without %q:\n%s", name, want, s.String())
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("%s: no %q after a minute:\n%s", name, want, s.String())
		}
	}
}

// proc is the headcount binary running with an idle stdin that the test
// holds open until the process has exited.
type proc struct {
	cmd            *exec.Cmd
	stdin          *os.File // the write end; nothing is written unless the test does
	stdout, stderr *stream
	exited         chan struct{}
	err            error
}

// startProc starts headcount with args; HEADCOUNT_* variables of the test
// environment are not passed on (they would set flags).
func startProc(t *testing.T, args ...string) *proc {
	t.Helper()
	cmd := headcountCmd(args...)
	cmd.Env = []string{execEnv + "=1"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HEADCOUNT_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, stdin: inW, stdout: newStream(), stderr: newStream(), exited: make(chan struct{})}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	inR.Close()
	outW.Close()
	copied := make(chan struct{})
	go func() {
		io.Copy(p.stdout, outR)
		outR.Close()
		p.stdout.close()
		close(copied)
	}()
	go func() {
		<-copied
		p.err = cmd.Wait()
		p.stderr.close()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			cmd.Process.Kill()
			<-p.exited
		}
		inW.Close()
	})
	return p
}

// signal sends sig and waits, within exitBound, for the process to exit;
// it returns the exit status.
func (p *proc) signal(t *testing.T, sig os.Signal) int {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(exitBound):
		t.Fatalf("no exit within %v of %v (stdin idle and open); stderr:\n%s", exitBound, sig, p.stderr.String())
	}
	var ee *exec.ExitError
	switch {
	case p.err == nil:
		return 0
	case errors.As(p.err, &ee):
		return ee.ExitCode()
	}
	t.Fatalf("wait: %v", p.err)
	return -1
}

// TestSignals: SIGTERM and SIGINT stop run, produce and gen promptly with
// exit status 130 and their message, including while stdin stays open and
// idle (a pipe nobody writes to, as from a paused producer), where a
// command stuck in a read would never see the signal.
func TestSignals(t *testing.T) {
	conn, _ := kafkatest.Fake(t)
	broker := "kafka://" + conn.Brokers[0]
	cl := kafkatest.Client(t, conn)
	if _, err := kafka.EnsureTopic(context.Background(), cl, kafka.Topic{Name: "events", Partitions: 2}); err != nil {
		t.Fatal(err)
	}
	records := func() int64 {
		ends, err := kadm.NewClient(cl).ListEndOffsets(context.Background(), "produced")
		if err != nil {
			return 0
		}
		var n int64
		ends.Each(func(o kadm.ListedOffset) { n += max(o.Offset, 0) })
		return n
	}
	const frame = `{"uid":"a","ts":1468244400}` + "\n"
	const closing = `{"uid":"b","ts":1468244500}` + "\n" // closes the first minute

	// zst is the output file of the gen case, one per subtest.
	var zst string
	for _, tc := range []struct {
		name string
		args func() []string
		// ready feeds the process and waits until it is at work; nil:
		// nothing to wait for but idleStdin.
		ready func(t *testing.T, p *proc)
		// idleStdin: signal only once the process is blocked reading its
		// idle stdin (its signal handler is installed by then).
		idleStdin  bool
		wantStderr string // "" for none at all
		graceful   bool   // the signal saves and stops: exit 0, not 130
		check      func(t *testing.T, p *proc)
	}{
		{
			name:       "run, stdin idle from the start",
			args:       func() []string { return []string{"run", "--in", "-", "--quiet"} },
			idleStdin:  true,
			wantStderr: "interrupted: open windows were not flushed",
		},
		{
			name: "run, stdin idle after frames",
			args: func() []string { return []string{"run", "--in", "-", "--quiet", "--min-ts", "0"} },
			ready: func(t *testing.T, p *proc) {
				io.WriteString(p.stdin, frame+frame+frame+closing)
				p.stdout.waitFor(t, "run", `"final":true`)
			},
			idleStdin:  true,
			wantStderr: "interrupted: open windows were not flushed",
			check: func(t *testing.T, p *proc) {
				if n := strings.Count(p.stdout.String(), "\n"); n != 1 {
					t.Errorf("%d results, want the one closed minute (open windows are not flushed):\n%s", n, p.stdout.String())
				}
			},
		},
		{
			name: "run, Kafka input idle, exactly-once",
			args: func() []string { return []string{"run", "--in", broker + "/events", "--group", "signals"} },
			ready: func(t *testing.T, p *proc) {
				p.stderr.waitFor(t, "run", "kafka: state restored")
			},
			graceful:   true,
			wantStderr: "stopped; the results, the state and the offsets are committed to Kafka",
		},
		{
			name: "run, Kafka input idle, at-least-once",
			args: func() []string {
				return []string{"run", "--in", broker + "/events", "--group", "signals-alo", "--exactly-once=false"}
			},
			ready: func(t *testing.T, p *proc) {
				p.stderr.waitFor(t, "run", "kafka: partitions assigned")
			},
			wantStderr: "interrupted: open windows were not flushed",
		},
		{
			name: "produce, stdin idle from the start",
			args: func() []string {
				return []string{"produce", "--in", "-", "--out", broker + "/produced", "--partitions", "1", "--quiet"}
			},
			idleStdin:  true,
			wantStderr: "headcount produce: warning: interrupted",
		},
		{
			name: "produce, stdin idle after frames",
			args: func() []string {
				return []string{"produce", "--in", "-", "--out", broker + "/produced", "--partitions", "1", "--quiet"}
			},
			ready: func(t *testing.T, p *proc) {
				before := records()
				io.WriteString(p.stdin, frame)
				for deadline := time.Now().Add(time.Minute); records() == before; {
					if time.Now().After(deadline) {
						t.Fatalf("the frame never reached the topic; stderr:\n%s", p.stderr.String())
					}
					time.Sleep(10 * time.Millisecond)
				}
			},
			idleStdin:  true,
			wantStderr: "headcount produce: warning: interrupted",
		},
		{
			name: "produce, stdin busy",
			args: func() []string {
				return []string{"produce", "--in", "-", "--out", broker + "/produced", "--partitions", "1", "--quiet"}
			},
			ready: func(t *testing.T, p *proc) {
				before := records()
				// A producer that keeps writing until the process is gone.
				go func() {
					for {
						if _, err := io.WriteString(p.stdin, frame); err != nil {
							return
						}
						time.Sleep(time.Millisecond)
					}
				}()
				for deadline := time.Now().Add(time.Minute); records() == before; time.Sleep(10 * time.Millisecond) {
					if time.Now().After(deadline) {
						t.Fatalf("no frame reached the topic; stderr:\n%s", p.stderr.String())
					}
				}
			},
			wantStderr: "headcount produce: warning: interrupted",
		},
		{
			name: "gen, live to stdout",
			args: func() []string { return []string{"gen", "--live", "--count", "-1", "--rate", "5", "--start", "now"} },
			ready: func(t *testing.T, p *proc) {
				p.stdout.waitFor(t, "gen", "\n")
			},
			check: func(t *testing.T, p *proc) { checkWholeFrames(t, []byte(p.stdout.String())) },
		},
		{
			name: "gen, fast to a zstd file",
			args: func() []string {
				zst = filepath.Join(t.TempDir(), "gen.jsonl.zst")
				return []string{"gen", "--count", "-1", "--out", zst}
			},
			wantStderr: "headcount gen: warning: interrupted frames=",
			ready: func(t *testing.T, p *proc) {
				for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
					if st, err := os.Stat(zst); err == nil && st.Size() > 0 {
						return
					}
					if time.Now().After(deadline) {
						t.Fatal("gen wrote nothing")
					}
				}
			},
			check: func(t *testing.T, p *proc) {
				f, err := os.Open(zst)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				zr, err := zstd.NewReader(f)
				if err != nil {
					t.Fatal(err)
				}
				defer zr.Close()
				data, err := io.ReadAll(zr)
				if err != nil {
					t.Fatalf("the interrupted output is not a complete zstd stream: %v", err)
				}
				checkWholeFrames(t, data)
			},
		},
	} {
		for _, sig := range []os.Signal{syscall.SIGTERM, syscall.SIGINT} {
			t.Run(tc.name+"/"+sig.String(), func(t *testing.T) {
				p := startProc(t, tc.args()...)
				if tc.ready != nil {
					tc.ready(t, p)
				}
				if tc.idleStdin {
					waitReadingStdin(t, p)
				}
				want := 130
				if tc.graceful {
					want = 0
				}
				if code := p.signal(t, sig); code != want {
					t.Errorf("exit status %d, want %d; stderr:\n%s", code, want, p.stderr.String())
				}
				stderr := p.stderr.String()
				switch {
				case tc.wantStderr == "" && stderr != "":
					t.Errorf("stderr %q, want nothing", stderr)
				case !strings.Contains(stderr, tc.wantStderr):
					t.Errorf("stderr %q, want %q", stderr, tc.wantStderr)
				}
				if tc.check != nil {
					tc.check(t, p)
				}
			})
		}
	}
}

// checkWholeFrames checks that interrupted output holds only whole frames:
// at least one, each a JSON object on its own line.
func checkWholeFrames(t *testing.T, data []byte) {
	t.Helper()
	if len(data) == 0 || data[len(data)-1] != '\n' {
		t.Fatalf("output of %d bytes does not end with a whole line", len(data))
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %d: %v", n, err)
		}
		n++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no frame")
	}
}

// waitReadingStdin waits until a thread of the process is blocked in a
// read(2) of file descriptor 0 (Linux: /proc/PID/task/*/syscall), so that a
// signal sent now finds it idle on stdin rather than still starting up.
func waitReadingStdin(t *testing.T, p *proc) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("needs /proc/PID/task/*/syscall (Linux) to see the process wait on stdin")
	}
	want := fmt.Sprintf("%d 0x0 ", syscall.SYS_READ)
	tasks := fmt.Sprintf("/proc/%d/task", p.cmd.Process.Pid)
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(5 * time.Millisecond) {
		ids, err := os.ReadDir(tasks)
		if err != nil {
			t.Fatalf("%v (stderr: %s)", err, p.stderr.String())
		}
		for _, id := range ids {
			if b, err := os.ReadFile(filepath.Join(tasks, id.Name(), "syscall")); err == nil && strings.HasPrefix(string(b), want) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the process never blocked reading stdin; stderr:\n%s", p.stderr.String())
		}
	}
}

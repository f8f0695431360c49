package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/headcount/headcount/internal/checkpoint"
	"github.com/headcount/headcount/internal/gen"
)

// killTest is the set-up of the crash tests: a generated file with late and
// bit-flipped frames, and the output of one run that was never interrupted.
type killTest struct {
	dir, in          string
	wantOut, wantDLQ []byte
}

func newKillTest(t *testing.T) *killTest {
	t.Helper()
	k := &killTest{dir: t.TempDir()}
	k.in = filepath.Join(k.dir, "in.jsonl")
	n := 200000
	if testing.Short() {
		n = 60000
	}
	f, err := os.Create(k.in)
	if err != nil {
		t.Fatal(err)
	}
	cfg := gen.Config{Count: n, Rate: 1000, Delay: 30 * time.Second, DelayProb: 0.1, BitFlipProb: 0.002, FrameSize: 500, Seed: 9}
	if _, err := gen.WriteTo(context.Background(), f, cfg, false); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out, dlq := filepath.Join(k.dir, "want.jsonl"), filepath.Join(k.dir, "want.dead")
	if code, _, stderr := runMain(t, nil, k.args(out, dlq)...); code != 0 {
		t.Fatalf("reference run: exit %d: %s", code, stderr)
	}
	k.wantOut, k.wantDLQ = readFile(t, out), readFile(t, dlq)
	if len(k.wantOut) == 0 || len(k.wantDLQ) == 0 {
		t.Fatal("the reference run wrote no results or no dead letters")
	}
	return k
}

// args are the run's flags: minutes and hours, corrections, dead letters.
func (k *killTest) args(out, dlq string, extra ...string) []string {
	return append([]string{"run", "--in", k.in, "--out", out, "--dead-letter", dlq, "--windows", "minute,hour", "--quiet", "--workers", "1"}, extra...)
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// check compares the outputs with the uninterrupted run's, byte for byte.
func (k *killTest) check(t *testing.T, out, dlq string) {
	t.Helper()
	if got := readFile(t, out); !bytes.Equal(got, k.wantOut) {
		t.Errorf("results differ from an uninterrupted run: %d lines, want %d", bytes.Count(got, []byte("\n")), bytes.Count(k.wantOut, []byte("\n")))
	}
	if got := readFile(t, dlq); !bytes.Equal(got, k.wantDLQ) {
		t.Errorf("dead letters differ from an uninterrupted run: %d lines, want %d", bytes.Count(got, []byte("\n")), bytes.Count(k.wantDLQ, []byte("\n")))
	}
}

// TestCheckpointKill: a run of a file with --checkpoint is killed with
// SIGKILL at random moments, at least 10 times, and started again each
// time; then it runs to the end. Its results and dead letters are, byte for
// byte, those of a run never interrupted: nothing lost, nothing twice.
func TestCheckpointKill(t *testing.T) {
	k := newKillTest(t)
	out, dlq, state := filepath.Join(k.dir, "out.jsonl"), filepath.Join(k.dir, "out.dead"), filepath.Join(k.dir, "state")
	args := k.args(out, dlq, "--checkpoint", state, "--checkpoint-interval", "20ms")
	r := rand.New(rand.NewPCG(1, 2))
	kills, starts := 0, 0
	for kills < 10 {
		if starts++; starts > 200 {
			t.Fatalf("only %d of %d runs were killed before they ended", kills, starts)
		}
		cmd := headcountCmd(args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(r.IntN(150)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err == nil {
			var ee *exec.ExitError
			if err := cmd.Wait(); errors.As(err, &ee) && ee.ProcessState.Sys().(syscall.WaitStatus).Signaled() {
				kills++
			}
			continue
		}
		cmd.Wait()
	}
	if code, _, stderr := runMain(t, nil, args...); code != 0 {
		t.Fatalf("the last run: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(state); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the checkpoint is still there after the input was done: %v", err)
	}
	t.Logf("%d runs, %d killed", starts+1, kills)
	k.check(t, out, dlq)
}

// TestCheckpointTerm: SIGTERM (an ordinary deploy) stops a run with
// --checkpoint after the batch in flight, saves the state and exits 0
// saying so; started again, the run goes on. After several such stops the
// outputs equal those of a run never stopped.
func TestCheckpointTerm(t *testing.T) {
	k := newKillTest(t)
	out, dlq, state := filepath.Join(k.dir, "out.jsonl"), filepath.Join(k.dir, "out.dead"), filepath.Join(k.dir, "state")
	args := k.args(out, dlq, "--checkpoint", state, "--checkpoint-interval", "1h")
	r := rand.New(rand.NewPCG(3, 4))
	stops := 0
	for i := 0; stops < 5; i++ {
		if i > 100 {
			t.Fatalf("only %d of %d runs were stopped before they ended", stops, i)
		}
		p := startHeadcount(t, args...)
		// Signal it once it is at work (it opens its output after its
		// signal handler is in place), at a random moment after.
		waitOpen(t, p.cmd.Process.Pid, out)
		time.Sleep(time.Duration(r.IntN(80)) * time.Millisecond)
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-p.exited:
			if err != nil {
				t.Fatalf("after SIGTERM: %v; stderr: %s", err, p.stderr.String())
			}
		case <-time.After(30 * time.Second):
			p.cmd.Process.Kill()
			t.Fatal("no exit within 30 s of SIGTERM")
		}
		if strings.Contains(p.stderr.String(), "stopped; the state is saved in "+state) {
			stops++
		}
	}
	if code, _, stderr := runMain(t, nil, args...); code != 0 {
		t.Fatalf("the last run: exit %d: %s", code, stderr)
	}
	k.check(t, out, dlq)
}

// TestCheckpointRefuses: a checkpoint of another input, or damaged, is an
// error (exit 1) that changes no output; --checkpoint needs a file input.
func TestCheckpointRefuses(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl")
	os.WriteFile(a, []byte(`{"uid":"a","ts":1468244400}`+"\n"), 0o644)
	os.WriteFile(b, []byte(`{"uid":"b","ts":1468244400}`+"\n"+`{"uid":"c","ts":1468244401}`+"\n"), 0o644)
	state, out := filepath.Join(dir, "state"), filepath.Join(dir, "out")
	// A run to the end removes its checkpoint.
	cmd := headcountCmd("run", "--in", a, "--out", out, "--checkpoint", state, "--quiet")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	// Done: the checkpoint is gone. One of input a, and a damaged one:
	idA, err := checkpoint.Identify(a)
	if err != nil {
		t.Fatal(err)
	}
	ofA := filepath.Join(dir, "state-a")
	if err := checkpoint.Save(ofA, &checkpoint.Checkpoint{Input: idA, Outputs: []int64{0}, State: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(state, []byte("hcK\x01garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"damaged", []string{"run", "--in", b, "--out", out, "--checkpoint", state}, "damaged or foreign checkpoint"},
		{"another input", []string{"run", "--in", b, "--out", out, "--checkpoint", ofA}, "was taken of " + a},
		{"stdin", []string{"run", "--in", "-", "--checkpoint", state}, "--checkpoint needs --in FILE"},
		{"kafka", []string{"run", "--in", "kafka://127.0.0.1:1/x", "--checkpoint", state}, "--checkpoint needs --in FILE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := readFile(t, out)
			code, _, stderr := runMain(t, nil, append(tc.args, "--quiet")...)
			if code != 1 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want 1 and %q", code, stderr, tc.want)
			}
			if !bytes.Equal(readFile(t, out), before) {
				t.Error("the output changed")
			}
		})
	}
}

// waitOpen waits until process pid has path open (Linux: /proc/PID/fd).
func waitOpen(t *testing.T, pid int, path string) {
	t.Helper()
	abs, _ := filepath.Abs(path)
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		fds, err := os.ReadDir(dir)
		if err != nil {
			return // gone, or not Linux: the caller's checks tell
		}
		for _, fd := range fds {
			if target, err := os.Readlink(filepath.Join(dir, fd.Name())); err == nil && target == abs {
				return
			}
		}
	}
	t.Fatalf("process %d never opened %s", pid, path)
}

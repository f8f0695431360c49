package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// execEnv makes the test binary run main instead of the tests: commands
// are then tested as a user runs them, with their exit status, stdout,
// stderr and signals.
const execEnv = "HEADCOUNT_TEST_EXEC_MAIN"

// progressEveryEnv, a duration, makes gen report progress that often, so
// that a short run has some.
const progressEveryEnv = "HEADCOUNT_TEST_PROGRESS_EVERY"

// TestMain runs main when asked to (execEnv), else the tests, and then
// fails them if any goroutine outlives them (the commands run in-process in
// most tests, so every client, server and pipeline they start must stop
// when they return).
func TestMain(m *testing.M) {
	if os.Getenv(execEnv) == "1" {
		if d, err := time.ParseDuration(os.Getenv(progressEveryEnv)); err == nil {
			genProgressEvery = [2]time.Duration{d, d}
		}
		main()
		os.Exit(0)
	}
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak: goroutines outlived the tests:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// command is "headcount args..." as a process of its own: this test binary
// running main.
func headcountCmd(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), execEnv+"=1")
	return cmd
}

// runMain runs "headcount args..." in a process of its own, with env added
// to the environment.
func runMain(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := headcountCmd(args...)
	cmd.Env = append(cmd.Env, env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("headcount %q: %v", args, err)
	}
	return code, out.String(), errOut.String()
}

// started is "headcount args..." running as a process of its own.
type started struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
	exited chan error // its Wait, once it ends
}

// startHeadcount starts "headcount args..." with stderr kept.
func startHeadcount(t *testing.T, args ...string) *started {
	t.Helper()
	p := &started{cmd: headcountCmd(args...), exited: make(chan error, 1)}
	p.cmd.Stderr = &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- p.cmd.Wait() }()
	return p
}

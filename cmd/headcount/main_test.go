package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"testing"
)

// execEnv makes the test binary run main instead of the tests: commands
// are then tested as a user runs them, with their exit status, stdout and
// stderr.
const execEnv = "HEADCOUNT_TEST_EXEC_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(execEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runMain runs "headcount args..." in a process of its own, with env added
// to the environment.
func runMain(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), execEnv+"=1"), env...)
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

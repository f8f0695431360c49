package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

// binary is the headcount binary built once for the tests that run it as a
// process (signals, exit statuses); it is removed after the tests.
var binary struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// headcountBinary builds the command once (go build into a temporary
// directory) and returns its path.
func headcountBinary(t *testing.T) string {
	t.Helper()
	binary.once.Do(func() {
		if binary.dir, binary.err = os.MkdirTemp("", "headcount-test-bin-"); binary.err != nil {
			return
		}
		binary.path = filepath.Join(binary.dir, "headcount")
		out, err := exec.Command("go", "build", "-o", binary.path, ".").CombinedOutput()
		if err != nil {
			binary.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binary.err != nil {
		t.Fatal(binary.err)
	}
	return binary.path
}

// TestMain removes the built binary and fails the package's tests if any
// goroutine outlives them (the commands run in-process in most tests, so
// every client, server and pipeline they start must stop when they return).
func TestMain(m *testing.M) {
	code := m.Run()
	if binary.dir != "" {
		os.RemoveAll(binary.dir)
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak: goroutines outlived the tests:", err)
			code = 1
		}
	}
	os.Exit(code)
}

package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/headcount/headcount/internal/frame"
	"github.com/headcount/headcount/internal/pipeline"
)

func TestRunCommand(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	frames := strings.Join([]string{
		`{"uid":"a","ts":60}`,
		`{"uid":"b","ts":61}`,
		`{"uid":"a","ts":62}`,
		`garbage`,
		`{"uid":"c","ts":200}`,
	}, "\n")
	if err := os.WriteFile(in, []byte(frames), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.jsonl")
	dead := filepath.Join(dir, "dead.jsonl")
	if code := runRun([]string{"--in", in, "--out", out, "--dead-letter", dead, "--quiet", "--min-ts", "0"}); code != 0 {
		t.Fatalf("exit %d", code)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%q: %v", sc.Text(), err)
		}
		got = append(got, m)
	}
	if len(got) != 2 || got[0]["users"] != 2.0 || got[0]["frames"] != 3.0 || got[0]["ts"] != 60.0 || got[1]["ts"] != 180.0 {
		t.Errorf("results %v", got)
	}
	d, err := os.ReadFile(dead)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(d), `"reason":"not-json"`) || !strings.Contains(string(d), `"frame":"garbage"`) || !strings.Contains(string(d), `"offset":3`) {
		t.Errorf("dead letters %q", d)
	}
}

func TestRunCommandErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"unknown flag", []string{"--nope"}, 2},
		{"bad window", []string{"--windows", "fortnight"}, 2},
		{"bad zone", []string{"--tz", "Mars/Olympus"}, 2},
		{"bad mode", []string{"--count", "guess"}, 2},
		{"negative lateness", []string{"--lateness", "-1s"}, 2},
		{"sub-second max-jump", []string{"--max-jump", "500ms"}, 2},
		{"zero max-frame", []string{"--max-frame", "0"}, 2},
		{"empty zone", []string{"--tz", ""}, 2},
		{"negative early", []string{"--early", "-1s"}, 2},
		{"negative workers", []string{"--workers", "-3"}, 2},
		{"bad precision", []string{"--precision", "300"}, 2},
		{"positional input", []string{"data.jsonl"}, 2},
		{"missing input", []string{"--in", filepath.Join(t.TempDir(), "missing"), "--quiet"}, 1},
		{"bad http address", []string{"--in", os.DevNull, "--http", "256.0.0.1:99999", "--quiet"}, 1},
		{"http on a free port", []string{"--in", os.DevNull, "--http", "127.0.0.1:0", "--quiet"}, 0},
		{"progress", []string{"--in", os.DevNull, "--progress", "--quiet"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code := runRun(tt.args); code != tt.code {
				t.Errorf("exit %d, want %d", code, tt.code)
			}
		})
	}
}

func TestBenchCommand(t *testing.T) {
	in := filepath.Join(t.TempDir(), "in.jsonl")
	os.WriteFile(in, []byte("{\"uid\":\"a\",\"ts\":60}\n{\"uid\":\"b\",\"ts\":61}\n"), 0o644)
	if code := runBench([]string{"--in", in, "--runs", "1"}); code != 0 {
		t.Errorf("exit %d", code)
	}
	if code := runBench(nil); code != 2 {
		t.Errorf("no input: exit %d, want 2", code)
	}
}

// TestRunTrustProducer: a frame that breaks after uid and ts is rejected by
// default and counted with --trust-producer.
func TestRunTrustProducer(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	os.WriteFile(in, []byte("{\"uid\":\"a\",\"ts\":1468244400,\"x\":[1,\n{\"uid\":\"b\",\"ts\":1468244401}\n"), 0o644)
	for _, tc := range []struct {
		args  []string
		users string
	}{
		{nil, `"users":1,`},
		{[]string{"--trust-producer"}, `"users":2,`},
	} {
		out := filepath.Join(dir, "out.jsonl")
		if code := runRun(append([]string{"--in", in, "--out", out, "--quiet"}, tc.args...)); code != 0 {
			t.Fatalf("%v: exit %d", tc.args, code)
		}
		got, _ := os.ReadFile(out)
		if !strings.Contains(string(got), tc.users) {
			t.Errorf("%v: %s", tc.args, got)
		}
	}
}

func TestVersionCommand(t *testing.T) {
	for _, arg := range []string{"version", "--version", "-version"} {
		code, stdout, stderr := runMain(t, nil, arg)
		if code != 0 || !strings.HasPrefix(stdout, "headcount ") || !strings.Contains(stdout, "go1.") ||
			!strings.Contains(stdout, "\nframe parser: "+frame.Path()+"\n") || stderr != "" {
			t.Errorf("headcount %s: exit %d, stdout %q, stderr %q", arg, code, stdout, stderr)
		}
	}
}

// The summary groups thousands and says "1 result", not "1 results".
func TestSummary(t *testing.T) {
	for _, tc := range []struct {
		s    pipeline.Stats
		want string
	}{
		{pipeline.Stats{Frames: 1234567, Results: 1}, "1,234,567 frames"},
		{pipeline.Stats{Frames: 1234567, Results: 1}, "; 0 counted, 0 rejected, 1 result\n"},
		{pipeline.Stats{Frames: 10, Results: 1000}, "1,000 results\n"},
	} {
		var b strings.Builder
		summary(&b, &tc.s, time.Second)
		if !strings.Contains(b.String(), tc.want) {
			t.Errorf("summary %q does not contain %q", b.String(), tc.want)
		}
	}
}

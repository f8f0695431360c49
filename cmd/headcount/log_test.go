package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// jsonLines decodes stderr of a --log-format json command: every line must
// be one JSON object with a time, a level, a message and the command.
func jsonLines(t *testing.T, stderr, cmd string) []map[string]any {
	t.Helper()
	if stderr == "" || !strings.HasSuffix(stderr, "\n") {
		t.Fatalf("stderr %q: want whole lines", stderr)
	}
	var recs []map[string]any
	for line := range strings.Lines(stderr) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("stderr line %q is not a JSON object: %v\nstderr:\n%s", line, err, stderr)
		}
		ts, _ := m["time"].(string)
		if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
			t.Errorf("line %q: time %q: %v", line, ts, err)
		}
		if m["level"] == nil || m["msg"] == nil || m["cmd"] != cmd {
			t.Errorf("line %q: want level, msg and cmd %q", line, cmd)
		}
		recs = append(recs, m)
	}
	return recs
}

// TestRunLogJSON: with --log-format json, run's stderr is JSON lines
// whatever goes wrong (a damaged input, a missing file, a refused flag
// value): the error is one ERROR record, and the summary of a run that
// started is a record too.
func TestRunLogJSON(t *testing.T) {
	gz, err := os.ReadFile(filepath.Join(samples, "sample-ordered.jsonl.gz"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	damaged := filepath.Join(dir, "damaged.jsonl.gz")
	if err := os.WriteFile(damaged, gz[:len(gz)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		args    []string
		code    int
		err     string // in the ERROR record's message
		summary bool
	}{
		{"damaged input", []string{"--in", damaged}, 1, "read input: truncated gzip input " + damaged, true},
		{"missing input", []string{"--in", filepath.Join(dir, "missing"), "--quiet"}, 1, "no such file", false},
		{"refused value", []string{"--lateness", "-1s"}, 2, "--lateness", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runMain(t, nil, append([]string{"run", "--log-format", "json"}, tc.args...)...)
			if code != tc.code {
				t.Errorf("exit status %d, want %d; stderr:\n%s", code, tc.code, stderr)
			}
			if tc.code == 2 && stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			var errs, summaries []map[string]any
			for _, r := range jsonLines(t, stderr, "run") {
				switch {
				case r["level"] == "ERROR":
					errs = append(errs, r)
				case r["msg"] == "summary":
					summaries = append(summaries, r)
				}
			}
			if len(errs) != 1 || !strings.Contains(errs[0]["msg"].(string), tc.err) {
				t.Errorf("error records %v, want one with %q", errs, tc.err)
			}
			switch {
			case !tc.summary && len(summaries) > 0:
				t.Errorf("summary records %v, want none", summaries)
			case tc.summary && (len(summaries) != 1 || summaries[0]["counted"].(float64) == 0 || summaries[0]["frames"] == nil):
				t.Errorf("summary records %v, want one with the frames counted before the damage", summaries)
			}
		})
	}
}

// genFrames is what TestGenProgress generates: at 20 frames/s, live,
// about 0.6 s.
const genFrames = 40

// TestGenProgress: gen writing a file reports its progress on stderr while
// it runs (log records when stderr is not a terminal: a pipe here), then
// ends with its summary, in either format.
func TestGenProgress(t *testing.T) {
	for _, tc := range []struct {
		format string
		// reports checks stderr and returns the frames of each progress
		// report.
		reports func(t *testing.T, stderr, out string) []int
	}{
		{"text", genTextReports},
		{"json", genJSONReports},
	} {
		t.Run(tc.format, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "gen.jsonl")
			code, stdout, stderr := runMain(t, []string{progressEveryEnv + "=20ms"}, "gen", "--live", "--count", strconv.Itoa(genFrames),
				"--rate", "20", "--start", "now", "--out", out, "--log-format", tc.format)
			if code != 0 || stdout != "" {
				t.Fatalf("exit status %d, stdout %q; stderr:\n%s", code, stdout, stderr)
			}
			progress := tc.reports(t, stderr, out)
			if len(progress) == 0 {
				t.Fatalf("no progress report while gen ran; stderr:\n%s", stderr)
			}
			for i, n := range progress {
				if n > genFrames || (i > 0 && n < progress[i-1]) {
					t.Errorf("progress %v: frames must grow up to %d", progress, genFrames)
					break
				}
			}
		})
	}
}

// genTextReports: progress lines with the percentage of the frames, then
// the summary line.
func genTextReports(t *testing.T, stderr, out string) []int {
	progressLine := regexp.MustCompile(`^headcount gen: progress frames=(\d+) bytes=\d+ frames_per_s=\d+ mb_per_s=[\d.]+ percent=(\d+)`)
	summary := regexp.MustCompile(`^headcount gen: ` + strconv.Itoa(genFrames) + ` frames \([\d.]+ MB\) to ` + regexp.QuoteMeta(out) + ` in [\d.]+s\n$`)
	lines := slices.Collect(strings.Lines(stderr))
	if len(lines) == 0 || !summary.MatchString(lines[len(lines)-1]) {
		t.Fatalf("stderr does not end with the summary:\n%s", stderr)
	}
	var progress []int
	for _, line := range lines[:len(lines)-1] {
		m := progressLine.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("line %q, want a progress line", line)
			continue
		}
		n, _ := strconv.Atoi(m[1])
		if pct, _ := strconv.Atoi(m[2]); pct != 100*n/genFrames {
			t.Errorf("%q: %d%%, want %d%%", line, pct, 100*n/genFrames)
		}
		progress = append(progress, n)
	}
	return progress
}

// genJSONReports: progress records, then the summary record with the
// frames and the file's size.
func genJSONReports(t *testing.T, stderr, out string) []int {
	st, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	recs := jsonLines(t, stderr, "gen")
	var progress []int
	for _, r := range recs[:len(recs)-1] {
		if r["msg"] != "progress" || r["percent"] == nil {
			t.Errorf("record %v, want progress with a percentage", r)
			continue
		}
		progress = append(progress, int(r["frames"].(float64)))
	}
	s := recs[len(recs)-1]
	if s["msg"] != "summary" || s["frames"] != float64(genFrames) || s["file_bytes"] != float64(st.Size()) || s["out"] != out {
		t.Errorf("last record %v, want the summary: %d frames, %d bytes, out %s", s, genFrames, st.Size(), out)
	}
	return progress
}

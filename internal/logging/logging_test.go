package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// at is the time of every test record: the JSON golden file holds it.
var at = time.Date(2026, 11, 30, 12, 34, 56, 789000000, time.UTC)

// records are the cases of the golden files, one line of output each (or
// none, when the level is below the handler's).
var records = []struct {
	name  string
	level slog.Level
	msg   string
	attrs []any
	// with is applied to the logger first (WithAttrs, WithGroup).
	with func(*slog.Logger) *slog.Logger
}{
	{name: "info, no attributes", level: slog.LevelInfo, msg: "stopped; the state is saved in events.state: run the same command again to go on"},
	{name: "info with attributes", level: slog.LevelInfo, msg: "serving", attrs: []any{"dashboard", "http://127.0.0.1:8080/", "port", 8080}},
	{name: "warning", level: slog.LevelWarn, msg: "interrupted: open windows were not flushed"},
	{name: "error with an error value", level: slog.LevelError, msg: "read input", attrs: []any{"err", errors.New(`open "x y": no such file`)}},
	{name: "debug, filtered at info", level: slog.LevelDebug, msg: "not shown"},
	{name: "quoting", level: slog.LevelInfo, msg: "kafka: fetch error, retrying", attrs: []any{"topic", "events", "note", "two words", "empty", "", "eq", "a=b"}},
	{name: "builtin keys as attributes", level: slog.LevelInfo, msg: "attributes named like slog's own", attrs: []any{"level", "high", "msg", "hi", "time", "now"}},
	{name: "a group", level: slog.LevelInfo, msg: "summary", attrs: []any{"frames", 1000, slog.Group("rejected", "no-uid", 3, "bad-ts", 1)}},
	{name: "duration and time", level: slog.LevelInfo, msg: "progress", attrs: []any{"eta", 90 * time.Second, "watermark", at}},
	{name: "WithAttrs and WithGroup", level: slog.LevelWarn, msg: "kafka: transaction aborted", attrs: []any{"err", "fenced"},
		with: func(l *slog.Logger) *slog.Logger { return l.With("stage", "merge").WithGroup("txn").With("id", 7) }},
	{name: "level above error", level: slog.LevelError + 4, msg: "custom level"},
}

// TestGolden writes every record through the text and the JSON handler and
// compares the output with testdata/*.golden (go test -update rewrites
// them).
func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		file string
		opts Options
	}{
		{"text.golden", Options{Format: Text, Prefix: "headcount gen", Command: "gen"}},
		{"json.golden", Options{Format: JSON, Prefix: "headcount gen", Command: "gen"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			var got bytes.Buffer
			for _, r := range records {
				var out bytes.Buffer
				l := slog.New(NewHandler(&out, tc.opts))
				if r.with != nil {
					l = r.with(l)
				}
				if l.Enabled(context.Background(), r.level) {
					rec := slog.NewRecord(at, r.level, r.msg, 0)
					rec.Add(r.attrs...)
					if err := l.Handler().Handle(context.Background(), rec); err != nil {
						t.Fatalf("%s: %v", r.name, err)
					}
				}
				if n := strings.Count(out.String(), "\n"); n > 1 || (n == 0 && out.Len() > 0) {
					t.Errorf("%s: %q is not one line", r.name, out.String())
				}
				got.WriteString("# " + r.name + "\n" + out.String())
			}
			compareGolden(t, filepath.Join("testdata", tc.file), got.Bytes())
		})
	}
}

func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (go test -update rewrites it):\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// Every line of the JSON handler is an object with the time, the level,
// the message and the command.
func TestJSONLines(t *testing.T) {
	var out bytes.Buffer
	l := New(&out, Options{Format: JSON, Command: "run", Level: slog.LevelDebug})
	var logged []string
	for _, r := range records {
		if r.name == "builtin keys as attributes" {
			continue // slog.JSONHandler writes the keys twice; the last wins in a decoder
		}
		l.Log(context.Background(), r.level, r.msg, r.attrs...)
		logged = append(logged, r.msg)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != len(logged) {
		t.Fatalf("%d lines for %d records:\n%s", len(lines), len(logged), out.String())
	}
	for i, line := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %d %q: %v", i, line, err)
		}
		for _, key := range []string{"time", "level", "msg", "cmd"} {
			if _, ok := m[key]; !ok {
				t.Errorf("line %d %q: no %q", i, line, key)
			}
		}
		if m["msg"] != logged[i] || m["cmd"] != "run" {
			t.Errorf("line %d %q: want msg %q and cmd run", i, line, logged[i])
		}
	}
}

func TestLevels(t *testing.T) {
	for _, tc := range []struct {
		level      string
		want       slog.Level
		debug, err bool // whether a debug and an error record are written
	}{
		{"debug", slog.LevelDebug, true, true},
		{"info", slog.LevelInfo, false, true},
		{"WARN", slog.LevelWarn, false, true},
		{"error", slog.LevelError, false, true},
	} {
		lv, err := ParseLevel(tc.level)
		if err != nil || lv != tc.want {
			t.Fatalf("ParseLevel(%q) = %v, %v; want %v", tc.level, lv, err, tc.want)
		}
		for _, f := range []Format{Text, JSON} {
			var out bytes.Buffer
			l := New(&out, Options{Format: f, Level: lv})
			l.Debug("d")
			l.Error("e")
			if got := strings.Contains(out.String(), "d"); got != tc.debug {
				t.Errorf("%s, %s: debug written %v, want %v: %q", f, tc.level, got, tc.debug, out.String())
			}
			if got := strings.Contains(out.String(), "e"); got != tc.err {
				t.Errorf("%s, %s: error written %v, want %v: %q", f, tc.level, got, tc.err, out.String())
			}
		}
	}
	for _, bad := range []string{"", "loud", "warning", "5"} {
		if _, err := ParseLevel(bad); err == nil || !strings.Contains(err.Error(), "debug, info, warn or error") {
			t.Errorf("ParseLevel(%q): %v, want an error listing the levels", bad, err)
		}
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"text": Text, "auto": Text, "json": JSON, "JSON": JSON} {
		if got, err := ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "xml", "logfmt"} {
		if _, err := ParseFormat(bad); err == nil || err.Error() != "want text, json or auto" {
			t.Errorf("ParseFormat(%q): %v", bad, err)
		}
	}
}

// On a terminal every text line first clears the line (a progress line
// rewritten in place).
func TestTerminal(t *testing.T) {
	var out bytes.Buffer
	New(&out, Options{Prefix: "headcount", Terminal: true}).Info("serving", "port", 1)
	if want := "\r\033[Kheadcount: serving port=1\n"; out.String() != want {
		t.Errorf("%q, want %q", out.String(), want)
	}
}

// A report is the text as it is in text format and one record in JSON;
// a display is the writer itself in text and a record per line in JSON.
func TestReportAndDisplay(t *testing.T) {
	const text = "headcount: 3 frames\n  rejected no-uid:  1\n"
	var txt bytes.Buffer
	l := New(&txt, Options{Prefix: "headcount"})
	l.Report(text, "summary", slog.Int("frames", 3))
	l.Display().Write([]byte("status: a\n"))
	if want := text + "status: a\n"; txt.String() != want {
		t.Errorf("text: %q, want %q", txt.String(), want)
	}

	var js bytes.Buffer
	l = New(&js, Options{Format: JSON, Command: "run"})
	l.Report(text, "summary", slog.Int("frames", 3), slog.Group("rejected", slog.Int("no-uid", 1)))
	d := l.Display()
	d.Write([]byte("status: a\nstatus: "))
	d.Write([]byte("b\r\n\n"))
	var got []map[string]any
	for line := range strings.Lines(js.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		got = append(got, m)
	}
	if len(got) != 3 || got[0]["msg"] != "summary" || got[0]["frames"] != 3.0 ||
		got[0]["rejected"].(map[string]any)["no-uid"] != 1.0 || got[1]["msg"] != "status: a" || got[2]["msg"] != "status: b" {
		t.Errorf("json:\n%s", js.String())
	}
}

package main

import (
	"flag"
	"strings"
	"testing"
)

// A bad HEADCOUNT_ value is printed once by the command; a bad command-line
// flag only by the flag set, which also prints the usage.
func TestFlagErrors(t *testing.T) {
	tests := []struct {
		name   string
		env    []string
		args   []string
		stderr string // the whole of stderr, or its first line for flag errors
	}{
		{"gen env", []string{"HEADCOUNT_RATE=fast"}, []string{"gen", "--count", "1"}, "headcount gen: HEADCOUNT_RATE=\"fast\": parse error\n"},
		{"demo env", []string{"HEADCOUNT_SPEEDUP=fast"}, []string{"demo"}, "headcount demo: HEADCOUNT_SPEEDUP=\"fast\": parse error\n"},
		{"produce env", []string{"HEADCOUNT_PARTITIONS=many"}, []string{"produce"}, "headcount produce: HEADCOUNT_PARTITIONS=\"many\": parse error\n"},
		{"gen flag", nil, []string{"gen", "--nope"}, "flag provided but not defined: -nope"},
		{"demo flag", nil, []string{"demo", "--nope"}, "flag provided but not defined: -nope"},
		{"produce flag", nil, []string{"produce", "--nope"}, "flag provided but not defined: -nope"},
		// Every command refuses an unknown log format or level, naming the flag.
		{"run log format", nil, []string{"run", "--log-format", "xml"}, `invalid value "xml" for flag -log-format: want text, json or auto`},
		{"gen log format", nil, []string{"gen", "--log-format", "xml"}, `invalid value "xml" for flag -log-format: want text, json or auto`},
		{"produce log format", nil, []string{"produce", "--log-format", "xml"}, `invalid value "xml" for flag -log-format: want text, json or auto`},
		{"demo log format", nil, []string{"demo", "--log-format", "xml"}, `invalid value "xml" for flag -log-format: want text, json or auto`},
		{"bench log format", nil, []string{"bench", "--log-format", "xml"}, `invalid value "xml" for flag -log-format: want text, json or auto`},
		{"run log level", nil, []string{"run", "--log-level", "loud"}, `invalid value "loud" for flag -log-level: want debug, info, warn or error`},
		{"run log format env", []string{"HEADCOUNT_LOG_FORMAT=xml"}, []string{"run"}, "headcount run: HEADCOUNT_LOG_FORMAT=\"xml\": want text, json or auto\n"},
		{"gen log level env", []string{"HEADCOUNT_LOG_LEVEL=loud"}, []string{"gen", "--count", "1"}, "headcount gen: HEADCOUNT_LOG_LEVEL=\"loud\": want debug, info, warn or error\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runMain(t, tt.env, tt.args...)
			if code != 2 || stdout != "" {
				t.Errorf("exit status %d, stdout %q; want 2 and nothing", code, stdout)
			}
			if strings.HasSuffix(tt.stderr, "\n") {
				if stderr != tt.stderr {
					t.Errorf("stderr %q, want %q", stderr, tt.stderr)
				}
				return
			}
			first, rest, _ := strings.Cut(stderr, "\n")
			if first != tt.stderr || !strings.Contains(rest, "Usage: headcount") || strings.Contains(rest, "headcount "+tt.args[0]+":") {
				t.Errorf("stderr:\n%s\nwant %q, the usage, and no error of the command's own", stderr, tt.stderr)
			}
		})
	}
}

// run --help lists every flag once, under its heading, then examples.
func TestRunHelpGrouped(t *testing.T) {
	code, stdout, stderr := runMain(t, nil, "run", "--help")
	help := stdout + stderr
	if code != 0 {
		t.Fatalf("run --help: exit %d\n%s", code, help)
	}
	if strings.Contains(help, "\nOther:\n") {
		t.Errorf("a flag of run is in no group:\n%s", help)
	}
	last := -1
	for _, g := range runFlagGroups {
		i := strings.Index(help, "\n"+g.title+":\n")
		if i < 0 || i < last {
			t.Errorf("heading %q missing or out of order", g.title)
		}
		last = i
	}
	o, _ := parseRun([]string{"--quiet"})
	if o == nil {
		t.Fatal("parseRun failed")
	}
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	addConfigFlags(fs, &o.cfg)
	fs.VisitAll(func(f *flag.Flag) {
		if n := strings.Count(help, "\n  --"+f.Name+" ") + strings.Count(help, "\n  --"+f.Name+"\n"); n != 1 {
			t.Errorf("--%s appears %d times", f.Name, n)
		}
	})
	if !strings.Contains(help, "\nExamples:\n  headcount run --in events.jsonl") {
		t.Errorf("no examples:\n%s", help)
	}
}

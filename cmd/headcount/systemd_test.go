package main

import (
	"bufio"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/headcount/headcount/internal/cli"
	"github.com/headcount/headcount/internal/kafka"
)

// The example systemd units of deploy/systemd, tested as systemd reads them
// (systemd-analyze) and as headcount parses the command they start.

// systemdDir holds the example units and their environment file.
var systemdDir = filepath.Join("..", "..", "deploy", "systemd")

// envRequireSystemd set to 1 (scripts/test) fails the tests that need
// systemd-analyze when it is missing, instead of skipping them.
const envRequireSystemd = "HEADCOUNT_REQUIRE_SYSTEMD"

// needTool returns the path of the program name, or skips the test without
// it; with the environment variable require set to 1, fails instead.
func needTool(t *testing.T, name, require string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv(require) == "1" {
		t.Fatalf("%s=1 but %s is not installed: %v", require, name, err)
	}
	t.Skipf("%s is not installed (scripts/test installs it)", name)
	return ""
}

// unit is a unit file's [Service] settings: each key's values, in order.
type unit map[string][]string

// readUnit reads the [Service] section of a unit file, with continuation
// lines joined as systemd joins them.
func readUnit(t *testing.T, path string) unit {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	u, section := unit{}, ""
	text := strings.ReplaceAll(string(data), "\\\n", " ")
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			section = line
		case section == "[Service]":
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("%s: not a setting: %q", path, line)
			}
			u[k] = append(u[k], v)
		}
	}
	return u
}

// readEnvFile reads KEY=value lines; with commented, the commented-out
// ones ("#KEY=value") too.
func readEnvFile(t *testing.T, path string, commented bool) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	env := map[string]string{}
	setting := regexp.MustCompile(`^(#?)([A-Z_][A-Z0-9_]*)=(.*)$`)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := setting.FindStringSubmatch(sc.Text())
		if m != nil && (m[1] == "" || commented) {
			env[m[2]] = m[3]
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return env
}

// execArgs returns the words of ExecStart as systemd passes them: ${VAR}
// from env, %X specifiers from spec. It fails on what it does not know
// (an unset variable, a specifier, quotes) rather than guess.
func execArgs(t *testing.T, u unit, env map[string]string, spec map[byte]string) []string {
	t.Helper()
	if len(u["ExecStart"]) != 1 {
		t.Fatalf("ExecStart = %q, want one command", u["ExecStart"])
	}
	line := u["ExecStart"][0]
	if strings.ContainsAny(line, `"'`) {
		t.Fatalf("ExecStart %q has quotes: teach execArgs systemd's quoting", line)
	}
	line = regexp.MustCompile(`\$\{(\w+)\}`).ReplaceAllStringFunc(line, func(v string) string {
		val, ok := env[v[2:len(v)-1]]
		if !ok {
			t.Errorf("ExecStart uses %s, which the environment file does not set", v)
		}
		return val
	})
	line = regexp.MustCompile(`%.`).ReplaceAllStringFunc(line, func(s string) string {
		val, ok := spec[s[1]]
		if !ok {
			t.Errorf("ExecStart uses the specifier %s, unknown to this test", s)
		}
		return val
	})
	if strings.Contains(line, "$") {
		t.Fatalf("ExecStart %q: a $VAR this test does not expand", line)
	}
	return strings.Fields(line)
}

// TestSystemdUnits parses each unit's command with run's own flag parsing
// (every flag and HEADCOUNT_* variable real, every value valid) and checks
// what the unit promises: the Kafka service is an exactly-once member of a
// group that stops gracefully on SIGTERM; the backfill checkpoints; and
// every file the run writes is in the unit's StateDirectory, the only
// place ProtectSystem=strict leaves writable.
func TestSystemdUnits(t *testing.T) {
	tests := []struct {
		name, unit string
		commented  bool // with the environment file's optional settings
		spec       map[byte]string
		check      func(t *testing.T, o *runOpts)
	}{
		{name: "kafka service", unit: "headcount.service", spec: map[byte]string{'H': "host-1"}, check: checkKafkaService},
		{name: "kafka service with TLS and SASL", unit: "headcount.service", commented: true, spec: map[byte]string{'H': "host-1"},
			check: func(t *testing.T, o *runOpts) {
				if !*o.kafka.tls || *o.kafka.tlsCA == "" || *o.kafka.sasl != "scram-sha-512" || *o.kafka.saslUser == "" || *o.kafka.saslPassword == "" {
					t.Errorf("the optional settings: TLS %v, CA %q, SASL %q, user %q, password set %v",
						*o.kafka.tls, *o.kafka.tlsCA, *o.kafka.sasl, *o.kafka.saslUser, *o.kafka.saslPassword != "")
				}
			}},
		{name: "backfill", unit: "headcount-backfill@.service",
			spec: map[byte]string{'f': "/srv/events/july.jsonl.zst", 'i': "srv-events-july.jsonl.zst", 'S': "/var/lib"},
			check: func(t *testing.T, o *runOpts) {
				if o.in != "/srv/events/july.jsonl.zst" || o.checkpoint == "" {
					t.Errorf("in %q, checkpoint %q: want the instance's file, with a checkpoint", o.in, o.checkpoint)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := readUnit(t, filepath.Join(systemdDir, tt.unit))
			env := map[string]string{}
			if files := u["EnvironmentFile"]; len(files) > 0 {
				env = readEnvFile(t, filepath.Join(systemdDir, "headcount.env"), tt.commented)
			}
			checkEnvFlags(t, env)
			args := execArgs(t, u, env, tt.spec)
			if len(args) < 2 || args[0] != "/usr/local/bin/headcount" || args[1] != "run" {
				t.Fatalf("ExecStart %q: want /usr/local/bin/headcount run ...", args)
			}
			o, code := parseRun(args[2:])
			if o == nil {
				t.Fatalf("headcount run %q: exit status %d", args[2:], code)
			}
			if !o.graceful() {
				t.Error("SIGTERM would stop the run at once: want it to save its state and exit 0")
			}
			checkWritable(t, u, o, tt.spec['S'])
			// A bad value is not retried: the unit knows its exit status.
			if _, code := parseRun([]string{"--lateness", "-5s"}); !slices.Contains(u["RestartPreventExitStatus"], strconv.Itoa(code)) {
				t.Errorf("RestartPreventExitStatus=%q, want the exit status of a bad value, %d", u["RestartPreventExitStatus"], code)
			}
			tt.check(t, o)
		})
	}
}

// checkKafkaService: Kafka in and out, an exactly-once member of the group
// headcount, TLS and SASL off without the optional settings.
func checkKafkaService(t *testing.T, o *runOpts) {
	const brokers = "kafka-1:9092,kafka-2:9092,kafka-3:9092" // headcount.env's
	for _, url := range []string{o.in, o.out, o.dead} {
		if !kafka.IsURL(url) || !strings.Contains(url, brokers) {
			t.Errorf("%q: want a kafka:// URL of the brokers %s", url, brokers)
		}
	}
	if !o.together() || *o.kafka.group != "headcount" || *o.kafka.instanceID != "host-1" {
		t.Errorf("want an exactly-once member of group headcount with instance id host-1: together %v, group %q, instance %q",
			o.together(), *o.kafka.group, *o.kafka.instanceID)
	}
	if *o.kafka.tls || *o.kafka.sasl != "" {
		t.Errorf("without the optional settings: TLS %v, SASL %q", *o.kafka.tls, *o.kafka.sasl)
	}
}

// checkEnvFlags sets env for the test and fails for a HEADCOUNT_ variable
// that names no flag of run (headcount would ignore it).
func checkEnvFlags(t *testing.T, env map[string]string) {
	t.Helper()
	names := map[string]bool{}
	(&runOpts{}).flags().VisitAll(func(f *flag.Flag) { names[cli.EnvName(f.Name)] = true })
	for k, v := range env {
		if strings.HasPrefix(k, "HEADCOUNT_") && !names[k] {
			t.Errorf("the environment file sets %s, which is no flag of headcount run", k)
		}
		t.Setenv(k, v)
	}
}

// checkWritable fails for a file the run writes outside the unit's
// StateDirectory (under stateRoot, %S).
func checkWritable(t *testing.T, u unit, o *runOpts, stateRoot string) {
	t.Helper()
	var dirs []string
	for _, d := range u["StateDirectory"] {
		dirs = append(dirs, filepath.Join(stateRoot, d)+"/")
	}
	for _, p := range []string{o.out, o.dead, o.checkpoint, o.cpuOut, o.memOut} {
		if p == "" || p == "-" || kafka.IsURL(p) {
			continue
		}
		ok := false
		for _, d := range dirs {
			ok = ok || strings.HasPrefix(p, d)
		}
		if !ok {
			t.Errorf("the run writes %s, outside the unit's state directories %q (ProtectSystem=strict: read-only)", p, dirs)
		}
	}
}

// TestSystemdVerify runs systemd-analyze on each unit, in a root that
// holds the units of this machine's systemd and an executable at the
// unit's ExecStart path: `verify` must print nothing (an unknown key, a bad
// value or a missing dependency is a line) and `security` must rate the
// hardening at most 2.0 ("OK"). A unit with a misspelt key shows that
// verify's output is read.
func TestSystemdVerify(t *testing.T) {
	analyze := needTool(t, "systemd-analyze", envRequireSystemd)
	root := t.TempDir()
	units := filepath.Join(root, "etc", "systemd", "system")
	for _, dir := range []string{units, filepath.Join(root, "usr", "lib", "systemd"), filepath.Join(root, "usr", "local", "bin")} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The targets units depend on (sysinit.target, network-online.target,
	// ...); cp keeps their symbolic links.
	if out, err := exec.Command("cp", "-a", "/usr/lib/systemd/system", filepath.Join(root, "usr", "lib", "systemd")).CombinedOutput(); err != nil {
		t.Fatalf("copy this machine's units: %v\n%s", err, out)
	}
	// verify checks only that the command is executable.
	if err := os.WriteFile(filepath.Join(root, "usr", "local", "bin", "headcount"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(systemdDir, "*.service"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no units in %s (%v)", systemdDir, err)
	}
	analyzeUnit := func(t *testing.T, name string, data []byte, args ...string) (string, error) {
		path := filepath.Join(units, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(analyze, append(append(args, "--root="+root, "--no-pager"), path)...).CombinedOutput()
		return string(out), err
	}
	for _, file := range files {
		name := filepath.Base(file)
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(name, func(t *testing.T) {
			if out, err := analyzeUnit(t, name, data, "verify"); err != nil || out != "" {
				t.Errorf("systemd-analyze verify %s: %v\n%s", name, err, out)
			}
			out, err := analyzeUnit(t, name, data, "security", "--offline=yes", "--threshold=20")
			if err != nil {
				t.Errorf("systemd-analyze security %s: exposure above 2.0 (%v):\n%s", name, err, out)
			}
			if !strings.Contains(out, "Overall exposure level for") {
				t.Errorf("systemd-analyze security %s printed no rating:\n%s", name, out)
			}
		})
	}
	t.Run("a misspelt key", func(t *testing.T) {
		data := []byte("[Service]\nExecStart=/usr/local/bin/headcount version\nProtectSytem=strict\n")
		out, _ := analyzeUnit(t, "misspelt.service", data, "verify")
		if !strings.Contains(out, "Unknown key 'ProtectSytem'") {
			t.Errorf("systemd-analyze verify did not report the misspelt key:\n%s", out)
		}
	})
}

package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/headcount/headcount/internal/result"
)

// envRequirePodman set to 1 (scripts/test) fails TestImage when podman is
// missing, instead of skipping it.
const envRequirePodman = "HEADCOUNT_REQUIRE_PODMAN"

// TestImage builds the container image with scripts/image (the Dockerfile's
// prebuilt target) and runs it with podman as a user would: `version` names
// the commit it was built from, a sample file mounted read-only and a sample
// on stdin give the samples' exact counts, and the image runs as the
// non-root user of its /etc/passwd, with the CA roots in place.
func TestImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a container image: not with -short")
	}
	podman := needTool(t, "podman", envRequirePodman)
	image := fmt.Sprintf("localhost/headcount-test:%d", os.Getpid())
	build := exec.Command(filepath.Join("scripts", "image"))
	build.Dir = filepath.Join("..", "..")
	build.Env = append(os.Environ(), "IMAGE="+image, "CONTAINER_ENGINE="+podman)
	var buildLog bytes.Buffer
	build.Stderr = &buildLog
	out, err := build.Output()
	if err != nil {
		t.Fatalf("scripts/image: %v\n%s", err, buildLog.Bytes())
	}
	if got := strings.TrimSpace(string(out)); got != image {
		t.Errorf("scripts/image printed %q, want the image's name %q", got, image)
	}
	t.Cleanup(func() {
		if out, err := exec.Command(podman, "rmi", "--force", image).CombinedOutput(); err != nil {
			t.Errorf("podman rmi: %v\n%s", err, out)
		}
	})
	run := podmanRun(t, podman, image)

	t.Run("version", func(t *testing.T) {
		got := strings.TrimSpace(run(nil, nil, "version"))
		if want := wantVersion(t); !regexp.MustCompile(want).MatchString(got) {
			t.Errorf("headcount version in the image: %q, want to match %s", got, want)
		}
	})
	t.Run("file", func(t *testing.T) {
		abs, err := filepath.Abs(samples)
		if err != nil {
			t.Fatal(err)
		}
		mount := []string{"--volume", abs + ":/samples:ro"}
		stdout := run(mount, nil, "run", "--in", "/samples/sample-late.jsonl.gz", "--windows", "minute,hour", "--quiet")
		checkSampleCounts(t, stdout, "sample-late")
	})
	t.Run("stdin", func(t *testing.T) {
		gz, err := os.ReadFile(filepath.Join(samples, "sample-ordered.jsonl.gz"))
		if err != nil {
			t.Fatal(err)
		}
		stdout := run([]string{"--interactive"}, bytes.NewReader(gz), "run", "--windows", "minute,hour", "--quiet")
		checkSampleCounts(t, stdout, "sample-ordered")
	})
	t.Run("contents", func(t *testing.T) {
		checkImageContents(t, podman, image)
	})
}

// podmanRun returns a function that runs the image with flags (before the
// image) and args (after it, to headcount) and returns its stdout.
func podmanRun(t *testing.T, podman, image string) func(flags []string, stdin io.Reader, args ...string) string {
	// No network; limits below this machine's (root without
	// CAP_SYS_RESOURCE cannot raise them, and podman's defaults do); runc,
	// when installed, because crun refuses a host with both cgroup v1 and
	// v2 controllers (scripts/test installs it).
	base := []string{"run", "--rm", "--network=none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"}
	if _, err := exec.LookPath("runc"); err == nil {
		base = append([]string{"--runtime", "runc"}, base...)
	}
	return func(flags []string, stdin io.Reader, args ...string) string {
		t.Helper()
		cmd := exec.Command(podman, append(append(append(base, flags...), image), args...)...)
		cmd.Stdin = stdin
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v\n%s", cmd, err, stderr.Bytes())
		}
		return string(out)
	}
}

// wantVersion is what `headcount version` in the image must match: the
// commit checked out, when Go can stamp it (a clone; not a linked git
// worktree, whose .git is a file Go does not recognise, golang/go#58218).
func wantVersion(t *testing.T) string {
	unstamped := `^headcount \(devel\) \(commit unknown: built without VCS stamping, go1\.\d+`
	root := filepath.Join("..", "..")
	if fi, err := os.Stat(filepath.Join(root, ".git")); err != nil || !fi.IsDir() {
		return unstamped
	}
	head, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatalf("git rev-parse HEAD: %v", err)
	}
	// The module version is a pseudo-version of the commit (Go 1.24+).
	return `^headcount v\S+ \(commit ` + string(head[:12]) + `( with uncommitted changes)?, \S+, go1\.\d+`
}

// checkSampleCounts compares the latest revision of each minute and hour
// in stdout with the sample's exact counts (testdata/samples).
func checkSampleCounts(t *testing.T, stdout, sample string) {
	t.Helper()
	want := map[string]string{} // "minute 1468244400" -> "users frames"
	for _, kind := range []string{"minute", "hour"} {
		data, err := os.ReadFile(filepath.Join(samples, sample+"."+kind+".txt"))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			start, counts, _ := strings.Cut(l, " ")
			want[kind+" "+start] = counts
		}
	}
	got := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(stdout))
	for sc.Scan() {
		r, err := result.Decode(sc.Bytes())
		if err != nil {
			t.Fatalf("result %q: %v", sc.Text(), err)
		}
		if !r.Final {
			t.Errorf("provisional result %s", sc.Text())
		}
		// Corrections come later in the output than what they correct.
		got[fmt.Sprintf("%s %d", r.Window, r.Start.Unix())] = fmt.Sprintf("%d %d", r.Users, r.Frames)
	}
	if len(got) != len(want) {
		t.Errorf("%d windows, want %d (the sample's)", len(got), len(want))
	}
	for w, counts := range want {
		if got[w] != counts {
			t.Errorf("%s %s: users frames %q, want %q", sample, w, got[w], counts)
		}
	}
}

// checkImageContents checks the user the image runs as and the files it
// holds besides the binary, copied out of a container that never starts.
func checkImageContents(t *testing.T, podman, image string) {
	user, err := exec.Command(podman, "image", "inspect", "--format", "{{.Config.User}}", image).Output()
	if err != nil {
		t.Fatalf("podman image inspect: %v", err)
	}
	if got := strings.TrimSpace(string(user)); got != "65532:65532" {
		t.Errorf("the image runs as %q, want 65532:65532 (non-root)", got)
	}
	ctr, err := exec.Command(podman, "create", image).Output()
	if err != nil {
		t.Fatalf("podman create: %v", err)
	}
	id := strings.TrimSpace(string(ctr))
	defer exec.Command(podman, "rm", id).Run()
	dir := t.TempDir()
	files := []struct{ path, want string }{
		{"/etc/passwd", "headcount:x:65532:65532:"},
		{"/etc/group", "headcount:x:65532:"},
		{"/etc/ssl/certs/ca-certificates.crt", "-----BEGIN CERTIFICATE-----"},
	}
	for i, f := range files {
		dst := filepath.Join(dir, fmt.Sprint(i))
		if out, err := exec.Command(podman, "cp", id+":"+f.path, dst).CombinedOutput(); err != nil {
			t.Errorf("podman cp %s: %v\n%s", f.path, err, out)
			continue
		}
		data, err := os.ReadFile(dst)
		if err != nil || !bytes.Contains(data, []byte(f.want)) {
			t.Errorf("%s in the image does not hold %q (%v)", f.path, f.want, err)
		}
	}
}

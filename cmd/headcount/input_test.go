package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/headcount/headcount/internal/result"
)

// samples are the reference samples of the repository.
var samples = filepath.Join("..", "..", "testdata", "samples")

// damage returns a copy of b with 16 bytes at off inverted.
func damage(b []byte, off int) []byte {
	c := bytes.Clone(b)
	for i := off; i < off+16; i++ {
		c[i] ^= 0xff
	}
	return c
}

// TestRunDamagedInput: a truncated or corrupt compressed file ends the run
// with exit status 1 and a message naming the problem, the file and the
// position; the windows closed by the frames before it are on stdout, with
// the sample's exact counts.
func TestRunDamagedInput(t *testing.T) {
	gz, err := os.ReadFile(filepath.Join(samples, "sample-ordered.jsonl.gz"))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	var zs bytes.Buffer
	zw, err := zstd.NewWriter(&zs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write(plain); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{} // start -> "users frames", from the sample's exact counts
	counts, err := os.ReadFile(filepath.Join(samples, "sample-ordered.minute.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(counts)), "\n") {
		start, rest, _ := strings.Cut(l, " ")
		want[start] = rest
	}

	tests := []struct {
		name, problem string
		data          []byte
	}{
		{"gzip cut in half", "truncated gzip input", gz[:len(gz)/2]},
		{"gzip damaged in the middle", "corrupt gzip input", damage(gz, len(gz)/2)},
		{"zstd cut in half", "truncated zstd input", zs.Bytes()[:zs.Len()/2]},
		{"zstd damaged in the middle", "corrupt zstd input", damage(zs.Bytes(), zs.Len()/2)},
	}
	position := regexp.MustCompile(`(after|at or before byte) \d+`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := filepath.Join(t.TempDir(), "events")
			if err := os.WriteFile(in, tt.data, 0o644); err != nil {
				t.Fatal(err)
			}
			code, stdout, stderr := runMain(t, nil, "run", "--in", in)
			if code != 1 {
				t.Errorf("exit status %d, want 1; stderr:\n%s", code, stderr)
			}
			if !strings.Contains(stderr, "headcount: error: read input: "+tt.problem+" "+in+": ") || !position.MatchString(stderr) {
				t.Errorf("stderr does not name the problem, the file and the position:\n%s", stderr)
			}
			// The summary counts the frames before the damage.
			if m := regexp.MustCompile(`; (\d+) counted`).FindStringSubmatch(stderr); m == nil || m[1] == "0" {
				t.Errorf("no frames counted before the damage:\n%s", stderr)
			}
			// The minutes closed before the damage are final and exact;
			// the one still open follows as a provisional result with
			// fewer frames than the sample's.
			var got, provisional int
			sc := bufio.NewScanner(strings.NewReader(stdout))
			for sc.Scan() {
				r, err := result.Decode(sc.Bytes())
				if err != nil {
					t.Fatalf("stdout line %q: %v", sc.Text(), err)
				}
				start := fmt.Sprint(r.Start.Unix())
				var users, frames uint64
				fmt.Sscan(want[start], &users, &frames)
				switch {
				case !r.Final:
					provisional++
					if provisional > 1 || r.Users > users || r.Frames >= frames {
						t.Errorf("provisional result %s, the sample's %q", sc.Bytes(), want[start])
					}
				case provisional > 0 || r.Users != users || r.Frames != frames:
					t.Errorf("result %s, want the sample's %q", sc.Bytes(), want[start])
				default:
					got++
				}
			}
			if got == 0 || provisional != 1 {
				t.Errorf("%d final and %d provisional minutes on stdout; stderr:\n%s", got, provisional, stderr)
			}
		})
	}
}

package frame

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/headcount/headcount/internal/frame/frametest"
)

func fuzzSeeds(f *testing.F) {
	for _, s := range []string{
		`{"uid":"abc","ts":1468244384}`,
		`{"ts":"1468244384","uid":"a\u00e9\ud83d\ude00"}`,
		`{"x":{"uid":"no","ts":1},"uid":"yes","y":[{"ts":"2"}],"ts":3}`,
		`{"\u0075id":"u","t\u0073":9}`,
		`{"uid":"a","ts":1,"uid":"b"}`,
		`{"uid":"u","ts":1.5}`,
		`{"uid":"u","ts":-9223372036854775808}`,
		"{\"uid\":\"\xff\",\"ts\":1}",
		`[1,2,{"a":null}]`,
		`{"a":true,"b":false,"c":null,"d":-1.5e+3,"uid":"u","ts":0}`,
	} {
		f.Add([]byte(s))
	}
	// A few real frames of a reference sample.
	data, err := readGz(filepath.Join("..", "..", "testdata", "samples", "sample-late.jsonl.gz"))
	if err != nil {
		f.Fatalf("seed frames: %v", err)
	}
	for i, line := range bytes.Split(data, []byte("\n")) {
		if i >= 5 {
			break
		}
		f.Add(line)
	}
}

// FuzzParse checks Parse against encoding/json on any input: both agree on
// whether the frame counts, and on uid and ts when it does. It also proves
// Parse never panics.
func FuzzParse(f *testing.F) {
	fuzzSeeds(f)
	var p Parser
	f.Fuzz(func(t *testing.T, b []byte) {
		uid, ts, r := p.Parse(b)
		if r == TooDeep {
			return // intended difference: see frametest.Reference
		}
		wantUID, wantTS, ok := frametest.Reference(b)
		if (r == OK) != ok {
			t.Fatalf("Parse(%q) = %v, encoding/json ok = %v", b, r, ok)
		}
		if ok && (string(uid) != wantUID || ts != wantTS) {
			t.Fatalf("Parse(%q) = %q %d, encoding/json %q %d", b, uid, ts, wantUID, wantTS)
		}
	})
}

func readGz(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return gunzip(f)
}

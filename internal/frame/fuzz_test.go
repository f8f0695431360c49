package frame

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
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
		`{"uid":"u","ts":0,"emptyobject":{},"emptyarray":[],"number":1.5}`,
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

// FuzzParse checks Parse on every path of this machine against encoding/json
// on any input: all agree on whether the frame counts, and on uid and ts
// when it does; the paths also agree on the reason. It also proves Parse
// never panics.
func FuzzParse(f *testing.F) {
	fuzzSeeds(f)
	boundarySeeds(f)
	var p Parser
	pts := paths()
	f.Fuzz(func(t *testing.T, b []byte) {
		uid, ts, r := p.parse(b, pathScalar)
		uid = bytes.Clone(uid)
		for _, pt := range pts[1:] {
			u, v, q := p.parse(b, pt)
			if q != r || string(u) != string(uid) || v != ts {
				t.Fatalf("%v: Parse(%q) = %q %d %v, scalar %q %d %v", pt, b, u, v, q, uid, ts, r)
			}
			if validJSON(r) && !fastPath(&p, b, pt) {
				t.Fatalf("%v: %q (%v) left to the scalar walk", pt, b, r)
			}
		}
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

// validJSON: the scalar walk found the frame one valid JSON object (r is
// OK or a reason decided after the walk), which the vector paths must
// decide themselves, without the scalar walk.
func validJSON(r Reason) bool {
	switch r {
	case NotJSON, BadUTF8, TooDeep, Empty, NotObject:
		return false
	}
	return true
}

// fastPath reports whether path pt decides frame b without the scalar walk.
func fastPath(p *Parser, b []byte, pt path) bool {
	var f fields
	return p.scan(b, pt) && p.walk(b, &f)
}

// boundarySeeds are frames whose special bytes straddle the 32- and 64-byte
// boundaries of the vector paths and sit at the frame's end.
func boundarySeeds(f *testing.F) {
	for _, special := range []string{
		`\"`, `\\`, `\\\"`, `\u00e9`, `\ud83d\ude00`, "Ж", "€", "😀",
		"\xff", "\xd0", "\t", `\x`, `\u12"`,
	} {
		for _, off := range []int{20, 22, 23, 24, 52, 54, 55, 56, 57, 84, 86, 87, 118} {
			pad := strings.Repeat("a", off-len(`{"uid":"`))
			f.Add([]byte(`{"uid":"` + pad + special + `","ts":1}`))
			f.Add([]byte(`{"ts":1,"uid":"` + pad + special))
		}
	}
}

func readGz(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return gunzip(f)
}

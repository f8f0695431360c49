package frame

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"unicode/utf8"
)

// reference extracts uid and ts with encoding/json, the way a careful user
// would, applying the same rules as Parse. ok is false when the frame does
// not count.
//
// The intended differences from encoding/json, which the reference applies on
// top of it, are:
//   - invalid UTF-8 anywhere rejects the frame (encoding/json replaces it
//     with U+FFFD);
//   - a duplicated top-level uid or ts rejects the frame (encoding/json keeps
//     the last);
//   - nesting deeper than MaxDepth is rejected (encoding/json allows 10000);
//     the fuzz target skips such inputs;
//   - ts may be a string of digits.
func reference(b []byte) (uid string, ts int64, ok bool) {
	if !utf8.Valid(b) || !json.Valid(b) {
		return "", 0, false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return "", 0, false
	}
	var rawUID, rawTS json.RawMessage
	nUID, nTS := 0, 0
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return "", 0, false
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return "", 0, false
		}
		switch tok.(string) {
		case "uid":
			nUID++
			rawUID = v
		case "ts":
			nTS++
			rawTS = v
		}
	}
	if nUID != 1 || nTS != 1 || rawUID[0] != '"' {
		return "", 0, false
	}
	if err := json.Unmarshal(rawUID, &uid); err != nil || uid == "" {
		return "", 0, false
	}
	if rawTS[0] == '"' {
		var s string
		if err := json.Unmarshal(rawTS, &s); err != nil || s == "" {
			return "", 0, false
		}
		for _, c := range []byte(s) {
			if c < '0' || c > '9' {
				return "", 0, false
			}
		}
		v, err := strconv.ParseInt(s, 10, 64)
		return uid, v, err == nil
	}
	if err := json.Unmarshal(rawTS, &ts); err != nil {
		return "", 0, false
	}
	return uid, ts, true
}

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
			return // intended difference: see reference
		}
		wantUID, wantTS, ok := reference(b)
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

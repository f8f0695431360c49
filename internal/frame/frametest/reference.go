package frametest

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// Reference extracts uid and ts from frame b with encoding/json, the way a
// careful user would, applying the rules of frame.Parser (docs/SEMANTICS.md:
// what a frame is). ok is false when the frame does not count.
//
// The intended differences from encoding/json, which Reference applies on
// top of it, are:
//   - invalid UTF-8 anywhere rejects the frame (encoding/json replaces it
//     with U+FFFD);
//   - a duplicated top-level uid or ts rejects the frame (encoding/json keeps
//     the last);
//   - ts may be a string of digits.
//
// Nesting deeper than frame.MaxDepth is rejected by the parser (encoding/json
// allows 10000) but not checked here: compare Depth(b) with frame.MaxDepth,
// or skip such inputs.
func Reference(b []byte) (uid string, ts int64, ok bool) {
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
		key, err := dec.Token()
		if err != nil {
			return "", 0, false
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return "", 0, false
		}
		switch key {
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

// Depth is the deepest nesting of objects and arrays in valid JSON.
func Depth(b []byte) int {
	d, most := 0, 0
	inString, escaped := false, false
	for _, c := range b {
		switch {
		case inString && escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			d++
			most = max(most, d)
		case c == '}' || c == ']':
			d--
		}
	}
	return most
}

package frame

import (
	"fmt"
	"strings"
	"testing"
)

// refScalarOK is scalarOK as it was before its fast paths: scanNumber and
// literal, then a delimiter.
func refScalarOK(b []byte, i int) bool {
	var end int
	var r Reason
	switch c := b[i]; {
	case c == '-' || (c >= '0' && c <= '9'):
		end, _, _, r = scanNumber(b, i)
	case c == 't':
		end, r = literal(b, i, "true")
	case c == 'f':
		end, r = literal(b, i, "false")
	case c == 'n':
		end, r = literal(b, i, "null")
	default:
		return false
	}
	return r == OK && delimits(b, end)
}

// Every string of up to 5 bytes over the bytes numbers are made of (and a
// few that end them), alone and followed by more digits: scalarOK agrees
// with scanNumber, at the frame's end and before a delimiter.
func TestScalarOKNumbers(t *testing.T) {
	const alphabet = "019-+.eE x,"
	var agree, accepted int
	var walk func(s []byte)
	walk = func(s []byte) {
		if len(s) > 0 && s[0] != ' ' && s[0] != ',' {
			for _, tail := range []string{"", "0123456789", "}"} {
				b := append(append([]byte(nil), s...), tail...)
				got, want := scalarOK(b, 0), refScalarOK(b, 0)
				if got != want {
					t.Fatalf("scalarOK(%q) = %v, want %v", b, got, want)
				}
				agree++
				if got {
					accepted++
				}
			}
		}
		if len(s) == 5 {
			return
		}
		for i := 0; i < len(alphabet); i++ {
			walk(append(s, alphabet[i]))
		}
	}
	walk(nil)
	if accepted == 0 || accepted == agree {
		t.Fatalf("%d of %d accepted: the test proves nothing", accepted, agree)
	}
}

func TestScalarOK(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"0.881427", true},
		{"0.881427,", true},
		{"0.881427x", false},
		{"12345678901234567890123", true}, // digits across 8-byte words
		{"1234567890123456789012a", false},
		{"-9223372036854775808]", true},
		{"1.0e+308}", true},
		{"1.e5", false},
		{"00", false},
		{"-", false},
		{"true", true},
		{"true}", true},
		{"tru", false},
		{"truex", false},
		{"false ", true},
		{"fals", false},
		{"falsey", false},
		{"null", true},
		{"nul", false},
		{"nullx", false},
		{"x", false},
	}
	for _, tt := range tests {
		b := []byte(tt.in)
		if got := scalarOK(b[:len(b):len(b)], 0); got != tt.want || got != refScalarOK(b, 0) {
			t.Errorf("scalarOK(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// TestWalk covers stage 2's branch-free paths: keys that may be uid or ts
// (by length, first byte, whitespace, escapes, nearness to the frame's end),
// values of each kind and empty containers at the top level, batches of
// numbers and literals larger than one batch, and nesting around the 64-bit
// words of the kinds stack. Each frame gets the scalar walk's verdict on
// every path, and a valid one is decided by the vector path itself.
func TestWalk(t *testing.T) {
	var p Parser
	forEachPath(t, func(t *testing.T, pt path) {
		for _, tt := range walkCases() {
			t.Run(tt.name, func(t *testing.T) {
				b := []byte(tt.in)
				uid, ts, r := p.parse(b[:len(b):len(b)], pt)
				if r != tt.r || (r == OK && (string(uid) != tt.uid || ts != tt.ts)) {
					t.Fatalf("got %q %d %v, want %q %d %v", uid, ts, r, tt.uid, tt.ts, tt.r)
				}
				if pt != pathScalar && validJSON(r) && !fastPath(&p, b, pt) {
					t.Errorf("valid JSON left to the scalar walk")
				}
			})
		}
	})
}

type walkCase struct {
	name, in string
	uid      string
	ts       int64
	r        Reason
}

func walkCases() []walkCase {
	many := func(v string, n int) string {
		var sb strings.Builder
		for i := range n {
			fmt.Fprintf(&sb, `"k%d":%s,`, i, v)
		}
		return sb.String()
	}
	nest := func(d int, inner string) string {
		return strings.Repeat(`{"a":[`, d/2) + strings.Repeat("[", d%2) + inner + strings.Repeat("]", d%2) + strings.Repeat(`]}`, d/2)
	}
	return []walkCase{
		{"keys of escape lengths", `{"ullamco":1,"tempora":"x","uidxxxxx":[],"\u0075id":"u","t\u0073":5}`, "u", 5, OK},
		{"uid escaped at each place", `{"u\u0069d":"u","ts":5}`, "u", 5, OK},
		{"uid escaped three times", `{"\u0075\u0069\u0064":"u","ts":5}`, "u", 5, OK},
		{"escape-length key not uid", `{"\u0075ix":"v","uid":"u","ts":5}`, "u", 5, OK},
		{"whitespace before colon", "{\"uid\" :\"u\",\"ts\"\t:5,\"x\" :{}}", "u", 5, OK},
		{"uid as a prefix", `{"uidx":"v","tsx":4,"uid":"u","ts":5}`, "u", 5, OK},
		{"keys near the end", `{"ts":5,"uid":"u"}`, "u", 5, OK},
		{"short keys near the end", `{"uid":"u","ts":5,"a":1}`, "u", 5, OK},
		{"ts last, near the end", `{"uid":"u","ts":5}`, "u", 5, OK},
		{"empty values", `{"a":{},"b":[],"uid":"u","c":{ },"d":[ ],"ts":5,"e":{}}`, "u", 5, OK},
		{"empty value last", `{"uid":"u","ts":5,"e":[]}`, "u", 5, OK},
		{"frame ends after an empty object", `{"uid":"u","ts":5,"abcdefghij":{}`, "", 0, NotJSON},
		{"frame ends after an empty array", `{"uid":"u","ts":5,"abcdefghij":[]`, "", 0, NotJSON},
		{"frame ends after a string", `{"uid":"u","ts":5,"abcdefghij":"s"`, "", 0, NotJSON},
		{"frame ends after a number", `{"uid":"u","ts":5,"abcdefghij":12`, "", 0, NotJSON},
		{"every top-level kind", `{"a":"s","b":1,"c":-2.5e3,"d":true,"e":false,"f":null,"g":{"x":1},"h":[1],"uid":"u","ts":5}`, "u", 5, OK},
		{"one batch of scalars", `{` + many("1", 31) + `"uid":"u","ts":5}`, "u", 5, OK},
		{"batches of scalars", `{` + many("0.5", 100) + `"uid":"u","ts":5}`, "u", 5, OK},
		{"bad scalar in first batch", `{"a":1x,` + many("true", 40) + `"uid":"u","ts":5}`, "", 0, NotJSON},
		{"bad scalar in a full batch", `{` + many("1", 31) + `"z":tru,"uid":"u","ts":5}`, "", 0, NotJSON},
		{"bad scalar in last batch", `{` + many("1", 40) + `"uid":"u","ts":5,"z":nul}`, "", 0, NotJSON},
		{"bad scalar last", `{"uid":"u","ts":5,"z":1.}`, "", 0, NotJSON},
		{"number at the end", `{"uid":"u","ts":5`, "", 0, NotJSON},
		{"value not a value", `{"uid":"u","ts":5,"z":x}`, "", 0, NotJSON},
		{"value a closer", `{"uid":"u","ts":5,"z":]}`, "", 0, NotJSON},
		{"empty with wrong closer", `{"uid":"u","ts":5,"z":[}}`, "", 0, NotJSON},
		{"empty with wrong closer 2", `{"uid":"u","ts":5,"z":{]}`, "", 0, NotJSON},
		{"ts empty object", `{"uid":"u","ts":{}}`, "", 0, BadTS},
		{"uid empty array", `{"uid":[],"ts":5}`, "", 0, BadUID},
		{"depth 62", `{"uid":"u","ts":5,"x":` + nest(62, "1") + `}`, "u", 5, OK},
		{"depth 63", `{"uid":"u","ts":5,"x":` + nest(63, `"s"`) + `}`, "u", 5, OK},
		{"depth 64", `{"uid":"u","ts":5,"x":` + nest(64, "{}") + `}`, "u", 5, OK},
		{"depth 65", `{"uid":"u","ts":5,"x":` + nest(65, "[]") + `}`, "u", 5, OK},
		{"depth 66 bad", `{"uid":"u","ts":5,"x":` + nest(66, "1x") + `}`, "", 0, NotJSON},
		{"deepest empty", `{"uid":"u","ts":5,"x":` + nest(MaxDepth-2, "{}") + `}`, "u", 5, OK},
		{"too deep empty", `{"uid":"u","ts":5,"x":` + nest(MaxDepth-1, "{}") + `}`, "", 0, TooDeep},
	}
}

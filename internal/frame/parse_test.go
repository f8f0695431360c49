package frame

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		uid  string
		ts   int64
		r    Reason
	}{
		{"plain", `{"uid":"abc","ts":1468244384}`, "abc", 1468244384, OK},
		{"ts first", `{"ts":1468244384,"uid":"abc"}`, "abc", 1468244384, OK},
		{"ts as digit string", `{"uid":"abc","ts":"1468244384"}`, "abc", 1468244384, OK},
		{"ts string with escape", `{"uid":"a","ts":"14\u0036"}`, "a", 146, OK},
		{"whitespace everywhere", " \t{ \"uid\" :\n\"a\" , \"ts\"\r: 7 }\t ", "a", 7, OK},
		{"CR left by a CRLF line", "{\"uid\":\"a\",\"ts\":7}\r", "a", 7, OK},
		{"nested decoys", `{"x":{"uid":"no","ts":1},"uid":"yes","y":[{"ts":"2","uid":{"uid":"z"}}],"ts":3}`, "yes", 3, OK},
		{"decoy in array of arrays", `{"a":[[["uid","ts"]]],"uid":"u","ts":1}`, "u", 1, OK},
		{"duplicate other keys", `{"k":1,"k":2,"uid":"u","k":{},"ts":5}`, "u", 5, OK},
		{"escapes in uid", `{"uid":"a\"b\\c\/d\b\f\n\r\t","ts":1}`, "a\"b\\c/d\b\f\n\r\t", 1, OK},
		{"unicode escape in uid", `{"uid":"\u00e9\u0416","ts":1}`, "éЖ", 1, OK},
		{"surrogate pair", `{"uid":"\ud83d\ude00","ts":1}`, "😀", 1, OK},
		{"lone surrogate becomes U+FFFD", `{"uid":"\ud83dx","ts":1}`, "\uFFFDx", 1, OK},
		{"escaped key is uid", `{"\u0075id":"u","t\u0073":9}`, "u", 9, OK},
		{"utf8 text", `{"note":"Все впечатленья бытия","uid":"ж","ts":1}`, "ж", 1, OK},
		{"negative ts", `{"uid":"u","ts":-5}`, "u", -5, OK},
		{"minus zero", `{"uid":"u","ts":-0}`, "u", 0, OK},
		{"max int64", `{"uid":"u","ts":9223372036854775807}`, "u", 9223372036854775807, OK},
		{"min int64", `{"uid":"u","ts":-9223372036854775808}`, "u", -9223372036854775808, OK},
		{"every value type", `{"a":true,"b":false,"c":null,"d":-1.5e+3,"e":0,"f":[],"g":{},"uid":"u","ts":1}`, "u", 1, OK},

		{"nested empties", `{"uid":"u","ts":1,"n":[[[]],{},[{}]]}`, "u", 1, OK},
		{"every value nested", `{"ts":1,"uid":"u","x":[{"a":[1,{"b":[true,false,null,"s",-0.5e-3]}]}]}`, "u", 1, OK},
		{"whitespace between all tokens", "{ \"uid\" : \"u\" , \"ts\" : 1 , \"x\" : [ 1 , true , { \"a\" : null } ] }", "u", 1, OK},
		{"numbers end at operators", `{"uid":"u","ts":1,"x":[1,2.5],"y":{"a":1e5},"z":-0}`, "u", 1, OK},

		{"blank", "  ", "", 0, Empty},
		{"empty", "", "", 0, Empty},
		{"array", `[1,2]`, "", 0, NotObject},
		{"string", `"uid"`, "", 0, NotObject},
		{"truncated", `{"uid":"u","ts":1`, "", 0, NotJSON},
		{"truncated string", `{"uid":"u`, "", 0, NotJSON},
		{"trailing garbage", `{"uid":"u","ts":1}x`, "", 0, NotJSON},
		{"two objects", `{"uid":"u","ts":1}{"uid":"u","ts":1}`, "", 0, NotJSON},
		{"trailing comma", `{"uid":"u","ts":1,}`, "", 0, NotJSON},
		{"single quotes", `{'uid':'u','ts':1}`, "", 0, NotJSON},
		{"bad escape", `{"uid":"\x","ts":1}`, "", 0, NotJSON},
		{"short unicode escape", `{"uid":"\u12","ts":1}`, "", 0, NotJSON},
		{"raw control char", "{\"uid\":\"a\tb\",\"ts\":1}", "", 0, NotJSON},
		{"leading zero", `{"uid":"u","ts":01}`, "", 0, NotJSON},
		{"bad literal", `{"uid":"u","ts":1,"x":tru}`, "", 0, NotJSON},
		{"nested syntax error", `{"x":[1,{"a":}],"uid":"u","ts":1}`, "", 0, NotJSON},
		// Stage 2 reads only the first byte of a token: the rest must be checked.
		{"junk after nested number", `{"a":[1x],"uid":"u","ts":1}`, "", 0, NotJSON},
		{"junk after nested literal", `{"a":[truex],"uid":"u","ts":1}`, "", 0, NotJSON},
		{"junk after literal in object", `{"a":{"b":nullx},"uid":"u","ts":1}`, "", 0, NotJSON},
		{"junk after top-level literal", `{"a":falsey,"uid":"u","ts":1}`, "", 0, NotJSON},
		{"junk after string", `{"a":"s"x,"uid":"u","ts":1}`, "", 0, NotJSON},
		{"junk after key", `{"a"x:1,"uid":"u","ts":1}`, "", 0, NotJSON},
		{"string right after number", `{"a":1"b","uid":"u","ts":1}`, "", 0, NotJSON},
		{"two numbers", `{"a":[1 2],"uid":"u","ts":1}`, "", 0, NotJSON},
		{"lone minus", `{"a":-,"uid":"u","ts":1}`, "", 0, NotJSON},
		{"junk after ts", `{"uid":"u","ts":1x}`, "", 0, NotJSON},
		{"junk after uid number", `{"uid":5x,"ts":1}`, "", 0, NotJSON},
		{"form feed between tokens", "{\"a\":[1,\f2],\"uid\":\"u\",\"ts\":1}", "", 0, NotJSON},
		{"0x1A as a value", "{\"a\":\x1a,\"uid\":\"u\",\"ts\":1}", "", 0, NotJSON},
		{"backslash outside strings", `{"a":\"b","uid":"u","ts":1}`, "", 0, NotJSON},
		{"key without colon", `{"a" "b","uid":"u","ts":1}`, "", 0, NotJSON},
		{"array closed by brace", `{"a":[1},"uid":"u","ts":1}`, "", 0, NotJSON},
		{"object closed by bracket", `{"a":{"b":1],"uid":"u","ts":1}`, "", 0, NotJSON},
		{"comma after open", `{"a":[,1],"uid":"u","ts":1}`, "", 0, NotJSON},
		{"value as key", `{"a":{1:2},"uid":"u","ts":1}`, "", 0, NotJSON},
		{"top-level value missing", `{"uid":"u","ts":1,"a":}`, "", 0, NotJSON},
		{"invalid utf8", "{\"uid\":\"\xff\",\"ts\":1}", "", 0, BadUTF8},
		{"overlong utf8", "{\"x\":\"\xc0\xaf\",\"uid\":\"u\",\"ts\":1}", "", 0, BadUTF8},
		{"utf8 surrogate half", "{\"x\":\"\xed\xa0\x80\",\"uid\":\"u\",\"ts\":1}", "", 0, BadUTF8},
		{"binary garbage", "\x00\x01\x02\xfe", "", 0, NotJSON},
		{"no uid", `{"ts":1,"x":{"uid":"nested"}}`, "", 0, NoUID},
		{"no ts", `{"uid":"u","x":{"ts":1}}`, "", 0, NoTS},
		{"empty object", `{}`, "", 0, NoUID},
		{"dup uid", `{"uid":"a","ts":1,"uid":"b"}`, "", 0, DupUID},
		{"dup uid via escape", `{"uid":"a","ts":1,"\u0075id":"b"}`, "", 0, DupUID},
		{"dup ts", `{"uid":"a","ts":1,"ts":2}`, "", 0, DupTS},
		{"uid number", `{"uid":5,"ts":1}`, "", 0, BadUID},
		{"uid object", `{"uid":{"id":"x"},"ts":1}`, "", 0, BadUID},
		{"uid null", `{"uid":null,"ts":1}`, "", 0, BadUID},
		{"empty uid", `{"uid":"","ts":1}`, "", 0, EmptyUID},
		{"ts float", `{"uid":"u","ts":1.5}`, "", 0, BadTS},
		{"ts exponent", `{"uid":"u","ts":1e9}`, "", 0, BadTS},
		{"ts overflow", `{"uid":"u","ts":9223372036854775808}`, "", 0, BadTS},
		{"ts huge", `{"uid":"u","ts":123456789012345678901234567890}`, "", 0, BadTS},
		{"ts string not digits", `{"uid":"u","ts":"12a"}`, "", 0, BadTS},
		{"ts empty string", `{"uid":"u","ts":""}`, "", 0, BadTS},
		{"ts negative string", `{"uid":"u","ts":"-5"}`, "", 0, BadTS},
		{"ts string overflow", `{"uid":"u","ts":"99999999999999999999"}`, "", 0, BadTS},
		{"ts bool", `{"uid":"u","ts":true}`, "", 0, BadTS},
		{"too deep", `{"uid":"u","ts":1,"x":` + strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth) + `}`, "", 0, TooDeep},
		{"deep but allowed", `{"uid":"u","ts":1,"x":` + strings.Repeat("[", MaxDepth-1) + strings.Repeat("]", MaxDepth-1) + `}`, "u", 1, OK},
	}
	var p Parser
	forEachPath(t, func(t *testing.T, pt path) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				uid, ts, r := p.parse([]byte(tt.in), pt)
				if r != tt.r {
					t.Fatalf("reason = %v, want %v", r, tt.r)
				}
				if pt != pathScalar && validJSON(r) && !fastPath(&p, []byte(tt.in), pt) {
					t.Errorf("valid JSON left to the scalar walk")
				}
				if r != OK {
					return
				}
				if string(uid) != tt.uid || ts != tt.ts {
					t.Errorf("got uid %q ts %d, want %q %d", uid, ts, tt.uid, tt.ts)
				}
			})
		}
	})
}

// forEachPath runs f once for each path of this machine, so that CI tests
// every path its machine has.
func forEachPath(t *testing.T, f func(t *testing.T, pt path)) {
	for _, pt := range paths() {
		t.Run(pt.String(), func(t *testing.T) { f(t, pt) })
	}
}

// Every prefix of a valid frame is incomplete and must be rejected, and
// every proper prefix must be rejected without reading past its end.
func TestParsePrefixes(t *testing.T) {
	full := `{"a":[1,-2.5e3,true,false,null,{"uid":"x"}],"emptyobject":{},"emptyarray":[],"uid":"a\u00e9\"b","ts":"12","z":"Жж\n"}`
	var p Parser
	forEachPath(t, func(t *testing.T, pt path) {
		if _, _, r := p.parse([]byte(full), pt); r != OK {
			t.Fatalf("full frame: %v", r)
		}
		for n := 0; n < len(full); n++ {
			b := []byte(full[:n])
			b = b[:n:n]
			if _, _, r := p.parse(b, pt); r == OK {
				t.Errorf("prefix %q accepted", b)
			}
		}
	})
}

func TestReasonString(t *testing.T) {
	seen := map[string]bool{}
	for r := OK; r < NumReasons; r++ {
		s := r.String()
		if s == "" || s == "unknown" || seen[s] {
			t.Errorf("reason %d has name %q", r, s)
		}
		seen[s] = true
	}
	if NumReasons.String() != "unknown" {
		t.Error("out-of-range reason must print unknown")
	}
}

func TestParseTrustProducer(t *testing.T) {
	tests := []struct {
		name string
		in   string
		uid  string
		r    Reason
	}{
		{"valid frame", `{"a":[1,{"uid":"x"}],"uid":"u","ts":5,"z":"Жж"}`, "u", OK},
		{"broken after the keys counts", `{"uid":"u","ts":5,"z":[1,`, "u", OK},
		{"invalid UTF-8 after the keys counts", "{\"uid\":\"u\",\"ts\":5,\"z\":\"\xff\"}", "u", OK},
		{"repeated uid after both keys counts", `{"uid":"u","ts":5,"uid":"v"}`, "u", OK},
		{"broken before the keys is rejected", `{"a":[1,,"uid":"u","ts":5}`, "", NotJSON},
		{"repeated uid before ts is rejected", `{"uid":"u","uid":"v","ts":5}`, "", DupUID},
		{"bad ts is rejected", `{"uid":"u","ts":"x","z":1}`, "", BadTS},
		{"keys last: whole frame read", `{"a":1,"uid":"u","ts":5}`, "u", OK},
	}
	p := Parser{TrustProducer: true}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			uid, _, r := p.Parse([]byte(tt.in))
			if r != tt.r || string(uid) != tt.uid {
				t.Errorf("got %q %v, want %q %v", uid, r, tt.uid, tt.r)
			}
		})
	}
}

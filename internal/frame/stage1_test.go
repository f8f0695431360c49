package frame

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// vectorPaths are the paths of this machine that have a stage 1.
func vectorPaths() []path {
	return paths()[1:]
}

// refStage1 is stage 1 written byte by byte: the masks (two words per
// 64-byte block, the tail padded with spaces) and the verdict that the
// vector code must reproduce exactly.
func refStage1(b []byte) (masks []uint64, ok bool) {
	n := len(b)>>6 + 1
	masks = make([]uint64, 2*n)
	ok = utf8.Valid(b)
	in, escaped := false, false
	at := func(i int) byte {
		if i < len(b) {
			return b[i]
		}
		return ' '
	}
	for i := 0; i < n*64; i++ {
		c, w, bit := at(i), i>>6*2, uint64(1)<<(i&63)
		if c == '\\' {
			masks[w+1] |= bit
		}
		switch {
		case escaped:
			escaped = false
			if !strings.ContainsRune(`"\/bfnrtu`, rune(c)) {
				ok = false
			}
			if c == 'u' {
				for j := 1; j <= 4; j++ {
					if !isHex(at(i + j)) {
						ok = false
					}
				}
			}
		case c == '\\':
			escaped = true
		case c == '"':
			masks[w] |= bit
			in = !in
		case in && c < 0x20:
			ok = false
		}
	}
	return masks, ok
}

// runStage1 runs path pt's stage 1 over b as Parser.scan does.
func runStage1(pt path, b []byte) ([]uint64, bool) {
	masks := make([]uint64, 2*(len(b)>>6+1))
	ok := stage1(pt, b, masks)
	return masks, ok
}

func checkStage1(t *testing.T, b []byte) {
	t.Helper()
	want, wantOK := refStage1(b)
	for _, pt := range vectorPaths() {
		got, ok := runStage1(pt, b)
		if ok != wantOK {
			t.Fatalf("%v: stage 1 of %q = %v, want %v", pt, b, ok, wantOK)
		}
		for i := range want {
			if got[i] != want[i] {
				kind := [2]string{"quotes", "backslashes"}[i%2]
				t.Fatalf("%v: %s of block %d of %q = %064b, want %064b", pt, kind, i/2, b, got[i], want[i])
			}
		}
	}
}

// stage1Cases are short texts whose special bytes are then placed at every
// offset around the 32- and 64-byte boundaries and at the frame's end.
var stage1Cases = []struct{ name, text string }{
	{"quote", `"a"`},
	{"escaped quote", `"\""`},
	{"two backslashes then quote", `"\\"`},
	{"three backslashes then quote", `"\\\""`},
	{"long backslash run", `"\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\"`},
	{"every escape", `"\"\\\/\b\f\n\r\t\u00e9\uABCD"`},
	{"bad escape", `"\x"`},
	{"escaped non-ASCII", "\"\\\xc3\xa9\""},
	{"escaped control", "\"\\\x01\""},
	{"short unicode escape", `"\u12"`},
	{"unicode escape with G", `"\u12G4"`},
	{"unicode escape into quote", `"\u00"`},
	{"dangling backslash", `"\`},
	{"dangling unicode escape", `"\u00e`},
	{"tab in string", "\"a\tb\""},
	{"tab outside string", "{\t}"},
	{"newline in string", "\"a\nb\""},
	{"DEL in string", "\"a\x7fb\""},
	{"two-byte UTF-8", `"Жж"`},
	{"three-byte UTF-8", `"€"`},
	{"four-byte UTF-8", `"😀"`},
	{"truncated two-byte", "\"\xd0\""},
	{"truncated four-byte", "\"\xf0\x9f\x98\""},
	{"overlong", "\"\xc0\xaf\""},
	{"overlong three-byte", "\"\xe0\x80\xaf\""},
	{"surrogate", "\"\xed\xa0\x80\""},
	{"above U+10FFFF", "\"\xf4\x90\x80\x80\""},
	{"lone continuation", "\"\x80\""},
	{"two continuations", "\"\xc3\xa9\xa9\""},
	{"0xFF", "\"\xff\""},
	{"non-ASCII outside string", "\xc3\xa9"},
	{"lead at the end", "\xe2"},
}

func TestStage1(t *testing.T) {
	if len(vectorPaths()) == 0 {
		t.Skip("no vector path on this machine")
	}
	for _, tc := range stage1Cases {
		t.Run(tc.name, func(t *testing.T) {
			// Offsets 0..130 put the text across both 32- and both
			// 64-byte boundaries of the first blocks, and the frame ends
			// right after it, so it is also the tail at every length.
			for off := 0; off <= 130; off++ {
				for _, fill := range []string{"a", `"`, " "} {
					b := []byte(strings.Repeat(fill, off) + tc.text)
					checkStage1(t, b)
					checkStage1(t, append(b, `"x"`...))
				}
			}
		})
	}
}

// TestStage1Lengths runs frames of every length up to three blocks, whole
// and cut, through every path: the tail copy and the block count.
func TestStage1Lengths(t *testing.T) {
	if len(vectorPaths()) == 0 {
		t.Skip("no vector path on this machine")
	}
	for n := 0; n <= 200; n++ {
		var b bytes.Buffer
		b.WriteString(`{"uid":"`)
		for b.Len() < n {
			fmt.Fprintf(&b, `\"é%d`, b.Len())
		}
		checkStage1(t, b.Bytes()[:n])
		checkStage1(t, append(b.Bytes()[:n:n], `"}`...))
	}
}

// FuzzStage1 checks every vector path's masks and verdict against
// refStage1 on any input.
func FuzzStage1(f *testing.F) {
	fuzzSeeds(f)
	for _, tc := range stage1Cases {
		for _, off := range []int{0, 29, 31, 32, 61, 62, 63, 64, 95, 127} {
			f.Add([]byte(strings.Repeat("a", off) + tc.text))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkStage1(t, b)
	})
}

// TestPaths: the scalar path is always there, and Parse takes the last
// (best) one, which Path names.
func TestPaths(t *testing.T) {
	ps := paths()
	if ps[0] != pathScalar || active != ps[len(ps)-1] || Path() != active.String() {
		t.Fatalf("paths %v, active %v, Path() %q", ps, active, Path())
	}
	t.Logf("paths on this machine: %v", ps)
}

package frame

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// vectorPaths are the paths of this machine that have a stage 1.
func vectorPaths() []path {
	return paths()[1:]
}

// refStage1 is stage 1 written byte by byte (the tail padded with spaces to
// a 64-byte block): the structural indexes and the verdict that the vector
// code must reproduce exactly.
func refStage1(b []byte) (idx []uint32, ok bool) {
	n := len(b)>>6 + 1
	ok = utf8.Valid(b)
	in, escaped, prevScalar := false, false, false
	at := func(i int) byte {
		if i < len(b) {
			return b[i]
		}
		return ' '
	}
	for i := 0; i < n*64; i++ {
		c := at(i)
		quote, tail := false, in // tail: inside a string but its opening quote
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
			quote, in = true, !in
		case in && c < 0x20:
			ok = false
		}
		// Operators as stage 1's table finds them: two control characters
		// too, which the walk rejects.
		op := strings.IndexByte(",:[]{}\x0c\x1a", c) >= 0
		scalar := !op && !strings.ContainsRune(" \t\n\r", rune(c))
		if (op || scalar && !prevScalar) && !tail {
			idx = append(idx, uint32(i))
		}
		prevScalar = scalar && !quote
	}
	return idx, ok
}

// runStage1 runs path pt's stage 1 over b as Parser.scan does.
func runStage1(pt path, b []byte) ([]uint32, bool) {
	var p Parser
	ok := p.scan(b, pt)
	return p.idx, ok
}

func checkStage1(t *testing.T, b []byte) {
	t.Helper()
	wantIdx, wantOK := refStage1(b)
	for _, pt := range vectorPaths() {
		idx, ok := runStage1(pt, b)
		if ok != wantOK {
			t.Fatalf("%v: stage 1 of %q = %v, want %v", pt, b, ok, wantOK)
		}
		if ok && fmt.Sprint(idx) != fmt.Sprint(wantIdx) {
			t.Fatalf("%v: structural indexes of %q = %v, want %v", pt, b, idx, wantIdx)
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
	// More than 16 tokens in a block: the flattening's loop past its
	// first sixteen.
	{"dense tokens", "[" + strings.Repeat("1,", 40) + "[],{},[{}]]"},
	{"dense operators", strings.Repeat("[", 40) + strings.Repeat("]", 40)},
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

// FuzzStage1 checks every vector path's structural indexes and verdict
// against refStage1 on any input.
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

// TestLargeFrame parses a 1 MiB frame (the reader's default limit) of dense
// tokens and long strings on every path: stage 1's buffer grows, and the
// verdicts and values stay the scalar walk's.
func TestLargeFrame(t *testing.T) {
	var b bytes.Buffer
	b.WriteString(`{"a":[`)
	for b.Len() < 1<<20-200 {
		fmt.Fprintf(&b, `%d,"Жж\"%d",{"k":[true,null,-1.5e3]},`, b.Len(), b.Len())
	}
	b.WriteString(`0],"uid":"big","ts":7}`)
	frame := b.Bytes()
	checkStage1(t, frame)
	var p Parser
	for _, pt := range paths() {
		uid, ts, r := p.parse(frame, pt)
		if r != OK || string(uid) != "big" || ts != 7 {
			t.Fatalf("%v: %q %d %v", pt, uid, ts, r)
		}
		if pt != pathScalar && !fastPath(&p, frame, pt) {
			t.Fatalf("%v: left to the scalar walk", pt)
		}
		p.parse(frame, pt)
		if cap(p.idx) > maxKeptIndexes {
			t.Errorf("%v: kept %d indexes after a long frame", pt, cap(p.idx))
		}
	}
	// Cut anywhere, it is rejected the same way on every path.
	for _, n := range []int{1 << 19, 1<<20 - 100, len(frame) - 1} {
		_, _, want := p.parse(frame[:n], pathScalar)
		for _, pt := range vectorPaths() {
			if _, _, r := p.parse(frame[:n], pt); r != want || r == OK {
				t.Errorf("%v: cut at %d: %v, scalar %v", pt, n, r, want)
			}
		}
	}
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

// TestSamples runs the 4,000 reference frames of testdata/samples through
// every path: the same verdicts as the scalar walk, and every frame decided
// without it.
func TestSamples(t *testing.T) {
	var p Parser
	for _, name := range []string{"sample-late.jsonl.gz", "sample-ordered.jsonl.gz"} {
		data, err := readGz(filepath.Join("..", "..", "testdata", "samples", name))
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
			uid, ts, r := p.parse(b, pathScalar)
			if r != OK {
				t.Fatalf("%s: scalar %v on %q", name, r, b)
			}
			uid = bytes.Clone(uid)
			for _, pt := range vectorPaths() {
				if !fastPath(&p, b, pt) {
					t.Fatalf("%v: %q left to the scalar walk", pt, b)
				}
				if u, v, q := p.parse(b, pt); q != r || string(u) != string(uid) || v != ts {
					t.Fatalf("%v: %q = %q %d %v, scalar %q %d %v", pt, b, u, v, q, uid, ts, r)
				}
			}
		}
	}
}

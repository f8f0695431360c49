package frame

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// checkLines runs ParseLine over every line of run on every path, with the
// frame limit max, and checks each against the reference: the line's end is
// the first newline's, and the verdict, uid and ts are the scalar Parse's
// of the line without a final '\r' (TooLarge past max). On the AVX-512
// paths it also checks the line scan against stage 1 over the line alone.
func checkLines(t *testing.T, run []byte, max int) {
	t.Helper()
	var p, ref Parser
	for _, pt := range paths() {
		rest := run
		for len(rest) > 0 {
			want := bytes.IndexByte(rest, '\n')
			if want < 0 {
				want = len(rest)
			}
			line := trimCR(rest[:want])
			wr := TooLarge
			var wuid []byte
			var wts int64
			if len(line) <= max {
				wuid, wts, wr = ref.parse(line, pathScalar)
			}
			n, uid, ts, r := p.parseLineOn(rest, max, pt)
			if n != want || r != wr || string(uid) != string(wuid) || ts != wts {
				t.Fatalf("%v: ParseLine(%.80q) = %d %q %d %v, want %d %q %d %v", pt, rest, n, uid, ts, r, want, wuid, wts, wr)
			}
			checkLineScan(t, rest, pt)
			rest = rest[min(n+1, len(rest)):]
		}
	}
}

// checkLineScan: the line scan of rest gives stage 1's indexes and verdict
// over rest's first line alone, and that line's end.
func checkLineScan(t *testing.T, rest []byte, pt path) {
	t.Helper()
	win := rest[:min(len(rest), lineWindow)]
	var a, b Parser
	n, end, ok := stage1Line(pt, win, a.indexBuf(len(win)))
	if !ok {
		return
	}
	want := bytes.IndexByte(win, '\n')
	if want < 0 {
		want = len(win)
	}
	m := stage1(pt, win[:want], b.indexBuf(want))
	if end != want || n != m || (n > 0 && fmt.Sprint(a.idx[:n]) != fmt.Sprint(b.idx[:m])) {
		t.Fatalf("%v: line scan of %.80q: %d indexes, end %d; stage 1 of the line: %d, end %d", pt, rest, n, end, m, want)
	}
}

// TestParseLine: runs of frames cut at their newlines by the parser, with
// the newline at every offset around the 64-byte blocks, CRLF line ends,
// no final newline, empty lines, bad frames, escapes and multi-byte
// characters cut by the line's end, lines too large, and lines longer than
// the window the line scan looks in.
func TestParseLine(t *testing.T) {
	good := func(pad int) string {
		return fmt.Sprintf(`{"uid":"u%d","ts":1468244384,"p":"%s"}`, pad, strings.Repeat("x", pad))
	}
	var runs []string
	for pad := 0; pad < 140; pad++ {
		runs = append(runs, good(pad)+"\n"+good(pad+1)+"\r\n"+good(3))
	}
	runs = append(runs,
		"", "\n", "\n\n\r\n", "\r", good(1)+"\n",
		`{"uid":"a\`+"\n"+good(2), // a backslash, then the newline
		`{"uid":"a\u00`+"\n"+good(2),
		"{\"uid\":\"\xd0\n"+good(2), // a two-byte sequence cut by the newline
		`{"uid":"x","ts":1}`+"\r\r\n"+`{"uid":"y","ts":2}`,
		`{"uid":"x","ts":12`+"\n"+`3}`,
		`not json`+"\n"+`{"uid":"u","ts":1,"uid":"v"}`,
		good(lineWindow)+"\n"+good(2),    // past the window
		good(lineWindow-40)+"\n"+good(5), // the newline near the window's end
		good(300)+"\n"+good(5)+"\n"+good(299),
	)
	for i, run := range runs {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			checkLines(t, []byte(run), 1<<20)
			checkLines(t, []byte(run), len(good(300))) // good(300) fits, longer ones do not
		})
	}
}

// FuzzParseLine checks ParseLine on every path against the scalar Parse of
// each line found with bytes.IndexByte, and the line scan against stage 1
// of the line alone, on runs of fuzzed lines.
func FuzzParseLine(f *testing.F) {
	fuzzSeeds(f)
	boundarySeeds(f)
	f.Add([]byte("{\"uid\":\"a\",\"ts\":1}\r\n{\"uid\":\"b\",\"ts\":2}\n\n{"))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkLines(t, b, 1<<20)
		checkLines(t, b, 40)
		// The same with newlines in place of some bytes, so that the line
		// ends fall inside strings, escapes and sequences.
		c := bytes.Clone(b)
		for i := 7; i < len(c); i += 61 {
			c[i] = '\n'
		}
		checkLines(t, c, 1<<20)
	})
}

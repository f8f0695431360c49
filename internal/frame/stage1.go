package frame

import "math/bits"

// A path is how Parse reads a frame: the scalar walk alone, or a vector
// stage 1 over the whole frame and then the same walk, which takes each
// string's end from stage 1's quote mask instead of reading the string.
type path uint8

const (
	pathScalar path = iota
	pathAVX2
	pathAVX512
)

var pathNames = [...]string{pathScalar: "scalar", pathAVX2: "avx2", pathAVX512: "avx512"}

func (p path) String() string { return pathNames[p] }

// active is the path Parse takes: the best this CPU has. Tests take every
// path through Parser.parse.
var active = best()

func best() path {
	ps := paths()
	return ps[len(ps)-1]
}

// Path names the way this machine parses frames: "avx512", "avx2" or
// "scalar".
func Path() string { return active.String() }

// Why stage 1 plus the walk gives the scalar walk's verdicts.
//
// Stage 1 (the vector code, stage1_amd64.s) passes a frame only if every
// escape in it is valid, no control character is inside a string and all
// of it is valid UTF-8, where "inside a string" is decided by quote parity
// from the frame's start (a quote escaped by an odd run of backslashes does
// not count). The walk then reads every byte outside strings itself, as the
// scalar walk does, and jumps from an opening quote to the next unescaped
// quote. Outside strings, the walk stops at the first quote or backslash
// that is not where a string may start (a backslash never is), so every
// string it enters starts at an unescaped quote of even parity: its strings
// are stage 1's strings, whose contents stage 1 validated, and it meets the
// same bytes in the same order as the scalar walk. So both return the same
// first error, or the same uid and ts. When stage 1 fails, Parse takes the
// scalar walk, which says what the error is: the reasons stay those of the
// scalar walk by construction. FuzzParse checks all of it against every
// path and encoding/json.

// scan runs stage 1 over b on path pt and keeps its masks in p.bits when
// the frame passes; p.bits is nil otherwise.
func (p *Parser) scan(b []byte, pt path) {
	p.bits = nil
	words := 2 * (len(b)>>6 + 1) // the last block is the tail, padded
	if cap(p.buf) < words {
		p.buf = make([]uint64, words+words/4)
	}
	if stage1(pt, b, p.buf[:words]) {
		p.bits = p.buf[:words]
	}
}

// nextQuote is the index of the first unescaped quote at or after i, from
// stage 1's masks: the end of a string whose body starts at i.
func (p *Parser) nextQuote(i int) (int, Reason) {
	m := p.bits
	w := i >> 6 << 1
	if q := m[w] >> (i & 63); q != 0 {
		return i + bits.TrailingZeros64(q), OK
	}
	for w += 2; w < len(m); w += 2 {
		if m[w] != 0 {
			return w<<5 + bits.TrailingZeros64(m[w]), OK
		}
	}
	return 0, NotJSON
}

// anyBackslash reports whether b[from:to] holds a backslash, from stage 1's
// masks.
func (p *Parser) anyBackslash(from, to int) bool {
	for from < to {
		w := from >> 6
		m := p.bits[2*w+1] >> (from & 63)
		if n := to - from; n < 64 {
			m &= 1<<n - 1
		}
		if m != 0 {
			return true
		}
		from = (w + 1) << 6
	}
	return false
}

// str scans the string whose body starts at i: its closing quote and
// whether it has escapes.
func (p *Parser) str(b []byte, i int) (end int, esc bool, r Reason) {
	if p.bits == nil {
		return scanString(b, i)
	}
	if end, r = p.nextQuote(i); r != OK {
		return 0, false, r
	}
	return end, p.anyBackslash(i, end), OK
}

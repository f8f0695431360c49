package frame

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth is the deepest nesting accepted. encoding/json allows 10000; a
// real frame is a few levels deep, and the bound keeps the state in a fixed
// bit stack.
const MaxDepth = 1024

// Parser extracts uid and ts from frames. The zero value is ready to use; a
// Parser is not safe for concurrent use (each worker owns one), because it
// keeps a scratch buffer for uids that contain escapes.
type Parser struct {
	// TrustProducer stops reading a frame once its top-level uid and ts
	// are found: the rest is neither read nor validated, so a frame that
	// is broken after them, or repeats uid or ts after them, counts. About
	// twice as fast on the reference frames; opt-in (run --trust-producer)
	// for producers known to write valid JSON.
	TrustProducer bool

	scratch []byte
	// idx is stage 1's output for the frame being parsed (stage1.go): its
	// structural indexes. Kept for its capacity.
	idx []uint32
	// stack holds one bit per open container (1 object, 0 array); kept
	// here so skipValue does not clear it on every call.
	stack [MaxDepth / 64]uint64
}

// Parse validates line (one frame, without its line terminator) and returns
// its top-level uid and ts. uid aliases line, or the Parser's scratch buffer
// when the uid contains escapes; it is valid until the next call. r is OK
// when the frame counts.
func (p *Parser) Parse(line []byte) (uid []byte, ts int64, r Reason) {
	return p.parse(line, active)
}

// parse is Parse on path pt. A vector path that finds the frame wrong in
// any way leaves the verdict to the scalar walk (stage1.go says why the
// paths agree). TrustProducer takes the scalar path: it reads only up to uid
// and ts, where stage 1 would read the whole frame.
func (p *Parser) parse(line []byte, pt path) (uid []byte, ts int64, r Reason) {
	if pt != pathScalar && !p.TrustProducer {
		var f fields
		ok := p.scan(line, pt) && p.walk(line, &f)
		if cap(p.idx) > maxKeptIndexes {
			p.idx = nil // a rare long frame: 4 bytes an input byte
		}
		if ok {
			return p.verdict(line, &f)
		}
	}
	b := line
	i := skipWS(b, 0)
	if i == len(b) {
		return nil, 0, Empty
	}
	if b[i] != '{' {
		j, r := p.skipValue(b, i, 0)
		if r != OK {
			return nil, 0, r
		}
		if skipWS(b, j) != len(b) {
			return nil, 0, NotJSON
		}
		return nil, 0, NotObject
	}
	var f fields
	if r = p.members(b, i+1, &f); r != OK {
		return nil, 0, r
	}
	return p.verdict(b, &f)
}

// fields is what the walk keeps of the top-level uid and ts: how often
// each came, and where the last one's value is.
type fields struct {
	nUID, nTS        int
	uidStart, uidEnd int
	uidEsc, uidIsStr bool
	tsVal            int64
	tsOK             bool
	tsStart, tsEnd   int
	tsEsc, tsIsStr   bool
}

// members walks the top-level object from just after its '{' to the end of
// the frame (to the member after uid and ts with TrustProducer).
func (p *Parser) members(b []byte, i int, f *fields) Reason {
	var key, keyEnd, afterVal int
	var r Reason
	i = skipWS(b, i)
	if i < len(b) && b[i] == '}' {
		return end(b, i+1)
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return NotJSON
		}
		if keyEnd, key, r = p.key(b, i+1); r != OK {
			return r
		}
		i = skipWS(b, keyEnd+1)
		if i >= len(b) || b[i] != ':' {
			return NotJSON
		}
		if i = skipWS(b, i+1); i >= len(b) {
			return NotJSON
		}
		if key != keyOther {
			afterVal, r = p.value(b, i, key, f)
		} else {
			afterVal, r = p.skipValue(b, i, 1)
		}
		if r != OK {
			return r
		}
		if i = skipWS(b, afterVal); i >= len(b) {
			return NotJSON
		}
		switch b[i] {
		case ',':
			if p.TrustProducer && f.nUID == 1 && f.nTS == 1 {
				return OK
			}
			i = skipWS(b, i+1)
		case '}':
			return end(b, i+1)
		default:
			return NotJSON
		}
	}
}

// end checks that nothing but whitespace follows the object.
func end(b []byte, i int) Reason {
	if skipWS(b, i) != len(b) {
		return NotJSON
	}
	return OK
}

// value scans the value at i of a top-level uid or ts into f.
func (p *Parser) value(b []byte, i, key int, f *fields) (afterVal int, r Reason) {
	if key == keyUID {
		f.nUID++
		f.uidIsStr = b[i] == '"'
		if !f.uidIsStr {
			return p.skipValue(b, i, 1)
		}
		f.uidStart = i + 1
		f.uidEnd, f.uidEsc, r = scanString(b, f.uidStart)
		return f.uidEnd + 1, r
	}
	f.nTS++
	f.tsIsStr = b[i] == '"'
	switch {
	case f.tsIsStr:
		f.tsStart = i + 1
		f.tsEnd, f.tsEsc, r = scanString(b, f.tsStart)
		return f.tsEnd + 1, r
	case b[i] == '-' || (b[i] >= '0' && b[i] <= '9'):
		afterVal, f.tsVal, f.tsOK, r = scanNumber(b, i)
		return afterVal, r
	}
	f.tsOK = false
	return p.skipValue(b, i, 1)
}

// verdict decides whether a frame whose walk succeeded counts, and decodes
// its uid and ts.
func (p *Parser) verdict(b []byte, f *fields) (uid []byte, ts int64, r Reason) {
	switch {
	case f.nUID > 1:
		return nil, 0, DupUID
	case f.nTS > 1:
		return nil, 0, DupTS
	case f.nUID == 0:
		return nil, 0, NoUID
	case f.nTS == 0:
		return nil, 0, NoTS
	case !f.uidIsStr:
		return nil, 0, BadUID
	}
	ts, tsOK := f.tsVal, f.tsOK
	if f.tsIsStr {
		s := b[f.tsStart:f.tsEnd]
		if f.tsEsc {
			// Decode into scratch first; the uid may need it after, so
			// take ts's digits out before that.
			s = unescape(p.scratch[:0], s)
			p.scratch = s
		}
		ts, tsOK = parseDigits(s)
	}
	if !tsOK {
		return nil, 0, BadTS
	}
	uid = b[f.uidStart:f.uidEnd]
	if f.uidEsc {
		p.scratch = unescape(p.scratch[:0], uid)
		uid = p.scratch
	}
	if len(uid) == 0 {
		return nil, 0, EmptyUID
	}
	return uid, ts, OK
}

const (
	keyOther = iota
	keyUID
	keyTS
)

// maxEscapedKey is the longest escaped key that can decode to uid or ts:
// three \uXXXX escapes.
const maxEscapedKey = 6 * 3

// key scans the key whose body starts at i: its closing quote and which key
// it is.
func (p *Parser) key(b []byte, i int) (end, key int, r Reason) {
	end, esc, r := scanString(b, i)
	if r != OK {
		return 0, 0, r
	}
	return end, p.classifyKey(b[i:end], esc), OK
}

func (p *Parser) classifyKey(k []byte, esc bool) int {
	if esc {
		// Rare: a key such as "\u0075id" is uid too, as in encoding/json.
		if len(k) > maxEscapedKey {
			return keyOther
		}
		p.scratch = unescape(p.scratch[:0], k)
		k = p.scratch
	}
	switch {
	case len(k) == 3 && k[0] == 'u' && k[1] == 'i' && k[2] == 'd':
		return keyUID
	case len(k) == 2 && k[0] == 't' && k[1] == 's':
		return keyTS
	}
	return keyOther
}

// parseDigits accepts one or more ASCII digits that fit in int64.
func parseDigits(s []byte) (int64, bool) {
	if len(s) == 0 {
		return 0, false
	}
	var v uint64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		if v > (math.MaxInt64-9)/10 {
			// Slow check only near the limit.
			if v > math.MaxInt64/10 || v*10 > math.MaxInt64-uint64(c-'0') {
				return 0, false
			}
		}
		v = v*10 + uint64(c-'0')
	}
	return int64(v), true
}

func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// special flags, in the high bit of each byte, the bytes that end a run of
// plain string text: '"', '\\', control characters and non-ASCII. Only the
// lowest flagged byte is guaranteed exact (borrows may flag bytes above it),
// which is all scanString uses.
func special(x uint64) uint64 {
	q := x ^ (lsb * '"')
	s := x ^ (lsb * '\\')
	return ((q - lsb) &^ q) | ((s - lsb) &^ s) | ((x - lsb*0x20) &^ x) | x&msb
}

// escapes classifies the byte after a backslash: 1 for a one-letter
// escape, 2 for \uXXXX, 0 for an invalid escape.
var escapes = [256]uint8{'"': 1, '\\': 1, '/': 1, 'b': 1, 'f': 1, 'n': 1, 'r': 1, 't': 1, 'u': 2}

// scanString scans a string body starting at i (just after the opening
// quote) and returns the index of the closing quote and whether the body has
// escapes. It validates escapes, control characters and UTF-8.
//
// Profiles show the cost is in leaving the 8-byte loop, not in it: the
// sample data has a special byte every ~6 bytes of string text. So the
// cases are ordered by frequency and runs of non-ASCII are handled in a
// loop of their own.
func scanString(b []byte, i int) (end int, esc bool, r Reason) {
	for {
		for i+8 <= len(b) {
			if m := special(binary.LittleEndian.Uint64(b[i:])) & msb; m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				goto found
			}
			i += 8
		}
		for i < len(b) && b[i] >= 0x20 && b[i] < utf8.RuneSelf && b[i] != '"' && b[i] != '\\' {
			i++
		}
		if i >= len(b) {
			return 0, esc, NotJSON
		}
	found:
		c := b[i]
		if c == '"' {
			return i, esc, OK
		}
		if c == '\\' {
			esc = true
			if i+1 >= len(b) {
				return 0, esc, NotJSON
			}
			switch escapes[b[i+1]] {
			case 1:
				i += 2
				continue
			case 2:
				if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return 0, esc, NotJSON
				}
				i += 6
				continue
			}
			return 0, esc, NotJSON
		}
		if c < 0x20 {
			return 0, esc, NotJSON
		}
		for {
			n := utf8Len(b[i:])
			if n == 0 {
				return 0, esc, BadUTF8
			}
			i += n
			if i >= len(b) || b[i] < utf8.RuneSelf {
				break
			}
		}
	}
}

// utf8Len returns the length of the valid UTF-8 sequence at the start of b
// (which starts with a non-ASCII byte), or 0 if it is invalid.
func utf8Len(b []byte) int {
	c := b[0]
	// Two-byte sequences (Cyrillic, most of Europe) are the common case.
	if c >= 0xC2 && c <= 0xDF && len(b) >= 2 && b[1]&0xC0 == 0x80 {
		return 2
	}
	r, n := utf8.DecodeRune(b)
	if r == utf8.RuneError && n <= 1 {
		return 0
	}
	return n
}

func isHex(c byte) bool {
	return c-'0' <= 9 || (c|0x20)-'a' <= 5
}

// scanNumber scans a JSON number at i and, when it is an integer without
// fraction or exponent that fits int64, returns its value with isInt true.
func scanNumber(b []byte, i int) (end int, v int64, isInt bool, r Reason) {
	neg := false
	if b[i] == '-' {
		neg = true
		i++
	}
	if i >= len(b) {
		return 0, 0, false, NotJSON
	}
	var u uint64
	overflow := false
	switch c := b[i]; {
	case c == '0':
		i++
	case c >= '1' && c <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			d := uint64(b[i] - '0')
			if u > (math.MaxUint64-9)/10 {
				overflow = true
			} else {
				u = u*10 + d
			}
			i++
		}
	default:
		return 0, 0, false, NotJSON
	}
	isInt = true
	if i < len(b) && b[i] == '.' {
		isInt = false
		i++
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == start {
			return 0, 0, false, NotJSON
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		isInt = false
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == start {
			return 0, 0, false, NotJSON
		}
	}
	if !isInt || overflow {
		return i, 0, false, OK
	}
	switch {
	case !neg && u <= math.MaxInt64:
		return i, int64(u), true, OK
	case neg && u <= 1<<63:
		return i, int64(-u), true, OK
	}
	return i, 0, false, OK
}

// skipValue validates and skips one JSON value at i (no leading whitespace),
// at nesting depth depth, without recursion.
func (p *Parser) skipValue(b []byte, i int, depth int) (int, Reason) {
	stack := &p.stack
	open := 0
	var r Reason
	for {
		// A value starts at i.
		if i >= len(b) {
			return 0, NotJSON
		}
		switch c := b[i]; {
		case c == '"':
			var end int
			end, _, r = scanString(b, i+1)
			if r != OK {
				return 0, r
			}
			i = end + 1
		case c == '{' || c == '[':
			if depth+open >= MaxDepth {
				return 0, TooDeep
			}
			isObj := c == '{'
			if isObj {
				stack[open>>6] |= 1 << (open & 63)
			} else {
				stack[open>>6] &^= 1 << (open & 63)
			}
			open++
			i = skipWS(b, i+1)
			if i >= len(b) {
				return 0, NotJSON
			}
			if (isObj && b[i] == '}') || (!isObj && b[i] == ']') {
				open--
				i++
				break
			}
			if isObj {
				if i, r = skipKey(b, i); r != OK {
					return 0, r
				}
			}
			continue
		case c == '-' || (c >= '0' && c <= '9'):
			if i, _, _, r = scanNumber(b, i); r != OK {
				return 0, r
			}
		case c == 't':
			if i, r = literal(b, i, "true"); r != OK {
				return 0, r
			}
		case c == 'f':
			if i, r = literal(b, i, "false"); r != OK {
				return 0, r
			}
		case c == 'n':
			if i, r = literal(b, i, "null"); r != OK {
				return 0, r
			}
		default:
			if c >= utf8.RuneSelf && utf8Len(b[i:]) == 0 {
				return 0, BadUTF8
			}
			return 0, NotJSON
		}
		// After a value: close containers or move to the next element.
		for {
			if open == 0 {
				return i, OK
			}
			i = skipWS(b, i)
			if i >= len(b) {
				return 0, NotJSON
			}
			isObj := stack[(open-1)>>6]&(1<<((open-1)&63)) != 0
			c := b[i]
			if c == ',' {
				i = skipWS(b, i+1)
				if isObj {
					if i, r = skipKey(b, i); r != OK {
						return 0, r
					}
				}
				break
			}
			if (isObj && c == '}') || (!isObj && c == ']') {
				open--
				i++
				continue
			}
			return 0, NotJSON
		}
	}
}

// skipKey skips `"key" :` and the whitespace after it.
func skipKey(b []byte, i int) (int, Reason) {
	if i >= len(b) || b[i] != '"' {
		return 0, NotJSON
	}
	end, _, r := scanString(b, i+1)
	if r != OK {
		return 0, r
	}
	i = skipWS(b, end+1)
	if i >= len(b) || b[i] != ':' {
		return 0, NotJSON
	}
	return skipWS(b, i+1), OK
}

func literal(b []byte, i int, lit string) (int, Reason) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return 0, NotJSON
	}
	return i + len(lit), OK
}

// unescape appends the decoded form of a validated string body to dst,
// following encoding/json: a lone or malformed surrogate becomes U+FFFD.
func unescape(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		switch s[i+1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := hex4(s[i+2:])
			i += 6
			if utf16.IsSurrogate(r) {
				if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
					if d := utf16.DecodeRune(r, hex4(s[i+2:])); d != utf8.RuneError {
						dst = utf8.AppendRune(dst, d)
						i += 6
						continue
					}
				}
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default: // '"', '\\', '/'
			dst = append(dst, s[i+1])
		}
		i += 2
	}
	return dst
}

func hex4(s []byte) rune {
	var r rune
	for _, c := range s[:4] {
		switch {
		case c <= '9':
			c -= '0'
		case c >= 'a':
			c -= 'a' - 10
		default:
			c -= 'A' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// lineWindow is how far into a run of lines ParseLine lets stage 1 look
// for the first line's end: frames are a few KiB, and the index buffer is
// sized for the window. A longer line is found with bytes.IndexByte.
const lineWindow = 32 << 10

// ParseLine parses the first line of rest, a run of newline-separated
// frames: the frame is rest up to its first newline (without a '\r' before
// it) or all of rest. It returns the line's length without the newline,
// and what Parse returns for the frame; a frame longer than max is not
// parsed (TooLarge). On the AVX-512 paths stage 1 finds the line's end
// itself, in its one pass over the bytes: a separate search for it was a
// second pass over every byte of the input.
func (p *Parser) ParseLine(rest []byte, max int) (n int, uid []byte, ts int64, r Reason) {
	return p.parseLineOn(rest, max, active)
}

// parseLineOn is ParseLine on path pt.
func (p *Parser) parseLineOn(rest []byte, max int, pt path) (n int, uid []byte, ts int64, r Reason) {
	if p.TrustProducer || pt == pathScalar {
		return p.parseLine(rest, max, pt)
	}
	win := rest[:min(len(rest), lineWindow)]
	cnt, end, ok := stage1Line(pt, win, p.indexBuf(len(win)))
	if !ok || (end == len(win) && len(win) < len(rest)) {
		return p.parseLine(rest, max, pt) // no line scan, or a line past the window
	}
	line := rest[:end]
	if len(trimCR(line)) > max {
		return end, nil, 0, TooLarge
	}
	if cnt >= 0 {
		p.idx = p.idx[:cnt]
		var f fields
		// A '\r' before the newline is whitespace after the object: the
		// walk and the verdict are those of the frame without it.
		if p.walk(line, &f) {
			uid, ts, r = p.verdict(line, &f)
			return end, uid, ts, r
		}
	}
	uid, ts, r = p.parse(trimCR(line), pathScalar)
	return end, uid, ts, r
}

// parseLine is ParseLine with the line's end found first.
func (p *Parser) parseLine(rest []byte, max int, pt path) (n int, uid []byte, ts int64, r Reason) {
	n = bytes.IndexByte(rest, '\n')
	if n < 0 {
		n = len(rest)
	}
	line := trimCR(rest[:n])
	if len(line) > max {
		return n, nil, 0, TooLarge
	}
	uid, ts, r = p.parse(line, pt)
	return n, uid, ts, r
}

// trimCR drops a '\r' at the end of line (a CRLF line end).
func trimCR(line []byte) []byte {
	if k := len(line); k > 0 && line[k-1] == '\r' {
		return line[:k-1]
	}
	return line
}

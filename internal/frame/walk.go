package frame

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

// walk is stage 2: it checks the grammar of the frame over stage 1's
// structural indexes and fills f with its top-level uid and ts. false means
// the frame is not one valid JSON object (or nests deeper than the scalar
// walk allows), and the scalar walk is to say why.
//
// Profiles: the time goes to branches on the keys' lengths and the values'
// kinds, which the frames do not let the predictor learn. So a member whose
// key cannot be uid or ts and whose value is a string, a number, a literal
// or an empty object or array (told without branches) takes no branch of
// its own; the numbers and literals are checked in batches.
func (p *Parser) walk(b []byte, f *fields) bool {
	idx := p.idx
	n := len(idx)
	if n < 2 || b[idx[0]] != '{' {
		return false
	}
	k := 1
	if b[idx[k]] == '}' {
		return k+1 == n
	}
	var scalars [32]uint32 // offsets of numbers and literals to check
	ns := 0
	for {
		// A member: "key" : value, then , or }.
		if k+3 >= n {
			return false
		}
		t, colon, v := int(idx[k]), int(idx[k+1]), int(idx[k+2])
		// The key's first bytes; near the frame's end, a pattern that
		// makes it a candidate, for walkMember to check.
		w := uint64(uidStart)
		if t+8 <= len(b) {
			w = binary.LittleEndian.Uint64(b[t:])
		}
		if byte(w) != '"' || b[colon] != ':' {
			return false
		}
		k += 3
		cand := keyCandidate(b, w, t, colon)
		c := b[v]
		vk := valueKinds[c]
		empty := b2u(uint16(b[idx[k]]) == emptyCloser[c])
		scalars[ns&(len(scalars)-1)] = uint32(v)
		ns += int(vk & vScalar)
		if cand|uint(vk>>2)|(uint(vk>>1&1)&^empty) != 0 {
			var ok bool
			if k, ok = p.walkMember(b, k, cand != 0, f); !ok {
				return false
			}
		} else {
			k += int(empty)
		}
		if k >= n {
			return false
		}
		if ns == len(scalars) {
			if !checkScalars(b, scalars[:]) {
				return false
			}
			ns = 0
		}
		switch b[idx[k]] {
		case ',':
			k++
		case '}':
			return k+1 == n && checkScalars(b, scalars[:ns])
		default:
			return false
		}
	}
}

// Kinds of a value's first byte.
const (
	vScalar = 1 << iota // a number or literal
	vOpen               // an object or array
	vBad                // no value
)

var valueKinds = func() (v [256]uint8) {
	for c := range v {
		v[c] = vBad
	}
	for _, c := range []byte("-0123456789tfn") {
		v[c] = vScalar
	}
	v['{'], v['['], v['"'] = vOpen, vOpen, 0
	return v
}()

// emptyCloser is, by the first byte of a value, the byte that would close
// it at once: none (not a byte) unless the value is an object or array.
var emptyCloser = func() (e [256]uint16) {
	for c := range e {
		e[c] = 0x100
	}
	e['{'], e['['] = '}', ']'
	return e
}()

func checkScalars(b []byte, offsets []uint32) bool {
	for _, i := range offsets {
		if !scalarOK(b, int(i)) {
			return false
		}
	}
	return true
}

// keyCandidate is not 0, computed without branches, when the key token at
// t, whose first bytes are w and whose colon is at colon, may be uid or ts:
// it starts with "uid or "ts", or has whitespace before the colon, or may be
// one escaped (see escapedKeyLengths).
func keyCandidate(b []byte, w uint64, t, colon int) uint {
	return uint(b[colon-1]^'"') | uint(escapeFirst[byte(w>>8)]>>(uint(colon-t-2)&63)&1) |
		b2u(uint32(w) == uidStart) | b2u(uint32(w) == tsStart)
}

// The first four bytes (little-endian) of the keys uid and ts unescaped.
const (
	uidStart = '"' | 'u'<<8 | 'i'<<16 | 'd'<<24
	tsStart  = '"' | 't'<<8 | 's'<<16 | '"'<<24
)

// escapeFirst is escapedKeyLengths for the bytes that can start a key that
// is uid or ts escaped ("\u0075id", "u\u0069d", "t\u0073"), 0 for others.
var escapeFirst = [256]uint64{'\\': escapedKeyLengths, 'u': escapedKeyLengths, 't': escapedKeyLengths}

// walkMember checks the member just before token k (key, colon, value),
// and reads its value into f if it is uid or ts (only when cand): the
// members the walk does not take in line. It returns the token after the
// value.
func (p *Parser) walkMember(b []byte, k int, cand bool, f *fields) (int, bool) {
	// Taken from idx again, not passed: fewer live registers in walk.
	t, colon, v := int(p.idx[k-3]), int(p.idx[k-2]), int(p.idx[k-1])
	if b[t] != '"' { // walk checked only the first bytes it read
		return 0, false
	}
	key := keyOther
	switch e, n := colon-1, colon-t-2; {
	case !cand:
	case b[e] != '"' || escapedKeyLengths>>uint(n)&1 != 0:
		key = p.walkKey(b, t+1, colon)
	case n == 3 && b[t+1] == 'u' && b[t+2] == 'i' && b[t+3] == 'd':
		key = keyUID
	case n == 2 && b[t+1] == 't' && b[t+2] == 's':
		key = keyTS
	}
	switch c := b[v]; {
	case key != keyOther:
		return p.walkField(b, v, k, key, f)
	case c == '"':
	case c == '{' || c == '[':
		return p.walkNested(b, k, c == '{')
	default:
		return k, scalarOK(b, v)
	}
	return k, true
}

// escapedKeyLengths has bit n set for each length n of an escaped key that
// can be uid or ts: with \uXXXX escapes (the only ones that decode to
// letters) "ts" is 7 or 12 bytes long, "uid" 8, 13 or 18.
const escapedKeyLengths = 1<<7 | 1<<8 | 1<<12 | 1<<13 | 1<<18

// walkKey classifies the top-level key whose body starts at i, colon
// being the index of the ':' after it. The key ends at the last quote
// before the colon: only whitespace is between (anything else would be a
// token).
func (p *Parser) walkKey(b []byte, i, colon int) int {
	end := colon - 1
	for b[end] != '"' {
		end--
	}
	switch n := end - i; n {
	case 3:
		if b[i] == 'u' && b[i+1] == 'i' && b[i+2] == 'd' {
			return keyUID
		}
	case 2:
		if b[i] == 't' && b[i+1] == 's' {
			return keyTS
		}
	case 7, 8, 12, 13, 18: // see escapedKeyLengths
		if c := b[i]; (c == '\\' || c == 'u' || c == 't') && bytes.IndexByte(b[i:end], '\\') >= 0 {
			return p.classifyKey(b[i:end], true)
		}
	}
	return keyOther
}

// walkField reads the value at v of a top-level uid or ts into f, as
// Parser.value does; k is the token after it.
func (p *Parser) walkField(b []byte, v, k, key int, f *fields) (int, bool) {
	c := b[v]
	isStr := c == '"'
	var start, end int
	var esc bool
	if isStr {
		// Stage 1 validated the string: this only finds its end.
		start = v + 1
		end, esc, _ = scanString(b, start)
	}
	if key == keyUID {
		f.nUID++
		f.uidIsStr = isStr
		if isStr {
			f.uidStart, f.uidEnd, f.uidEsc = start, end, esc
		}
	} else {
		f.nTS++
		f.tsIsStr = isStr
		f.tsOK = false
		if isStr {
			f.tsStart, f.tsEnd, f.tsEsc = start, end, esc
		}
		if c == '-' || (c >= '0' && c <= '9') {
			e, val, isInt, r := scanNumber(b, v)
			f.tsVal, f.tsOK = val, isInt
			return k, r == OK && delimits(b, e)
		}
	}
	switch {
	case isStr:
		return k, true
	case c == '{' || c == '[':
		return p.walkNested(b, k, c == '{')
	}
	return k, scalarOK(b, v)
}

// walkNested checks the container whose opening token is just before
// token k (an object when obj), a value of the top-level object, and
// returns the token after its end. A state machine over the tokens, with
// the open containers' kinds in p.stack and the innermost's in obj.
func (p *Parser) walkNested(b []byte, k int, obj bool) (int, bool) {
	idx := p.idx
	n := len(idx)
	open := 0
	var c byte
push:
	// As skipValue: a value of the top-level object is at depth 1.
	if 1+open >= MaxDepth || k >= n {
		return 0, false
	}
	p.setKind(open, obj)
	open++
	if c = b[idx[k]]; c == closer(obj) {
		k++
		goto closed
	}
	if !obj {
		goto value
	}
key:
	if k+1 >= n || b[idx[k]] != '"' || b[idx[k+1]] != ':' {
		return 0, false
	}
	k += 2
value:
	if k >= n {
		return 0, false
	}
	switch t := int(idx[k]); b[t] {
	case '"':
	case '{', '[':
		obj = b[t] == '{'
		k++
		goto push
	default:
		if !scalarOK(b, t) {
			return 0, false
		}
	}
	k++
after:
	if k >= n {
		return 0, false
	}
	c = b[idx[k]]
	k++
	switch {
	case c == ',' && obj:
		goto key
	case c == ',':
		goto value
	case c != closer(obj):
		return 0, false
	}
closed:
	if open--; open == 0 {
		return k, true
	}
	obj = p.kind(open - 1)
	goto after
}

// setKind and kind keep whether the container at depth d is an object.
func (p *Parser) setKind(d int, obj bool) {
	if obj {
		p.stack[d>>6] |= 1 << (d & 63)
	} else {
		p.stack[d>>6] &^= 1 << (d & 63)
	}
}

func (p *Parser) kind(d int) bool { return p.stack[d>>6]&(1<<(d&63)) != 0 }

func b2u(v bool) uint {
	if v {
		return 1
	}
	return 0
}

// closer is the byte that closes an object (obj) or an array.
func closer(obj bool) byte {
	if obj {
		return '}'
	}
	return ']'
}

// scalarOK checks the number or literal that starts at token i: well formed
// and followed by whitespace, an operator or the frame's end (stage 1 did not
// index the bytes that follow a token's first byte). Profiles: scanNumber,
// which also computes the value, cost ~12 ns a scalar of the reference
// frames; this only validates, and skips digits eight at a time.
func scalarOK(b []byte, i int) bool {
	switch b[i] {
	case 't':
		return i+4 <= len(b) && string(b[i:i+4]) == "true" && delimits(b, i+4)
	case 'f':
		return i+5 <= len(b) && string(b[i:i+5]) == "false" && delimits(b, i+5)
	case 'n':
		return i+4 <= len(b) && string(b[i:i+4]) == "null" && delimits(b, i+4)
	}
	return numberOK(b, i)
}

// numberOK checks a JSON number at i, as scanNumber does, and that a
// delimiter or the frame's end follows it.
func numberOK(b []byte, i int) bool {
	if b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return false
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		i = digitsEnd(b, i+1)
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		j := digitsEnd(b, i+1)
		if j == i+1 {
			return false
		}
		i = j
	}
	if i < len(b) && b[i]|0x20 == 'e' {
		if i++; i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digitsEnd(b, i)
		if j == i {
			return false
		}
		i = j
	}
	return delimits(b, i)
}

// digitsEnd is the index of the first byte at or after i that is not an
// ASCII digit.
func digitsEnd(b []byte, i int) int {
	for ; i+8 <= len(b); i += 8 {
		// A byte is a digit when it is 0x30 to 0x39: x^0x30 below 10.
		t := binary.LittleEndian.Uint64(b[i:]) ^ lsb*'0'
		if m := ((t &^ msb) + lsb*(0x80-10) | t) & msb; m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

// delimiter is the bytes that may follow a number or a literal.
var delimiter = [256]bool{' ': true, '\t': true, '\n': true, '\r': true, ',': true, ']': true, '}': true, ':': true, '[': true, '{': true}

func delimits(b []byte, i int) bool {
	return i == len(b) || delimiter[b[i]]
}

package gen

import (
	"math/rand/v2"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// Value kinds, with their share (out of 1024) of all values at every depth
// in the samples: strings 66%, containers 21%, numbers and booleans 4% each.
const (
	kindLatin = iota
	kindCyrillic
	kindInt
	kindFloat
	kindBool
	kindObject
	kindArray
	numKinds
)

var kindWeights = [numKinds]int{
	kindLatin:    610,
	kindCyrillic: 68,
	kindInt:      43,
	kindFloat:    43,
	kindBool:     40,
	kindObject:   121,
	kindArray:    99,
}

// maxDepth bounds nesting whatever the frame size; the samples reach 8.
const maxDepth = 32

// overshoot is how far past its size budget a frame ends on average: the
// last member is added while the frame is still under budget.
const overshoot = 32

// shape holds the fragments frames are assembled from, escaped once.
type shape struct {
	kinds      [1024]uint8
	leaves     [numKinds][]string // literal values of the leaf kinds
	topKeys    []string           // `"word":`
	nestedKeys []string           // words, with uid and ts 1 in 12 each
	trapProb   float64
	limits     [maxDepth + 1]int // a container at depth d grows until the frame has limits[d] bytes
}

func (s *shape) init(cfg Config) {
	i := 0
	for k, w := range kindWeights {
		for range w {
			s.kinds[i] = uint8(k)
			i++
		}
	}

	// The samples never escape '/' nor write \u escapes, the spec wants
	// every escape: the chunk with slashes is written with \/ 1 time in 4,
	// a line of Cyrillic in \u escapes (as an ASCII-only encoder does) 1
	// time in 32. That keeps the backslashes and non-ASCII bytes a frame
	// within a few percent of the samples.
	var latin []string
	for _, c := range dlangChunks {
		for i := range 4 {
			latin = append(latin, quote(c, i == 0 && c == dlangChunks[3], false))
		}
	}
	s.leaves[kindLatin] = latin
	var cyr []string
	for _, l := range demonLines {
		for i := range 32 {
			cyr = append(cyr, quote(l, false, i == 0))
		}
	}
	s.leaves[kindCyrillic] = append(cyr, quote(demonTitle, false, true))

	for n := range 256 {
		s.leaves[kindInt] = append(s.leaves[kindInt], strconv.Itoa(n))
	}
	// Floats like the samples' printf("%g"): 6 significant digits.
	r := rand.New(rand.NewPCG(cfg.Seed, 0x666c6f6174))
	for range 1024 {
		s.leaves[kindFloat] = append(s.leaves[kindFloat], strconv.FormatFloat(r.Float64(), 'g', 6, 64))
	}
	s.leaves[kindBool] = []string{"true", "false"}

	for _, w := range loremWords {
		s.topKeys = append(s.topKeys, quote(w, false, false)+":")
	}
	for range 10 {
		s.nestedKeys = append(s.nestedKeys, s.topKeys...)
	}
	for range len(loremWords) {
		s.nestedKeys = append(s.nestedKeys, `"uid":`, `"ts":`)
	}
	s.trapProb = cfg.TrapKeyProb

	budget := max(cfg.FrameSize-overshoot, 1)
	for d := range s.limits {
		s.limits[d] = budget / (d + 1)
	}
}

// pick maps 16 random bits to an index of a slice of length n.
func pick(r uint64, n int) int { return int((r & 0xffff) * uint64(n) >> 16) }

// appendFrame appends one frame to b. uid and ts are the encoded top-level
// members ("uid":"..." and "ts":...).
func (g *Generator) appendFrame(b, uid, ts []byte) []byte {
	base := len(b)
	budget := g.limits[0]
	r := g.body.Uint64()
	pairAt := int(r & 3) // after 0..3 other members
	if r&4 != 0 {
		uid, ts = ts, uid
	}
	trapAt := -1
	if chance(r>>32, g.trapProb) {
		trapAt = int(r >> 3 & 7)
	}
	b = append(b, '{')
	paired := false
	for i := 0; !paired || len(b)-base < budget; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		if !paired && (i == pairAt || len(b)-base >= budget) {
			b = append(b, uid...)
			b = append(b, ',')
			b = append(b, ts...)
			paired = true
			continue
		}
		r := g.body.Uint64()
		if trapAt >= 0 && i >= trapAt {
			b = append(b, trapKeys[pick(r, len(trapKeys))]...)
			trapAt = -1
		} else {
			b = append(b, g.topKeys[pick(r, len(g.topKeys))]...)
		}
		b = g.appendValue(b, base, 1, r>>16)
	}
	return append(b, '}')
}

// appendValue appends a value at depth d (a member of the top-level object
// is at depth 1), chosen by the 48 random bits of r.
func (g *Generator) appendValue(b []byte, base, d int, r uint64) []byte {
	k := g.kinds[r&1023]
	switch k {
	case kindObject, kindArray:
		return g.appendContainer(b, base, d, k == kindObject)
	}
	leaves := g.leaves[k]
	return append(b, leaves[pick(r>>10, len(leaves))]...)
}

func (g *Generator) appendContainer(b []byte, base, d int, object bool) []byte {
	limit := 0
	if d < len(g.limits) {
		limit = g.limits[d]
	}
	closing := byte(']')
	if object {
		b = append(b, '{')
		closing = '}'
	} else {
		b = append(b, '[')
	}
	for i := 0; len(b)-base < limit; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		r := g.body.Uint64()
		if object {
			b = append(b, g.nestedKeys[pick(r, len(g.nestedKeys))]...)
		}
		b = g.appendValue(b, base, d+1, r>>16)
	}
	return append(b, closing)
}

// quote returns s as a JSON string literal with the short escapes, plus \/
// for '/' if slash, and \uXXXX for every non-ASCII rune if ascii.
func quote(s string, slash, ascii bool) string {
	const hex = "0123456789abcdef"
	b := []byte{'"'}
	u := func(r rune) {
		b = append(b, '\\', 'u', hex[r>>12&15], hex[r>>8&15], hex[r>>4&15], hex[r&15])
	}
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', byte(c))
		case c == '/' && slash:
			b = append(b, '\\', '/')
		case c == '\b':
			b = append(b, '\\', 'b')
		case c == '\f':
			b = append(b, '\\', 'f')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20:
			u(c)
		case c >= utf8.RuneSelf && ascii:
			if r1, r2 := utf16.EncodeRune(c); r1 != utf8.RuneError {
				u(r1)
				u(r2)
			} else {
				u(c)
			}
		default:
			b = utf8.AppendRune(b, c)
		}
	}
	return string(append(b, '"'))
}

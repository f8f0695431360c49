// Command _asm generates internal/frame's stage 1 scan in Go assembly for
// amd64 with avo, one function per instruction set. Run it with `go generate`
// in internal/frame (see gen.go there): it writes stage1_amd64.s and its Go
// declarations, which are committed, so building headcount needs neither avo
// nor this module.
//
// What the scan computes, 64 bytes (a block) at a time, is simdjson's stage 1
// reduced to what frame.Parser needs (the Go side, stage1.go, says why that
// is enough):
//   - the structural indexes (simdjson's): the offset of every {}[]:, outside
//     strings, every opening quote and the first byte of every other token
//     (a number, a literal, or anything else that is not whitespace), in order;
//   - the verdict: -1 instead of their count if an escape is invalid (a
//     backslash not followed by one of "\/bfnrtu, or \u not followed by four
//     hex digits), a control character is inside a string, or the bytes are
//     not valid UTF-8 (the Keiser-Lemire lookup algorithm of simdjson).
//
// The block after the last whole one is the frame's tail padded with spaces,
// which ends every carry (an escape, \u digits, an incomplete UTF-8
// sequence) inside the frame: a carry into the padding is an error. AVX-512
// loads it with a byte mask (masked-off bytes cannot fault); AVX2 loads 64
// bytes from the tail when they stay in its memory page (a load cannot fault
// inside a page that holds one byte of the frame) and blends in the spaces,
// or else copies the tail to the stack.
package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"

	"github.com/headcount/headcount/internal/frame/lookup"
)

// The tables and classes are package lookup's (shared with the archsimd
// port of the scan).
const (
	clsEscape = lookup.ClsEscape
	clsHex    = lookup.ClsHex
)

// consts holds the tables and splatted bytes, 64 bytes each.
type consts struct{ mem Mem }

const (
	cEscLo = iota
	cEscHi
	cByte1High
	cByte1Low
	cByte2High
	cWsTable
	cOpTable
	cMaxIncomplete // 0xFF but the last three bytes: a block's end that needs more
	cQuote
	cBackslash
	cCtrl // 0x20: AVX-512 compares below it; bit 5 for the operators

	cCtrlMax
	cNibble
	cThird // a byte two back that is a 3- or 4-byte lead: saturating sub leaves bit 7
	cFourth
	cHigh
	cEscapeMask
	cHexMask
	cSpace
	cOnes // then cZero: 64 bytes from cOnes+64-n are n 0xFF bytes, then zeros
	cZero
	cIota // 0, 1, ... 63
	cNewline
	cCount
)

func makeConsts() consts {
	m := GLOBL("frameConsts", RODATA|NOPTR)
	tables := map[int][16]byte{
		cEscLo: lookup.EscLo, cEscHi: lookup.EscHi, cByte1High: lookup.Byte1High, cByte1Low: lookup.Byte1Low,
		cByte2High: lookup.Byte2High, cWsTable: lookup.WsTable, cOpTable: lookup.OpTable,
	}
	splats := map[int]byte{
		cQuote: '"', cBackslash: '\\', cCtrl: 0x20, cCtrlMax: 0x1F, cNibble: 0x0F,
		cThird: 0xE0 - 0x80, cFourth: 0xF0 - 0x80, cHigh: 0x80,
		cEscapeMask: clsEscape, cHexMask: clsHex, cSpace: ' ', cOnes: 0xFF, cZero: 0, cNewline: '\n',
	}
	for c := 0; c < cCount; c++ {
		for i := 0; i < 64; i++ {
			var b byte
			switch {
			case c == cMaxIncomplete:
				b = [...]byte{61: 0xF0 - 1, 62: 0xE0 - 1, 63: 0xC0 - 1}[i]
				if i < 61 {
					b = 0xFF
				}
			case c < cMaxIncomplete:
				b = tables[c][i%16]
			case c == cIota:
				b = byte(i)
			default:
				b = splats[c]
			}
			DATA(c*64+i, U8(b))
		}
	}
	return consts{m}
}

// at is the constant c; for AVX2 (32-byte vectors) at2 is the last 32
// bytes of it, which for the incomplete-sequence bound is the block's end.
func (k consts) at(c int) Mem  { return k.mem.Offset(c * 64) }
func (k consts) at2(c int) Mem { return k.mem.Offset(c*64 + 32) }

func main() {
	k := makeConsts()
	avx512(k, false, false)
	avx512(k, true, false)
	avx512(k, false, true)
	avx512(k, true, true)
	avx2(k)
	Generate()
}

// gpState is the scan's state between blocks in general registers.
type gpState struct {
	src, idx, base      GPVirtual // base: src's offset in the frame
	prevEsc, hexCarry   GPVirtual // first byte escaped; \u digits owed to the next block
	prevIn, errs        GPVirtual // all ones inside a string at the block's start; error bits
	prevScalar          GPVirtual // the last byte was part of a token other than a string
	clmulOnes, clmulBuf VecPhysical
	full                Mem // the offset of the tail, on the stack for want of registers
	// compress, when set, writes the indexes with VPCOMPRESSB (VBMI2)
	// instead of flatten's bit scans.
	compress func(m GPVirtual)
	// line: the frame ends at the first newline of src (the scan of a
	// line in a run of lines), whose offset is returned too, from lineEnd.
	line    bool
	lineEnd Mem
}

func begin(name, doc string, line bool) *gpState {
	sig := "func(src []byte, idx []uint32) int"
	if line {
		sig = "func(src []byte, idx []uint32) (n int, end int)"
	}
	TEXT(name, NOSPLIT, sig)
	Pragma("noescape")
	Doc(doc)
	s := &gpState{
		line: line,
		src:  GP64(), idx: GP64(), base: GP64(),
		prevEsc: GP64(), hexCarry: GP64(), prevIn: GP64(), errs: GP64(), prevScalar: GP64(),
		// VEX-encoded carry-less multiply: X0-X15 only.
		clmulOnes: X0, clmulBuf: X1,
		full: AllocLocal(8),
	}
	Load(Param("src").Base(), s.src)
	Load(Param("idx").Base(), s.idx)
	for _, r := range []GPVirtual{s.base, s.prevEsc, s.hexCarry, s.prevIn, s.errs, s.prevScalar} {
		XORQ(r, r)
	}
	t := GP64()
	Load(Param("src").Len(), t)
	ANDQ(I32(-64), t)
	MOVQ(t, s.full)
	if line {
		s.lineEnd = AllocLocal(8)
		Load(Param("src").Len(), t)
		MOVQ(t, s.lineEnd)
	}
	MOVQ(I64(-1), t)
	VMOVQ(t, s.clmulOnes)
	return s
}

// cutAtNewline, in a line scan, ends the frame at block x's first newline
// if it has one: its offset becomes lineEnd, the bytes from it on spaces
// (as the padding of a tail, which ends every carry), and with last the
// loop ends after this block. label names the skip.
func (s *gpState) cutAtNewline(x, newline, space VecVirtual, last bool, label string) {
	kn := K()
	VPCMPEQB(newline, x, kn)
	KORTESTQ(kn, kn)
	JZ(LabelRef(label))
	pos, e := GP64(), GP64()
	KMOVQ(kn, pos)
	TZCNTQ(pos, pos)
	LEAQ(Mem{Base: s.base, Index: pos, Scale: 1}, e)
	MOVQ(e, s.lineEnd)
	if last {
		MOVQ(s.base, s.full)
	}
	m := GP64()
	MOVQ(I64(-1), m)
	BZHIQ(pos, m, m)
	km := K()
	KMOVQ(m, km)
	t := ZMM()
	VMOVDQA64(space, t)
	VMOVDQU8(x, km, t)
	VMOVDQA64(t, x)
	Label(label)
}

// load emits the block's load: full loads whole blocks, tail the last one
// from the rem bytes left.
func (s *gpState) load(full func(), tail func(rem GPVirtual)) {
	Label("loop")
	CMPQ(s.base, s.full)
	JAE(LabelRef("tail"))
	full()
	JMP(LabelRef("body"))
	Label("tail")
	rem := GP64()
	Load(Param("src").Len(), rem)
	ANDQ(Imm(63), rem)
	tail(rem)
	Label("body")
}

// escapes takes the backslash mask of a block and the masks of valid escape
// characters, u and hex digits (loaded by the callbacks, only when a block
// has escapes) and returns the mask of escaped bytes; it adds invalid escapes
// to the errors.
func (s *gpState) escapes(bs GPVirtual, valid, u, hex func(GPVirtual)) GPVirtual {
	escaped := GP64()
	t := GP64()
	MOVQ(bs, t)
	ORQ(s.prevEsc, t)
	ORQ(s.hexCarry, t)
	JNZ(LabelRef("escapes"))
	XORQ(escaped, escaped)
	JMP(LabelRef("escaped"))

	Label("escapes")
	Comment("simdjson's escape scanner: odd-length backslash runs escape the next byte.")
	pot := GP64()
	ANDNQ(bs, s.prevEsc, pot) // backslashes not themselves escaped by the last block
	code := GP64()
	MOVQ(pot, code)
	SHLQ(Imm(1), code)
	odd := GP64()
	MOVQ(U64(0xAAAAAAAAAAAAAAAA), odd)
	ORQ(odd, code)
	SUBQ(pot, code)
	XORQ(odd, code)
	MOVQ(bs, escaped)
	ORQ(s.prevEsc, escaped)
	XORQ(code, escaped)
	ANDQ(bs, code)
	SHRQ(Imm(63), code)
	MOVQ(code, s.prevEsc)

	Comment("An escaped byte must be one of \"\\/bfnrtu.")
	v := GP64()
	valid(v)
	ANDNQ(escaped, v, v)
	ORQ(v, s.errs)
	s.hexDigits(escaped, u, hex)
	Label("escaped")
	return escaped
}

// hexDigits adds to the errors each \u not followed by four hex digits,
// which may be owed by the last block or to the next.
func (s *gpState) hexDigits(escaped GPVirtual, u, hex func(GPVirtual)) {
	um, t := GP64(), GP64()
	u(um)
	ANDQ(escaped, um)
	Comment("Most blocks have no \\u and owe no digits: skip.")
	MOVQ(um, t)
	ORQ(s.hexCarry, t)
	JZ(LabelRef("escaped"))
	MOVQ(um, t)
	for i := 0; i < 4; i++ {
		SHLQ(Imm(1), t)
		ORQ(t, s.hexCarry)
	}
	h := GP64()
	hex(h)
	ANDNQ(s.hexCarry, h, h)
	ORQ(h, s.errs)
	// Owed to the next block: bit j when a u at 60+j or later.
	SHRQ(Imm(60), um)
	MOVQ(um, t)
	SHRQ(Imm(1), t)
	ORQ(t, um)
	MOVQ(um, t)
	SHRQ(Imm(2), t)
	ORQ(t, um)
	MOVQ(um, s.hexCarry)
}

// strings takes the block's quotes to its unescaped ones, adds control
// characters inside strings to the errors and returns the mask of bytes
// inside strings (opening quotes in, closing quotes out).
func (s *gpState) strings(quotes, escaped GPVirtual, ctrl func(GPVirtual)) GPVirtual {
	ANDNQ(quotes, escaped, quotes)
	Comment("Inside strings: prefix XOR of the quotes (carry-less multiply by all ones).")
	VMOVQ(quotes, s.clmulBuf)
	VPCLMULQDQ(Imm(0), s.clmulOnes, s.clmulBuf, s.clmulBuf)
	in := GP64()
	VMOVQ(s.clmulBuf, in)
	XORQ(s.prevIn, in)
	MOVQ(in, s.prevIn)
	SARQ(Imm(63), s.prevIn)
	c := GP64()
	ctrl(c)
	ANDQ(in, c)
	ORQ(c, s.errs)
	return in
}

// structurals appends the block's structural indexes to idx: operators
// outside strings, and the first byte of every other token (an opening
// quote, or a byte that is neither whitespace nor an operator after one
// that is, or after a string).
func (s *gpState) structurals(quotes, in GPVirtual, op, ws func(GPVirtual)) {
	o, scalar := GP64(), GP64()
	op(o)
	ws(scalar)
	ORQ(o, scalar)
	NOTQ(scalar)
	follows := GP64()
	ANDNQ(scalar, quotes, follows) // scalar bytes but quotes
	t := GP64()
	MOVQ(follows, t)
	SHRQ(Imm(63), t)
	SHLQ(Imm(1), follows)
	ORQ(s.prevScalar, follows)
	MOVQ(t, s.prevScalar)
	ANDNQ(scalar, follows, scalar) // where a token starts
	ORQ(o, scalar)
	XORQ(quotes, in) // inside strings but their opening quotes, closing quotes too
	ANDNQ(scalar, in, scalar)
	if s.compress != nil {
		s.compress(scalar)
		return
	}
	s.flatten(scalar)
}

// flatten writes base + the index of each set bit of m to idx and moves idx
// past them: eight at a time without a branch per bit (simdjson), writing
// up to 16 entries past the last, which idx has room for.
func (s *gpState) flatten(m GPVirtual) {
	cnt := GP64()
	POPCNTQ(m, cnt)
	put := func(p GPVirtual, disp int) {
		t := GP64()
		TZCNTQ(m, t)
		ADDQ(s.base, t)
		MOVL(t.As32(), Mem{Base: p, Disp: disp})
		BLSRQ(m, m)
	}
	for j := 0; j < 8; j++ {
		put(s.idx, 4*j)
	}
	CMPQ(cnt, Imm(8))
	JBE(LabelRef("flatDone"))
	for j := 8; j < 16; j++ {
		put(s.idx, 4*j)
	}
	CMPQ(cnt, Imm(16))
	JBE(LabelRef("flatDone"))
	p := GP64()
	LEAQ(Mem{Base: s.idx, Disp: 64}, p)
	Label("flatRest")
	put(p, 0)
	ADDQ(Imm(4), p)
	TESTQ(m, m)
	JNZ(LabelRef("flatRest"))
	Label("flatDone")
	LEAQ(Mem{Base: s.idx, Index: cnt, Scale: 4}, s.idx)
}

// end advances to the next block, the tail last, or returns the number of
// structural indexes, -1 if the frame failed; vecErr sets its register to
// non-zero when a vector error was seen.
func (s *gpState) end(vecErr func(GPVirtual)) {
	Label("next")
	ADDQ(Imm(64), s.src)
	ADDQ(Imm(64), s.base)
	CMPQ(s.base, s.full)
	JBE(LabelRef("loop"))

	v := GP64()
	vecErr(v)
	ORQ(v, s.errs)
	VZEROUPPER()
	JNZ(LabelRef("fail"))
	Load(Param("idx").Base(), v)
	SUBQ(v, s.idx)
	SHRQ(Imm(2), s.idx)
	Store(s.idx, ReturnIndex(0))
	s.storeLineEnd()
	RET()
	Label("fail")
	MOVQ(I64(-1), v)
	Store(v, ReturnIndex(0))
	s.storeLineEnd()
	RET()
}

func (s *gpState) storeLineEnd() {
	if !s.line {
		return
	}
	e := GP64()
	MOVQ(s.lineEnd, e)
	Store(e, ReturnIndex(1))
}

// zmmConsts are the AVX-512 scan's constants, in registers.
type zmmConsts struct {
	quote, backslash, ctrl, nibble, space     VecVirtual
	escLo, escHi, b1h, b1l, b2h               VecVirtual
	third, fourth, high, maxInc, escMask, hex VecVirtual
	wsTable, opTable                          VecVirtual
	newline                                   VecVirtual // line scans only
}

func loadZMM(k consts) *zmmConsts {
	z := func(c int) VecVirtual {
		r := ZMM()
		VMOVDQU64(k.at(c), r)
		return r
	}
	return &zmmConsts{
		quote: z(cQuote), backslash: z(cBackslash), ctrl: z(cCtrl), nibble: z(cNibble), space: z(cSpace),
		escLo: z(cEscLo), escHi: z(cEscHi), b1h: z(cByte1High), b1l: z(cByte1Low), b2h: z(cByte2High),
		third: z(cThird), fourth: z(cFourth), high: z(cHigh), maxInc: z(cMaxIncomplete),
		escMask: z(cEscapeMask), hex: z(cHexMask), wsTable: z(cWsTable), opTable: z(cOpTable),
	}
}

// avx512 generates the AVX-512BW scan; with vbmi2 the one that writes the
// indexes with VPCOMPRESSB: on frames with a token every ~11 bytes the bit
// scans of flatten were the largest part of stage 1. With line, the scan of
// the first line of src (see gpState.line).
func avx512(k consts, vbmi2, line bool) {
	s, c := beginZMM(k, vbmi2, line)
	prev, errv := ZMM(), ZMM()
	VPXORQ(prev, prev, prev)
	VPXORQ(errv, errv, errv)

	x := ZMM()
	s.load(func() {
		VMOVDQU64(Mem{Base: s.src}, x)
		if line {
			s.cutAtNewline(x, c.newline, c.space, true, "noNewline")
		}
	}, func(rem GPVirtual) {
		m := GP64()
		MOVQ(I64(-1), m)
		BZHIQ(rem, m, m)
		km := K()
		KMOVQ(m, km)
		VMOVDQA64(c.space, x)
		VMOVDQU8(Mem{Base: s.src}, km, x)
		if line {
			s.cutAtNewline(x, c.newline, c.space, false, "noNewlineInTail")
		}
	})
	kq, kb, kc := K(), K(), K()
	VPCMPEQB(c.quote, x, kq)
	VPCMPEQB(c.backslash, x, kb)
	VPCMPUB(Imm(1), c.ctrl, x, kc) // x < 0x20
	hi := ZMM()
	VPSRLW(Imm(4), x, hi)
	VPANDQ(c.nibble, hi, hi)
	bs := GP64()
	KMOVQ(kb, bs)
	escaped := c.escapes(s, bs, x, hi)
	q := GP64()
	KMOVQ(kq, q)
	in := s.strings(q, escaped, func(r GPVirtual) { KMOVQ(kc, r) })
	s.structurals(q, in, func(r GPVirtual) {
		t, u := ZMM(), ZMM()
		VPSHUFB(x, c.opTable, t)
		VPORQ(c.ctrl, x, u)
		kmask(r, func(kk OpmaskVirtual) { VPCMPEQB(u, t, kk) })
	}, func(r GPVirtual) {
		t := ZMM()
		VPSHUFB(x, c.wsTable, t)
		kmask(r, func(kk OpmaskVirtual) { VPCMPEQB(x, t, kk) })
	})
	utf8ZMM(c, x, hi, prev, errv)
	t := ZMM()
	s.end(func(r GPVirtual) {
		VPSUBUSB(c.maxInc, prev, t)
		VPORQ(t, errv, errv)
		kmask(r, func(kk OpmaskVirtual) { VPTESTMQ(errv, errv, kk) })
	})
}

// compressIndexes writes base + the index of each set bit of m to idx and
// moves idx past them: VPCOMPRESSB packs the set bits' positions (bytes of
// iota, 0 to 63) to the front of a vector, which is widened to 32 bits and
// stored 16 at a time (one store for most blocks), up to 16 entries past
// the last, as flatten. The register form: on AMD Zen 4 the form that
// stores to memory is microcoded and slow.
func compressIndexes(s *gpState, m GPVirtual, iota VecVirtual) {
	cnt := GP64()
	POPCNTQ(m, cnt)
	km := K()
	KMOVQ(m, km)
	packed, base, wide := ZMM(), ZMM(), ZMM()
	VPCOMPRESSB_Z(iota, km, packed)
	VPBROADCASTD(s.base.As32(), base)
	for lane := 0; lane < 4; lane++ {
		if lane > 0 {
			CMPQ(cnt, Imm(uint64(16*lane)))
			JBE(LabelRef("packDone"))
			x := XMM()
			VEXTRACTI32X4(Imm(uint64(lane)), packed, x)
			VPMOVZXBD(x, wide)
		} else {
			VPMOVZXBD(packed.AsX(), wide)
		}
		VPADDD(base, wide, wide)
		VMOVDQU32(wide, Mem{Base: s.idx, Disp: 64 * lane})
	}
	Label("packDone")
	LEAQ(Mem{Base: s.idx, Index: cnt, Scale: 4}, s.idx)
}

// beginZMM starts the AVX-512 function of the given kind (see avx512) with
// its constants loaded.
func beginZMM(k consts, vbmi2, line bool) (*gpState, *zmmConsts) {
	name, doc := "stage1AVX512", "stage1AVX512 scans src with AVX-512BW, 64 bytes at a time, into the structural indexes idx."
	if vbmi2 {
		name, doc = "stage1AVX512VBMI2", "stage1AVX512VBMI2 is stage1AVX512 writing the indexes with AVX-512 VBMI2's VPCOMPRESSB."
	}
	if line {
		name += "Line"
		doc = name + " is " + name[:len(name)-4] + " over the first line of src (up to its first newline, not included), whose length it returns too."
	}
	s := begin(name, doc, line)
	c := loadZMM(k)
	if line {
		c.newline = ZMM()
		VMOVDQU64(k.at(cNewline), c.newline)
	}
	if vbmi2 {
		iota := ZMM()
		VMOVDQU64(k.at(cIota), iota)
		s.compress = func(m GPVirtual) { compressIndexes(s, m, iota) }
	}
	return s, c
}

// kmask sets r to the mask that set computes in an opmask register.
func kmask(r GPVirtual, set func(kk OpmaskVirtual)) {
	kk := K()
	set(kk)
	KMOVQ(kk, r)
}

// escapes is gpState.escapes for block x (hi: its high nibbles), the
// escape classes computed only for blocks with escapes.
func (c *zmmConsts) escapes(s *gpState, bs GPVirtual, x, hi VecVirtual) GPVirtual {
	cls := ZMM()
	return s.escapes(bs,
		func(r GPVirtual) {
			lo := ZMM()
			VPANDQ(c.nibble, x, lo)
			VPSHUFB(lo, c.escLo, cls)
			VPSHUFB(hi, c.escHi, lo)
			VPANDQ(lo, cls, cls)
			kmask(r, func(kk OpmaskVirtual) { VPTESTMB(c.escMask, cls, kk) })
		},
		func(r GPVirtual) { kmask(r, func(kk OpmaskVirtual) { VPMOVB2M(cls, kk) }) },
		func(r GPVirtual) { kmask(r, func(kk OpmaskVirtual) { VPTESTMB(c.hex, cls, kk) }) },
	)
}

// utf8ZMM adds the UTF-8 errors of block x (hi: its high nibbles) to errv,
// prev being the block before.
func utf8ZMM(c *zmmConsts, x, hi, prev, errv VecVirtual) {
	Comment("UTF-8: an ASCII block only has to start after complete sequences.")
	ka := K()
	VPMOVB2M(x, ka)
	KORTESTQ(ka, ka)
	JNZ(LabelRef("utf8"))
	t := ZMM()
	VPSUBUSB(c.maxInc, prev, t)
	VPORQ(t, errv, errv)
	VPXORQ(prev, prev, prev)
	JMP(LabelRef("next"))

	Label("utf8")
	// prevN: the block shifted N bytes later, the last block's bytes in front.
	VALIGNQ(Imm(6), prev, x, t)
	p1, p2, p3 := ZMM(), ZMM(), ZMM()
	VPALIGNR(Imm(15), t, x, p1)
	VPALIGNR(Imm(14), t, x, p2)
	VPALIGNR(Imm(13), t, x, p3)
	a, b := ZMM(), ZMM()
	VPSRLW(Imm(4), p1, a)
	VPANDQ(c.nibble, a, a)
	VPSHUFB(a, c.b1h, a)
	VPANDQ(c.nibble, p1, b)
	VPSHUFB(b, c.b1l, b)
	sc := ZMM()
	VPSHUFB(hi, c.b2h, sc)
	VPTERNLOGD(Imm(0x80), a, b, sc) // sc = a & b & sc: the special cases
	VPSUBUSB(c.third, p2, p2)
	VPSUBUSB(c.fourth, p3, p3)
	VPTERNLOGD(Imm(0xA8), c.high, p2, p3) // p3 = (p2 | p3) & 0x80: must be a continuation
	VPXORQ(p3, sc, sc)
	VPORQ(sc, errv, errv)
	VMOVDQA64(x, prev)
}

// ymmBlock is the AVX2 scan's block, two halves.
type ymmBlock struct {
	k      consts
	x0, x1 VecVirtual
}

// mask is the sign bits of f(x0) and f(x1) as one word.
func (b ymmBlock) mask(r GPVirtual, f func(x, t VecVirtual)) {
	t := YMM()
	hi := GP64()
	f(b.x0, t)
	VPMOVMSKB(t, r.As32())
	f(b.x1, t)
	VPMOVMSKB(t, hi.As32())
	SHLQ(Imm(32), hi)
	ORQ(hi, r)
}

// load loads a whole block, or the tail of rem bytes padded with spaces.
func (b ymmBlock) load(s *gpState) {
	s.load(func() {
		VMOVDQU(Mem{Base: s.src}, b.x0)
		VMOVDQU(Mem{Base: s.src, Disp: 32}, b.x1)
	}, func(rem GPVirtual) {
		VMOVDQU(b.k.at2(cSpace), b.x0)
		VMOVDQU(b.k.at2(cSpace), b.x1)
		TESTQ(rem, rem)
		JZ(LabelRef("body"))
		t := GP64()
		MOVQ(s.src, t)
		ANDQ(U32(4095), t)
		CMPQ(t, U32(4096-64))
		JA(LabelRef("copy"))
		Comment("64 bytes from the tail stay in its page: blend the bytes past it with spaces.")
		m, sel := GP64(), YMM()
		LEAQ(b.k.at(cOnes).Offset(64), m)
		SUBQ(rem, m)
		VMOVDQU(Mem{Base: m}, sel)
		VPBLENDVB(sel, Mem{Base: s.src}, b.x0, b.x0)
		VMOVDQU(Mem{Base: m, Disp: 32}, sel)
		VPBLENDVB(sel, Mem{Base: s.src, Disp: 32}, b.x1, b.x1)
		JMP(LabelRef("body"))

		Label("copy")
		buf := AllocLocal(64)
		VMOVDQU(b.x0, buf)
		VMOVDQU(b.x1, buf.Offset(32))
		i, c := GP64(), GP8()
		XORQ(i, i)
		Label("copyByte")
		MOVB(Mem{Base: s.src, Index: i, Scale: 1}, c)
		MOVB(c, buf.Idx(i, 1))
		INCQ(i)
		CMPQ(i, rem)
		JB(LabelRef("copyByte"))
		VMOVDQU(buf, b.x0)
		VMOVDQU(buf.Offset(32), b.x1)
	})
}

// classify is the escape classes of x.
func (b ymmBlock) classify(x VecVirtual) VecVirtual {
	lo, hi, c := YMM(), YMM(), YMM()
	VMOVDQU(b.k.at2(cNibble), c)
	VPAND(c, x, lo)
	VPSRLW(Imm(4), x, hi)
	VPAND(c, hi, hi)
	VMOVDQU(b.k.at2(cEscLo), c)
	VPSHUFB(lo, c, lo)
	VMOVDQU(b.k.at2(cEscHi), c)
	VPSHUFB(hi, c, hi)
	VPAND(lo, hi, c)
	return c
}

func avx2(k consts) {
	s := begin("stage1AVX2", "stage1AVX2 scans src with AVX2, 64 bytes at a time, into the structural indexes idx.", false)
	prev, errv := YMM(), YMM()
	VPXOR(prev, prev, prev)
	VPXOR(errv, errv, errv)
	blk := ymmBlock{k: k, x0: YMM(), x1: YMM()}
	blk.load(s)

	bs := GP64()
	blk.mask(bs, blk.eq(cBackslash))
	escaped := blk.escapes(s, bs)
	q := GP64()
	blk.mask(q, blk.eq(cQuote))
	in := s.strings(q, escaped, func(r GPVirtual) {
		blk.mask(r, func(x, t VecVirtual) {
			VPMINUB(k.at2(cCtrlMax), x, t)
			VPCMPEQB(x, t, t)
		})
	})
	s.structurals(q, in, func(r GPVirtual) {
		blk.mask(r, func(x, t VecVirtual) {
			u := YMM()
			VMOVDQU(k.at2(cOpTable), t)
			VPSHUFB(x, t, t)
			VPOR(k.at2(cCtrl), x, u)
			VPCMPEQB(u, t, t)
		})
	}, func(r GPVirtual) {
		blk.mask(r, func(x, t VecVirtual) {
			VMOVDQU(k.at2(cWsTable), t)
			VPSHUFB(x, t, t)
			VPCMPEQB(x, t, t)
		})
	})
	blk.utf8(prev, errv)
	t := YMM()
	s.end(func(r GPVirtual) {
		VPSUBUSB(k.at2(cMaxIncomplete), prev, t)
		VPOR(t, errv, errv)
		VPTEST(errv, errv)
		SETNE(r.As8())
		MOVBQZX(r.As8(), r)
	})
}

// eq is the bytes equal to constant c.
func (b ymmBlock) eq(c int) func(x, t VecVirtual) {
	return func(x, t VecVirtual) { VPCMPEQB(b.k.at2(c), x, t) }
}

// escapes is gpState.escapes for the block, the escape classes computed
// only for blocks with escapes.
func (b ymmBlock) escapes(s *gpState, bs GPVirtual) GPVirtual {
	var cls ymmBlock
	// none is the bytes whose class has no bit of constant c, inverted.
	none := func(c int) func(GPVirtual) {
		return func(r GPVirtual) {
			cls.mask(r, func(x, t VecVirtual) {
				VPAND(b.k.at2(c), x, t)
				VPCMPEQB(b.k.at2(cZero), t, t)
			})
			NOTQ(r)
		}
	}
	return s.escapes(bs,
		func(r GPVirtual) {
			cls = ymmBlock{k: b.k, x0: b.classify(b.x0), x1: b.classify(b.x1)}
			none(cEscapeMask)(r)
		},
		func(r GPVirtual) { cls.mask(r, func(x, t VecVirtual) { VMOVDQU(x, t) }) },
		none(cHexMask),
	)
}

// utf8 adds the UTF-8 errors of the block to errv, prev being the 32 bytes
// before it.
func (b ymmBlock) utf8(prev, errv VecVirtual) {
	Comment("UTF-8: an ASCII block only has to start after complete sequences.")
	t := YMM()
	VPOR(b.x0, b.x1, t)
	a := GP32()
	VPMOVMSKB(t, a)
	TESTL(a, a)
	JNZ(LabelRef("utf8"))
	VPSUBUSB(b.k.at2(cMaxIncomplete), prev, t)
	VPOR(t, errv, errv)
	VPXOR(prev, prev, prev)
	JMP(LabelRef("next"))
	Label("utf8")
	b.utf8Half(b.x0, prev, errv)
	b.utf8Half(b.x1, prev, errv)
}

func (b ymmBlock) utf8Half(x, prev, errv VecVirtual) {
	k := b.k
	t, p1, p2, p3 := YMM(), YMM(), YMM(), YMM()
	VPERM2I128(Imm(0x21), x, prev, t) // the last 16 bytes of prev, the first of x
	VPALIGNR(Imm(15), t, x, p1)
	VPALIGNR(Imm(14), t, x, p2)
	VPALIGNR(Imm(13), t, x, p3)
	n, lo, sc := YMM(), YMM(), YMM()
	VMOVDQU(k.at2(cNibble), n)
	VPSRLW(Imm(4), p1, sc)
	VPAND(n, sc, sc)
	VMOVDQU(k.at2(cByte1High), t)
	VPSHUFB(sc, t, sc)
	VPAND(n, p1, lo)
	VMOVDQU(k.at2(cByte1Low), t)
	VPSHUFB(lo, t, lo)
	VPAND(lo, sc, sc)
	VPSRLW(Imm(4), x, lo)
	VPAND(n, lo, lo)
	VMOVDQU(k.at2(cByte2High), t)
	VPSHUFB(lo, t, lo)
	VPAND(lo, sc, sc) // the special cases
	VPSUBUSB(k.at2(cThird), p2, p2)
	VPSUBUSB(k.at2(cFourth), p3, p3)
	VPOR(p2, p3, p3)
	VPAND(k.at2(cHigh), p3, p3) // must be a continuation
	VPXOR(p3, sc, sc)
	VPOR(sc, errv, errv)
	VMOVDQU(x, prev)
}

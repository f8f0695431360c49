// Command _asm generates internal/frame's stage 1 scan in Go assembly for
// amd64 with avo, one function per instruction set. Run it with `go generate`
// in internal/frame (see gen.go there): it writes stage1_amd64.s and its Go
// declarations, which are committed, so building headcount needs neither avo
// nor this module.
//
// What the scan computes, 64 bytes (a block) at a time, is simdjson's stage 1
// reduced to what frame.Parser needs (the Go side, stage1.go, says why that
// is enough):
//   - the block's unescaped quotes and its backslashes, stored as two words
//     per block for the grammar walk;
//   - the verdict: false if any escape is invalid (a backslash not followed
//     by one of "\/bfnrtu, or \u not followed by four hex digits), a control
//     character is inside a string, or the bytes are not valid UTF-8 (the
//     Keiser-Lemire lookup algorithm of simdjson).
//
// The block after the last whole one is a copy of the frame's tail padded
// with spaces, which ends every carry (an escape, \u digits, an incomplete
// UTF-8 sequence) inside the frame: a carry into the padding is an error.
package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// Escape classes of a byte, as two nibble lookups ANDed: the byte is in a
// class when a bit of the class is set in both. u is bit 7 so that a sign
// test (VPMOVB2M, VPMOVMSKB) reads it directly.
const (
	clsQuoteSlash = 0x01 // " /
	clsBackslash  = 0x02 // \
	clsBFN        = 0x04 // b f n
	clsRT         = 0x08 // r t
	clsDigit      = 0x20 // 0-9
	clsHexLetter  = 0x40 // a-f A-F
	clsU          = 0x80 // u

	clsEscape = clsQuoteSlash | clsBackslash | clsBFN | clsRT | clsU
	clsHex    = clsDigit | clsHexLetter
)

// UTF-8 error classes of simdjson's lookup algorithm (utf8_lookup4).
const (
	tooShort     = 1 << 0
	tooLong      = 1 << 1
	overlong3    = 1 << 2
	tooLarge     = 1 << 3
	surrogate    = 1 << 4
	overlong2    = 1 << 5
	tooLarge1000 = 1 << 6
	overlong4    = 1 << 6
	twoConts     = 1 << 7
	carry        = tooShort | tooLong | twoConts
)

var (
	escLo = [16]byte{
		0x0: clsDigit,
		0x1: clsDigit | clsHexLetter,
		0x2: clsQuoteSlash | clsBFN | clsRT | clsDigit | clsHexLetter,
		0x3: clsDigit | clsHexLetter,
		0x4: clsRT | clsDigit | clsHexLetter,
		0x5: clsU | clsDigit | clsHexLetter,
		0x6: clsBFN | clsDigit | clsHexLetter,
		0x7: clsDigit, 0x8: clsDigit, 0x9: clsDigit,
		0xC: clsBackslash,
		0xE: clsBFN,
		0xF: clsQuoteSlash,
	}
	escHi = [16]byte{
		0x2: clsQuoteSlash,
		0x3: clsDigit,
		0x4: clsHexLetter,
		0x5: clsBackslash,
		0x6: clsBFN | clsHexLetter,
		0x7: clsRT | clsU,
	}
	byte1High = [16]byte{
		tooLong, tooLong, tooLong, tooLong, tooLong, tooLong, tooLong, tooLong,
		twoConts, twoConts, twoConts, twoConts,
		tooShort | overlong2,
		tooShort,
		tooShort | overlong3 | surrogate,
		tooShort | tooLarge | tooLarge1000 | overlong4,
	}
	byte1Low = [16]byte{
		carry | overlong3 | overlong2 | overlong4,
		carry | overlong2,
		carry, carry,
		carry | tooLarge,
		carry | tooLarge | tooLarge1000, carry | tooLarge | tooLarge1000, carry | tooLarge | tooLarge1000,
		carry | tooLarge | tooLarge1000, carry | tooLarge | tooLarge1000, carry | tooLarge | tooLarge1000,
		carry | tooLarge | tooLarge1000, carry | tooLarge | tooLarge1000,
		carry | tooLarge | tooLarge1000 | surrogate,
		carry | tooLarge | tooLarge1000, carry | tooLarge | tooLarge1000,
	}
	byte2High = [16]byte{
		tooShort, tooShort, tooShort, tooShort, tooShort, tooShort, tooShort, tooShort,
		tooLong | overlong2 | twoConts | overlong3 | tooLarge1000 | overlong4,
		tooLong | overlong2 | twoConts | overlong3 | tooLarge,
		tooLong | overlong2 | twoConts | surrogate | tooLarge,
		tooLong | overlong2 | twoConts | surrogate | tooLarge,
		tooShort, tooShort, tooShort, tooShort,
	}
)

// consts holds the tables and splatted bytes, 64 bytes each.
type consts struct{ mem Mem }

const (
	cEscLo = iota
	cEscHi
	cByte1High
	cByte1Low
	cByte2High
	cMaxIncomplete // 0xFF but the last three bytes: a block's end that needs more
	cQuote
	cBackslash
	cCtrl // 0x20 (AVX-512 compares below it), 0x1F (AVX2 takes the minimum)
	cCtrlMax
	cNibble
	cThird // a byte two back that is a 3- or 4-byte lead: saturating sub leaves bit 7
	cFourth
	cHigh
	cEscapeMask
	cHexMask
	cZero
	cCount
)

func makeConsts() consts {
	m := GLOBL("frameConsts", RODATA|NOPTR)
	tables := map[int][16]byte{cEscLo: escLo, cEscHi: escHi, cByte1High: byte1High, cByte1Low: byte1Low, cByte2High: byte2High}
	splats := map[int]byte{
		cQuote: '"', cBackslash: '\\', cCtrl: 0x20, cCtrlMax: 0x1F, cNibble: 0x0F,
		cThird: 0xE0 - 0x80, cFourth: 0xF0 - 0x80, cHigh: 0x80,
		cEscapeMask: clsEscape, cHexMask: clsHex, cZero: 0,
	}
	for c := 0; c < cCount; c++ {
		for i := 0; i < 64; i++ {
			var b byte
			switch {
			case c == cMaxIncomplete:
				b = 0xFF
				switch i {
				case 61:
					b = 0xF0 - 1
				case 62:
					b = 0xE0 - 1
				case 63:
					b = 0xC0 - 1
				}
			case c < cMaxIncomplete:
				t := tables[c]
				b = t[i%16]
			default:
				b = splats[c]
			}
			DATA(c*64+i, U8(b))
		}
	}
	return consts{m}
}

// at is the constant c; for AVX2 (32-byte vectors) the last 32 bytes of it,
// which for the incomplete-sequence bound is the block's end.
func (k consts) at(c int) Mem  { return k.mem.Offset(c * 64) }
func (k consts) at2(c int) Mem { return k.mem.Offset(c*64 + 32) }

func main() {
	k := makeConsts()
	avx512(k)
	avx2(k)
	Generate()
}

// gpState is the scan's state between blocks in general registers.
type gpState struct {
	src, n, out         GPVirtual
	prevEsc, hexCarry   GPVirtual // first byte escaped; \u digits owed to the next block
	prevIn, errs        GPVirtual // all ones inside a string at the block's start; error bits
	clmulOnes, clmulBuf VecPhysical
}

func begin(name, doc string) *gpState {
	TEXT(name, NOSPLIT, "func(src []byte, tail *byte, bits []uint64) bool")
	Pragma("noescape")
	Doc(doc)
	s := &gpState{
		src: GP64(), n: GP64(), out: GP64(),
		prevEsc: GP64(), hexCarry: GP64(), prevIn: GP64(), errs: GP64(),
		// VEX-encoded carry-less multiply: X0-X15 only.
		clmulOnes: X0, clmulBuf: X1,
	}
	Load(Param("src").Base(), s.src)
	Load(Param("src").Len(), s.n)
	SHRQ(Imm(6), s.n)
	INCQ(s.n) // the padded tail
	Load(Param("bits").Base(), s.out)
	for _, r := range []GPVirtual{s.prevEsc, s.hexCarry, s.prevIn, s.errs} {
		XORQ(r, r)
	}
	t := GP64()
	MOVQ(I64(-1), t)
	VMOVQ(t, s.clmulOnes)
	return s
}

// nextBlock switches to the tail before the last block.
func (s *gpState) nextBlock() {
	Label("loop")
	CMPQ(s.n, Imm(1))
	JNE(LabelRef("body"))
	Load(Param("tail"), s.src)
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

	Comment("\\u takes four hex digits, maybe from the next block.")
	um := GP64()
	u(um)
	ANDQ(escaped, um)
	MOVQ(um, t)
	for i := 0; i < 4; i++ {
		SHLQ(Imm(1), t)
		ORQ(t, s.hexCarry)
	}
	h := GP64()
	hex(h)
	ANDNQ(s.hexCarry, h, h)
	ORQ(h, s.errs)
	// Digits owed to the next block: bit j when a u at 60+j or later.
	MOVQ(um, s.hexCarry)
	SHRQ(Imm(60), s.hexCarry)
	MOVQ(s.hexCarry, t)
	SHRQ(Imm(1), t)
	ORQ(t, s.hexCarry)
	MOVQ(s.hexCarry, t)
	SHRQ(Imm(2), t)
	ORQ(t, s.hexCarry)
	Label("escaped")
	return escaped
}

// strings stores the block's unescaped quotes and backslashes and adds
// control characters inside strings to the errors.
func (s *gpState) strings(quotes, bs, escaped GPVirtual, ctrl func(GPVirtual)) {
	ANDNQ(quotes, escaped, quotes)
	MOVQ(quotes, Mem{Base: s.out})
	MOVQ(bs, Mem{Base: s.out, Disp: 8})
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
}

// end advances to the next block or returns the verdict; vecErr sets the
// zero flag when the vector errors are all zero.
func (s *gpState) end(vecErr func(GPVirtual)) {
	Label("next")
	ADDQ(Imm(64), s.src)
	ADDQ(Imm(16), s.out)
	DECQ(s.n)
	JNZ(LabelRef("loop"))

	v := GP64()
	vecErr(v)
	ORQ(v, s.errs)
	ok := GP8()
	SETEQ(ok)
	VZEROUPPER()
	Store(ok, ReturnIndex(0))
	RET()
}

func avx512(k consts) {
	s := begin("stage1AVX512", "stage1AVX512 scans src and its padded tail with AVX-512BW.")
	z := func(c int) VecVirtual {
		r := ZMM()
		VMOVDQU64(k.at(c), r)
		return r
	}
	quote, backslash, ctrl, nibble := z(cQuote), z(cBackslash), z(cCtrl), z(cNibble)
	escLo, escHi, b1h, b1l, b2h := z(cEscLo), z(cEscHi), z(cByte1High), z(cByte1Low), z(cByte2High)
	third, fourth, high, maxInc := z(cThird), z(cFourth), z(cHigh), z(cMaxIncomplete)
	escMask, hexMask := z(cEscapeMask), z(cHexMask)
	prev, errv := ZMM(), ZMM()
	VPXORQ(prev, prev, prev)
	VPXORQ(errv, errv, errv)

	s.nextBlock()
	x := ZMM()
	VMOVDQU64(Mem{Base: s.src}, x)
	kq, kb, kc := K(), K(), K()
	VPCMPEQB(quote, x, kq)
	VPCMPEQB(backslash, x, kb)
	VPCMPUB(Imm(1), ctrl, x, kc) // x < 0x20
	hi := ZMM()
	VPSRLW(Imm(4), x, hi)
	VPANDQ(nibble, hi, hi)
	bs := GP64()
	KMOVQ(kb, bs)

	var cls VecVirtual
	classify := func() {
		lo := ZMM()
		VPANDQ(nibble, x, lo)
		cls = ZMM()
		VPSHUFB(lo, escLo, cls)
		VPSHUFB(hi, escHi, lo)
		VPANDQ(lo, cls, cls)
	}
	kmask := func(set func(c VecVirtual, kk OpmaskVirtual)) func(GPVirtual) {
		return func(r GPVirtual) {
			kk := K()
			set(cls, kk)
			KMOVQ(kk, r)
		}
	}
	escaped := s.escapes(bs,
		func(r GPVirtual) {
			classify()
			kmask(func(c VecVirtual, kk OpmaskVirtual) { VPTESTMB(escMask, c, kk) })(r)
		},
		kmask(func(c VecVirtual, kk OpmaskVirtual) { VPMOVB2M(c, kk) }),
		kmask(func(c VecVirtual, kk OpmaskVirtual) { VPTESTMB(hexMask, c, kk) }),
	)
	q := GP64()
	KMOVQ(kq, q)
	s.strings(q, bs, escaped, func(r GPVirtual) { KMOVQ(kc, r) })

	Comment("UTF-8: an ASCII block only has to start after complete sequences.")
	ka := K()
	VPMOVB2M(x, ka)
	KORTESTQ(ka, ka)
	JNZ(LabelRef("utf8"))
	t := ZMM()
	VPSUBUSB(maxInc, prev, t)
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
	VPANDQ(nibble, a, a)
	VPSHUFB(a, b1h, a)
	VPANDQ(nibble, p1, b)
	VPSHUFB(b, b1l, b)
	c := ZMM()
	VPSHUFB(hi, b2h, c)
	VPTERNLOGD(Imm(0x80), a, b, c) // c = a & b & c: the special cases
	VPSUBUSB(third, p2, p2)
	VPSUBUSB(fourth, p3, p3)
	VPTERNLOGD(Imm(0xA8), high, p2, p3) // p3 = (p2 | p3) & 0x80: must be a continuation
	VPXORQ(p3, c, c)
	VPORQ(c, errv, errv)
	VMOVDQA64(x, prev)

	s.end(func(r GPVirtual) {
		VPSUBUSB(maxInc, prev, t)
		VPORQ(t, errv, errv)
		kk := K()
		VPTESTMQ(errv, errv, kk)
		KMOVQ(kk, r)
	})
}

func avx2(k consts) {
	s := begin("stage1AVX2", "stage1AVX2 scans src and its padded tail with AVX2, 32 bytes at a time.")
	y := func(c int) VecVirtual {
		r := YMM()
		VMOVDQU(k.at2(c), r)
		return r
	}
	nibble := y(cNibble)
	prev, errv := YMM(), YMM()
	VPXOR(prev, prev, prev)
	VPXOR(errv, errv, errv)

	s.nextBlock()
	x0, x1 := YMM(), YMM()
	VMOVDQU(Mem{Base: s.src}, x0)
	VMOVDQU(Mem{Base: s.src, Disp: 32}, x1)
	// mask64 is the sign bits of f(x0), f(x1) as one word.
	mask64 := func(r GPVirtual, f func(x, t VecVirtual)) {
		t := YMM()
		hi := GP64()
		f(x0, t)
		VPMOVMSKB(t, r.As32())
		f(x1, t)
		VPMOVMSKB(t, hi.As32())
		SHLQ(Imm(32), hi)
		ORQ(hi, r)
	}
	eq := func(c int) func(x, t VecVirtual) {
		return func(x, t VecVirtual) { VPCMPEQB(k.at2(c), x, t) }
	}
	bs := GP64()
	mask64(bs, eq(cBackslash))

	var cls0, cls1 VecVirtual
	classify := func(x VecVirtual) VecVirtual {
		lo, hi, c := YMM(), YMM(), YMM()
		VPAND(nibble, x, lo)
		VPSRLW(Imm(4), x, hi)
		VPAND(nibble, hi, hi)
		VMOVDQU(k.at2(cEscLo), c)
		VPSHUFB(lo, c, lo)
		VMOVDQU(k.at2(cEscHi), c)
		VPSHUFB(hi, c, hi)
		VPAND(lo, hi, c)
		return c
	}
	// clsMask is the bytes whose class has a bit of the constant c.
	clsMask := func(c int) func(GPVirtual) {
		return func(r GPVirtual) {
			t := YMM()
			hi := GP64()
			VPAND(k.at2(c), cls0, t)
			VPCMPEQB(k.at2(cZero), t, t)
			VPMOVMSKB(t, r.As32())
			VPAND(k.at2(c), cls1, t)
			VPCMPEQB(k.at2(cZero), t, t)
			VPMOVMSKB(t, hi.As32())
			SHLQ(Imm(32), hi)
			ORQ(hi, r)
			NOTQ(r)
		}
	}
	escaped := s.escapes(bs,
		func(r GPVirtual) {
			cls0, cls1 = classify(x0), classify(x1)
			clsMask(cEscapeMask)(r)
		},
		func(r GPVirtual) {
			hi := GP64()
			VPMOVMSKB(cls0, r.As32())
			VPMOVMSKB(cls1, hi.As32())
			SHLQ(Imm(32), hi)
			ORQ(hi, r)
		},
		clsMask(cHexMask),
	)
	q := GP64()
	mask64(q, eq(cQuote))
	s.strings(q, bs, escaped, func(r GPVirtual) {
		mask64(r, func(x, t VecVirtual) {
			VPMINUB(k.at2(cCtrlMax), x, t)
			VPCMPEQB(x, t, t)
		})
	})

	Comment("UTF-8: an ASCII block only has to start after complete sequences.")
	t := YMM()
	VPOR(x0, x1, t)
	a := GP32()
	VPMOVMSKB(t, a)
	TESTL(a, a)
	JNZ(LabelRef("utf8"))
	VPSUBUSB(k.at2(cMaxIncomplete), prev, t)
	VPOR(t, errv, errv)
	VPXOR(prev, prev, prev)
	JMP(LabelRef("next"))

	Label("utf8")
	utf8 := func(x VecVirtual) {
		t, p1, p2, p3 := YMM(), YMM(), YMM(), YMM()
		VPERM2I128(Imm(0x21), x, prev, t) // the last 16 bytes of prev, the first of x
		VPALIGNR(Imm(15), t, x, p1)
		VPALIGNR(Imm(14), t, x, p2)
		VPALIGNR(Imm(13), t, x, p3)
		a, b := YMM(), YMM()
		VPSRLW(Imm(4), p1, a)
		VPAND(nibble, a, a)
		VMOVDQU(k.at2(cByte1High), t)
		VPSHUFB(a, t, a)
		VPAND(nibble, p1, b)
		VMOVDQU(k.at2(cByte1Low), t)
		VPSHUFB(b, t, b)
		VPAND(a, b, a)
		VPSRLW(Imm(4), x, b)
		VPAND(nibble, b, b)
		VMOVDQU(k.at2(cByte2High), t)
		VPSHUFB(b, t, b)
		VPAND(a, b, a) // the special cases
		VPSUBUSB(k.at2(cThird), p2, p2)
		VPSUBUSB(k.at2(cFourth), p3, p3)
		VPOR(p2, p3, p3)
		VPAND(k.at2(cHigh), p3, p3) // must be a continuation
		VPXOR(p3, a, a)
		VPOR(a, errv, errv)
		VMOVDQU(x, prev)
	}
	utf8(x0)
	utf8(x1)

	s.end(func(r GPVirtual) {
		VPSUBUSB(k.at2(cMaxIncomplete), prev, t)
		VPOR(t, errv, errv)
		VPTEST(errv, errv)
		SETNE(r.As8())
		MOVBQZX(r.As8(), r)
	})
}

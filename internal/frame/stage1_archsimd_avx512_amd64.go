//go:build goexperiment.simd && amd64

package frame

import (
	"simd/archsimd"

	"github.com/headcount/headcount/internal/frame/lookup"
)

// stage1ArchsimdAVX512 is stage1AVX512 written with archsimd: AVX-512BW,
// 64 bytes a block.
func stage1ArchsimdAVX512(src []byte, idx []uint32) int {
	s := newS1State(idx)
	nib := archsimd.BroadcastUint8x64(0x0F)
	ctrl := archsimd.BroadcastUint8x64(0x20)
	quote := archsimd.BroadcastUint8x64('"')
	backslash := archsimd.BroadcastUint8x64('\\')
	spaces := archsimd.LoadUint8x64(&asSpaces)
	opTable := archsimd.LoadUint8x64(&asOpTable)
	wsTable := archsimd.LoadUint8x64(&asWsTable)
	maxInc := archsimd.LoadUint8x64(&asMaxIncomplete)
	var prev, errv, zero archsimd.Uint8x64
	full := len(src) &^ 63
	for ; s.base <= full; s.base += 64 {
		var x archsimd.Uint8x64
		if s.base < full {
			x = archsimd.LoadUint8x64(blockPtr(src, s.base))
		} else {
			x = loadTailZ(src[full:], spaces)
		}
		hi := x.AsUint16x32().ShiftAllRight(4).AsUint8x64().And(nib)
		bs := x.Equal(backslash).ToBits()
		var escaped uint64
		if bs|s.prevEsc|s.hexCarry != 0 {
			escaped = escapesZ(&s, bs, x.And(nib), hi)
		}
		q, in := s.strings(x.Equal(quote).ToBits(), escaped, x.Less(ctrl).ToBits())
		xi := x.AsInt8x64()
		op := opTable.PermuteOrZeroGrouped(xi).Equal(x.Or(ctrl)).ToBits()
		ws := wsTable.PermuteOrZeroGrouped(xi).Equal(x).ToBits()
		// UTF-8: an ASCII block only has to start after complete sequences.
		if xi.Less(zero.AsInt8x64()).ToBits() == 0 {
			errv = errv.Or(prev.SubSaturated(maxInc))
			prev = zero
		} else {
			errv = errv.Or(utf8Z(x, hi, prev, nib))
			prev = x
		}
		// Last: a call spills the vector registers.
		s.structurals(q, in, op, ws)
	}
	errv = errv.Or(prev.SubSaturated(maxInc))
	return s.result(errv.NotEqual(zero).ToBits() != 0)
}

// escapesZ classifies block x (lo, hi: its nibbles) for s.escapes.
func escapesZ(s *s1State, bs uint64, lo, hi archsimd.Uint8x64) uint64 {
	var zero archsimd.Uint8x64
	escLo := archsimd.LoadUint8x64(&asEscLo)
	escHi := archsimd.LoadUint8x64(&asEscHi)
	cls := escLo.PermuteOrZeroGrouped(lo.AsInt8x64()).And(escHi.PermuteOrZeroGrouped(hi.AsInt8x64()))
	valid := cls.And(archsimd.BroadcastUint8x64(lookup.ClsEscape)).NotEqual(zero).ToBits()
	u := cls.AsInt8x64().Less(zero.AsInt8x64()).ToBits()
	hex := cls.And(archsimd.BroadcastUint8x64(lookup.ClsHex)).NotEqual(zero).ToBits()
	return s.escapes(bs, valid, u, hex)
}

// utf8Z is the UTF-8 errors of block x (hi: its high nibbles) after block
// prev: simdjson's lookup algorithm.
func utf8Z(x, hi, prev, nib archsimd.Uint8x64) archsimd.Uint8x64 {
	// pN: the block shifted N bytes later, prev's last bytes in front.
	t := prev.AsUint64x8().ConcatPermute(x.AsUint64x8(), archsimd.LoadUint64x8(&asAlign)).AsUint8x64()
	p1 := x.ConcatShiftBytesRightGrouped(15, t)
	p2 := x.ConcatShiftBytesRightGrouped(14, t)
	p3 := x.ConcatShiftBytesRightGrouped(13, t)
	a := archsimd.LoadUint8x64(&asByte1High).PermuteOrZeroGrouped(p1.AsUint16x32().ShiftAllRight(4).AsUint8x64().And(nib).AsInt8x64())
	b := archsimd.LoadUint8x64(&asByte1Low).PermuteOrZeroGrouped(p1.And(nib).AsInt8x64())
	sc := archsimd.LoadUint8x64(&asByte2High).PermuteOrZeroGrouped(hi.AsInt8x64())
	sc = sc.And(a).And(b) // the special cases
	p2 = p2.SubSaturated(archsimd.BroadcastUint8x64(0xE0 - 0x80))
	p3 = p3.SubSaturated(archsimd.BroadcastUint8x64(0xF0 - 0x80))
	must := p2.Or(p3).And(archsimd.BroadcastUint8x64(0x80)) // must be a continuation
	return sc.Xor(must)
}

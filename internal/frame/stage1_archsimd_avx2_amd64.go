//go:build goexperiment.simd && amd64

package frame

import (
	"simd/archsimd"

	"github.com/headcount/headcount/internal/frame/lookup"
)

// stage1ArchsimdAVX2 is stage1AVX2 written with archsimd: AVX2, 64-byte
// blocks as two 32-byte halves.
func stage1ArchsimdAVX2(src []byte, idx []uint32) int {
	s := newS1State(idx)
	ctrl := archsimd.BroadcastUint8x32(0x20)
	quote := archsimd.BroadcastUint8x32('"')
	backslash := archsimd.BroadcastUint8x32('\\')
	maxInc := load32(asMaxIncomplete[32:]) // the block's end
	var prev, errv, zero archsimd.Uint8x32
	full := len(src) &^ 63
	for ; s.base <= full; s.base += 64 {
		var blk *[64]byte
		if s.base < full {
			blk = blockPtr(src, s.base)
		} else {
			t := tailBlock(src[full:])
			blk = &t
		}
		x0, x1 := load32(blk[:32]), load32(blk[32:])
		bs := join(x0.Equal(backslash).ToBits(), x1.Equal(backslash).ToBits())
		var escaped uint64
		if bs|s.prevEsc|s.hexCarry != 0 {
			escaped = escapesY(&s, bs, x0, x1)
		}
		q, in := s.strings(join(x0.Equal(quote).ToBits(), x1.Equal(quote).ToBits()), escaped,
			join(ctrlY(x0), ctrlY(x1)))
		op := join(opY(x0, ctrl), opY(x1, ctrl))
		ws := join(wsY(x0), wsY(x1))
		// UTF-8: an ASCII block only has to start after complete sequences.
		if signs(x0.Or(x1)) == 0 {
			errv = errv.Or(prev.SubSaturated(maxInc))
			prev = zero
		} else {
			errv = errv.Or(utf8Y(x0, prev)).Or(utf8Y(x1, x0))
			prev = x1
		}
		// Last: a call spills the vector registers.
		s.structurals(q, in, op, ws)
	}
	errv = errv.Or(prev.SubSaturated(maxInc))
	return s.result(!errv.IsZero())
}

func load32(b []byte) archsimd.Uint8x32 { return archsimd.LoadUint8x32((*[32]byte)(b)) }

// join is the mask of a block from its halves'.
func join(lo, hi uint32) uint64 { return uint64(lo) | uint64(hi)<<32 }

// signs is the sign bits of x's bytes.
func signs(x archsimd.Uint8x32) uint32 {
	var zero archsimd.Int8x32
	return x.AsInt8x32().Less(zero).ToBits()
}

// ctrlY is the bytes of x below 0x20.
func ctrlY(x archsimd.Uint8x32) uint32 {
	return x.Min(archsimd.BroadcastUint8x32(0x1F)).Equal(x).ToBits()
}

// opY and wsY are the operators and whitespace of x (simdjson's tables).
func opY(x, ctrl archsimd.Uint8x32) uint32 {
	return load32(asOpTable[:32]).PermuteOrZeroGrouped(x.AsInt8x32()).Equal(x.Or(ctrl)).ToBits()
}

func wsY(x archsimd.Uint8x32) uint32 {
	return load32(asWsTable[:32]).PermuteOrZeroGrouped(x.AsInt8x32()).Equal(x).ToBits()
}

// nibbles is the low and high nibbles of x's bytes.
func nibbles(x archsimd.Uint8x32) (lo, hi archsimd.Int8x32) {
	n := archsimd.BroadcastUint8x32(0x0F)
	return x.And(n).AsInt8x32(), x.AsUint16x16().ShiftAllRight(4).AsUint8x32().And(n).AsInt8x32()
}

// escapesY classifies the block's halves for s.escapes.
func escapesY(s *s1State, bs uint64, x0, x1 archsimd.Uint8x32) uint64 {
	c0, c1 := classY(x0), classY(x1)
	// none is the bytes whose class has no bit of c.
	none := func(c uint8) uint64 {
		m, z := archsimd.BroadcastUint8x32(c), archsimd.Uint8x32{}
		return join(c0.And(m).Equal(z).ToBits(), c1.And(m).Equal(z).ToBits())
	}
	return s.escapes(bs, ^none(lookup.ClsEscape), join(signs(c0), signs(c1)), ^none(lookup.ClsHex))
}

// classY is the escape classes of x's bytes.
func classY(x archsimd.Uint8x32) archsimd.Uint8x32 {
	lo, hi := nibbles(x)
	return load32(asEscLo[:32]).PermuteOrZeroGrouped(lo).And(load32(asEscHi[:32]).PermuteOrZeroGrouped(hi))
}

// utf8Y is the UTF-8 errors of half x after the 32 bytes prev: simdjson's
// lookup algorithm.
func utf8Y(x, prev archsimd.Uint8x32) archsimd.Uint8x32 {
	t := prev.Select128FromPair(1, 2, x) // the last 16 bytes of prev, the first of x
	p1 := x.ConcatShiftBytesRightGrouped(15, t)
	p2 := x.ConcatShiftBytesRightGrouped(14, t)
	p3 := x.ConcatShiftBytesRightGrouped(13, t)
	lo1, hi1 := nibbles(p1)
	_, hi := nibbles(x)
	sc := load32(asByte1High[:32]).PermuteOrZeroGrouped(hi1).
		And(load32(asByte1Low[:32]).PermuteOrZeroGrouped(lo1)).
		And(load32(asByte2High[:32]).PermuteOrZeroGrouped(hi)) // the special cases
	p2 = p2.SubSaturated(archsimd.BroadcastUint8x32(0xE0 - 0x80))
	p3 = p3.SubSaturated(archsimd.BroadcastUint8x32(0xF0 - 0x80))
	must := p2.Or(p3).And(archsimd.BroadcastUint8x32(0x80)) // must be a continuation
	return sc.Xor(must)
}

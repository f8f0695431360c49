//go:build goexperiment.simd && amd64

package frame

import (
	"math/bits"
	"simd/archsimd"
	"unsafe"

	"github.com/headcount/headcount/internal/frame/lookup"
)

// Stage 1 written with Go 1.26's experimental simd/archsimd instead of avo
// (issue 12 measures both in one run): the same algorithm and tables as
// _asm, block by block, with the same contract as stage1AVX512 and
// stage1AVX2. It exists only under GOEXPERIMENT=simd, which headcount's
// default build does not set, so Parse never takes it; the tests and
// BenchmarkThreadCPU do. The mask arithmetic between vectors (escapes,
// strings, structural indexes) is plain Go on uint64 masks, shared by both
// kernels; the quote prefix XOR is a carry-less multiply, as in the
// assembly.

// rep64 repeats a 16-byte table across 64 bytes (one per 128-bit lane).
func rep64(t [16]byte) (r [64]byte) {
	for i := range r {
		r[i] = t[i%16]
	}
	return r
}

func splat64(b byte) (r [64]byte) {
	for i := range r {
		r[i] = b
	}
	return r
}

// The tables, package lookup's (as the assembly's), 64 bytes each so that
// either kernel loads them whole or by halves.
var (
	asEscLo     = rep64(lookup.EscLo)
	asEscHi     = rep64(lookup.EscHi)
	asByte1High = rep64(lookup.Byte1High)
	asByte1Low  = rep64(lookup.Byte1Low)
	asByte2High = rep64(lookup.Byte2High)
	asWsTable   = rep64(lookup.WsTable)
	asOpTable   = rep64(lookup.OpTable)
	// A block's end that needs more bytes: a lead byte in its last three.
	asMaxIncomplete = func() (r [64]byte) {
		r = splat64(0xFF)
		r[61], r[62], r[63] = 0xF0-1, 0xE0-1, 0xC0-1
		return r
	}()
	asSpaces = splat64(' ')
	// The qwords of the block before and of the block: prev's last 16
	// bytes, then the block's first 48 (avo's VALIGNQ $6).
	asAlign = [8]uint64{6, 7, 8, 9, 10, 11, 12, 13}
)

// s1State is a scan's state between blocks, as in _asm's gpState.
type s1State struct {
	base                 int
	n                    int    // indexes written
	prevEsc, hexCarry    uint64 // first byte escaped; \u digits owed to the next block
	prevIn, errs         uint64 // all ones inside a string at the block's start; error bits
	prevScalar           uint64 // the last byte was part of a token other than a string
	idx                  []uint32
	clmulOnes, clmulZero archsimd.Uint64x2
}

// escapes is simdjson's escape scanner: the mask of escaped bytes, given
// the backslashes and, per byte, whether it is a valid escape, a u or a hex
// digit; invalid escapes and \u without four hex digits go to the errors.
func (s *s1State) escapes(bs, valid, u, hex uint64) uint64 {
	const odd = 0xAAAAAAAAAAAAAAAA
	pot := bs &^ s.prevEsc
	code := ((pot<<1 | odd) - pot) ^ odd
	escaped := (bs | s.prevEsc) ^ code
	s.prevEsc = (code & bs) >> 63
	s.errs |= escaped &^ valid
	um := u & escaped
	if um|s.hexCarry == 0 {
		return escaped
	}
	owed := s.hexCarry | um<<1 | um<<2 | um<<3 | um<<4
	s.errs |= owed &^ hex
	um >>= 60 // owed to the next block: bits 0..j for a u at 60+j
	um |= um >> 1
	um |= um >> 2
	s.hexCarry = um
	return escaped
}

// strings returns the unescaped quotes and the bytes inside strings
// (opening quotes in, closing out), and adds control characters inside
// strings to the errors.
func (s *s1State) strings(q, escaped, ctrl uint64) (uint64, uint64) {
	q &^= escaped
	in := s.clmulZero.SetElem(0, q).CarrylessMultiply(0, 0, s.clmulOnes).GetElem(0)
	in ^= s.prevIn
	s.prevIn = uint64(int64(in) >> 63)
	s.errs |= ctrl & in
	return q, in
}

// structurals appends the block's structural indexes: simdjson's
// flattening, eight at a time without a branch per bit; idx has room for
// 64 a block and 16 past the last. One function: each call in the block
// loop spills the vector registers.
func (s *s1State) structurals(q, in, op, ws uint64) {
	scalar := ^(op | ws)
	follows := scalar &^ q
	next := follows >> 63
	follows = follows<<1 | s.prevScalar
	s.prevScalar = next
	m := (scalar&^follows | op) &^ (in ^ q)
	cnt := bits.OnesCount64(m)
	out := s.idx[s.n:][:80]
	b := uint32(s.base)
	for j := 0; j < 8; j++ {
		out[j] = b + uint32(bits.TrailingZeros64(m))
		m &= m - 1
	}
	if cnt > 8 {
		for j := 8; j < 16; j++ {
			out[j] = b + uint32(bits.TrailingZeros64(m))
			m &= m - 1
		}
		for j := 16; m != 0; j++ {
			out[j&63] = b + uint32(bits.TrailingZeros64(m))
			m &= m - 1
		}
	}
	s.n += cnt
}

// newS1State starts a scan of a frame into idx.
func newS1State(idx []uint32) s1State {
	return s1State{idx: idx, clmulOnes: archsimd.BroadcastUint64x2(^uint64(0))}
}

// result is the scan's return value: the count, or -1 on any error.
func (s *s1State) result(vecErr bool) int {
	if s.errs != 0 || vecErr {
		return -1
	}
	return s.n
}

// blockPtr is the 64 bytes at src[i:]; i+64 <= len(src).
func blockPtr(src []byte, i int) *[64]byte { return (*[64]byte)(src[i : i+64]) }

// loadTailZ loads the tail with a byte mask (masked-off bytes cannot
// fault) and fills the rest with spaces, as the AVX-512 assembly does.
func loadTailZ(tail []byte, spaces archsimd.Uint8x64) archsimd.Uint8x64 {
	if len(tail) == 0 {
		return spaces
	}
	m := archsimd.Mask8x64FromBits(^uint64(0) >> (64 - len(tail)))
	x := archsimd.LoadMaskedUint8x64((*[64]uint8)(unsafe.Pointer(unsafe.SliceData(tail))), m)
	return x.Merge(spaces, m)
}

// tailBlock is the frame's tail (fewer than 64 bytes) padded with spaces,
// for the AVX2 kernel: a copy on the stack (the assembly loads 64 bytes
// when they stay in the tail's page and blends; archsimd has no byte-masked
// load on AVX2).
func tailBlock(tail []byte) (b [64]byte) {
	b = asSpaces
	copy(b[:], tail)
	return b
}

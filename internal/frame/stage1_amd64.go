package frame

import "golang.org/x/sys/cpu"

// paths lists the paths this CPU can take, slowest first. The vector code
// also needs BMI1 (ANDN) and PCLMULQDQ; x/sys/cpu reports AVX2 and
// AVX-512 only when the OS saves their registers.
func paths() []path {
	ps := []path{pathScalar}
	x := cpu.X86
	if !x.HasBMI1 || !x.HasPCLMULQDQ {
		return ps
	}
	if x.HasAVX2 {
		ps = append(ps, pathAVX2)
	}
	if x.HasAVX512F && x.HasAVX512BW {
		ps = append(ps, pathAVX512)
	}
	return ps
}

// stage1 runs path pt's stage 1 over the whole blocks of src, then over
// tail (the rest, padded), into two words per block of bits.
func stage1(pt path, src []byte, tail *[64]byte, bits []uint64) bool {
	switch pt {
	case pathAVX512:
		return stage1AVX512(src, &tail[0], bits)
	case pathAVX2:
		return stage1AVX2(src, &tail[0], bits)
	}
	return false
}

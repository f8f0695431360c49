package frame

import "golang.org/x/sys/cpu"

// paths lists the paths this CPU can take, slowest first. The vector code
// also needs BMI1 (ANDN) and PCLMULQDQ, AVX-512's BMI2 (BZHI); x/sys/cpu
// reports AVX2 and AVX-512 only when the OS saves their registers.
func paths() []path {
	ps := []path{pathScalar}
	x := cpu.X86
	if !x.HasBMI1 || !x.HasPCLMULQDQ {
		return ps
	}
	if x.HasAVX2 {
		ps = append(ps, pathAVX2)
	}
	if x.HasAVX512F && x.HasAVX512BW && x.HasBMI2 {
		ps = append(ps, pathAVX512)
	}
	return ps
}

// stage1 runs path pt's stage 1 over src into two words per 64-byte block
// of bits, the last block being the rest of src padded with spaces.
func stage1(pt path, src []byte, bits []uint64) bool {
	switch pt {
	case pathAVX512:
		return stage1AVX512(src, bits)
	case pathAVX2:
		return stage1AVX2(src, bits)
	}
	return false
}

package frame

import "golang.org/x/sys/cpu"

// paths lists the paths this CPU can take, slowest first. The vector code
// also needs BMI1 (ANDN, TZCNT, BLSR), POPCNT and PCLMULQDQ, AVX-512's BMI2
// (BZHI); x/sys/cpu reports AVX2 and AVX-512 only when the OS saves their
// registers.
func paths() []path {
	ps := []path{pathScalar}
	x := cpu.X86
	if !x.HasBMI1 || !x.HasPOPCNT || !x.HasPCLMULQDQ {
		return ps
	}
	if x.HasAVX2 {
		ps = append(ps, pathAVX2)
	}
	if x.HasAVX512F && x.HasAVX512BW && x.HasBMI2 {
		ps = append(ps, pathAVX512)
		if x.HasAVX512VBMI2 {
			ps = append(ps, pathAVX512VBMI2)
		}
	}
	return ps
}

// stage1 runs path pt's stage 1 over src (the last 64-byte block being the
// rest of src padded with spaces): it writes the structural indexes to idx
// and returns how many, or -1 when the frame has an error.
func stage1(pt path, src []byte, idx []uint32) int {
	switch pt {
	case pathAVX512VBMI2:
		return stage1AVX512VBMI2(src, idx)
	case pathAVX512:
		return stage1AVX512(src, idx)
	case pathAVX2:
		return stage1AVX2(src, idx)
	}
	return -1
}

// stage1Line is stage1 over the first line of src (up to its first
// newline): it also returns the line's length, len(src) when src has no
// newline. ok is false on a path without a line scan (AVX2).
func stage1Line(pt path, src []byte, idx []uint32) (n, end int, ok bool) {
	switch pt {
	case pathAVX512VBMI2:
		n, end = stage1AVX512VBMI2Line(src, idx)
		return n, end, true
	case pathAVX512:
		n, end = stage1AVX512Line(src, idx)
		return n, end, true
	}
	return 0, 0, false
}

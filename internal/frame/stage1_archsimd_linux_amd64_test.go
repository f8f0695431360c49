//go:build goexperiment.simd && amd64 && linux

package frame

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// archsimdKernel is an archsimd stage 1 and the avo kernel it ports.
type archsimdKernel struct {
	name    string
	fn, avo func([]byte, []uint32) int
}

// archsimdKernels are the archsimd kernels whose avo path this CPU has.
func archsimdKernels() []archsimdKernel {
	var ks []archsimdKernel
	if slices.Contains(paths(), pathAVX2) {
		ks = append(ks, archsimdKernel{"archsimd-avx2", stage1ArchsimdAVX2, stage1AVX2})
	}
	if slices.Contains(paths(), pathAVX512) {
		ks = append(ks, archsimdKernel{"archsimd-avx512", stage1ArchsimdAVX512, stage1AVX512})
	}
	return ks
}

// BenchmarkThreadCPU measures the archsimd kernels beside the avo ones.
func init() {
	for _, k := range archsimdKernels() {
		stage1Extra = append(stage1Extra, stage1Kernel{"stage1-" + k.name, k.fn})
	}
}

func runKernel(fn func([]byte, []uint32) int, b []byte) (idx []uint32, ok bool) {
	var p Parser
	ok = p.scanKernel(b, fn)
	return p.idx, ok
}

// checkArchsimd runs every archsimd kernel over b: the same verdict and
// structural indexes as the avo kernel it ports and as refStage1.
func checkArchsimd(t *testing.T, b []byte) {
	t.Helper()
	ks := archsimdKernels()
	if len(ks) == 0 {
		t.Skip("no archsimd kernel for this CPU")
	}
	wantIdx, wantOK := refStage1(b)
	for _, k := range ks {
		idx, ok := runKernel(k.fn, b)
		avoIdx, avoOK := runKernel(k.avo, b)
		if ok != avoOK || ok != wantOK {
			t.Fatalf("%s: stage 1 of %q = %v, avo %v, reference %v", k.name, b, ok, avoOK, wantOK)
		}
		if ok && (!slices.Equal(idx, avoIdx) || fmt.Sprint(idx) != fmt.Sprint(wantIdx)) {
			t.Fatalf("%s: structural indexes of %q = %v, avo %v, reference %v", k.name, b, idx, avoIdx, wantIdx)
		}
	}
}

// TestStage1Archsimd places each of stage1Cases at every offset around the
// 32- and 64-byte boundaries and at the frame's end, as TestStage1 does.
func TestStage1Archsimd(t *testing.T) {
	for _, tc := range stage1Cases {
		t.Run(tc.name, func(t *testing.T) {
			for off := 0; off <= 130; off++ {
				for _, fill := range []string{"a", `"`, " "} {
					b := []byte(strings.Repeat(fill, off) + tc.text)
					checkArchsimd(t, b)
					checkArchsimd(t, append(b, `"x"`...))
				}
			}
		})
	}
}

// TestStage1ArchsimdLengths: frames of every length up to three blocks,
// whole and cut, and a 1 MiB frame.
func TestStage1ArchsimdLengths(t *testing.T) {
	var b bytes.Buffer
	b.WriteString(`{"uid":"`)
	for b.Len() < 200 {
		fmt.Fprintf(&b, `\"é%d`, b.Len())
	}
	for n := 0; n <= 200; n++ {
		checkArchsimd(t, b.Bytes()[:n])
		checkArchsimd(t, append(b.Bytes()[:n:n], `"}`...))
	}
	b.Reset()
	for b.Len() < 1<<20 {
		fmt.Fprintf(&b, `%d,"Жж\"%d",{"k":[true,null,-1.5e3]},`, b.Len(), b.Len())
	}
	checkArchsimd(t, b.Bytes())
}

// TestStage1ArchsimdPageEnd puts frames right before a page that cannot be
// read: the masked tail load must not touch it.
func TestStage1ArchsimdPageEnd(t *testing.T) {
	eachAtPageEnd(t, func(b []byte) { checkArchsimd(t, b) })
}

// FuzzStage1Archsimd compares the archsimd kernels with the avo ones and
// refStage1 on any input, also shifted to straddle the 64-byte blocks.
func FuzzStage1Archsimd(f *testing.F) {
	fuzzSeeds(f)
	for _, tc := range stage1Cases {
		for _, off := range []int{0, 29, 31, 32, 61, 62, 63, 64, 95, 127} {
			f.Add([]byte(strings.Repeat("a", off) + tc.text))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkArchsimd(t, b)
		for _, off := range []int{1, 31, 62, 63} {
			checkArchsimd(t, append(bytes.Repeat([]byte{' '}, off), b...))
		}
	})
}

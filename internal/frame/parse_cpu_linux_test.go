package frame

import (
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/minio/simdjson-go"
	"github.com/valyala/fastjson"
	"golang.org/x/sys/unix"
)

// BenchmarkThreadCPU runs the extractors in interleaved rounds, each over
// all the frames once a round, and reports the median MB per second of the
// CPU time of the benchmark's own thread (stage1-*: the vector stage 1
// alone), and the vector paths' ratios to fastjson. On a shared machine wall-clock figures move with whatever else
// runs; a thread's CPU time much less, and interleaving gives every
// extractor the same conditions. Run it with a fixed count of rounds:
//
//	go test -run '^$' -bench ThreadCPU -benchtime 15x ./internal/frame/
//
// With GOEXPERIMENT=simd it also measures the archsimd ports of stage 1
// (stage1-archsimd-*).
func BenchmarkThreadCPU(b *testing.B) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	frames := benchFrames(b)
	var total int
	for _, f := range frames {
		total += len(f)
	}
	var p Parser
	var fj fastjson.Parser
	type extractor struct {
		name string
		fn   func([]byte) bool
	}
	var xs []extractor
	for _, pt := range paths() {
		xs = append(xs, extractor{pt.String(), func(f []byte) bool { _, _, r := p.parse(f, pt); return r == OK }})
	}
	for _, pt := range paths()[1:] {
		xs = append(xs, extractor{"stage1-" + pt.String(), func(f []byte) bool { return p.scan(f, pt) }})
	}
	for _, k := range stage1Extra {
		xs = append(xs, extractor{k.name, func(f []byte) bool { return p.scanKernel(f, k.fn) }})
	}
	if simdjson.SupportedCPU() {
		var sj simdjsonGo
		xs = append(xs, extractor{"simdjson-go", sj.extract})
	}
	xs = append(xs,
		extractor{"fastjson-validate", func(f []byte) bool { return fastjson.ValidateBytes(f) == nil }},
		extractor{"fastjson-parse", func(f []byte) bool { _, err := fj.ParseBytes(f); return err == nil }})
	rates := make([][]float64, len(xs))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j, x := range xs {
			start := threadCPU(b)
			for _, f := range frames {
				if !x.fn(f) {
					b.Fatalf("%s rejected a frame", x.name)
				}
			}
			rates[j] = append(rates[j], float64(total)/(threadCPU(b)-start).Seconds()/1e6)
		}
	}
	med := make(map[string]float64)
	for j, x := range xs {
		slices.Sort(rates[j])
		med[x.name] = rates[j][len(rates[j])/2]
		b.ReportMetric(med[x.name], x.name+"-MB/cpu-s")
	}
	for _, pt := range paths()[1:] {
		for _, base := range []string{"fastjson-validate", "fastjson-parse"} {
			b.ReportMetric(med[pt.String()]/med[base], fmt.Sprintf("%v/%s", pt, base))
		}
	}
}

// stage1Kernel is a stage 1 kernel that only some builds have, measured
// beside the avo ones (stage1_archsimd_linux_amd64_test.go adds the
// archsimd kernels under GOEXPERIMENT=simd).
type stage1Kernel struct {
	name string
	fn   func([]byte, []uint32) int
}

var stage1Extra []stage1Kernel

// scanKernel is Parser.scan with kernel fn instead of a path.
func (p *Parser) scanKernel(b []byte, fn func([]byte, []uint32) int) bool {
	n := fn(b, p.indexBuf(len(b)))
	if n < 0 {
		return false
	}
	p.idx = p.idx[:n]
	return true
}

// threadCPU is the CPU time the calling thread has used, to the nanosecond
// (getrusage counts in scheduler ticks, too coarse for a round).
func threadCPU(b *testing.B) time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ts.Nano())
}

package sketch

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// hashes returns n distinct well-mixed hashes.
func hashes(seed uint64, n int) []uint64 {
	hs := make([]uint64, n)
	for i := range hs {
		hs[i] = mix(seed + uint64(i))
	}
	return hs
}

// adder is what the Add benchmarks drive: a Counter or the map it replaces.
type adder interface {
	add(h uint64)
	reset()
}

type counterAdder struct{ c *Counter }

func (a counterAdder) add(h uint64) { a.c.Add(h) }
func (a counterAdder) reset()       { a.c.Reset() }

type mapAdder struct{ m map[uint64]struct{} }

func (a *mapAdder) add(h uint64) { a.m[h] = struct{}{} }
func (a *mapAdder) reset()       { clear(a.m) }

var addImpls = []struct {
	name string
	new  func() adder
}{
	{"set", func() adder { return counterAdder{New(Config{Mode: Exact})} }},
	{"map", func() adder { return &mapAdder{map[uint64]struct{}{}} }},
	{"hll", func() adder { return counterAdder{New(Config{Mode: HLL})} }},
}

// BenchmarkAdd: ns per Add of a distinct hash into a warm structure (emptied
// every n adds, keeping its memory, as a reused window counter is). n sets
// the working set: 10^3 fits in L1, 10^6 does not fit in cache.
//
//	go test ./internal/sketch -run '^$' -bench 'Add$' -benchtime 2000000x
func BenchmarkAdd(b *testing.B) {
	for _, n := range []int{1_000, 100_000, 1_000_000} {
		hs := hashes(1, n)
		for _, impl := range addImpls {
			b.Run(fmt.Sprintf("%s/distinct=%d", impl.name, n), func(b *testing.B) {
				a := impl.new()
				for _, h := range hs { // warm: allocate the full size once
					a.add(h)
				}
				a.reset()
				b.ResetTimer()
				j := 0
				for range b.N {
					a.add(hs[j])
					if j++; j == n {
						j = 0
						a.reset()
					}
				}
			})
		}
	}
}

// BenchmarkAddRepeat: ns per Add of a hash already present (most frames of
// an open window are users it has already seen).
func BenchmarkAddRepeat(b *testing.B) {
	const n = 100_000
	hs := hashes(2, n)
	for _, impl := range addImpls {
		b.Run(impl.name, func(b *testing.B) {
			a := impl.new()
			for _, h := range hs {
				a.add(h)
			}
			b.ResetTimer()
			for i := range b.N {
				a.add(hs[i%n])
			}
		})
	}
}

// BenchmarkAddGrow: ns per Add when building from empty to 10^6, growth
// (rehashing, allocation) included.
func BenchmarkAddGrow(b *testing.B) {
	const n = 1_000_000
	hs := hashes(3, n)
	for _, impl := range addImpls {
		b.Run(impl.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				a := impl.new()
				for _, h := range hs {
					a.add(h)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/add")
		})
	}
}

// heapInuse returns HeapInuse after a full collection.
func heapInuse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// BenchmarkMemory: heap bytes per distinct element at 10^6, measured as the
// growth of HeapInuse, against the counter's own MemBytes.
//
//	go test ./internal/sketch -run '^$' -bench Memory -benchtime 3x
func BenchmarkMemory(b *testing.B) {
	const n = 1_000_000
	hs := hashes(4, n)
	for _, impl := range addImpls {
		b.Run(fmt.Sprintf("%s/distinct=%d", impl.name, n), func(b *testing.B) {
			var perElem float64
			for b.Loop() {
				before := heapInuse()
				a := impl.new()
				for _, h := range hs {
					a.add(h)
				}
				after := heapInuse()
				perElem = float64(int64(after)-int64(before)) / n
				if ca, ok := a.(counterAdder); ok {
					b.ReportMetric(float64(ca.c.MemBytes())/n, "MemBytes/elem")
				}
				runtime.KeepAlive(a)
			}
			b.ReportMetric(perElem, "heap-B/elem")
		})
	}
}

// BenchmarkMonthWindow: one month-long Auto window fed 10^7 distinct users
// (budget 64 MiB: converts at 6,291,457), and the same in Exact mode and in
// a map, for scale. Reports MemBytes and HeapInuse after the feed.
//
//	go test ./internal/sketch -run '^$' -bench MonthWindow -benchtime 1x
func BenchmarkMonthWindow(b *testing.B) {
	for _, cfg := range []Config{{Mode: Auto, Budget: 64 << 20}, {Mode: Exact}, {Mode: HLL}} {
		b.Run(cfg.Mode.String(), func(b *testing.B) {
			for b.Loop() {
				r := monthWindow(cfg, 10_000_000)
				b.ReportMetric(float64(r.memBytes), "MemBytes")
				b.ReportMetric(float64(r.heapAfter), "HeapInuse-B")
				b.ReportMetric(float64(r.heapPeak), "peak-HeapInuse-B")
				b.ReportMetric(r.elapsed.Seconds(), "feed-s")
			}
		})
	}
}

type monthResult struct {
	count                           uint64
	exact                           bool
	memBytes                        int
	heapBefore, heapPeak, heapAfter uint64 // heapPeak, heapAfter: HeapInuse minus heapBefore
	elapsed                         time.Duration
}

// monthWindow feeds n distinct hashes into a new counter, sampling HeapInuse
// (without a GC: a real process does not collect on demand) each time the
// table grows or converts, and after a final GC.
func monthWindow(cfg Config, n int) monthResult {
	var r monthResult
	base := heapInuse()
	r.heapBefore = base
	c := New(cfg)
	var ms runtime.MemStats
	lastMem := c.MemBytes()
	start := time.Now()
	var paused time.Duration
	for i := range n {
		c.Add(mix(uint64(i)))
		if m := c.MemBytes(); m != lastMem {
			lastMem = m
			t := time.Now()
			runtime.ReadMemStats(&ms)
			r.heapPeak = max(r.heapPeak, ms.HeapInuse-min(ms.HeapInuse, base))
			paused += time.Since(t)
		}
	}
	r.elapsed = time.Since(start) - paused
	runtime.ReadMemStats(&ms)
	r.heapPeak = max(r.heapPeak, ms.HeapInuse-min(ms.HeapInuse, base))
	r.count = c.Count()
	r.exact = c.Exact()
	r.memBytes = c.MemBytes()
	after := heapInuse()
	r.heapAfter = after - min(after, base)
	runtime.KeepAlive(c)
	return r
}

// TestMonthWindow runs the 10^7-user month window and logs its memory:
//
//	go test ./internal/sketch -run MonthWindow -v
func TestMonthWindow(t *testing.T) {
	if testing.Short() {
		t.Skip("feeds 10^7 hashes; skipped with -short")
	}
	const n = 10_000_000
	cfg := Config{Mode: Auto, Budget: 64 << 20}
	r := monthWindow(cfg, n)
	t.Logf("auto, budget %d MiB, %d distinct: exact=%v count=%d (err %+.3f%%) MemBytes=%d HeapInuse after GC=%d (+%d over the %d before) peak HeapInuse during feed=%d (%.1f MiB) feed %v",
		cfg.Budget>>20, n, r.exact, r.count, 100*(float64(r.count)-n)/n, r.memBytes, r.heapBefore+r.heapAfter, r.heapAfter, r.heapBefore, r.heapPeak, float64(r.heapPeak)/(1<<20), r.elapsed.Round(time.Millisecond))
	if r.exact {
		t.Fatal("10^7 distinct hashes did not convert under a 64 MiB budget")
	}
	if r.memBytes > 64<<10 {
		t.Fatalf("MemBytes %d after conversion", r.memBytes)
	}
	// The peak is the full 64 MiB table plus its 32 MiB predecessor while
	// growing into it, plus garbage not yet collected: well under 2× budget.
	if r.heapPeak > 2*uint64(cfg.Budget) {
		t.Fatalf("peak HeapInuse %d exceeds twice the budget", r.heapPeak)
	}
	if r.heapAfter > 1<<20 {
		t.Fatalf("HeapInuse after GC %d: the table was not released", r.heapAfter)
	}
}

package sketch

import (
	"errors"
	"math/rand/v2"
	"testing"
)

// mix returns the x+1-th output of SplitMix64 (state advanced by the golden
// gamma, then the mix13 finalizer): a bijection of uint64, so mix(seed+i) for
// distinct i are distinct, well-mixed "uid hashes" with a known cardinality.
func mix(x uint64) uint64 {
	x = (x + 1) * 0x9E3779B97F4A7C15
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9
	x = (x ^ (x >> 27)) * 0x94D049BB133111EB
	return x ^ (x >> 31)
}

// feed adds mix(seed+i) for i in [from, to).
func feed(c *Counter, seed uint64, from, to int) {
	for i := from; i < to; i++ {
		c.Add(mix(seed + uint64(i)))
	}
}

func TestParseMode(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Mode
		wantErr bool
	}{
		{"exact", Exact, false},
		{"hll", HLL, false},
		{"auto", Auto, false},
		{" AUTO ", Auto, false},
		{"", 0, true},
		{"hyperloglog", 0, true},
	} {
		got, err := ParseMode(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ParseMode(%q) = %v, %v; want %v, err %v", tc.in, got, err, tc.want, tc.wantErr)
		}
		if err == nil && got.String() != tc.want.String() {
			t.Errorf("String round trip of %q: %q", tc.in, got.String())
		}
	}
	if s := Mode(9).String(); s != "Mode(9)" {
		t.Errorf("Mode(9).String() = %q", s)
	}
	var m Mode
	if err := m.UnmarshalText([]byte("hll")); err != nil || m != HLL {
		t.Errorf("UnmarshalText(hll) = %v, %v", m, err)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg Config
		ok  bool
	}{
		{Config{}, true},
		{Config{Mode: Auto, Precision: 4, Budget: 1}, true},
		{Config{Mode: HLL, Precision: 18}, true},
		{Config{Precision: 3}, false},
		{Config{Precision: 19}, false},
		{Config{Budget: -1}, false},
		{Config{Mode: 3}, false},
	} {
		if err := tc.cfg.Validate(); (err == nil) != tc.ok {
			t.Errorf("%+v.Validate() = %v, want ok=%v", tc.cfg, err, tc.ok)
		}
		// New corrects what Validate rejects instead of failing.
		c := New(tc.cfg)
		got := c.Config()
		if got.Precision < MinPrecision || got.Precision > MaxPrecision || got.Budget <= 0 || got.Mode > Auto {
			t.Errorf("New(%+v).Config() = %+v: not corrected", tc.cfg, got)
		}
	}
}

// TestExactCounts checks exact and auto counters (below budget) against a map.
func TestExactCounts(t *testing.T) {
	for _, tc := range []struct {
		name     string
		distinct int
		repeat   int  // each hash added this many times
		zero     bool // add the hash 0 too
	}{
		{"empty", 0, 1, false},
		{"only-zero", 0, 1, true},
		{"one", 1, 1, false},
		{"dups", 10, 5, false},
		{"grow-boundary", 12, 2, true}, // 12 = 3/4 of the first 16-slot table
		{"thirteen", 13, 1, false},
		{"1e3", 1000, 3, true},
		{"1e5", 100_000, 2, false},
	} {
		for _, mode := range []Mode{Exact, Auto} {
			t.Run(tc.name+"/"+mode.String(), func(t *testing.T) {
				c := New(Config{Mode: mode})
				for range tc.repeat {
					feed(c, 42, 0, tc.distinct)
					if tc.zero {
						c.Add(0)
					}
				}
				want := uint64(tc.distinct)
				if tc.zero {
					want++
				}
				if got := c.Count(); got != want {
					t.Fatalf("Count = %d, want %d", got, want)
				}
				if !c.Exact() || c.RSE() != 0 {
					t.Fatalf("Exact = %v, RSE = %v; want exact", c.Exact(), c.RSE())
				}
			})
		}
	}
}

// TestExactDifferential feeds random streams with repeats and poorly mixed
// values (small integers, multiples of a power of two) and compares with map.
func TestExactDifferential(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	gens := map[string]func() uint64{
		"random":   r.Uint64,
		"small":    func() uint64 { return r.Uint64N(5000) },
		"pow2-mul": func() uint64 { return r.Uint64N(5000) << 40 },
		"low-zero": func() uint64 { return r.Uint64N(5000) << 20 },
	}
	for name, gen := range gens {
		t.Run(name, func(t *testing.T) {
			c := New(Config{Mode: Exact})
			ref := map[uint64]struct{}{}
			for i := range 20_000 {
				h := gen()
				c.Add(h)
				ref[h] = struct{}{}
				if i%997 == 0 && c.Count() != uint64(len(ref)) {
					t.Fatalf("after %d adds: Count = %d, want %d", i+1, c.Count(), len(ref))
				}
			}
			if c.Count() != uint64(len(ref)) {
				t.Fatalf("Count = %d, want %d", c.Count(), len(ref))
			}
		})
	}
}

func TestHLLSmallIsNearlyExact(t *testing.T) {
	// The sparse form counts at 25-bit precision: a few hundred distinct
	// hashes come out exact or off by one.
	c := New(Config{Mode: HLL})
	feed(c, 7, 0, 300)
	feed(c, 7, 0, 300)
	if got := c.Count(); got < 299 || got > 301 {
		t.Fatalf("Count = %d, want ~300", got)
	}
	if c.Exact() {
		t.Fatal("HLL counter reports Exact")
	}
	if got, want := c.RSE(), 1.04/128; got != want {
		t.Fatalf("RSE = %v, want %v", got, want)
	}
}

func TestMerge(t *testing.T) {
	type side struct {
		mode     Mode
		from, to int
		zero     bool
	}
	for _, tc := range []struct {
		name      string
		a, b      side
		want      uint64
		wantExact bool
	}{
		{"exact+exact disjoint", side{Exact, 0, 1000, false}, side{Exact, 1000, 3000, false}, 3000, true},
		{"exact+exact overlap", side{Exact, 0, 1000, true}, side{Exact, 500, 1500, true}, 1501, true},
		{"exact+empty", side{Exact, 0, 10, false}, side{Exact, 0, 0, false}, 10, true},
		{"empty+exact", side{Exact, 0, 0, false}, side{Exact, 0, 10, true}, 11, true},
		{"auto+auto small", side{Auto, 0, 100, false}, side{Auto, 50, 200, false}, 200, true},
		{"exact+hll", side{Exact, 0, 300, false}, side{HLL, 200, 500, false}, 500, false},
		{"hll+exact", side{HLL, 0, 300, false}, side{Exact, 200, 500, true}, 501, false},
		{"hll+hll", side{HLL, 0, 300, false}, side{HLL, 200, 500, false}, 500, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := New(Config{Mode: tc.a.mode}), New(Config{Mode: tc.b.mode})
			feed(a, 1, tc.a.from, tc.a.to)
			feed(b, 1, tc.b.from, tc.b.to)
			if tc.a.zero {
				a.Add(0)
			}
			if tc.b.zero {
				b.Add(0)
			}
			bCount := b.Count()
			if err := a.Merge(b); err != nil {
				t.Fatal(err)
			}
			got := a.Count()
			if a.Exact() != tc.wantExact {
				t.Fatalf("Exact = %v, want %v", a.Exact(), tc.wantExact)
			}
			// Sparse sketches at these sizes are within a count or two.
			if tc.wantExact && got != tc.want || !tc.wantExact && (got+2 < tc.want || got > tc.want+2) {
				t.Fatalf("Count = %d, want %d", got, tc.want)
			}
			if b.Count() != bCount {
				t.Fatalf("Merge changed its argument: %d -> %d", bCount, b.Count())
			}
		})
	}

	t.Run("precision mismatch", func(t *testing.T) {
		a, b := New(Config{Mode: HLL, Precision: 12}), New(Config{Mode: HLL, Precision: 14})
		if err := a.Merge(b); err == nil {
			t.Fatal("merging p=14 into p=12 succeeded")
		}
		a, b = New(Config{Precision: 12}), New(Config{Precision: 14})
		if err := a.Merge(b); err == nil {
			t.Fatal("merging exact counters of different precision succeeded")
		}
	})
	t.Run("self and nil", func(t *testing.T) {
		a := New(Config{})
		feed(a, 1, 0, 100)
		if err := a.Merge(a); err != nil || a.Count() != 100 {
			t.Fatalf("self merge: %v, Count %d", err, a.Count())
		}
		if err := a.Merge(nil); err != nil || a.Count() != 100 {
			t.Fatalf("nil merge: %v, Count %d", err, a.Count())
		}
	})
	t.Run("auto converts on merge", func(t *testing.T) {
		cfg := Config{Mode: Auto, Budget: 64 << 10} // 8192 slots: converts above 6144
		a, b := New(cfg), New(cfg)
		feed(a, 3, 0, 4000)
		feed(b, 3, 3000, 7000)
		if err := a.Merge(b); err != nil {
			t.Fatal(err)
		}
		if a.Exact() {
			t.Fatalf("7000 distinct under a 6144 limit still exact")
		}
		ref := New(Config{Mode: HLL})
		feed(ref, 3, 0, 7000)
		if a.Count() != ref.Count() {
			t.Fatalf("converted merge counts %d, HLL of the same hashes %d", a.Count(), ref.Count())
		}
	})
	t.Run("big merge is not quadratic", func(t *testing.T) {
		// Merging a large table into a small one that must grow is where
		// slot-order iteration clusters; forEach's scattered order avoids it.
		a, b := New(Config{}), New(Config{})
		feed(b, 9, 0, 1_000_000)
		feed(a, 9, 999_990, 1_000_010)
		if err := a.Merge(b); err != nil {
			t.Fatal(err)
		}
		if a.Count() != 1_000_010 {
			t.Fatalf("Count = %d", a.Count())
		}
		c := New(Config{Mode: Auto, Budget: 64 << 20})
		if err := c.Merge(b); err != nil || c.Count() != 1_000_000 {
			t.Fatalf("auto merge: %v, Count %d", err, c.Count())
		}
	})
}

// TestAutoConvertsAtBudget walks an Auto counter across its budget.
func TestAutoConvertsAtBudget(t *testing.T) {
	for _, budget := range []int{64 << 10, 1 << 20, 100_000} {
		cfg := Config{Mode: Auto, Budget: budget}
		c := New(cfg)
		// The biggest power-of-two table within budget holds 3/4 of its slots.
		slots := minSlots
		for slots*2*8 <= budget {
			slots *= 2
		}
		limit := slots / 4 * 3
		for i := range limit {
			c.Add(mix(uint64(i)))
			if m := c.MemBytes(); m > budget+counterOverhead {
				t.Fatalf("budget %d: MemBytes %d after %d adds", budget, m, i+1)
			}
		}
		if !c.Exact() || c.Count() != uint64(limit) {
			t.Fatalf("budget %d: at the limit (%d) Exact=%v Count=%d", budget, limit, c.Exact(), c.Count())
		}
		c.Add(mix(0)) // a repeat must not convert
		if !c.Exact() {
			t.Fatalf("budget %d: a repeated hash converted the counter", budget)
		}
		c.Add(mix(uint64(limit)))
		if c.Exact() {
			t.Fatalf("budget %d: %d distinct did not convert", budget, limit+1)
		}
		if m := c.MemBytes(); m > budget || m > 1<<DefaultPrecision+1024 {
			t.Fatalf("budget %d: MemBytes after conversion %d", budget, m)
		}
		feed(c, 0, limit+1, 4*limit)
		ref := New(Config{Mode: HLL})
		feed(ref, 0, 0, 4*limit)
		if c.Count() != ref.Count() {
			t.Fatalf("budget %d: converted counter %d, HLL counter %d on the same hashes", budget, c.Count(), ref.Count())
		}
	}
}

func TestReset(t *testing.T) {
	for _, mode := range []Mode{Exact, HLL, Auto} {
		c := New(Config{Mode: mode, Budget: 64 << 10})
		feed(c, 5, 0, 20_000)
		c.Add(0)
		before := c.MemBytes()
		c.Reset()
		if c.Count() != 0 {
			t.Fatalf("%v: Count after Reset = %d", mode, c.Count())
		}
		if mode == Exact && c.MemBytes() != before {
			t.Fatalf("exact: Reset freed the table (%d -> %d bytes)", before, c.MemBytes())
		}
		if c.Exact() != (mode != HLL) {
			t.Fatalf("%v: Exact after Reset = %v", mode, c.Exact())
		}
		feed(c, 6, 0, 100)
		fresh := New(Config{Mode: mode})
		feed(fresh, 6, 0, 100)
		if c.Count() != fresh.Count() {
			t.Fatalf("%v: reused counter %d, fresh %d", mode, c.Count(), fresh.Count())
		}
	}
}

func TestZeroCounterDoesNotPanic(t *testing.T) {
	var c Counter
	c.Add(1)
	c.Add(0)
	c.Add(1)
	if c.Count() != 2 {
		t.Fatalf("zero Counter counts %d, want 2", c.Count())
	}
	if _, err := c.MarshalBinary(); err == nil {
		t.Fatal("zero Counter encoded without error")
	}
	if err := c.Merge(New(Config{})); err == nil {
		t.Fatal("zero Counter merged with a p=14 counter")
	}
	c.Reset()
	_ = c.MemBytes()
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		n    int
		zero bool
	}{
		{"exact-empty", Config{Mode: Exact}, 0, false},
		{"exact-zero-only", Config{Mode: Exact}, 0, true},
		{"exact", Config{Mode: Exact}, 5000, true},
		{"hll-empty", Config{Mode: HLL}, 0, false},
		{"hll-sparse", Config{Mode: HLL}, 500, true},
		{"hll-dense", Config{Mode: HLL, Precision: 10}, 100_000, false},
		{"auto-exact", Config{Mode: Auto}, 5000, false},
		{"auto-converted", Config{Mode: Auto, Budget: 64 << 10}, 50_000, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := New(tc.cfg)
			feed(c, 11, 0, tc.n)
			if tc.zero {
				c.Add(0)
			}
			b, err := c.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			d := New(Config{Mode: HLL, Precision: 4}) // overwritten entirely
			if err := d.UnmarshalBinary(b); err != nil {
				t.Fatal(err)
			}
			if d.Config() != c.Config() || d.Exact() != c.Exact() || d.Count() != c.Count() {
				t.Fatalf("decoded %+v exact=%v count=%d; encoded %+v exact=%v count=%d",
					d.Config(), d.Exact(), d.Count(), c.Config(), c.Exact(), c.Count())
			}
			// The decoded counter carries on exactly like the original.
			feed(c, 11, tc.n/2, tc.n+20_000)
			feed(d, 11, tc.n/2, tc.n+20_000)
			if d.Exact() != c.Exact() || d.Count() != c.Count() {
				t.Fatalf("after more adds: decoded exact=%v count=%d, original exact=%v count=%d",
					d.Exact(), d.Count(), c.Exact(), c.Count())
			}
		})
	}
}

func TestUnmarshalRejects(t *testing.T) {
	c := New(Config{})
	feed(c, 1, 0, 3)
	good, _ := c.MarshalBinary()
	h := New(Config{Mode: HLL})
	feed(h, 1, 0, 3)
	goodHLL, _ := h.MarshalBinary()

	edit := func(b []byte, f func([]byte) []byte) []byte { return f(append([]byte(nil), b...)) }
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"short", good[:10]},
		{"magic", edit(good, func(b []byte) []byte { b[0] = 'x'; return b })},
		{"version", edit(good, func(b []byte) []byte { b[2] = 2; return b })},
		{"mode", edit(good, func(b []byte) []byte { b[3] = 3; return b })},
		{"precision", edit(good, func(b []byte) []byte { b[4] = 3; return b })},
		{"state", edit(good, func(b []byte) []byte { b[5] = 2; return b })},
		{"budget zero", edit(good, func(b []byte) []byte { clear(b[6:14]); return b })},
		{"zero flag", edit(good, func(b []byte) []byte { b[14] = 2; return b })},
		{"count too big", edit(good, func(b []byte) []byte { b[15] = 4; return b })},
		{"truncated hash", good[:len(good)-1]},
		{"trailing byte", append(append([]byte(nil), good...), 0)},
		{"duplicate", edit(good, func(b []byte) []byte { copy(b[31:39], b[23:31]); return b })},
		{"hash zero", edit(good, func(b []byte) []byte { clear(b[23:31]); return b })},
		{"hll mode with set", edit(good, func(b []byte) []byte { b[3] = byte(HLL); return b })},
		{"sketch garbage", edit(goodHLL, func(b []byte) []byte { return append(b[:headerLen], 9, 9, 9) })},
		{"sketch precision", edit(goodHLL, func(b []byte) []byte { b[4] = 12; return b })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := New(Config{})
			d.Add(123)
			err := d.UnmarshalBinary(tc.data)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if d.Count() != 1 || !d.Exact() {
				t.Fatalf("failed Unmarshal changed the receiver")
			}
		})
	}
}

// FuzzUnmarshal: no input panics; whatever decodes re-encodes to something
// that decodes to the same count, and can be used.
func FuzzUnmarshal(f *testing.F) {
	for _, cfg := range []Config{{Mode: Exact}, {Mode: HLL}, {Mode: HLL, Precision: 4}, {Mode: Auto, Budget: 1024}} {
		for _, n := range []int{0, 3, 200, 2000} {
			c := New(cfg)
			feed(c, 1, 0, n)
			b, _ := c.MarshalBinary()
			f.Add(b)
		}
	}
	f.Add([]byte("hc\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var c Counter
		if err := c.UnmarshalBinary(data); err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		n := c.Count()
		b, err := c.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded counter does not encode: %v", err)
		}
		var d Counter
		if err := d.UnmarshalBinary(b); err != nil {
			t.Fatalf("re-encoding does not decode: %v", err)
		}
		if d.Count() != n {
			t.Fatalf("round trip count %d, want %d", d.Count(), n)
		}
		_ = c.MemBytes()
		_ = c.RSE()
		c.Add(1)
		c.Add(0)
		_ = c.Merge(&d)
		_ = c.Count()
		c.Reset()
	})
}

// TestAddDoesNotAllocate: once the table has grown (or the sketch is dense),
// Add allocates nothing.
func TestAddDoesNotAllocate(t *testing.T) {
	hs := make([]uint64, 50_000)
	for i := range hs {
		hs[i] = mix(uint64(i))
	}
	for _, mode := range []Mode{Exact, HLL, Auto} {
		c := New(Config{Mode: mode})
		for _, h := range hs {
			c.Add(h)
		}
		if mode != HLL {
			c.Reset() // keeps the table: re-adding the same hashes must not grow it
		}
		i := 0
		allocs := testing.AllocsPerRun(len(hs)-1, func() {
			c.Add(hs[i])
			i++
		})
		if allocs != 0 {
			t.Errorf("%v: %.2f allocations per Add", mode, allocs)
		}
	}
}

package sketch

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/axiomhq/hyperloglog"
)

// Mode says how a Counter counts.
type Mode uint8

const (
	// Exact stores every distinct hash: no error, memory grows with the count.
	Exact Mode = iota
	// HLL keeps a HyperLogLog sketch: fixed memory, relative standard error RSE.
	HLL
	// Auto is exact until the set would grow past Config.Budget bytes, then HLL.
	Auto
)

// String returns the name ParseMode accepts.
func (m Mode) String() string {
	switch m {
	case Exact:
		return "exact"
	case HLL:
		return "hll"
	case Auto:
		return "auto"
	}
	return fmt.Sprintf("Mode(%d)", uint8(m))
}

// ParseMode parses "exact", "hll" or "auto" (case-insensitive, surrounding
// spaces ignored), as given to --count.
func ParseMode(s string) (Mode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "exact":
		return Exact, nil
	case "hll":
		return HLL, nil
	case "auto":
		return Auto, nil
	}
	return 0, fmt.Errorf("sketch: unknown counting mode %q (want exact, hll or auto)", s)
}

// ParsePrecision parses a HyperLogLog precision (--precision).
func ParsePrecision(s string) (uint8, error) {
	p, err := strconv.ParseUint(s, 10, 8)
	if err != nil || p < MinPrecision || p > MaxPrecision {
		return 0, fmt.Errorf("--precision %q: want a whole number from %d to %d", s, MinPrecision, MaxPrecision)
	}
	return uint8(p), nil
}

// MarshalText and UnmarshalText let a Mode be a flag or config value.
func (m Mode) MarshalText() ([]byte, error) {
	if m > Auto {
		return nil, fmt.Errorf("sketch: invalid mode %d", uint8(m))
	}
	return []byte(m.String()), nil
}

// UnmarshalText parses like ParseMode.
func (m *Mode) UnmarshalText(b []byte) error {
	v, err := ParseMode(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

const (
	// DefaultPrecision gives 2^14 registers: 16 KiB, RSE 0.81%.
	DefaultPrecision = 14
	// MinPrecision and MaxPrecision are the range the HLL library accepts.
	MinPrecision = 4
	MaxPrecision = 18
	// DefaultBudget is the Auto-mode table budget per counter. 4 MiB holds
	// 393,216 distinct users exactly (a 2^19-slot table): the reference
	// traffic's ~100,000 users per window stay exact with room to spare,
	// while a window with millions of users converts to a 16 KiB sketch.
	DefaultBudget = 4 << 20
)

// Config says how New builds a Counter. Zero fields take their defaults.
type Config struct {
	Mode Mode
	// Precision p of the HLL sketch (2^p registers, 2^p bytes); used in HLL
	// mode and when Auto converts. 0 means DefaultPrecision. New clamps
	// values outside MinPrecision..MaxPrecision; Validate reports them.
	Precision uint8
	// Budget is, in Auto mode, the most bytes the exact set's hash table may
	// hold: when the table would have to grow beyond it, the counter converts
	// to HLL instead. 0 means DefaultBudget. It bounds one counter (one
	// window); the peak during growth is 1.5× the budget (old and new table)
	// and during conversion the budget plus 2^p bytes.
	Budget int
}

// Validate reports a configuration New would have to correct.
func (c Config) Validate() error {
	var errs []error
	if c.Mode > Auto {
		errs = append(errs, fmt.Errorf("sketch: invalid mode %d", uint8(c.Mode)))
	}
	if c.Precision != 0 && (c.Precision < MinPrecision || c.Precision > MaxPrecision) {
		errs = append(errs, fmt.Errorf("sketch: precision %d out of range %d..%d", c.Precision, MinPrecision, MaxPrecision))
	}
	if c.Budget < 0 {
		errs = append(errs, fmt.Errorf("sketch: negative budget %d", c.Budget))
	}
	return errors.Join(errs...)
}

// withDefaults fills zero fields and clamps the rest into range.
func (c Config) withDefaults() Config {
	if c.Mode > Auto {
		c.Mode = Exact
	}
	switch {
	case c.Precision == 0:
		c.Precision = DefaultPrecision
	case c.Precision < MinPrecision:
		c.Precision = MinPrecision
	case c.Precision > MaxPrecision:
		c.Precision = MaxPrecision
	}
	if c.Budget <= 0 {
		c.Budget = DefaultBudget
	}
	return c
}

// Counter counts distinct hashes in one of the Modes. Build it with New; it
// is not safe for concurrent use.
type Counter struct {
	mode   Mode
	p      uint8
	budget int
	set    set                 // the exact state; unused once sk != nil
	sk     *hyperloglog.Sketch // non-nil: the counter is approximate
}

// New returns an empty Counter. Invalid configuration values are replaced by
// defaults or clamped (see Config.Validate): New never fails.
func New(cfg Config) *Counter {
	cfg = cfg.withDefaults()
	c := &Counter{mode: cfg.Mode, p: cfg.Precision, budget: cfg.Budget}
	if c.mode == HLL {
		c.sk = newSketch(c.p)
	}
	return c
}

// newSketch returns an empty sparse sketch. Sparse first: small windows (a
// quiet minute) cost a few hundred bytes instead of 2^p and count nearly
// exactly. p has been range-checked by the caller.
func newSketch(p uint8) *hyperloglog.Sketch {
	sk, err := hyperloglog.NewSketch(p, true)
	if err != nil {
		// Unreachable: every caller clamps or validates p first.
		sk = hyperloglog.New14()
	}
	return sk
}

// Config returns the effective configuration (defaults filled in). A
// Counter built from it can Merge with this one.
func (c *Counter) Config() Config {
	return Config{Mode: c.mode, Precision: c.p, Budget: c.budget}
}

// Add counts one hash. The hash must already be well mixed (xxhash of the
// uid): the counter uses its bits directly. It allocates only when the exact
// set grows (amortized O(1)) or when Auto converts.
func (c *Counter) Add(h uint64) {
	if c.sk != nil {
		c.sk.InsertHash(h)
		return
	}
	if h == 0 {
		c.set.zero = true
		return
	}
	if c.set.slots == nil || c.set.add(h) {
		c.growOrConvert(h)
	}
}

// growOrConvert makes room for h, which the set does not hold, and adds it.
// Kept out of Add so that Add stays small enough to inline.
func (c *Counter) growOrConvert(h uint64) {
	next := minSlots
	if c.set.slots != nil {
		next = len(c.set.slots) * 2
	}
	if c.mode == Auto && next*8 > c.budget {
		c.convert()
		c.sk.InsertHash(h)
		return
	}
	c.set.resize(next)
	c.set.insertNew(h)
}

// convert replaces the exact set with an HLL sketch holding the same hashes.
// The sketch is built exactly as an HLL-mode counter fed the same hashes
// would be, so a converted counter's estimate does not depend on when it
// converted.
func (c *Counter) convert() {
	sk := newSketch(c.p)
	if c.set.zero {
		sk.InsertHash(0)
	}
	c.set.forEach(sk.InsertHash)
	c.sk = sk
	c.set = set{} // drop the table: that is the point of converting
}

// Count returns the number of distinct hashes added: exact while Exact()
// reports true, an estimate otherwise.
func (c *Counter) Count() uint64 {
	if c.sk != nil {
		// Estimate compacts the sparse form in place; it is not a pure read,
		// which is one reason a Counter is not safe for concurrent use.
		return c.sk.Estimate()
	}
	return uint64(c.set.len())
}

// Exact reports whether the counter still holds an exact set.
func (c *Counter) Exact() bool { return c.sk == nil }

// Mode returns the configured mode (an Exact- or Auto-mode counter can be
// approximate after a conversion or a merge: see Exact).
func (c *Counter) Mode() Mode { return c.mode }

// RSE returns the relative standard error of Count: 0 while exact, else the
// HyperLogLog figure 1.04/√(2^p) (0.0081 at p = 14). The library documents
// no figure of its own; LogLog-Beta, which it implements, matches HLL's
// 1.04/√m, and our accuracy test checks the observed error against it. In
// the sparse form (small counts) the real error is far smaller.
func (c *Counter) RSE() float64 {
	if c.sk == nil {
		return 0
	}
	return rse(c.p)
}

func rse(p uint8) float64 { return 1.04 / math.Sqrt(float64(uint64(1)<<p)) }

// Merge adds o's hashes to c (set union); o is not changed.
//
// Exact ∪ exact stays exact; in Auto mode c may convert during the merge when
// the union outgrows c's budget. If either side is approximate the result is
// approximate, whatever c's Mode. The precisions must match, whatever the
// states, so that whether a merge works never depends on the data.
func (c *Counter) Merge(o *Counter) error {
	if o == nil || o == c {
		return nil
	}
	if c.p != o.p {
		return fmt.Errorf("sketch: cannot merge precision %d into precision %d", o.p, c.p)
	}
	if o.sk != nil {
		if c.sk == nil {
			c.convert()
		}
		return c.sk.Merge(o.sk)
	}
	if c.sk != nil {
		if o.set.zero {
			c.sk.InsertHash(0)
		}
		o.set.forEach(c.sk.InsertHash)
		return nil
	}
	if o.set.zero {
		c.set.zero = true
	}
	// Presize for the worst case (disjoint sets) when the budget allows, so
	// the table grows once instead of step by step.
	if want := slotsFor(c.set.n + o.set.n); want > len(c.set.slots) && (c.mode != Auto || want*8 <= c.budget) {
		c.set.resize(want)
	}
	o.set.forEach(c.Add)
	return nil
}

// Per-object overheads for MemBytes: the Counter struct, and the sketch's
// struct, sparse-set map and list headers. Approximate by design.
const (
	counterOverhead = 64
	sketchOverhead  = 256
)

// MemBytes approximates the heap the counter holds: for the exact set its
// table (8 bytes a slot, 10.7–21.3 bytes per distinct hash at load 3/8–3/4);
// for HLL 2^p, the dense register array, which is also roughly where the
// library's sparse form turns dense, so it bounds small sketches from above.
// It is O(1): it reads sizes, it does not walk the data.
func (c *Counter) MemBytes() int {
	if c.sk != nil {
		return counterOverhead + sketchOverhead + 1<<c.p
	}
	return counterOverhead + c.set.tableBytes()
}

// Reset empties the counter for a new window. The exact set keeps its table
// (no reallocation for the next window of the same size); an approximate
// counter gets a fresh sparse sketch, or returns to exact in Exact and Auto
// mode. Why not reuse the sketch's dense registers: a reused dense sketch
// estimates small counts differently than a fresh sparse one, and a window's
// result must not depend on whether its counter was reused (replays after a
// restart must reproduce it).
func (c *Counter) Reset() {
	c.set.reset()
	c.sk = nil
	if c.mode == HLL {
		c.sk = newSketch(c.p)
	}
}

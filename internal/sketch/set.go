package sketch

import "math/bits"

// set is an open-addressing hash set of uint64 with linear probing.
//
// Why not map[uint64]struct{}: the keys are already uniform hashes, so the set
// needs no hash function, no per-group control bytes and no tombstones (we
// never delete); one flat []uint64 is smaller and its probes are cheaper. The
// benchmarks in sketch_bench_test.go compare the two.
//
// Slot value 0 marks an empty slot, so the key 0 lives in a separate flag.
// The table length is a power of two and its load stays at or below 3/4.
type set struct {
	slots []uint64
	shift uint8 // 64 - log2(len(slots)): a slot index is the top bits of the scrambled key
	n     int   // nonzero keys stored
	limit int   // n may not exceed this before the table grows (3/4 of len(slots))
	zero  bool  // key 0 is present
}

const (
	// minSlots is the first table size: 128 bytes, enough for a quiet minute.
	minSlots = 16
	// fib is 2^64/φ rounded to odd. Multiplying by it is a bijection of
	// uint64 that spreads the key's low bits into the top bits we index by,
	// so keys that are not well mixed (sequential test values, a weak hash)
	// do not cluster; for xxhash output it costs one multiplication.
	fib = 0x9E3779B97F4A7C15
)

// len returns the number of distinct keys, including 0.
// resize makes room for n slots: the first table, or a larger one.
func (s *set) resize(n int) {
	if s.slots == nil {
		zero := s.zero
		s.init(n)
		s.zero = zero
		return
	}
	s.grow(n)
}

func (s *set) len() int {
	if s.zero {
		return s.n + 1
	}
	return s.n
}

// tableBytes is the heap the table holds.
func (s *set) tableBytes() int { return len(s.slots) * 8 }

// slotsFor returns the table size that holds n keys at load ≤ 3/4.
func slotsFor(n int) int {
	size := minSlots
	for size/4*3 < n {
		size *= 2
	}
	return size
}

// init gives the set an empty table of size slots (a power of two ≥ minSlots).
func (s *set) init(size int) {
	s.slots = make([]uint64, size)
	s.shift = uint8(64 - bits.TrailingZeros(uint(size)))
	s.n = 0
	s.limit = size / 4 * 3
	s.zero = false
}

// add inserts a nonzero key. It reports full, and changes nothing, when the
// key is absent and the table is at its load limit: the caller grows the
// table (or, in Auto mode, converts) and calls add again. Asking the caller
// keeps the budget decision out of the hot loop.
func (s *set) add(h uint64) (full bool) {
	mask := uint64(len(s.slots) - 1)
	i := (h * fib) >> s.shift
	for {
		v := s.slots[i]
		if v == h {
			return false
		}
		if v == 0 {
			if s.n >= s.limit {
				return true
			}
			s.slots[i] = h
			s.n++
			return false
		}
		i = (i + 1) & mask
	}
}

// grow rehashes into a table of size slots.
func (s *set) grow(size int) {
	old := s.slots
	zero := s.zero
	s.init(size)
	s.zero = zero
	// Copying in slot order into a bigger table keeps clusters short: the
	// keys arrive sorted by their top bits and land in order.
	for _, v := range old {
		if v != 0 {
			s.insertNew(v)
		}
	}
}

// insertNew places a key known to be absent and nonzero, without the limit
// check: for rehashing and decoding into a presized table.
func (s *set) insertNew(h uint64) bool {
	mask := uint64(len(s.slots) - 1)
	i := (h * fib) >> s.shift
	for {
		v := s.slots[i]
		if v == h {
			return false
		}
		if v == 0 {
			s.slots[i] = h
			s.n++
			return true
		}
		i = (i + 1) & mask
	}
}

// forEach calls fn for every nonzero key, visiting the slots in a scattered
// order (an odd stride modulo the power-of-two size is a permutation).
//
// Why scattered: inserting keys in slot order into a table that is smaller
// than this one, and grows while it fills, puts them all at the front of the
// table in one long cluster and makes the merge quadratic. In scattered order
// the keys' top bits are uniform, as for fresh input.
func (s *set) forEach(fn func(uint64)) {
	size := uint64(len(s.slots))
	if size == 0 {
		return
	}
	mask := size - 1
	stride := (uint64(fib) >> s.shift) | 1
	var j uint64
	for range size {
		if v := s.slots[j]; v != 0 {
			fn(v)
		}
		j = (j + stride) & mask
	}
}

// reset empties the set and keeps its table.
func (s *set) reset() {
	clear(s.slots)
	s.n = 0
	s.zero = false
}

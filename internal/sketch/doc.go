// Package sketch counts distinct 64-bit hashes: the "unique users" of one
// window.
//
// A Counter works in one of three modes:
//
//   - Exact: a hand-written open-addressing hash set of the hashes. No error
//     beyond 64-bit hash collisions (about n²/2⁶⁵: 0.3 expected collisions at
//     10⁹ distinct users), memory grows with the count (about 11–22 bytes per
//     distinct hash).
//   - HLL: a HyperLogLog sketch (github.com/axiomhq/hyperloglog, see CHOICE.md)
//     of 2^p one-byte registers, relative standard error about 1.04/√(2^p):
//     0.81% at the default p = 14, in at most 16 KiB. Small counts stay in a
//     sparse form that is nearly exact.
//   - Auto: exact until the hash table would grow past Config.Budget bytes,
//     then converted once to HLL by inserting every stored hash into a fresh
//     sketch and dropping the table. The budget is per Counter, i.e. per
//     window: the caller that keeps many windows open bounds the total.
//
// Callers hash the uid themselves (xxhash with a fixed seed, so checkpoints
// survive restarts) and pass the hash to Add: the counters never rehash.
//
// A Counter is not safe for concurrent use; the pipeline owns each window's
// counter from one goroutine and merges partial counters explicitly.
package sketch

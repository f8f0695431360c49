// Package gen generates deterministic traffic in the shape of headcount's
// reference data set: one JSON object per line, ~2 KB each, carrying a
// top-level "uid" and "ts" among many other keys.
//
// It mirrors the public generator that produced the reference data set (and
// the samples in testdata/samples), because every benchmark and test must
// see the same hard parts as real traffic, not a convenient subset:
//
//   - Frames are filled with Lorem-ipsum keys in random order and values drawn
//     from a small corpus (a dlang.org blurb split into chunks joined by each
//     JSON escape, lines of Pushkin's "Демон" as UTF-8), numbers, booleans,
//     and nested objects and arrays. A container at nesting depth d keeps
//     growing until the frame reaches 1/(d+1) of the size budget, which is
//     how the reference generator's nesting looks (one big container early
//     in the frame, later ones empty). Top-level keys repeat; nested objects
//     carry decoy keys named uid and ts (1 key in 6) with any kind of value.
//   - The real uid/ts pair comes after 0 to 3 other members, uid first half
//     of the time, so a parser that stops early is fast but cannot skip the
//     big nested container that often precedes the pair.
//   - Arrival is bursty: each second of event time carries 1 + a geometric
//     number of frames with mean Rate (Bernoulli when Rate < 1), like the
//     samples. A delayed frame's ts is its arrival second minus a whole
//     number of seconds, uniform in 1..ceil(Delay). A bit flip puts one
//     frame far into the future or past. Some ts are digit strings.
//   - Beyond the samples, which only use \" \\ \b \f \n \r \t, some strings
//     are written with \/ and \uXXXX escapes (including surrogate pairs) and
//     a few top-level keys are escaped look-alikes of uid/ts ("\u0055ID",
//     "ui\u0064\u0000") that decode to different names: the spec requires
//     every JSON escape, and a parser must compare decoded, case-sensitive
//     names.
//
// Generation is deterministic (same Config, same bytes) and cheap: the
// corpus is escaped once in New and frames are assembled from those
// fragments with one PCG draw per member, so producing the 2 GB reference
// set is faster than reading it from disk. The uid/ts truth comes from
// separate random streams, so changing the frame shape never changes which
// user or timestamp a frame carries, and Delay/BitFlip/TSString only alter
// ts, not the users or the arrival schedule.
package gen

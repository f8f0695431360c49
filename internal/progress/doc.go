// Package progress prints a one-line progress report (frames/s, MB/s, how
// far, ETA) every second during long runs: rewritten in place on a
// terminal, a line each otherwise.
package progress

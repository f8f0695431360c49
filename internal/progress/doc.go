// Package progress reports how far a long run is (frames/s, MB/s, how
// far, ETA) every interval: one line rewritten in place on a terminal
// (Start), or a log record each time for log files, pipes and JSON logs
// (Log). Counter measures what is written through it, for commands whose
// work is writing (gen).
package progress

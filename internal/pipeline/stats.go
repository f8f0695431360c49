package pipeline

import (
	"time"

	"github.com/headcount/headcount/internal/eventtime"
	"github.com/headcount/headcount/internal/frame"
	"github.com/headcount/headcount/internal/result"
)

// Stats summarizes a run.
type Stats struct {
	Frames   uint64 // frames read, counted or not
	Bytes    uint64 // bytes of frames read
	Rejected [frame.NumReasons]uint64
	Results  uint64 // results written
	// Corrections are the results written with rev > 1 by this process
	// (not part of a saved state: they start at 0 in every process).
	Corrections uint64
	// Checkpoint describes the saves of the state (Config.Checkpoint: a
	// checkpoint file, or an exactly-once source's transactions); zero
	// without one.
	Checkpoint CheckpointStats
	// Ended says the input was read to its end: what is left is the final
	// flush.
	Ended bool
	// Waiting says that, at the last batch or tick, every batch read had
	// been applied and the reader was waiting for the input: a stream is
	// caught up.
	Waiting bool

	// The event-time core's counters (frames counted, partly late) and
	// state at the last batch (watermark: watermark.None before the
	// first), for metrics.
	eventtime.Stats
}

// RejectedTotal is the number of frames not counted.
func (s *Stats) RejectedTotal() uint64 {
	var n uint64
	for _, v := range s.Rejected {
		n += v
	}
	return n
}

// CountCorrections is how many of rs are corrections (rev > 1).
func CountCorrections(rs []result.Result) uint64 {
	var n uint64
	for i := range rs {
		if rs[i].Rev > 1 {
			n++
		}
	}
	return n
}

// CheckpointBuckets are the upper bounds of the buckets CheckpointStats
// sorts save durations into: a histogram whose counts are plain integers,
// so that Stats stays a value that metrics copy.
var CheckpointBuckets = [...]time.Duration{
	time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2500 * time.Millisecond,
	5 * time.Second, 10 * time.Second, 30 * time.Second,
}

// CheckpointStats describe the saves of a state: when the last succeeded
// and how long they took.
type CheckpointStats struct {
	// Last is when the last save succeeded (a save with nothing new to
	// commit counts: the saved state is current), or when saving began,
	// before the first; zero when nothing is saved.
	Last     time.Time
	Saves    uint64        // successful saves
	Took     time.Duration // all of them together
	LastTook time.Duration
	// Buckets counts the saves that took at most CheckpointBuckets[i] (and
	// more than the bound before); the last one counts the longer ones.
	Buckets [len(CheckpointBuckets) + 1]uint64
}

// Saved records a save that succeeded at end after taking d.
func (c *CheckpointStats) Saved(end time.Time, d time.Duration) {
	c.Last, c.LastTook = end, d
	c.Saves++
	c.Took += d
	i := 0
	for i < len(CheckpointBuckets) && d > CheckpointBuckets[i] {
		i++
	}
	c.Buckets[i]++
}

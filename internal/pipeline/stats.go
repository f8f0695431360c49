package pipeline

import (
	"github.com/headcount/headcount/internal/eventtime"
	"github.com/headcount/headcount/internal/frame"
)

// Stats summarizes a run.
type Stats struct {
	Frames   uint64 // frames read, counted or not
	Bytes    uint64 // bytes of frames read
	Rejected [frame.NumReasons]uint64
	Results  uint64 // results written

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

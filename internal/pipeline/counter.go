package pipeline

import (
	"context"
	"time"

	"github.com/headcount/headcount/internal/eventtime"
	"github.com/headcount/headcount/internal/result"
)

// Counter is what the applier feeds parsed frames to, in input order: the
// event-time core (eventtime.Core), or for a member of a consumer group
// (internal/kafka) the splitter that sends each frame to the counter of
// its user's bucket.
type Counter interface {
	Tick(now time.Time)
	Assign(p int32)
	Revoke(p int32)
	Offer(p int32, f eventtime.Frame)
	Early()
	Finish()
	Results() []result.Result
	Rejects() []eventtime.Reject
	Clear()
	Stats() eventtime.Stats
	MarshalBinary() ([]byte, error)
	UnmarshalBinary([]byte) error
}

// shipper is a Counter that sends frames on: Ship sends what it holds, and
// is called before results are written and before every checkpoint, so
// that what it sent commits with the offsets of its frames.
type shipper interface {
	Ship(ctx context.Context) error
}

// ender is a Counter told when a partition was read to its end (a Kafka
// --until-end member: source.Batch.Ended).
type ender interface {
	End(p int32, offset int64)
}

func (a *applier) newCounter() Counter {
	if a.cfg.Counter != nil {
		return a.cfg.Counter()
	}
	return eventtime.New(a.cfg.Window, a.cfg.Watermark)
}

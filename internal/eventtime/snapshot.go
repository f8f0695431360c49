package eventtime

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/headcount/headcount/internal/binio"
	"github.com/headcount/headcount/internal/watermark"
	"github.com/headcount/headcount/internal/window"
)

// The binary form of a Core's state, for checkpoints: the pipeline's
// watermark and counters, the partitions' clocks and held frames (package
// watermark's snapshot, one section per partition) and the windows
// (package window's snapshot).
//
//	"hcE" 1                  magic, format version
//	varint watermark, uvarint counted, uvarint partly late
//	uvarint len, watermark.Tracker snapshot
//	uvarint len, window.Engine snapshot
var header = binio.Header{Magic: "hcE", Version: 1, Err: ErrSnapshot}

// ErrSnapshot is wrapped by every UnmarshalBinary error.
var ErrSnapshot = errors.New("eventtime: invalid snapshot")

// AppendBinary appends the core's state to b. Results and rejects not yet
// taken are not part of it: take them first.
func (c *Core) AppendBinary(b []byte) ([]byte, error) {
	b = header.Append(b)
	b = binary.AppendVarint(b, c.lastWM)
	b = binary.AppendUvarint(b, c.counted)
	b = binary.AppendUvarint(b, c.partly)
	wm, err := c.wm.AppendBinary(nil)
	if err != nil {
		return nil, fmt.Errorf("eventtime snapshot: %w", err)
	}
	b = binio.AppendBytes(b, wm)
	eng, err := c.eng.AppendBinary(nil)
	if err != nil {
		return nil, fmt.Errorf("eventtime snapshot: %w", err)
	}
	return binio.AppendBytes(b, eng), nil
}

// MarshalBinary returns the core's state.
func (c *Core) MarshalBinary() ([]byte, error) { return c.AppendBinary(nil) }

// UnmarshalBinary replaces the core's state with a snapshot's. The core
// must count the same window kinds as the one that took it; restored
// partitions count as seen at the core's wall clock (Tick first). On error
// the core is unchanged.
func (c *Core) UnmarshalBinary(data []byte) error {
	r, err := header.Open(data)
	if err != nil {
		return err
	}
	lastWM, counted, partly := r.Varint(), r.Uvarint(), r.Uvarint()
	wmData, engData := r.Bytes(), r.Bytes()
	if err := header.Finish(r); err != nil {
		return err
	}
	// Restore into fresh objects: on error the core is unchanged.
	wm := watermark.New(c.wmCfg)
	if err := wm.Restore(wmData, c.now); err != nil {
		return fmt.Errorf("%w: %w", ErrSnapshot, err)
	}
	eng := window.NewEngine(c.winCfg)
	if err := eng.UnmarshalBinary(engData); err != nil {
		return fmt.Errorf("%w: %w", ErrSnapshot, err)
	}
	c.wm, c.eng, c.cur = wm, eng, nil
	c.lastWM, c.counted, c.partly = lastWM, counted, partly
	return nil
}

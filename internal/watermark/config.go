package watermark

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// None is the watermark before any frame: nothing may close.
const None = math.MinInt64

// Defaults of the run command (a zero Config turns the guards off).
const (
	DefaultLateness  = 5 * time.Second
	DefaultIdle      = 10 * time.Second
	DefaultMinTS     = 946684800 // 2000-01-01T00:00:00Z
	DefaultMaxFuture = time.Hour
	DefaultMaxJump   = time.Hour
)

// Defaults for the guard against bogus timestamps.
const (
	DefaultConfirm = 3
	DefaultRefute  = 1000
	DefaultMaxHeld = 10000
	// LiveWithin is how close to the wall clock a partition's largest ts
	// must be for the input to count as live (see Tracker.Watermark).
	LiveWithin = 5 * time.Minute
)

// Config sets the tracker's rules.
type Config struct {
	// Lateness is how far behind the largest ts a frame may arrive and
	// still be counted before its window closes.
	Lateness time.Duration
	// Idle is how long (wall clock) a partition may go without frames
	// before it stops holding the watermark back; 0 means never. When
	// every partition is idle and the input is live, the watermark
	// follows the wall clock.
	Idle time.Duration
	// MinTS rejects frames with an earlier ts (unix seconds).
	MinTS int64
	// MaxFuture rejects frames whose ts is further ahead of the wall
	// clock; 0 turns the check off (for synthetic data in the future).
	MaxFuture time.Duration
	// MaxJump: a frame whose ts is further than this ahead of its
	// partition's largest ts is held, not applied, until Confirm frames
	// near it outnumber the ordinary frames since (the stream really
	// moved), or Refute ordinary frames pass (it was bogus). 0 turns the
	// guard off.
	MaxJump time.Duration
	Confirm int // default DefaultConfirm
	Refute  int // default DefaultRefute
	MaxHeld int // held frames per partition; the oldest is refuted beyond it
}

// DefaultConfig is the run command's configuration.
func DefaultConfig() Config {
	return Config{Lateness: DefaultLateness, Idle: DefaultIdle, MinTS: DefaultMinTS, MaxFuture: DefaultMaxFuture, MaxJump: DefaultMaxJump}
}

// Validate reports every setting out of range, naming the flag that sets it.
func (c Config) Validate() error {
	var errs []error
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{{"--lateness", c.Lateness}, {"--idle", c.Idle}, {"--max-future", c.MaxFuture}, {"--max-jump", c.MaxJump}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative (got %s)", d.flag, d.v))
		} else if d.v > 0 && d.v < time.Second && (d.flag == "--max-jump" || d.flag == "--max-future") {
			// Timestamps are whole seconds: a bound under a second would
			// act as 0 and hold every frame that moves time forward.
			errs = append(errs, fmt.Errorf("%s must be 0 (off) or at least 1s (got %s)", d.flag, d.v))
		}
	}
	if c.Confirm < 0 || c.Refute < 0 || c.MaxHeld < 0 {
		errs = append(errs, errors.New("watermark: Confirm, Refute and MaxHeld must not be negative"))
	}
	return errors.Join(errs...)
}

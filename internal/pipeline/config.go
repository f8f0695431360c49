package pipeline

import (
	"errors"
	"fmt"
	"time"

	"github.com/headcount/headcount/internal/source"
	"github.com/headcount/headcount/internal/watermark"
	"github.com/headcount/headcount/internal/window"
)

// Config sets up a run. DefaultConfig gives the run command's settings; a
// zero Config counts minutes with every guard off (tests build on it).
type Config struct {
	Workers   int // parse goroutines; 0: GOMAXPROCS
	Window    window.Config
	Watermark watermark.Config
	// Early is the interval of provisional results for open windows; 0
	// turns them off.
	Early time.Duration
	// Tick is how often, without input, the watermark is re-evaluated
	// (idle partitions); 0: DefaultTick.
	Tick time.Duration
	// MaxFrame is the longest frame the caller's sources pass on; longer
	// ones are rejected as too-large (0: source.DefaultMaxFrame). Run does
	// not read it: it is here so that one Config holds and validates every
	// setting of a run.
	MaxFrame int
	// Checkpoint, if set, saves the state every CheckpointEvery (0: only
	// at Stop), between batches.
	Checkpoint      Checkpointer
	CheckpointEvery time.Duration
	// Resume is a state a Checkpoint saved: the run goes on from it, and
	// the input's frames before the state's position are skipped (the
	// caller gives the same input again).
	Resume []byte
	// Stop, when closed, ends the run after the batch being applied: its
	// output is written, the state saved (with a Checkpoint), and Run
	// returns ErrStopped. Cancelling the context instead stops at once.
	Stop <-chan struct{}
	// Dead receives rejected frames; nil drops them after counting.
	Dead DeadLetters
	// Now is the wall clock; default time.Now.
	Now func() time.Time
	// TrustProducer makes the parsers stop reading a frame once uid and ts
	// are found (frame.Parser.TrustProducer).
	TrustProducer bool
	// Stage stops frames early, for benchmarks; default Full.
	Stage Stage
	// Observe, if set, receives the stats after every batch and at the end,
	// from the pipeline's goroutine (metrics copy them).
	Observe func(*Stats)
	// Counter, if set, makes what the parsed frames go to instead of the
	// event-time core: a member of a consumer group sends them to the
	// buckets' counters (see Counter). Called again on every rollback.
	Counter func() Counter
}

// DefaultTick is how often an input without frames re-evaluates the
// watermark.
const DefaultTick = time.Second

// DefaultConfig is the run command's configuration.
func DefaultConfig() Config {
	return Config{
		Window:    window.DefaultConfig(),
		Watermark: watermark.DefaultConfig(),
		Tick:      DefaultTick,
		MaxFrame:  source.DefaultMaxFrame,
	}
}

// Validate reports every setting out of range, naming the flag that sets
// it (so the command line can show it as is). It checks configurations
// built on DefaultConfig: a zero Config has no MaxFrame.
func (c Config) Validate() error {
	errs := []error{c.Window.Validate(), c.Watermark.Validate()}
	if c.Workers < 0 {
		errs = append(errs, fmt.Errorf("--workers must not be negative (got %d; 0 means one per core)", c.Workers))
	}
	if c.Early < 0 {
		errs = append(errs, fmt.Errorf("--early must not be negative (got %s; 0 turns it off)", c.Early))
	}
	if c.CheckpointEvery < 0 {
		errs = append(errs, fmt.Errorf("--checkpoint-interval must not be negative (got %s)", c.CheckpointEvery))
	}
	if c.Tick < 0 {
		errs = append(errs, fmt.Errorf("pipeline: tick must not be negative (got %s)", c.Tick))
	}
	if c.MaxFrame < 1 {
		errs = append(errs, fmt.Errorf("--max-frame must be at least 1 byte (got %d)", c.MaxFrame))
	}
	return errors.Join(errs...)
}

// Stage says how far frames go: the bench command runs each to show where
// the time goes.
type Stage uint8

const (
	Full  Stage = iota // parse, window, count, output
	Read               // read batches only
	Parse              // read and parse, nothing after
)

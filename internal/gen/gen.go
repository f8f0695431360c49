package gen

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Defaults applied by New to zero fields of Config.
const (
	DefaultCount        = 1000
	DefaultRate         = 1000.0
	DefaultUsers        = 100000
	DefaultStart        = 1468244340 // 2016-07-11T13:39:00Z, the minute the samples start in
	DefaultDelayProb    = 0.2        // like sample-late; applies only when Delay > 0
	DefaultTSStringProb = 0.01
	DefaultTrapKeyProb  = 0.01
	DefaultFrameSize    = 2080
)

// Config describes the traffic. The zero value is valid: a zero field takes
// its default. A probability with a non-zero default is disabled by making it
// negative.
type Config struct {
	// Count is the number of frames (default 1000; negative: endless).
	Count int
	// Rate is the mean number of frames per second of event time (default
	// 1000). Seconds are bursty, as in the samples: each carries 1 + a
	// geometric number of frames; below 1 frame per second, each second
	// carries one frame with probability Rate.
	Rate float64
	// Users is the population the uids are drawn from, uniformly (default
	// 100000). User i is always UID(i), whatever the seed, so generators with
	// different seeds share users like several producers of one stream.
	Users int
	// Start is the arrival time of the first frame, unix seconds (default
	// 1468244340, the minute the samples start in).
	Start int64
	// Delay is the maximum extra delay of a delayed frame (default 0: no
	// delays). Since ts has whole seconds, a delayed frame's ts is its
	// arrival second minus 1..ceil(Delay) seconds, uniformly.
	Delay time.Duration
	// DelayProb is the probability that a frame is delayed (default 0.2 when
	// Delay > 0).
	DelayProb float64
	// BitFlipProb is the probability that a frame's ts has one random bit of
	// 31..63 flipped (default 0): a bogus timestamp decades or centuries away
	// from arrival, or negative.
	BitFlipProb float64
	// TSStringProb is the probability that ts is written as a JSON string of
	// digits (default 0.01). Negative ts (bit 63 flipped) stay numbers.
	TSStringProb float64
	// TrapKeyProb is the probability that one of a frame's first eight
	// top-level keys is an escaped look-alike of uid or ts that decodes to a
	// different name, such as "\u0055ID" (default 0.01).
	TrapKeyProb float64
	// FrameSize is the target mean frame size in bytes, line end excluded
	// (default 2080, like the samples).
	FrameSize int
	// CRLF ends lines with \r\n instead of \n (WriteTo only).
	CRLF bool
	// Seed selects the traffic: the same Config gives the same bytes.
	Seed uint64
}

// DefaultConfig is every setting at its default, explicitly.
func DefaultConfig() Config {
	return Config{
		Count: DefaultCount, Rate: DefaultRate, Users: DefaultUsers, Start: DefaultStart,
		DelayProb: DefaultDelayProb, TSStringProb: DefaultTSStringProb, TrapKeyProb: DefaultTrapKeyProb,
		FrameSize: DefaultFrameSize,
	}
}

// Validate checks a configuration whose fields are set explicitly (as
// DefaultConfig's are: here 0 means 0, not "the default"), naming the flag
// of the gen command that sets each one out of range.
func (c Config) Validate() error {
	var errs []error
	if !(c.Rate > 0) {
		errs = append(errs, fmt.Errorf("--rate must be positive, got %v", c.Rate))
	}
	if c.Users <= 0 {
		errs = append(errs, fmt.Errorf("--users must be positive, got %d", c.Users))
	}
	if c.FrameSize <= 0 {
		errs = append(errs, fmt.Errorf("--frame-size must be positive, got %d", c.FrameSize))
	}
	if c.Delay < 0 {
		errs = append(errs, fmt.Errorf("--delay must not be negative, got %v", c.Delay))
	}
	for _, p := range []struct {
		flag string
		v    float64
	}{{"--delay-prob", c.DelayProb}, {"--bitflip-prob", c.BitFlipProb}, {"--ts-string-prob", c.TSStringProb}, {"--trap-key-prob", c.TrapKeyProb}} {
		if !(p.v >= 0 && p.v <= 1) {
			errs = append(errs, fmt.Errorf("%s must be within [0, 1], got %v", p.flag, p.v))
		}
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	if c.Count == 0 {
		c.Count = DefaultCount
	}
	if c.Rate <= 0 || math.IsNaN(c.Rate) {
		c.Rate = DefaultRate
	}
	if c.Users <= 0 {
		c.Users = DefaultUsers
	}
	if c.Start == 0 {
		c.Start = DefaultStart
	}
	if c.Delay < 0 {
		c.Delay = 0
	}
	c.DelayProb = prob(c.DelayProb, DefaultDelayProb)
	if c.Delay == 0 {
		c.DelayProb = 0
	}
	c.BitFlipProb = prob(c.BitFlipProb, 0)
	c.TSStringProb = prob(c.TSStringProb, DefaultTSStringProb)
	c.TrapKeyProb = prob(c.TrapKeyProb, DefaultTrapKeyProb)
	if c.FrameSize <= 0 {
		c.FrameSize = DefaultFrameSize
	}
	return c
}

func prob(p, def float64) float64 {
	switch {
	case p == 0:
		return def
	case p < 0 || math.IsNaN(p):
		return 0
	case p > 1:
		return 1
	}
	return p
}

// Seeds of the independent random streams, so that one concern's options
// never shift another concern's draws.
const (
	streamClock = 0x636c6f636b // arrival schedule
	streamEvent = 0x6576656e74 // uid, delay, bit flip, ts form
	streamBody  = 0x626f6479   // everything else in the frame
)

// Generator produces the frames of one Config. It is not safe for
// concurrent use.
type Generator struct {
	cfg Config

	clock, event, body rand.PCG

	geomLog   float64 // log(1-1/Rate) for the per-second burst size
	sec       int64   // current arrival second, relative to Start
	secFrames int64   // frames in the current second
	secIndex  int64   // index of the next frame within it
	emitted   int64
	elapsed   time.Duration

	// Truth about the last frame.
	user    int
	ts      int64
	arrival int64

	uids string // UID(0)+UID(1)+..., when Users is small enough to keep

	shape
}

// uidTableMax bounds the precomputed uid table (19 bytes a user), above
// which Next builds each uid string as it goes.
const uidTableMax = 1 << 20

// New returns a generator of the traffic described by cfg.
func New(cfg Config) *Generator {
	cfg = cfg.withDefaults()
	g := &Generator{cfg: cfg, sec: -1}
	g.clock.Seed(cfg.Seed, streamClock)
	g.event.Seed(cfg.Seed, streamEvent)
	g.body.Seed(cfg.Seed, streamBody)
	if cfg.Rate > 1 {
		g.geomLog = math.Log1p(-1 / cfg.Rate)
	}
	if cfg.Users <= uidTableMax {
		var sb strings.Builder
		sb.Grow(cfg.Users * UIDLen)
		var b [UIDLen]byte
		for i := range cfg.Users {
			sb.Write(AppendUID(b[:0], i))
		}
		g.uids = sb.String()
	}
	g.shape.init(cfg)
	return g
}

// Config returns the configuration in use, defaults filled in.
func (g *Generator) Config() Config { return g.cfg }

// Next appends the next frame (one JSON object, no line end) to dst and
// returns the extended slice, with the truth about it: the uid and ts as
// written (ts after any delay and bit flip) and its arrival time in unix
// seconds. ok is false once Count frames have been returned.
//
// uid does not allocate when Users <= 1<<20.
func (g *Generator) Next(dst []byte) (frame []byte, uid string, ts int64, arrival int64, ok bool) {
	frame, ok = g.next(dst)
	if !ok {
		return dst, "", 0, 0, false
	}
	return frame, g.uid(g.user), g.ts, g.arrival, true
}

// User returns the index in the population of the last frame's user:
// its uid is UID(User()).
func (g *Generator) User() int { return g.user }

// Elapsed returns the arrival time of the last frame relative to the first
// one's, with sub-second precision: a live producer sends it once this much
// wall time has passed.
func (g *Generator) Elapsed() time.Duration { return g.elapsed }

func (g *Generator) uid(i int) string {
	if g.uids != "" {
		return g.uids[i*UIDLen : (i+1)*UIDLen]
	}
	return UID(i)
}

func (g *Generator) next(dst []byte) ([]byte, bool) {
	if g.cfg.Count >= 0 && g.emitted >= int64(g.cfg.Count) {
		return dst, false
	}
	g.emitted++
	g.tick()
	g.arrival = g.cfg.Start + g.sec

	// A fixed number of draws a frame keeps the users independent of the
	// delay, bit-flip and ts-form options.
	rUser, rDelay, rFlip, rForm := g.event.Uint64(), g.event.Uint64(), g.event.Uint64(), g.event.Uint64()
	hi, _ := bits.Mul64(rUser, uint64(g.cfg.Users))
	g.user = int(hi)
	ts := g.arrival
	if chance(rDelay>>32, g.cfg.DelayProb) {
		d := float64(g.cfg.Delay) * (1 - float64(uint32(rDelay))*0x1p-32) // (0, Delay]
		ts -= int64(math.Ceil(d / float64(time.Second)))
	}
	if chance(rFlip>>32, g.cfg.BitFlipProb) {
		bit := 31 + (uint64(uint32(rFlip))*33)>>32
		ts = int64(uint64(ts) ^ 1<<bit)
	}
	g.ts = ts
	tsString := ts >= 0 && chance(rForm>>32, g.cfg.TSStringProb)

	var pair [64]byte
	p := append(pair[:0], `"uid":"`...)
	if g.uids != "" {
		p = append(p, g.uids[g.user*UIDLen:(g.user+1)*UIDLen]...)
	} else {
		p = AppendUID(p, g.user)
	}
	p = append(p, '"')
	uidEnd := len(p)
	p = append(p, `"ts":`...)
	if tsString {
		p = append(p, '"')
		p = strconv.AppendInt(p, ts, 10)
		p = append(p, '"')
	} else {
		p = strconv.AppendInt(p, ts, 10)
	}
	return g.appendFrame(dst, p[:uidEnd], p[uidEnd:]), true
}

// chance reports whether a 32-bit random value falls within probability p.
func chance(r uint64, p float64) bool {
	return p > 0 && float64(r) < p*0x1p32
}

// tick advances the arrival schedule by one frame.
func (g *Generator) tick() {
	for g.secIndex >= g.secFrames {
		g.sec++
		g.secIndex = 0
		g.secFrames = g.burst()
		if g.sec == 0 && g.secFrames == 0 {
			g.secFrames = 1 // the first frame arrives at Start
		}
	}
	g.elapsed = time.Duration(g.sec)*time.Second + time.Duration(g.secIndex)*time.Second/time.Duration(g.secFrames)
	g.secIndex++
}

// burst draws the number of frames in one second: 1 + geometric with mean
// Rate, the over-dispersed counts of the samples (mean 11, sd 9, never 0).
func (g *Generator) burst() int64 {
	r := g.clock.Uint64()
	if g.cfg.Rate <= 1 {
		if chance(r>>32, g.cfg.Rate) {
			return 1
		}
		return 0
	}
	u := 1 - float64(r>>11)*0x1p-53 // (0, 1]
	n := math.Floor(math.Log(u) / g.geomLog)
	if n > 1e9 {
		n = 1e9
	}
	return 1 + int64(n)
}

// UIDLen is the length of every uid: 19 hex digits, like the samples.
const UIDLen = 19

// UID returns the uid of user i of the population. It depends on i only
// and is distinct for distinct i.
func UID(i int) string { return string(AppendUID(nil, i)) }

// AppendUID appends UID(i) to dst.
func AppendUID(dst []byte, i int) []byte {
	const hex = "0123456789abcdef"
	h := mix64(uint64(i) + 0x9e3779b97f4a7c15) // a bijection: distinct users, distinct uids
	t := mix64(uint64(i) ^ 0xd1b54a32d192ed03)
	for s := 60; s >= 0; s -= 4 {
		dst = append(dst, hex[h>>uint(s)&15])
	}
	return append(dst, hex[t>>60], hex[t>>56&15], hex[t>>52&15])
}

// mix64 is the splitmix64 finalizer, a bijection on uint64.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

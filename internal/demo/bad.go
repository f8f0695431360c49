package demo

import (
	"bytes"
	"encoding/json"
	"strconv"
	"sync/atomic"
	"unicode/utf8"

	"github.com/headcount/headcount/internal/frame"
)

// badKind is one way real traffic breaks a frame, and the reason the
// pipeline must reject such a frame for. make builds it from a good frame
// of the generator with its uid and ts, so it looks like its neighbours.
type badKind struct {
	name   string
	reason frame.Reason
	make   func(good []byte, uid string, ts int64) []byte
}

// pair writes a small frame around the given members, in the generator's
// uid format, with some ordinary content before them.
func pair(members string) []byte {
	return []byte(`{"event":"page_view","path":"/checkout",` + members + `}`)
}

// badKinds are the broken frames the demo mixes into its traffic. Each
// defect comes before or at the uid and ts, so that it is caught even by a
// parser that stops reading after them (--trust-producer).
var badKinds = []badKind{
	{"truncated by a producer that died mid-write", frame.NotJSON, func(good []byte, _ string, _ int64) []byte {
		// Cut halfway or before the first uid or ts key, whichever
		// comes first, at an ASCII byte: a syntax error, not a broken
		// UTF-8 sequence.
		n := len(good) / 2
		for _, key := range []string{`"uid":`, `"ts":`} {
			if i := bytes.Index(good, []byte(key)); i > 0 {
				n = min(n, i)
			}
		}
		for n > 1 && good[n-1] >= utf8.RuneSelf {
			n--
		}
		return bytes.Clone(good[:n])
	}},
	// Not empty: the producer drops empty frames (blank lines of a file).
	{"a record of only a line end", frame.Empty, func([]byte, string, int64) []byte { return []byte("\r\n") }},
	{"JSON encoded twice (a string)", frame.NotObject, func(good []byte, _ string, _ int64) []byte {
		b, _ := json.Marshal(string(good)) // a string cannot fail
		return b
	}},
	{"Latin-1 text", frame.BadUTF8, func(_ []byte, uid string, ts int64) []byte {
		return pair("\"city\":\"Z\xfcrich\"," + `"uid":"` + uid + `","ts":` + strconv.FormatInt(ts, 10))
	}},
	{"uid renamed", frame.NoUID, func(_ []byte, uid string, ts int64) []byte {
		return pair(`"user_id":"` + uid + `","ts":` + strconv.FormatInt(ts, 10))
	}},
	{"ts renamed", frame.NoTS, func(_ []byte, uid string, ts int64) []byte {
		return pair(`"uid":"` + uid + `","time":` + strconv.FormatInt(ts, 10))
	}},
	{"uid twice", frame.DupUID, func(_ []byte, uid string, ts int64) []byte {
		return pair(`"uid":"` + uid + `","uid":"anonymous","ts":` + strconv.FormatInt(ts, 10))
	}},
	{"uid as a number", frame.BadUID, func(_ []byte, _ string, ts int64) []byte {
		return pair(`"uid":4711,"ts":` + strconv.FormatInt(ts, 10))
	}},
	{"empty uid", frame.EmptyUID, func(_ []byte, _ string, ts int64) []byte {
		return pair(`"uid":"","ts":` + strconv.FormatInt(ts, 10))
	}},
	{"ts in milliseconds as a float", frame.BadTS, func(_ []byte, uid string, ts int64) []byte {
		return pair(`"uid":"` + uid + `","ts":` + strconv.FormatInt(ts, 10) + `123.5`)
	}},
}

// Stats are the demo's own counters: the bad frames it sent, by the reason
// each must be rejected for, and the frames the pipeline rejected. A frame
// is counted as sent before it is produced, so at any time the pipeline has
// rejected at most as many frames of a reason as were sent (too-late
// frames aside: they are late, not broken); a reject beyond that is a good
// frame rejected, which the demo reports.
type Stats struct {
	Sent       [frame.NumReasons]atomic.Uint64
	Rejected   [frame.NumReasons]atomic.Uint64
	Unexpected atomic.Uint64 // rejects beyond the bad frames sent
}

// total adds up counters over every reason but OK and too-late.
func total(c *[frame.NumReasons]atomic.Uint64) uint64 {
	var n uint64
	for r := frame.Reason(1); r < frame.NumReasons; r++ {
		if r != frame.TooLate {
			n += c[r].Load()
		}
	}
	return n
}

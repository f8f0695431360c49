package result

import (
	"strconv"
	"time"
)

// Result is one window's count at one revision.
type Result struct {
	Window string    // window kind: minute, hour, day, week, month, year
	Start  time.Time // window start, in the zone of --tz
	End    time.Time // window end (exclusive)
	Users  uint64    // unique users counted
	Frames uint64    // frames counted
	Final  bool      // the window has closed
	Rev    int       // 0 for provisional results, 1 for the first final, +1 per correction
	Exact  bool      // Users is exact (a set of 64-bit hashes)
	RSE    float64   // relative standard error when not exact
}

// Key is the Kafka record key: "<window>/<start unix>", so a compacted topic
// keeps the latest revision of each window.
func (r *Result) Key() string {
	return r.Window + "/" + strconv.FormatInt(r.Start.Unix(), 10)
}

// AppendJSON appends the result as one JSON object (no newline). Hand-written
// so the field order is fixed and no reflection runs per result.
func (r *Result) AppendJSON(b []byte) []byte {
	b = append(b, `{"window":`...)
	b = strconv.AppendQuote(b, r.Window)
	b = append(b, `,"start":"`...)
	b = r.Start.AppendFormat(b, time.RFC3339)
	b = append(b, `","end":"`...)
	b = r.End.AppendFormat(b, time.RFC3339)
	b = append(b, `","ts":`...)
	b = strconv.AppendInt(b, r.Start.Unix(), 10)
	b = append(b, `,"users":`...)
	b = strconv.AppendUint(b, r.Users, 10)
	b = append(b, `,"frames":`...)
	b = strconv.AppendUint(b, r.Frames, 10)
	b = append(b, `,"final":`...)
	b = strconv.AppendBool(b, r.Final)
	b = append(b, `,"rev":`...)
	b = strconv.AppendInt(b, int64(r.Rev), 10)
	b = append(b, `,"exact":`...)
	b = strconv.AppendBool(b, r.Exact)
	if !r.Exact {
		b = append(b, `,"rse":`...)
		b = strconv.AppendFloat(b, r.RSE, 'g', 4, 64)
	}
	return append(b, '}')
}

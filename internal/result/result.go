package result

import (
	"encoding/json"
	"errors"
	"fmt"
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

// MarshalJSON is AppendJSON, so encoding/json writes the same format (the
// dashboard's /api/state embeds results).
func (r Result) MarshalJSON() ([]byte, error) {
	return r.AppendJSON(nil), nil
}

// UnmarshalJSON reads the format AppendJSON writes. Every field but rse is
// required and ts must be the start's unix time, so a record of another
// format is an error rather than a result of zeros. Unknown fields are
// ignored: a reader keeps working when a field is added.
func (r *Result) UnmarshalJSON(b []byte) error {
	var w struct {
		Window *string    `json:"window"`
		Start  *time.Time `json:"start"`
		End    *time.Time `json:"end"`
		TS     *int64     `json:"ts"`
		Users  *uint64    `json:"users"`
		Frames *uint64    `json:"frames"`
		Final  *bool      `json:"final"`
		Rev    *int       `json:"rev"`
		Exact  *bool      `json:"exact"`
		RSE    float64    `json:"rse"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("result: %w", err)
	}
	for _, f := range []struct {
		name    string
		missing bool
	}{
		{"window", w.Window == nil}, {"start", w.Start == nil}, {"end", w.End == nil},
		{"ts", w.TS == nil}, {"users", w.Users == nil}, {"frames", w.Frames == nil},
		{"final", w.Final == nil}, {"rev", w.Rev == nil}, {"exact", w.Exact == nil},
	} {
		if f.missing {
			return fmt.Errorf("result: no %q field", f.name)
		}
	}
	switch {
	case *w.Window == "":
		return errors.New("result: empty window")
	case *w.TS != w.Start.Unix():
		return fmt.Errorf("result: ts %d is not the start %s (%d)", *w.TS, w.Start.Format(time.RFC3339), w.Start.Unix())
	case !w.End.After(*w.Start):
		return fmt.Errorf("result: end %s is not after start %s", w.End.Format(time.RFC3339), w.Start.Format(time.RFC3339))
	}
	*r = Result{
		Window: *w.Window, Start: *w.Start, End: *w.End, Users: *w.Users, Frames: *w.Frames,
		Final: *w.Final, Rev: *w.Rev, Exact: *w.Exact, RSE: w.RSE,
	}
	return nil
}

// Decode parses one result as AppendJSON wrote it.
func Decode(b []byte) (Result, error) {
	var r Result
	err := r.UnmarshalJSON(b)
	return r, err
}

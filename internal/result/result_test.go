package result

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestAppendJSON(t *testing.T) {
	zurich, err := time.LoadLocation("Europe/Zurich")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	start := time.Unix(1468244400, 0)
	tests := []struct {
		name string
		r    Result
		want string
		key  string
	}{
		{
			name: "spec example",
			r:    Result{Window: "minute", Start: start.UTC(), End: start.Add(time.Minute).UTC(), Users: 47232, Frames: 63858, Final: true, Rev: 1, Exact: true},
			want: `{"window":"minute","start":"2016-07-11T13:40:00Z","end":"2016-07-11T13:41:00Z","ts":1468244400,"users":47232,"frames":63858,"final":true,"rev":1,"exact":true}`,
			key:  "minute/1468244400",
		},
		{
			name: "approximate in a zone",
			r:    Result{Window: "hour", Start: start.In(zurich), End: start.Add(time.Hour).In(zurich), Users: 5, Frames: 9, Rev: 0, RSE: 0.0081},
			want: `{"window":"hour","start":"2016-07-11T15:40:00+02:00","end":"2016-07-11T16:40:00+02:00","ts":1468244400,"users":5,"frames":9,"final":false,"rev":0,"exact":false,"rse":0.0081}`,
			key:  "hour/1468244400",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(tt.r.AppendJSON(nil))
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if !json.Valid([]byte(got)) {
				t.Error("not valid JSON")
			}
			if k := tt.r.Key(); k != tt.key {
				t.Errorf("key %q, want %q", k, tt.key)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	zurich, err := time.LoadLocation("Europe/Zurich")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	start := time.Unix(1468244400, 0)
	const valid = `{"window":"minute","start":"2016-07-11T13:40:00Z","end":"2016-07-11T13:41:00Z","ts":1468244400,"users":262,"frames":578,"final":true,"rev":1,"exact":true}`
	tests := []struct {
		name    string
		in      string
		want    Result
		wantErr string // a part of the error; "" for none
	}{
		{
			name: "final, exact",
			in:   valid,
			want: Result{Window: "minute", Start: start, End: start.Add(time.Minute), Users: 262, Frames: 578, Final: true, Rev: 1, Exact: true},
		},
		{
			name: "provisional sketch in a zone",
			in:   `{"window":"hour","start":"2016-07-11T15:40:00+02:00","end":"2016-07-11T16:40:00+02:00","ts":1468244400,"users":5,"frames":9,"final":false,"rev":0,"exact":false,"rse":0.0081}`,
			want: Result{Window: "hour", Start: start.In(zurich), End: start.Add(time.Hour), Users: 5, Frames: 9, RSE: 0.0081},
		},
		{
			name: "unknown fields are ignored",
			in:   `{"window":"minute","start":"2016-07-11T13:40:00Z","end":"2016-07-11T13:41:00Z","ts":1468244400,"users":1,"frames":2,"final":true,"rev":3,"exact":true,"new":[1]}`,
			want: Result{Window: "minute", Start: start, End: start.Add(time.Minute), Users: 1, Frames: 2, Final: true, Rev: 3, Exact: true},
		},
		{name: "not JSON", in: `{"window":`, wantErr: "unexpected end"},
		{name: "not an object", in: `[1]`, wantErr: "cannot unmarshal array"},
		{name: "null", in: `null`, wantErr: `no "window" field`},
		{name: "no users", in: strings.Replace(valid, `"users":262,`, ``, 1), wantErr: `no "users" field`},
		{name: "no exact", in: strings.Replace(valid, `,"exact":true`, ``, 1), wantErr: `no "exact" field`},
		{name: "empty window", in: strings.Replace(valid, `"minute"`, `""`, 1), wantErr: "empty window"},
		{name: "bad start", in: strings.Replace(valid, `"2016-07-11T13:40:00Z"`, `"13:40"`, 1), wantErr: "cannot parse"},
		{name: "ts is not the start", in: strings.Replace(valid, `1468244400`, `1468244401`, 1), wantErr: "ts 1468244401 is not the start"},
		{name: "end before start", in: strings.Replace(valid, `"2016-07-11T13:41:00Z"`, `"2016-07-11T13:39:00Z"`, 1), wantErr: "is not after start"},
		{name: "negative users", in: strings.Replace(valid, `262`, `-262`, 1), wantErr: "cannot unmarshal number -262"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.Start.Equal(tt.want.Start) || !got.End.Equal(tt.want.End) {
				t.Errorf("start, end = %v, %v, want %v, %v", got.Start, got.End, tt.want.Start, tt.want.End)
			}
			got.Start, got.End, tt.want.Start, tt.want.End = time.Time{}, time.Time{}, time.Time{}, time.Time{}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			// What was written in this format reads back byte for byte.
			if back := string(mustDecode(t, tt.in).AppendJSON(nil)); !strings.HasSuffix(tt.name, "ignored") && back != tt.in {
				t.Errorf("written back as %s", back)
			}
		})
	}
}

func mustDecode(t *testing.T, s string) *Result {
	t.Helper()
	r, err := Decode([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return &r
}

// encoding/json reads and writes the same format as AppendJSON.
func TestJSONRoundTrip(t *testing.T) {
	start := time.Unix(1468244400, 0).UTC()
	in := []Result{
		{Window: "minute", Start: start, End: start.Add(time.Minute), Users: 3, Frames: 4, Final: true, Rev: 2, Exact: true},
		{Window: "day", Start: start, End: start.Add(24 * time.Hour), Users: 1e7, Frames: 2e7, RSE: 0.0081},
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := "[" + string(in[0].AppendJSON(nil)) + "," + string(in[1].AppendJSON(nil)) + "]"; string(b) != want {
		t.Fatalf("json.Marshal: %s\nwant %s", b, want)
	}
	var out []Result
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || string(out[0].AppendJSON(nil)) != string(in[0].AppendJSON(nil)) || string(out[1].AppendJSON(nil)) != string(in[1].AppendJSON(nil)) {
		t.Errorf("read back %+v", out)
	}
}

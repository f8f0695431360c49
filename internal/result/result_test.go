package result

import (
	"encoding/json"
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

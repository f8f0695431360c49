package sink

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/headcount/headcount/internal/frame"
	"github.com/headcount/headcount/internal/result"
)

func TestLinesWrite(t *testing.T) {
	var buf bytes.Buffer
	s := NewLines(&buf)
	start := time.Unix(60, 0).UTC()
	rs := []result.Result{
		{Window: "minute", Start: start, End: start.Add(time.Minute), Users: 2, Frames: 3, Final: true, Rev: 1, Exact: true},
		{Window: "minute", Start: start.Add(time.Minute), End: start.Add(2 * time.Minute), Users: 1, Frames: 1, Final: true, Rev: 1, Exact: true},
	}
	if err := s.Write(context.Background(), rs); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines: %q", len(lines), buf.String())
	}
	for _, l := range lines {
		if !json.Valid([]byte(l)) {
			t.Errorf("invalid JSON line %q", l)
		}
	}
}

func TestDeadLines(t *testing.T) {
	tests := []struct {
		name  string
		frame []byte
	}{
		{"text", []byte(`{"uid":"a","ts":"x"}`)},
		{"controls and quotes", []byte("{\"a\":\"\x01\"}\\\"\t")},
		{"utf8", []byte("Все")},
		{"binary", []byte{0xff, 0x00, 0xfe}},
		{"empty", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			d := NewDeadLines(&buf, nil)
			if err := d.Reject(3, 42, tt.frame, frame.BadTS); err != nil {
				t.Fatal(err)
			}
			if err := d.Close(); err != nil {
				t.Fatal(err)
			}
			var got struct {
				Reason    string  `json:"reason"`
				Partition int32   `json:"partition"`
				Offset    int64   `json:"offset"`
				Frame     *string `json:"frame"`
				Frame64   *string `json:"frame_base64"`
			}
			if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
				t.Fatalf("%v: %q", err, buf.String())
			}
			var back []byte
			switch {
			case got.Frame != nil:
				back = []byte(*got.Frame)
			case got.Frame64 != nil:
				back, _ = base64.StdEncoding.DecodeString(*got.Frame64)
			}
			if !bytes.Equal(back, tt.frame) || got.Reason != "bad-ts" || got.Partition != 3 || got.Offset != 42 {
				t.Errorf("round trip: %+v frame %q", got, back)
			}
		})
	}
}

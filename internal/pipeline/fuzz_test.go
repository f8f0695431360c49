package pipeline

import (
	"bytes"
	"context"
	"testing"

	"github.com/headcount/headcount/internal/source"
)

// FuzzRun sends any bytes through the whole pipeline with the run
// command's defaults: it never panics, every line is either counted or
// rejected with a reason, and every result is consistent.
func FuzzRun(f *testing.F) {
	f.Add([]byte("{\"uid\":\"a\",\"ts\":1468244384}\n{\"uid\":\"b\",\"ts\":1468244450}\n"))
	f.Add([]byte("{\"uid\":\"a\",\"ts\":1468244384}\n{\"uid\":\"a\",\"ts\":9468244384}\ngarbage\n\n{\"uid\":\"b\",\"ts\":\"1468244300\"}"))
	f.Add([]byte("{\"uid\":\"a\",\"ts\":-1}\n{\"uid\":\"\\u0000\",\"ts\":1468244384}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var c collect
		st, err := Run(context.Background(), source.NewLines(bytes.NewReader(data), source.MaxFrame(4096), source.ChunkSize(16<<10)), &c, defaults())
		if err != nil {
			t.Fatal(err)
		}
		if st.Counted+st.RejectedTotal() != st.Frames {
			t.Fatalf("frames %d != counted %d + rejected %d", st.Frames, st.Counted, st.RejectedTotal())
		}
		var frames uint64
		for _, r := range c.rs {
			if r.Users == 0 || r.Users > r.Frames || !r.End.After(r.Start) {
				t.Fatalf("inconsistent result %+v", r)
			}
			if r.Rev == 1 {
				frames += r.Frames
			}
		}
		if frames > st.Counted {
			t.Fatalf("results hold %d frames, %d counted", frames, st.Counted)
		}
	})
}

package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// TestSkip: every way of cutting the same lines into batches gives the
// lines from the position on, with their own line numbers, over-long
// lines included.
func TestSkip(t *testing.T) {
	var in strings.Builder
	for i := range 50 {
		if i == 17 || i == 33 {
			in.WriteString(strings.Repeat("x", 100) + "\n") // too large
			continue
		}
		fmt.Fprintf(&in, "line %d\n", i)
	}
	for _, chunk := range []int{16, 64, 200, 1 << 16} {
		for _, from := range []int64{0, 1, 17, 18, 33, 40, 49, 50, 80} {
			for _, kind := range []string{"lines", "mapped", "mapped deferred"} {
				t.Run(fmt.Sprintf("chunk %d from %d %s", chunk, from, kind), func(t *testing.T) {
					var src Source
					switch kind {
					case "lines":
						src = NewLines(strings.NewReader(in.String()), ChunkSize(chunk), MaxFrame(20), Fill(true))
					default:
						src = mapString(t, in.String(), ChunkSize(chunk), MaxFrame(20), DeferCut(kind != "mapped"))
					}
					checkSkip(t, Skip(src, from), from)
				})
			}
		}
	}
}

// checkSkip reads src to its end, as the pipeline does, and checks it
// yields the lines of TestSkip from from on.
func checkSkip(t *testing.T, src Source, from int64) {
	t.Helper()
	var pl placer
	var got []string
	for {
		b, err := src.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		pl.place(b)
		for i, f := range b.Frames {
			got = append(got, fmt.Sprintf("%d:%s", b.OffsetOf(i), f))
		}
		for _, o := range b.Oversize {
			got = append(got, fmt.Sprintf("%d:too large", o.Offset))
		}
		b.Release()
	}
	var want []string
	for i := max(from, 0); i < 50; i++ {
		if i == 17 || i == 33 {
			want = append(want, fmt.Sprintf("%d:too large", i))
			continue
		}
		want = append(want, fmt.Sprintf("%d:line %d", i, i))
	}
	sortByLine(got)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("got  %v\nwant %v", got, want)
	}
}

// sortByLine orders "N:text" entries by N (a batch lists its over-long
// lines after its frames).
func sortByLine(s []string) {
	n := func(x string) int {
		var v int
		fmt.Sscanf(x, "%d:", &v)
		return v
	}
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && n(s[j]) < n(s[j-1]); j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

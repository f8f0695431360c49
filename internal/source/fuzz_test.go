package source

import (
	"bytes"
	"context"
	"io"
	"testing"
	"testing/iotest"
)

// FuzzLines: any bytes, any chunk size: the frames are exactly the input's
// lines (without \n or a final \r), or dropped as too large, and nothing
// panics.
func FuzzLines(f *testing.F) {
	f.Add([]byte("a\nb\r\n\nc"), 4, 8)
	f.Add([]byte("{\"uid\":\"a\",\"ts\":1}\n"), 64, 100)
	f.Add([]byte("\xff\x00\r\r\n"), 1, 2)
	f.Fuzz(func(t *testing.T, data []byte, chunk, maxFrame int) {
		chunk = 64 + abs(chunk)%512
		maxFrame = 1 + abs(maxFrame)%256
		var want [][]byte
		for i, line := range bytes.Split(data, []byte("\n")) {
			if i == bytes.Count(data, []byte("\n")) && len(line) == 0 {
				break // nothing after the last newline
			}
			line = bytes.TrimSuffix(line, []byte("\r"))
			if len(line) <= maxFrame {
				want = append(want, line)
			}
		}
		l := NewLines(iotest.OneByteReader(bytes.NewReader(data)), ChunkSize(chunk), MaxFrame(maxFrame))
		var got [][]byte
		for {
			b, err := l.Next(context.Background())
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, fr := range b.Frames {
				got = append(got, append([]byte(nil), fr...))
			}
			b.Release()
		}
		if len(got) != len(want) {
			t.Fatalf("%d frames, want %d", len(got), len(want))
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("frame %d = %q, want %q", i, got[i], want[i])
			}
		}
	})
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

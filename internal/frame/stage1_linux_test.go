package frame

import (
	"strings"
	"syscall"
	"testing"
)

// TestStage1PageEnd puts frames right before a page that cannot be read:
// the tail must be read without touching it (AVX-512 masks the load, AVX2
// copies a tail that reaches the page's end), on every length and every
// distance from the end of the page; the line scans too, on the frame as
// the last line of a run.
func TestStage1PageEnd(t *testing.T) {
	var p Parser
	eachAtPageEnd(t, func(b []byte) {
		checkStage1(t, b)
		want, _, r := p.parse(b, pathScalar)
		want = []byte(string(want))
		for _, pt := range vectorPaths() {
			if uid, _, q := p.parse(b, pt); q != r || string(uid) != string(want) {
				t.Fatalf("%v: %q = %q %v, scalar %q %v", pt, b, uid, q, want, r)
			}
			checkLineScan(t, b, pt)
		}
		checkLines(t, b, 1<<20)
	})
}

// eachAtPageEnd calls fn with the tails of a frame of every length up to
// 200 bytes, each placed at every distance up to 70 bytes from the end of
// a readable page that an unreadable one follows.
func eachAtPageEnd(t *testing.T, fn func(b []byte)) {
	t.Helper()
	page := syscall.Getpagesize()
	mem, err := syscall.Mmap(-1, 0, 2*page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatalf("mmap: %v", err)
	}
	defer syscall.Munmap(mem)
	if err := syscall.Mprotect(mem[page:], syscall.PROT_NONE); err != nil {
		t.Fatalf("mprotect: %v", err)
	}
	frame := `{"uid":"` + strings.Repeat(`a\"Ж`, 40) + `","ts":1}`
	for n := 0; n <= 200; n++ {
		for gap := 0; gap <= 70; gap++ {
			end := page - gap
			b := mem[end-n : end : end]
			copy(b, frame[len(frame)-n:])
			fn(b)
		}
	}
}

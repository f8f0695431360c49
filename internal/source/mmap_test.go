package source

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"
)

// lineFile writes n lines of 100 to 3,000 bytes and returns the file with
// each line's text and the byte offset where each line starts (plus the end).
func lineFile(t *testing.T, n int) (*os.File, []string, []int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	var sb strings.Builder
	lines := make([]string, n)
	starts := make([]int, n+1)
	for i := range lines {
		starts[i] = sb.Len()
		lines[i] = fmt.Sprintf("line %d ", i) + strings.Repeat(string(rune('a'+i%26)), 100+rng.IntN(2900))
		sb.WriteString(lines[i] + "\n")
	}
	starts[n] = sb.Len()
	p := filepath.Join(t.TempDir(), "lines")
	if err := os.WriteFile(p, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, lines, starts
}

// TestMappedReleasesBehind reads a mapped file while holding several
// batches and releasing them out of order: pages are given back only
// behind every batch still held, each frame read after others' pages were
// given back is still its line, and nearly the whole file is given back.
func TestMappedReleasesBehind(t *testing.T) {
	tests := []struct {
		name         string
		releaseEvery int
		held         int  // batches held at once, then all released
		shuffle      bool // in random order
	}{
		{"every page, in order", pageSize, 1, false},
		{"every page, 6 held, any order", pageSize, 6, true},
		{"every 64 KiB, 3 held, any order", 64 << 10, 3, true},
		{"off", 0, 4, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, lines, starts := lineFile(t, 3000) // ~4.5 MB
			m, err := MapFile(f, ChunkSize(16<<10), ReleaseEvery(tt.releaseEvery), DeferCut(true))
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			r := &holdingReader{t: t, m: m, lines: lines, starts: starts, shuffle: tt.shuffle, rng: rand.New(rand.NewPCG(3, 4))}
			r.watch()
			if frames := r.readAll(tt.held); frames != len(lines) {
				t.Errorf("%d frames, want %d", frames, len(lines))
			}
			size := starts[len(lines)]
			present, ok := presentPages(t, m.data)
			switch {
			case tt.releaseEvery == 0 && r.given != 0:
				t.Errorf("released %d bytes with releasing off", r.given)
			case tt.releaseEvery == 0 && ok && present < size/pageSize/2:
				// The control: pagemap sees the pages that were read.
				t.Errorf("releasing off: %d of %d pages resident; the count below cannot be trusted", present, size/pageSize)
			case tt.releaseEvery == 0:
			case size-r.given > tt.held*(16<<10+3000)+tt.releaseEvery+pageSize:
				// All but the last batches held and the last releaseEvery.
				t.Errorf("gave back %d of %d bytes", r.given, size)
			case ok && present > (size-r.given)/pageSize+64:
				t.Errorf("%d pages of the mapping resident, want at most the %d not given back (+64)", present, (size-r.given)/pageSize)
			}
		})
	}
}

// holdingReader reads a Mapped source holding batches, and checks what it
// gives back.
type holdingReader struct {
	t       *testing.T
	m       *Mapped
	lines   []string
	starts  []int // each line's first byte
	shuffle bool
	rng     *rand.Rand
	held    []*Batch
	given   int   // the mapping's bytes given back, from 0
	line    int64 // lines read
}

// watch checks every range the source gives back: the next whole pages,
// all before the first byte of every batch held.
func (r *holdingReader) watch() {
	real := r.m.advise
	r.m.advise = func(b []byte) error {
		lo := int(uintptr(unsafe.Pointer(&b[0])) - uintptr(unsafe.Pointer(&r.m.data[0])))
		if lo != r.given || lo%pageSize != 0 || len(b)%pageSize != 0 {
			r.t.Errorf("gave back [%d, %d) after [0, %d): not the next whole pages", lo, lo+len(b), r.given)
		}
		for _, h := range r.held {
			if first := r.starts[h.Offset]; first < lo+len(b) {
				r.t.Errorf("gave back [%d, %d) while a held batch starts at %d", lo, lo+len(b), first)
			}
		}
		r.given = lo + len(b)
		return real(b)
	}
}

// readAll reads to the end, holding held batches, then releasing them all;
// it returns the number of frames.
func (r *holdingReader) readAll(held int) (frames int) {
	for {
		b, err := r.m.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			r.t.Fatal(err)
		}
		b.Cut(nil, nil)
		b.Rebase(r.line)
		r.line += b.Lines
		if r.held = append(r.held, b); len(r.held) == held {
			frames += r.releaseAll()
		}
	}
	return frames + r.releaseAll()
}

// releaseAll checks each held frame against its line (read after other
// pages were given back) and releases the batches.
func (r *holdingReader) releaseAll() (frames int) {
	if r.shuffle {
		r.rng.Shuffle(len(r.held), func(i, j int) { r.held[i], r.held[j] = r.held[j], r.held[i] })
	}
	for len(r.held) > 0 {
		b := r.held[0]
		r.held = r.held[1:]
		for k, fr := range b.Frames {
			if want := r.lines[b.OffsetOf(k)]; string(fr) != want {
				r.t.Fatalf("line %d: got %.20q…, want %.20q…", b.OffsetOf(k), fr, want)
			}
			frames++
		}
		b.Release()
	}
	return frames
}

// presentPages counts the pages of b mapped in this process, from
// /proc/self/pagemap (bit 63 of each page's entry); ok is false where it
// cannot be read.
func presentPages(t *testing.T, b []byte) (n int, ok bool) {
	t.Helper()
	f, err := os.Open("/proc/self/pagemap")
	if err != nil {
		t.Logf("no pagemap (%v): resident pages not checked", err)
		return 0, false
	}
	defer f.Close()
	pages := (len(b) + pageSize - 1) / pageSize
	buf := make([]byte, 8*pages)
	if _, err := f.ReadAt(buf, int64(uintptr(unsafe.Pointer(&b[0]))/uintptr(pageSize))*8); err != nil {
		t.Logf("pagemap: %v: resident pages not checked", err)
		return 0, false
	}
	for i := range pages {
		if binary.LittleEndian.Uint64(buf[8*i:])>>63 == 1 {
			n++
		}
	}
	return n, true
}

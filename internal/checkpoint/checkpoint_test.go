package checkpoint

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSaveLoad: what Save writes, Load reads back; damage of any byte, a
// cut, or a foreign file is ErrDamaged; a missing file is os.ErrNotExist.
func TestSaveLoad(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	os.WriteFile(in, []byte(strings.Repeat(`{"uid":"a","ts":1}`+"\n", 100)), 0o644)
	id, err := Identify(in)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "state")
	want := Checkpoint{Input: id, Outputs: []int64{12, 0, 34}, State: []byte("the state")}
	if err := Save(path, &want); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil || got.Input != want.Input || string(got.State) != string(want.State) || len(got.Outputs) != 3 || got.Outputs[2] != 34 {
		t.Fatalf("loaded %+v, %v; want %+v", got, err, want)
	}
	good, _ := os.ReadFile(path)
	for i := range good {
		bad := append([]byte(nil), good...)
		bad[i] ^= 0x40
		os.WriteFile(path, bad, 0o644)
		if _, err := Load(path); !errors.Is(err, ErrDamaged) {
			t.Fatalf("byte %d damaged: %v", i, err)
		}
	}
	for name, data := range map[string][]byte{"cut": good[:len(good)-1], "empty": nil, "foreign": []byte("PK\x03\x04 some zip")} {
		os.WriteFile(path, data, 0o644)
		if _, err := Load(path); !errors.Is(err, ErrDamaged) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := Load(filepath.Join(dir, "none")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("temporary files left: %v", entries)
	}
}

// TestResume: no checkpoint is a first run; one of another input, or with
// other outputs, is refused with a message saying how to start over.
func TestResume(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	os.WriteFile(a, []byte("aaaa\n"), 0o644)
	os.WriteFile(b, []byte("bbbb\n"), 0o644)
	idA, _ := Identify(a)
	idB, _ := Identify(b)
	path := filepath.Join(dir, "state")
	if state, lengths, err := Resume(path, idA, 1); state != nil || lengths != nil || err != nil {
		t.Errorf("no checkpoint: %q %v %v", state, lengths, err)
	}
	Save(path, &Checkpoint{Input: idA, Outputs: []int64{3}, State: []byte("s")})
	if state, lengths, err := Resume(path, idA, 1); string(state) != "s" || len(lengths) != 1 || err != nil {
		t.Errorf("resume: %q %v %v", state, lengths, err)
	}
	if _, _, err := Resume(path, idB, 1); err == nil || !strings.Contains(err.Error(), "remove it to start over") {
		t.Errorf("another input: %v", err)
	}
	if _, _, err := Resume(path, idA, 2); err == nil || !strings.Contains(err.Error(), "output files") {
		t.Errorf("other outputs: %v", err)
	}
	if _, err := Identify(dir); err == nil {
		t.Error("a folder identified as an input")
	}
}

// TestOpenOutput: a first run creates the file empty; a resumed one cuts it
// back to the recorded length and writes after it; a file shorter than the
// record is an error (it was changed since).
func TestOpenOutput(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out")
	os.WriteFile(path, []byte("old stuff\n"), 0o644)
	f, err := OpenOutput(path, -1)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("line 1\nline 2\n")
	f.Close()
	f, err = OpenOutput(path, 7)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("again\n")
	f.Close()
	if got, _ := os.ReadFile(path); string(got) != "line 1\nagain\n" {
		t.Errorf("resumed output %q", got)
	}
	if _, err := OpenOutput(path, 1000); err == nil {
		t.Error("a shorter file than recorded was accepted")
	}
}

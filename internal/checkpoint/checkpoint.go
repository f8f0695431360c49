package checkpoint

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/cespare/xxhash/v2"

	"github.com/headcount/headcount/internal/binio"
)

// Identity says which input a checkpoint belongs to.
type Identity struct {
	Path string
	Size int64
	Head uint64 // xxhash of the first HeadBytes bytes
}

// HeadBytes is how much of the input's start Identify hashes.
const HeadBytes = 1 << 20

// Identify describes the regular file at path.
func Identify(path string) (Identity, error) {
	f, err := os.Open(path)
	if err != nil {
		return Identity{}, fmt.Errorf("checkpoint: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Identity{}, fmt.Errorf("checkpoint: %w", err)
	}
	if !st.Mode().IsRegular() {
		return Identity{}, fmt.Errorf("checkpoint: input %s is not a regular file (a pipe or stdin cannot be resumed)", path)
	}
	h := xxhash.New()
	if _, err := io.Copy(h, io.LimitReader(f, HeadBytes)); err != nil {
		return Identity{}, fmt.Errorf("checkpoint: read %s: %w", path, err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	return Identity{Path: abs, Size: st.Size(), Head: h.Sum64()}, nil
}

// Checkpoint is one saved state of a run.
type Checkpoint struct {
	Input Identity
	// Outputs are the lengths of the run's output files (results, dead
	// letters) when the checkpoint was taken, in the caller's order.
	Outputs []int64
	// State is the pipeline's snapshot.
	State []byte
}

// ErrDamaged is wrapped by every error about a checkpoint's bytes.
var ErrDamaged = errors.New("damaged or foreign checkpoint")

// The file: "hcK" 1, then
//
//	uvarint len, path; varint size; uint64 head
//	uvarint outputs, then varint each
//	uvarint len, state
//	uint64 xxhash of everything before it
var header = binio.Header{Magic: "hcK", Version: 1, Err: ErrDamaged}

func (c *Checkpoint) appendBinary(b []byte) []byte {
	b = header.Append(b)
	b = binio.AppendBytes(b, []byte(c.Input.Path))
	b = binary.AppendVarint(b, c.Input.Size)
	b = binary.LittleEndian.AppendUint64(b, c.Input.Head)
	b = binary.AppendUvarint(b, uint64(len(c.Outputs)))
	for _, n := range c.Outputs {
		b = binary.AppendVarint(b, n)
	}
	b = binio.AppendBytes(b, c.State)
	return binary.LittleEndian.AppendUint64(b, xxhash.Sum64(b))
}

func parse(data []byte) (Checkpoint, error) {
	if len(data) < 8 || xxhash.Sum64(data[:len(data)-8]) != binary.LittleEndian.Uint64(data[len(data)-8:]) {
		return Checkpoint{}, fmt.Errorf("%w: checksum mismatch", ErrDamaged)
	}
	r, err := header.Open(data[:len(data)-8])
	if err != nil {
		return Checkpoint{}, err
	}
	var c Checkpoint
	c.Input.Path = string(r.Bytes())
	c.Input.Size = r.Varint()
	c.Input.Head = r.Uint64()
	n := r.Count(1)
	for range n {
		c.Outputs = append(c.Outputs, r.Varint())
	}
	c.State = append([]byte(nil), r.Bytes()...)
	if err := header.Finish(r); err != nil {
		return Checkpoint{}, err
	}
	return c, nil
}

// Save writes c to path atomically: a temporary file beside it, synced,
// renamed over path, and the folder synced.
func Save(path string, c *Checkpoint) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	_, err = tmp.Write(c.appendBinary(nil))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Load reads the checkpoint at path. A missing file is os.ErrNotExist
// (wrapped): a run with nothing to resume.
func Load(path string) (Checkpoint, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	c, err := parse(data)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	return c, nil
}

// Check reports whether c belongs to the input id.
func (c *Checkpoint) Check(path string, id Identity) error {
	if c.Input != id {
		return fmt.Errorf("checkpoint %s was taken of %s (%d bytes), not of this input %s (%d bytes, or its first MiB differs): remove it to start over", path, c.Input.Path, c.Input.Size, id.Path, id.Size)
	}
	return nil
}

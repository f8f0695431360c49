package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// File saves a run's state to Path (it implements pipeline.Checkpointer):
// each Save syncs the Outputs and records their lengths with the state.
type File struct {
	Path    string
	Input   Identity
	Outputs []*os.File
}

// Save syncs the outputs, then writes the checkpoint: a checkpoint never
// records output that is not on disk.
func (f *File) Save(_ context.Context, state []byte) error {
	c := Checkpoint{Input: f.Input, State: state}
	for _, o := range f.Outputs {
		if err := o.Sync(); err != nil {
			return fmt.Errorf("checkpoint: sync %s: %w", o.Name(), err)
		}
		n, err := o.Seek(0, io.SeekCurrent)
		if err != nil {
			return fmt.Errorf("checkpoint: %s: %w", o.Name(), err)
		}
		c.Outputs = append(c.Outputs, n)
	}
	return Save(f.Path, &c)
}

// Resume loads the checkpoint at path for the input id and returns the
// state to resume from, with the lengths the outputs must be cut back to;
// a nil state when there is no checkpoint (a first run).
func Resume(path string, id Identity, outputs int) (state []byte, lengths []int64, err error) {
	c, err := Load(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if err := c.Check(path, id); err != nil {
		return nil, nil, err
	}
	if len(c.Outputs) != outputs {
		return nil, nil, fmt.Errorf("checkpoint %s was taken with %d output files, this run has %d: give the same --out and --dead-letter, or remove it to start over", path, len(c.Outputs), outputs)
	}
	return c.State, c.Outputs, nil
}

// OpenOutput opens an output file for a run: created empty for a first run
// (length < 0), or cut back to length and positioned at its end to resume.
func OpenOutput(path string, length int64) (*os.File, error) {
	if length < 0 {
		return os.Create(path)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("resume output: %w", err)
	}
	st, err := f.Stat()
	if err == nil && st.Size() < length {
		err = fmt.Errorf("%s has %d bytes, fewer than the %d the checkpoint recorded", path, st.Size(), length)
	}
	if err == nil {
		err = f.Truncate(length)
	}
	if err == nil {
		_, err = f.Seek(length, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("resume output: %w", err)
	}
	return f, nil
}

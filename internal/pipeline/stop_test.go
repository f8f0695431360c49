package pipeline

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/headcount/headcount/internal/result"
	"github.com/headcount/headcount/internal/source"
)

// TestCancel: a cancelled run stops with the context's error while its
// input is still open, and leaves no goroutine behind (TestMain).
func TestCancel(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := Run(ctx, source.NewLines(pr), &collect{}, Config{})
		done <- err
	}()
	pw.Write([]byte("{\"uid\":\"a\",\"ts\":1468244400}\n"))
	cancel()
	pw.Close() // the line reader blocks in Read; closing the pipe ends it as a real stdin would at exit
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop")
	}
}

type failing struct{}

func (failing) Write(context.Context, []result.Result) error { return errors.New("disk full") }

// TestSinkError: a sink that fails stops the run with its error.
func TestSinkError(t *testing.T) {
	in := "{\"uid\":\"a\",\"ts\":1468244400}\n{\"uid\":\"a\",\"ts\":1468244500}\n"
	_, err := Run(context.Background(), source.NewLines(stringsReader(in)), failing{}, Config{})
	if err == nil || !errors.Is(err, err) || err.Error() != "write results: disk full" {
		t.Errorf("err = %v", err)
	}
}

func stringsReader(s string) io.Reader { return &sr{s: s} }

type sr struct{ s string }

func (r *sr) Read(p []byte) (int, error) {
	if r.s == "" {
		return 0, io.EOF
	}
	n := copy(p, r.s)
	r.s = r.s[n:]
	return n, nil
}

// marks records the batches a source was told it may commit.
type marks struct {
	source.Source
	marked []int64
}

func (m *marks) MarkApplied(b *source.Batch) { m.marked = append(m.marked, b.Offset) }

// TestMarkAfterWrite: a batch is marked (its offsets may be committed)
// only once the results it produced are written; when the sink fails, the
// batch that closed the window is not marked.
func TestMarkAfterWrite(t *testing.T) {
	in := "{\"uid\":\"a\",\"ts\":1468244400}\n{\"uid\":\"a\",\"ts\":1468244500}\n"
	m := &marks{Source: source.NewLines(stringsReader(in), source.ChunkSize(64))}
	if _, err := Run(context.Background(), m, failing{}, Config{}); err == nil {
		t.Fatal("no error")
	}
	for _, off := range m.marked {
		if off >= 1 {
			t.Errorf("batch at line %d marked though its result was not written (marked %v)", off, m.marked)
		}
	}
}

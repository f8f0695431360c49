package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/headcount/headcount/internal/frame"
	"github.com/headcount/headcount/internal/result"
	"github.com/headcount/headcount/internal/source"
)

// TestCancel: a cancelled run stops with the context's error while its
// input is still open and idle (the reader sits in a Read that never
// returns, like an idle stdin). The pipe is closed only after Run returned,
// to let the reader go (TestMain checks that nothing else is left).
func TestCancel(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines string // written (and read) before the cancel
	}{
		{"nothing read", ""},
		{"idle after a frame", "{\"uid\":\"a\",\"ts\":1468244400}\n"},
		{"idle inside a line", "{\"uid\":\"a\",\"ts\":1468244400}\n{\"uid\":"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pr, pw := io.Pipe()
			defer pw.Close()
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				_, err := Run(ctx, source.NewLines(pr), &collect{}, defaults())
				done <- err
			}()
			if tc.lines != "" {
				// A pipe write returns once the reader has taken it.
				if _, err := io.WriteString(pw, tc.lines); err != nil {
					t.Fatal(err)
				}
			}
			cancel()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					t.Errorf("err = %v", err)
				}
			case <-time.After(time.Minute): // a hang, not a slow machine
				t.Fatal("run did not stop while its input was idle")
			}
		})
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

// events is the order in which a run marked batches, wrote results and
// flushed dead letters.
type events struct {
	mu  sync.Mutex
	log []string
}

func (e *events) add(format string, a ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.log = append(e.log, fmt.Sprintf(format, a...))
}

func (e *events) index(ev string) int { return slices.Index(e.log, ev) }

// marks is a source that logs the batches it is told it may commit.
type marks struct {
	source.Source
	ev *events
}

func (m *marks) MarkApplied(b *source.Batch) { m.ev.add("mark %d", b.Offset) }

// logSink logs each result it is given ("write START/REV"), then fails
// with err if set.
type logSink struct {
	ev  *events
	err error
}

func (s *logSink) Write(_ context.Context, rs []result.Result) error {
	for _, r := range rs {
		s.ev.add("write %d/%d", r.Start.Unix(), r.Rev)
	}
	return s.err
}

// logDead logs dead letters and their flushes; Flush fails with err if set.
type logDead struct {
	ev  *events
	err error
}

func (d *logDead) Reject(_ int32, off int64, _ []byte, r frame.Reason) error {
	d.ev.add("reject %d %s", off, r)
	return nil
}

func (d *logDead) Flush(context.Context) error {
	d.ev.add("flush dead")
	return d.err
}

// oneLine reads one line per Read, so each line is a batch of its own.
type oneLine struct{ lines []string }

func (o *oneLine) Read(p []byte) (int, error) {
	if len(o.lines) == 0 {
		return 0, io.EOF
	}
	n := copy(p, o.lines[0]+"\n")
	o.lines = o.lines[1:]
	return n, nil
}

// TestMarkAfterWrite: every batch is marked (its offsets may be committed),
// once, in input order, and only after the results and the dead letters it
// caused were written (and flushed); when writing them fails, that batch
// and the ones after it are not marked.
func TestMarkAfterWrite(t *testing.T) {
	const m = 1468244400
	lines := []string{
		fmt.Sprintf(`{"uid":"a","ts":%d}`, m),     // batch 0
		"garbage",                                 // batch 1: a dead letter
		fmt.Sprintf(`{"uid":"b","ts":%d}`, m+100), // batch 2: closes minute m
		fmt.Sprintf(`{"uid":"c","ts":%d}`, m+200), // batch 3: closes minute m+60
	}
	wrote := func(start int64) string { return fmt.Sprintf("write %d/1", start) }
	for _, tc := range []struct {
		name      string
		sinkErr   error
		deadErr   error
		wantErr   string
		wantMarks []string
		// before: each event that must come before the mark it names
		before map[string]string
		// wantLast is the last event: the end-of-input flush
		wantLast string
	}{
		{
			name:      "all written",
			wantMarks: []string{"mark 0", "mark 1", "mark 2", "mark 3"},
			before: map[string]string{
				"reject 1 not-json": "mark 1",
				"flush dead":        "mark 1",
				wrote(m):            "mark 2",
				wrote(m + 60):       "mark 3",
			},
			wantLast: wrote(m + 180),
		},
		{
			name:      "sink fails",
			sinkErr:   errors.New("disk full"),
			wantErr:   "write results: disk full",
			wantMarks: []string{"mark 0", "mark 1"},
			before:    map[string]string{"flush dead": "mark 1"},
			wantLast:  wrote(m),
		},
		{
			name:      "dead letters fail",
			deadErr:   errors.New("broker gone"),
			wantErr:   "dead letters: broker gone",
			wantMarks: []string{"mark 0"},
			wantLast:  "flush dead",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := &events{}
			src := &marks{Source: source.NewLines(&oneLine{lines: slices.Clone(lines)}), ev: ev}
			_, err := Run(context.Background(), src, &logSink{ev: ev, err: tc.sinkErr}, Config{Dead: &logDead{ev: ev, err: tc.deadErr}})
			if (err == nil) != (tc.wantErr == "") || (err != nil && err.Error() != tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			var got []string
			for _, e := range ev.log {
				if strings.HasPrefix(e, "mark ") {
					got = append(got, e)
				}
			}
			if !slices.Equal(got, tc.wantMarks) {
				t.Errorf("marks %v, want %v (events %v)", got, tc.wantMarks, ev.log)
			}
			for first, mark := range tc.before {
				if i, j := ev.index(first), ev.index(mark); i < 0 || j < 0 || i > j {
					t.Errorf("%q must come before %q: events %v", first, mark, ev.log)
				}
			}
			if last := ev.log[len(ev.log)-1]; last != tc.wantLast {
				t.Errorf("last event %q, want %q (events %v)", last, tc.wantLast, ev.log)
			}
		})
	}
}

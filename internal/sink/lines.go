package sink

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/headcount/headcount/internal/frame"
	"github.com/headcount/headcount/internal/result"
)

// Lines writes each result as one JSON line.
type Lines struct {
	w   *bufio.Writer
	buf []byte
}

// NewLines writes results to w.
func NewLines(w io.Writer) *Lines {
	return &Lines{w: bufio.NewWriterSize(w, 64<<10)}
}

// Write writes rs and flushes.
func (l *Lines) Write(_ context.Context, rs []result.Result) error {
	for i := range rs {
		l.buf = rs[i].AppendJSON(l.buf[:0])
		l.buf = append(l.buf, '\n')
		if _, err := l.w.Write(l.buf); err != nil {
			return err
		}
	}
	return l.w.Flush()
}

// DeadLines writes each rejected frame as a JSON line wrapping it:
// {"reason":"not-json","partition":0,"offset":12,"frame":"..."}. A frame that
// is not valid UTF-8 is carried as "frame_base64" so it survives unchanged.
// Offsets are Kafka offsets, or line numbers from 0 for files.
type DeadLines struct {
	mu  sync.Mutex
	w   *bufio.Writer
	c   io.Closer
	buf []byte
}

// NewDeadLines writes dead letters to w; Close closes c if not nil.
func NewDeadLines(w io.Writer, c io.Closer) *DeadLines {
	return &DeadLines{w: bufio.NewWriterSize(w, 64<<10), c: c}
}

// Reject writes one dead letter. Dead letters are buffered; Flush or Close
// writes them out.
func (d *DeadLines) Reject(partition int32, offset int64, f []byte, r frame.Reason) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	b := append(d.buf[:0], `{"reason":"`...)
	b = append(b, r.String()...)
	b = append(b, `","partition":`...)
	b = strconv.AppendInt(b, int64(partition), 10)
	b = append(b, `,"offset":`...)
	b = strconv.AppendInt(b, offset, 10)
	if utf8.Valid(f) {
		b = append(b, `,"frame":`...)
		b = appendJSONString(b, f)
	} else {
		b = append(b, `,"frame_base64":"`...)
		b = base64.StdEncoding.AppendEncode(b, f)
		b = append(b, '"')
	}
	b = append(b, "}\n"...)
	d.buf = b
	if _, err := d.w.Write(b); err != nil {
		return fmt.Errorf("dead letter: %w", err)
	}
	return nil
}

// Flush writes buffered dead letters.
func (d *DeadLines) Flush(context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.w.Flush()
}

// Close flushes and closes the underlying file.
func (d *DeadLines) Close() error {
	err := d.Flush(context.Background())
	if d.c != nil {
		if cerr := d.c.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// appendJSONString quotes valid UTF-8 s as a JSON string.
func appendJSONString(b, s []byte) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

package logging

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
)

// Format is how records are written.
type Format int

const (
	// Text is for a person: "headcount: msg key=value", the level named
	// only for warnings and errors (and debug records), no time.
	Text Format = iota
	// JSON is for services: one JSON object per line (slog.JSONHandler:
	// time, level, msg, cmd, the attributes).
	JSON
)

func (f Format) String() string {
	if f == JSON {
		return "json"
	}
	return "text"
}

// ParseFormat parses --log-format: text, json or auto (text: a terminal
// and a service's captured stderr alike read well as text; a service that
// wants JSON says so).
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(s) {
	case "text", "auto":
		return Text, nil
	case "json":
		return JSON, nil
	}
	return Text, fmt.Errorf("want text, json or auto")
}

// ParseLevel parses --log-level: debug, info, warn or error (slog's names,
// in any case).
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("want debug, info, warn or error")
	}
	return l, nil
}

// Options configure a command's logger.
type Options struct {
	Format Format
	// Level is the least severe level written (default info).
	Level slog.Leveler
	// Prefix starts every text line, before ": " ("headcount gen").
	Prefix string
	// Command is the cmd attribute of every JSON record ("gen").
	Command string
	// Terminal says that the text goes to a terminal: every line then
	// starts by clearing the line, so that a log line replaces a progress
	// line being rewritten in place instead of being appended to it.
	Terminal bool
}

// NewHandler returns the handler of o writing to w.
func NewHandler(w io.Writer, o Options) slog.Handler {
	if o.Format == JSON {
		h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: o.Level})
		if o.Command == "" {
			return h
		}
		return h.WithAttrs([]slog.Attr{slog.String("cmd", o.Command)})
	}
	return newText(w, o)
}

// Log is a command's logger and where its reports for a person go.
type Log struct {
	*slog.Logger
	format Format
	w      io.Writer
}

// New returns the logger of o writing to w.
func New(w io.Writer, o Options) *Log {
	return &Log{Logger: slog.New(NewHandler(w, o)), format: o.Format, w: w}
}

// Format is the format the log writes.
func (l *Log) Format() Format { return l.format }

// Report writes a report for a person, such as an end-of-run summary: text
// as it is in text format; in JSON, one info record of msg and attrs, so
// that stderr stays one object per line.
func (l *Log) Report(text, msg string, attrs ...slog.Attr) {
	if l.format == JSON {
		l.LogAttrs(context.Background(), slog.LevelInfo, msg, attrs...)
		return
	}
	io.WriteString(l.w, text)
}

// Display returns where a display for a person goes (the demo's status
// lines): the log's writer in text format; in JSON, a writer that logs
// each line it is given as an info record.
func (l *Log) Display() io.Writer {
	if l.format == JSON {
		return &lineLogger{log: l.Logger}
	}
	return l.w
}

// lineLogger logs each complete line written to it.
type lineLogger struct {
	log     *slog.Logger
	mu      sync.Mutex
	partial []byte
}

func (w *lineLogger) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		if line := strings.TrimRight(string(w.partial[:i]), "\r"); line != "" {
			w.log.Info(line)
		}
		w.partial = w.partial[i+1:]
	}
}

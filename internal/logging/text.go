package logging

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// textHandler writes "PREFIX: [level: ]msg key=value ..." lines. The
// attributes are formatted by slog.TextHandler, so quoting, groups and
// LogValuers are slog's own.
type textHandler struct {
	mu    *sync.Mutex
	w     io.Writer
	opts  Options
	attrs []func(slog.Handler) slog.Handler // WithAttrs and WithGroup, in order
}

func newText(w io.Writer, o Options) *textHandler {
	return &textHandler{mu: &sync.Mutex{}, w: w, opts: o}
}

func (h *textHandler) Enabled(_ context.Context, l slog.Level) bool {
	min := slog.LevelInfo
	if h.opts.Level != nil {
		min = h.opts.Level.Level()
	}
	return l >= min
}

func (h *textHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return h.with(func(f slog.Handler) slog.Handler { return f.WithAttrs(as) })
}

func (h *textHandler) WithGroup(name string) slog.Handler {
	return h.with(func(f slog.Handler) slog.Handler { return f.WithGroup(name) })
}

func (h *textHandler) with(op func(slog.Handler) slog.Handler) *textHandler {
	c := *h
	c.attrs = append(append([]func(slog.Handler) slog.Handler(nil), h.attrs...), op)
	return &c
}

// emptyHead is how slog.TextHandler starts a record of level info, no time
// and no message: what Handle cuts off to keep the attributes alone.
const emptyHead = `level=INFO msg=""`

func (h *textHandler) Handle(ctx context.Context, r slog.Record) error {
	var line bytes.Buffer
	if h.opts.Terminal {
		line.WriteString("\r\033[K")
	}
	if h.opts.Prefix != "" {
		line.WriteString(h.opts.Prefix + ": ")
	}
	line.WriteString(label(r.Level))
	line.WriteString(r.Message)

	// The attributes: r's, after those and the groups of WithAttrs and
	// WithGroup, through a TextHandler of their own.
	var attrs bytes.Buffer
	var f slog.Handler = slog.NewTextHandler(&attrs, nil)
	for _, op := range h.attrs {
		f = op(f)
	}
	bare := slog.NewRecord(time.Time{}, slog.LevelInfo, "", 0)
	r.Attrs(func(a slog.Attr) bool { bare.AddAttrs(a); return true })
	if err := f.Handle(ctx, bare); err != nil {
		return err
	}
	line.Write(bytes.TrimPrefix(attrs.Bytes(), []byte(emptyHead)))

	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := h.w.Write(line.Bytes())
	return err
}

// label names the level of warnings, errors and debug records; an info
// record is the plain message.
func label(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "error: "
	case l >= slog.LevelWarn:
		return "warning: "
	case l < slog.LevelInfo:
		return "debug: "
	}
	return ""
}

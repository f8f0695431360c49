package gen

import (
	"context"
	"io"
	"time"
)

// flushSize is how much WriteTo buffers before writing: large writes keep
// the generator ahead of any disk or pipe.
const flushSize = 1 << 20

// WriteTo writes the frames of cfg to w as lines and returns how many
// frames it wrote completely.
//
// With live false it writes as fast as it can. With live true it paces the
// frames by their arrival times: the first at once, each later one when its
// Elapsed time has passed on the wall clock since the start. Before every
// wait it writes everything due, and flushes w if w has a Flush() error
// method (bufio.Writer, gzip, zstd), so a reader of a pipe sees each frame
// when it is due.
//
// It stops early, returning ctx.Err(), when ctx is done.
func WriteTo(ctx context.Context, w io.Writer, cfg Config, live bool) (frames int64, err error) {
	g := New(cfg)
	eol := "\n"
	if g.cfg.CRLF {
		eol = "\r\n"
	}
	flusher, _ := w.(interface{ Flush() error })
	buf := make([]byte, 0, flushSize+64<<10)
	var pending int64 // frames in buf
	write := func(upto int) error {
		if upto == 0 {
			return nil
		}
		_, err := w.Write(buf[:upto])
		return err
	}

	var timer *time.Timer
	start := time.Now()
	for {
		mark := len(buf)
		var ok bool
		buf, ok = g.next(buf)
		if !ok {
			break
		}
		buf = append(buf, eol...)

		if live {
			if wait := time.Until(start.Add(g.elapsed)); wait > 0 {
				if err := write(mark); err != nil {
					return frames, err
				}
				frames += pending
				pending = 0
				if flusher != nil {
					if err := flusher.Flush(); err != nil {
						return frames, err
					}
				}
				buf = append(buf[:0], buf[mark:]...)
				if timer == nil {
					timer = time.NewTimer(wait)
					defer timer.Stop()
				} else {
					timer.Reset(wait)
				}
				select {
				case <-ctx.Done():
					return frames, ctx.Err()
				case <-timer.C:
				}
			}
		} else if g.emitted&255 == 0 && ctx.Err() != nil {
			return frames, ctx.Err()
		}
		pending++

		if len(buf) >= flushSize {
			if err := write(len(buf)); err != nil {
				return frames, err
			}
			frames += pending
			pending = 0
			buf = buf[:0]
		}
	}
	if err := write(len(buf)); err != nil {
		return frames, err
	}
	frames += pending
	if live && flusher != nil {
		if err := flusher.Flush(); err != nil {
			return frames, err
		}
	}
	return frames, nil
}

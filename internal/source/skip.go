package source

import "context"

// Skip passes on src's frames from input position from on (a line number
// for files): a resumed run reads again what it had applied, but does not
// apply it twice. Batches wholly before from are released unread.
func Skip(src Source, from int64) Source {
	if from <= 0 {
		return src
	}
	return &skip{Source: src, from: from}
}

type skip struct {
	Source
	from int64
	done bool  // past from: batches pass unchanged
	line int64 // lines before the next batch, for relative batches
}

func (s *skip) Next(ctx context.Context) (*Batch, error) {
	for {
		b, err := s.Source.Next(ctx)
		if err != nil || s.done {
			return b, err
		}
		if b.Relative {
			// Until from, cut here to see where the lines are.
			b.Cut(nil, nil)
			b.Rebase(s.line)
			s.line += b.Lines
		}
		if len(b.Frames)+len(b.Oversize) == 0 {
			return b, nil
		}
		k := 0
		for k < len(b.Frames) && b.OffsetOf(k) < s.from {
			k++
		}
		over := b.Oversize[:0]
		for _, o := range b.Oversize {
			if o.Offset >= s.from {
				over = append(over, o)
			}
		}
		b.Oversize = over
		if k < len(b.Frames) {
			s.done = true
		}
		if k == 0 && s.done {
			return b, nil
		}
		if k == len(b.Frames) && len(b.Oversize) == 0 {
			b.Release()
			continue
		}
		if b.Offsets != nil {
			b.Offsets = b.Offsets[k:]
		}
		b.Offset += int64(k)
		b.Frames = b.Frames[k:]
		return b, nil
	}
}

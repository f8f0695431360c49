// The buffers fetched records live in: a consumer's record batches are
// decompressed into buffers that come back, with the records decoded from
// them, once the pipeline has released the batches holding those records
// (franz-go's Record.Recycle), instead of ~2 GB of garbage per 1,000,000
// frames of 2 KB. Apart because it is the one piece of the Source that
// owns memory the frames alias.

package kafka

import (
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/headcount/headcount/internal/lz4frame"
)

// maxDecompressed bounds what one record batch may decompress to, as
// franz-go's default (kgo.MaxDecompressBatchBytes) does for its own
// decompressor.
const maxDecompressed = 1 << 30

// recordPool is a consumer's kgo.Decompressor and its pools
// (kgo.PoolDecompressBytes, kgo.PoolRecords). lz4 batches, the default
// compression of `headcount produce`, are decoded by package lz4frame into
// pooled buffers; other codecs, and lz4 frames lz4frame leaves to others,
// by franz-go's decompressor, into the same buffers.
type recordPool struct {
	lz4   *lz4frame.Decoder
	other kgo.Decompressor
	bufs  sync.Pool // *[]byte
	recs  sync.Pool // *[]kgo.Record
	// reused counts the buffers that came back and were decoded into
	// again (tests).
	reused atomic.Uint64
}

func newRecordPool() *recordPool {
	p := &recordPool{lz4: lz4frame.NewDecoder(maxDecompressed)}
	p.other = kgo.DefaultDecompressor(p)
	return p
}

// opts are the client options that make a consumer use the pool.
func (p *recordPool) opts() []kgo.Opt {
	return []kgo.Opt{kgo.WithDecompressor(p), kgo.WithPools(p)}
}

func (p *recordPool) Decompress(src []byte, codec kgo.CompressionCodecType) ([]byte, error) {
	if codec == kgo.CodecLz4 {
		buf := p.GetDecompressBytes(src, codec)
		if out, err := p.lz4.Decode(buf, src); err == nil {
			return out, nil
		}
		// Unsupported or corrupt: franz-go's decoder decides (and
		// says why).
		p.PutDecompressBytes(buf)
	}
	return p.other.Decompress(src, codec)
}

// GetDecompressBytes returns a buffer that came back, or none: the
// decoders allocate one of the right size then.
func (p *recordPool) GetDecompressBytes([]byte, kgo.CompressionCodecType) []byte {
	if b, ok := p.bufs.Get().(*[]byte); ok {
		p.reused.Add(1)
		return (*b)[:0]
	}
	return nil
}

// PutDecompressBytes takes back a buffer whose records were all recycled.
func (p *recordPool) PutDecompressBytes(b []byte) {
	if cap(b) > 0 {
		p.bufs.Put(&b)
	}
}

func (p *recordPool) GetRecords(n int) []kgo.Record {
	if r, ok := p.recs.Get().(*[]kgo.Record); ok && cap(*r) >= n {
		return (*r)[:0]
	}
	return make([]kgo.Record, 0, n)
}

func (p *recordPool) PutRecords(r []kgo.Record) { p.recs.Put(&r) }

// recycle hands records back to the pool: their values must not be used
// after it.
func recycle(rs []*kgo.Record) {
	for _, r := range rs {
		r.Recycle()
	}
}

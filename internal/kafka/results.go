package kafka

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/headcount/headcount/internal/result"
)

// ResultReaderConfig configures a ResultReader.
type ResultReaderConfig struct {
	Config
	// Topic is the result topic, as written by a Sink.
	Topic string
	// StartLatest reads only results written after the reader starts;
	// default: from the beginning (on a compacted topic, the latest
	// revision of every window first).
	StartLatest bool
}

// ResultRecord is one record of a result topic.
type ResultRecord struct {
	Result    result.Result
	Value     []byte // the record's JSON as the sink wrote it
	Partition int32
	Offset    int64
}

// ResultReader reads a result topic the way any consumer of headcount
// would: every partition, no consumer group, each value decoded with
// result.Decode.
type ResultReader struct {
	cl    *kgo.Client
	topic string
}

// NewResultReader connects. The topic need not exist yet: the reader
// waits for it, as a reader may start before the service.
func NewResultReader(ctx context.Context, cfg ResultReaderConfig) (*ResultReader, error) {
	if err := ValidTopic(cfg.Topic); err != nil {
		return nil, fmt.Errorf("kafka result reader: %w", err)
	}
	start := kgo.NewOffset().AtStart()
	if cfg.StartLatest {
		start = kgo.NewOffset().AtEnd()
	}
	cl, err := connect(ctx, &cfg.Config, kgo.ConsumeTopics(cfg.Topic), kgo.ConsumeResetOffset(start))
	if err != nil {
		return nil, err
	}
	return &ResultReader{cl: cl, topic: cfg.Topic}, nil
}

// Poll waits for the next records and returns them in order within each
// partition. Fetch errors and records that do not decode come back joined
// in the error, beside the records that did decode, so a caller can report
// them and poll on. Once ctx is done Poll returns ctx.Err() and nothing
// else.
func (r *ResultReader) Poll(ctx context.Context) ([]ResultRecord, error) {
	fs := r.cl.PollFetches(ctx)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var errs []error
	fs.EachError(func(t string, p int32, err error) {
		errs = append(errs, fmt.Errorf("kafka: read results from %s: %w", describeTP(t, p), err))
	})
	var out []ResultRecord
	fs.EachRecord(func(rec *kgo.Record) {
		res, err := result.Decode(rec.Value)
		if err != nil {
			errs = append(errs, fmt.Errorf("kafka: result at %s offset %d: %w", describeTP(rec.Topic, rec.Partition), rec.Offset, err))
			return
		}
		out = append(out, ResultRecord{Result: res, Value: rec.Value, Partition: rec.Partition, Offset: rec.Offset})
	})
	return out, errors.Join(errs...)
}

// Close closes the connections.
func (r *ResultReader) Close() error {
	r.cl.Close()
	return nil
}

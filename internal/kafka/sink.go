package kafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/headcount/headcount/internal/result"
)

// SinkConfig configures a Sink.
type SinkConfig struct {
	Config
	// Topic receives the results. It is created when missing, compacted
	// (cleanup.policy=compact) so that it keeps the latest revision of
	// each window.
	Topic string
	// Partitions of the topic when it is created (default 1: results are
	// few, and one partition gives readers one total order).
	Partitions int32
	// ReplicationFactor of the topic when it is created (default -1: the
	// broker's default.replication.factor).
	ReplicationFactor int16
	// DeliveryTimeout bounds how long franz-go retries a record before
	// Write fails, and how long Close waits (Java: delivery.timeout.ms;
	// default 2m, at least 1s).
	DeliveryTimeout time.Duration
	// Txn, if set, is the transaction of an exactly-once source: results
	// are produced through its client, inside its transactions.
	Txn *Txn
}

// DefaultDeliveryTimeout matches the Java producer's delivery.timeout.ms.
const DefaultDeliveryTimeout = 2 * time.Minute

// Sink writes results to a topic, one record per result keyed by
// result.Key() with the result's JSON as the value. It implements
// pipeline.Sink.
type Sink struct {
	cl       *kgo.Client
	shared   bool // the client is a Txn's: not closed here
	topic    string
	delivery time.Duration // DeliveryTimeout, or its default

	recs  []kgo.Record
	ptrs  []*kgo.Record
	buf   []byte
	spans []int // key end, value end, ... in buf
}

// NewSink connects, creates the topic when it is missing, and returns the
// sink.
func NewSink(ctx context.Context, cfg SinkConfig) (*Sink, error) {
	if err := ValidTopic(cfg.Topic); err != nil {
		return nil, fmt.Errorf("kafka sink: %w", err)
	}
	t := Topic{Name: cfg.Topic, Partitions: cfg.Partitions, ReplicationFactor: cfg.ReplicationFactor, Compact: true}
	cl, err := topicClient(ctx, &cfg.Config, t, cfg.DeliveryTimeout, cfg.Txn)
	if err != nil {
		return nil, err
	}
	return &Sink{cl: cl, shared: cfg.Txn != nil, topic: cfg.Topic, delivery: deliveryTimeout(cfg.DeliveryTimeout)}, nil
}

// topicClient is a producer to topic t, created when missing: a client of
// its own, or txn's.
func topicClient(ctx context.Context, c *Config, t Topic, delivery time.Duration, txn *Txn) (*kgo.Client, error) {
	if txn == nil {
		return openTopicProducer(ctx, c, t, delivery)
	}
	if t.Partitions <= 0 {
		t.Partitions = 1
	}
	tctx, cancel := context.WithTimeout(ctx, c.connectTimeout())
	defer cancel()
	if _, err := EnsureTopic(tctx, txn.Client(), t); err != nil {
		return nil, err
	}
	return txn.Client(), nil
}

// openTopicProducer connects a producer to topic t, creating t when it is
// missing (one partition unless t says more): the result and dead-letter
// sinks start alike.
func openTopicProducer(ctx context.Context, c *Config, t Topic, delivery time.Duration) (*kgo.Client, error) {
	if t.Partitions <= 0 {
		t.Partitions = 1
	}
	cl, err := connect(ctx, c, producerOpts(t.Name, delivery)...)
	if err != nil {
		return nil, err
	}
	tctx, cancel := context.WithTimeout(ctx, c.connectTimeout())
	defer cancel()
	if _, err := EnsureTopic(tctx, cl, t); err != nil {
		cl.Close()
		return nil, err
	}
	return cl, nil
}

// deliveryTimeout is d, or DefaultDeliveryTimeout when d is not set.
func deliveryTimeout(d time.Duration) time.Duration {
	if d <= 0 {
		return DefaultDeliveryTimeout
	}
	return d
}

// producerOpts are the settings shared by the result and dead-letter sinks.
func producerOpts(topic string, delivery time.Duration) []kgo.Opt {
	return []kgo.Opt{
		kgo.DefaultProduceTopic(topic),
		// A failing broker surfaces as a Write error after this long
		// instead of franz-go's default of retrying forever.
		kgo.RecordDeliveryTimeout(deliveryTimeout(delivery)),
		// Bounded buffering: Produce blocks (backpressure) once this
		// much is waiting for the broker.
		kgo.MaxBufferedBytes(64 << 20),
		kgo.ProducerBatchCompression(kgo.Lz4Compression(), kgo.NoCompression()),
	}
}

// Write produces rs and waits until the broker has acknowledged every
// record (acks=all, idempotent: franz-go's defaults), so an error is
// returned here and never lost.
func (s *Sink) Write(ctx context.Context, rs []result.Result) error {
	if len(rs) == 0 {
		return nil
	}
	// Keys and values go into one buffer first and are sliced after, as
	// the buffer may move while it grows.
	s.buf, s.spans = s.buf[:0], s.spans[:0]
	for i := range rs {
		s.buf = append(s.buf, rs[i].Key()...)
		s.spans = append(s.spans, len(s.buf))
		s.buf = rs[i].AppendJSON(s.buf)
		s.spans = append(s.spans, len(s.buf))
	}
	if cap(s.recs) < len(rs) {
		s.recs = make([]kgo.Record, len(rs))
		s.ptrs = make([]*kgo.Record, len(rs))
	}
	s.recs, s.ptrs = s.recs[:len(rs)], s.ptrs[:len(rs)]
	start := 0
	for i := range rs {
		k, v := s.spans[2*i], s.spans[2*i+1]
		s.recs[i] = kgo.Record{Topic: s.topic, Key: s.buf[start:k:k], Value: s.buf[k:v:v]}
		s.ptrs[i] = &s.recs[i]
		start = v
	}
	if err := s.cl.ProduceSync(ctx, s.ptrs...).FirstErr(); err != nil {
		return fmt.Errorf("kafka: produce %d results to %s: %w", len(rs), s.topic, err)
	}
	return nil
}

// Close waits for anything buffered, for up to the delivery timeout, and
// closes the connections.
func (s *Sink) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), s.delivery)
	defer cancel()
	err := s.cl.Flush(ctx)
	if !s.shared {
		s.cl.Close()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("kafka: results to %s not delivered within the delivery timeout (%s): %w", s.topic, s.delivery, err)
	}
	if err != nil {
		return fmt.Errorf("kafka: flush results to %s: %w", s.topic, err)
	}
	return nil
}

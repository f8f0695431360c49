package kafka

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/headcount/headcount/internal/frame"
)

// Dead-letter record headers. The value is the rejected frame unchanged, so
// a fixed producer can replay it as it is.
const (
	HeaderReason    = "headcount-reason"    // frame.Reason name: not-json, no-uid, too-late, ...
	HeaderTopic     = "headcount-topic"     // input topic, when the input is Kafka
	HeaderPartition = "headcount-partition" // input partition (0 for a file)
	HeaderOffset    = "headcount-offset"    // input offset (line number from 0 for a file; -1 unknown)
)

// DeadLetterConfig configures DeadLetters.
type DeadLetterConfig struct {
	Config
	// Topic receives the rejected frames; created when missing, with the
	// broker's default cleanup policy (delete): dead letters are a log.
	Topic             string
	Partitions        int32 // of a new topic; default 1
	ReplicationFactor int16 // of a new topic; default -1, the broker's
	// DeliveryTimeout bounds the retries of a dead letter and how long
	// Close waits for the last ones (default 2m, at least 1s).
	DeliveryTimeout time.Duration
	// Origin maps the pipeline's partition ids to the input's topic and
	// partition (Source.Origin); nil: the id is written as the partition.
	Origin func(id int32) (topic string, partition int32, ok bool)
	// Txn, if set, is the transaction of an exactly-once source: dead
	// letters are produced through its client, inside its transactions.
	Txn *Txn
}

// DeadLetters produces each rejected frame to a topic. It implements
// pipeline.DeadLetters. Records are sent asynchronously: Reject returns the
// first delivery error of an earlier record, and Close waits for all of
// them and returns the first error.
type DeadLetters struct {
	cl       *kgo.Client
	shared   bool // the client is a Txn's: not closed here
	topic    string
	origin   func(int32) (string, int32, bool)
	delivery time.Duration // DeliveryTimeout, or its default

	mu  sync.Mutex
	err error
}

// NewDeadLetters connects and creates the topic when it is missing.
func NewDeadLetters(ctx context.Context, cfg DeadLetterConfig) (*DeadLetters, error) {
	if err := ValidTopic(cfg.Topic); err != nil {
		return nil, fmt.Errorf("kafka dead letters: %w", err)
	}
	cl, err := topicClient(ctx, &cfg.Config, Topic{Name: cfg.Topic, Partitions: cfg.Partitions, ReplicationFactor: cfg.ReplicationFactor}, cfg.DeliveryTimeout, cfg.Txn)
	if err != nil {
		return nil, err
	}
	return &DeadLetters{cl: cl, shared: cfg.Txn != nil, topic: cfg.Topic, origin: cfg.Origin, delivery: deliveryTimeout(cfg.DeliveryTimeout)}, nil
}

// Reject sends one dead letter. The frame is copied: the caller's buffer
// is reused once its batch is released, before delivery.
func (d *DeadLetters) Reject(partition int32, offset int64, f []byte, r frame.Reason) error {
	d.mu.Lock()
	err := d.err
	d.mu.Unlock()
	if err != nil {
		return err
	}
	hs := make([]kgo.RecordHeader, 0, 4)
	hs = append(hs, kgo.RecordHeader{Key: HeaderReason, Value: []byte(r.String())})
	p := partition
	if d.origin != nil {
		if t, op, ok := d.origin(partition); ok {
			hs = append(hs, kgo.RecordHeader{Key: HeaderTopic, Value: []byte(t)})
			p = op
		}
	}
	hs = append(hs,
		kgo.RecordHeader{Key: HeaderPartition, Value: strconv.AppendInt(nil, int64(p), 10)},
		kgo.RecordHeader{Key: HeaderOffset, Value: strconv.AppendInt(nil, offset, 10)},
	)
	// Produce blocks while the buffer is full: backpressure, not growth.
	d.cl.Produce(context.Background(), &kgo.Record{Topic: d.topic, Value: bytes.Clone(f), Headers: hs}, d.promise)
	return nil
}

func (d *DeadLetters) promise(_ *kgo.Record, err error) {
	if err == nil {
		return
	}
	d.mu.Lock()
	if d.err == nil {
		d.err = fmt.Errorf("kafka: produce dead letter to %s: %w", d.topic, err)
	}
	d.mu.Unlock()
}

// Flush waits until every dead letter sent so far is delivered.
func (d *DeadLetters) Flush(ctx context.Context) error {
	if err := d.cl.Flush(ctx); err != nil {
		return fmt.Errorf("kafka: flush dead letters to %s: %w", d.topic, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.err
}

// Close flushes, for up to the delivery timeout, and closes the
// connections. Records that franz-go gave up on and records still waiting
// at the deadline are both reported as not delivered within the timeout.
func (d *DeadLetters) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), d.delivery)
	defer cancel()
	err := d.Flush(ctx)
	if !d.shared {
		d.cl.Close()
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, kgo.ErrRecordTimeout) {
		return fmt.Errorf("kafka: dead letters to %s not delivered within the delivery timeout (%s): %w", d.topic, d.delivery, err)
	}
	return err
}

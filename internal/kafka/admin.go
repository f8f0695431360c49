package kafka

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// connect opens a client and checks within the connect timeout that a broker
// answers. franz-go connects lazily and retries forever, so without this
// check a wrong address or a dead cluster would show as a silent hang.
func connect(ctx context.Context, cfg *Config, extra ...kgo.Opt) (*kgo.Client, error) {
	opts, err := cfg.Opts()
	if err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, cfg.connectTimeout())
	defer cancel()
	if err := cl.Ping(pctx); err != nil {
		cl.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if pctx.Err() != nil {
			err = fmt.Errorf("no answer within %s (%w)", cfg.connectTimeout(), err)
		}
		what := "cannot reach a broker"
		var (
			ke    *kerr.Error
			alert tls.AlertError
			x509e x509.UnknownAuthorityError
		)
		switch {
		case errors.As(err, &ke):
			what = "the broker refused the connection" // it answered: authentication, authorization, ...
		case errors.As(err, &alert) || strings.Contains(err.Error(), "remote error: tls:"):
			what = "the broker refused the TLS handshake (a client certificate: --tls-cert, --tls-key?)"
		case errors.As(err, &x509e) || strings.Contains(err.Error(), "x509:"):
			what = "the broker's certificate is not trusted (--tls-ca?)"
		}
		return nil, fmt.Errorf("kafka: %s at %s: %w", what, strings.Join(cfg.Brokers, ","), err)
	}
	return cl, nil
}

// Connect is connect for callers outside this package: scripts/kafkaprobe
// checks the test brokers' listeners with it, so a probe connects, and
// reports a failure, exactly as the commands do.
func Connect(ctx context.Context, cfg *Config, extra ...kgo.Opt) (*kgo.Client, error) {
	return connect(ctx, cfg, extra...)
}

// Topic describes a topic to create when it is missing.
type Topic struct {
	Name string
	// Partitions of a new topic; 0 or -1: the broker's num.partitions.
	Partitions int32
	// ReplicationFactor of a new topic; 0 or -1: the broker's
	// default.replication.factor.
	ReplicationFactor int16
	// Compact sets cleanup.policy=compact, so the topic keeps the latest
	// record of each key (the latest revision of each window).
	Compact bool
}

// EnsureTopic creates t unless it exists, and reports whether it did. An
// existing topic is left as it is, even if its settings differ: changing a
// live topic is the operator's decision.
func EnsureTopic(ctx context.Context, cl *kgo.Client, t Topic) (created bool, err error) {
	parts, rf := t.Partitions, t.ReplicationFactor
	if parts <= 0 {
		parts = -1
	}
	if rf <= 0 {
		rf = -1
	}
	var configs map[string]*string
	if t.Compact {
		compact := "compact"
		configs = map[string]*string{"cleanup.policy": &compact}
	}
	_, err = kadm.NewClient(cl).CreateTopic(ctx, parts, rf, configs, t.Name)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, kerr.TopicAlreadyExists):
		return false, nil
	}
	return false, fmt.Errorf("kafka: create topic %s: %w", t.Name, err)
}

// TopicPartitions returns the number of partitions of each topic, and an
// error naming the first topic that does not exist.
func TopicPartitions(ctx context.Context, cl *kgo.Client, topics ...string) (map[string]int, error) {
	md, err := kadm.NewClient(cl).Metadata(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("kafka: metadata of %s: %w", strings.Join(topics, ","), err)
	}
	out := make(map[string]int, len(topics))
	for _, t := range topics {
		d, ok := md.Topics[t]
		switch {
		case !ok || errors.Is(d.Err, kerr.UnknownTopicOrPartition):
			return nil, fmt.Errorf("kafka: topic %s does not exist", t)
		case d.Err != nil:
			return nil, fmt.Errorf("kafka: topic %s: %w", t, d.Err)
		}
		out[t] = len(d.Partitions)
	}
	return out, nil
}

// offsets is a per topic, per partition offset table.
type offsets map[string]map[int32]int64

// listOffsets returns the start or end offsets of every partition of topics.
func listOffsets(ctx context.Context, adm *kadm.Client, end bool, topics []string) (offsets, error) {
	var lo kadm.ListedOffsets
	var err error
	what := "start"
	if end {
		what = "end"
		lo, err = adm.ListEndOffsets(ctx, topics...)
	} else {
		lo, err = adm.ListStartOffsets(ctx, topics...)
	}
	if err != nil {
		return nil, fmt.Errorf("kafka: list %s offsets of %s: %w", what, strings.Join(topics, ","), err)
	}
	out := offsets{}
	for _, t := range topics {
		ps, ok := lo[t]
		if !ok {
			return nil, fmt.Errorf("kafka: topic %s does not exist", t)
		}
		m := map[int32]int64{}
		for p, o := range ps {
			if errors.Is(o.Err, kerr.UnknownTopicOrPartition) {
				return nil, fmt.Errorf("kafka: topic %s does not exist", t)
			}
			if o.Err != nil {
				return nil, fmt.Errorf("kafka: list %s offset of %s/%d: %w", what, t, p, o.Err)
			}
			m[p] = o.Offset
		}
		out[t] = m
	}
	return out, nil
}

// committedOffsets returns the group's committed offsets of topics; a
// partition without a commit is absent.
func committedOffsets(ctx context.Context, adm *kadm.Client, group string, topics []string) (offsets, error) {
	// On a fresh cluster the first group request makes the broker create
	// __consumer_offsets, and it answers "coordinator not available"
	// until that is done: retry what is retriable, within ctx.
	var rs kadm.OffsetResponses
	err := retry(ctx, func() error {
		var err error
		rs, err = adm.FetchOffsetsForTopics(ctx, group, topics...)
		return err
	})
	if errors.Is(err, kerr.GroupIDNotFound) {
		return offsets{}, nil // a new group (kfake says so; Kafka lists no offsets)
	}
	if err != nil {
		return nil, fmt.Errorf("kafka: committed offsets of group %s: %w", group, err)
	}
	out := offsets{}
	var ferr error
	rs.Each(func(r kadm.OffsetResponse) {
		if r.Err != nil && ferr == nil {
			ferr = fmt.Errorf("kafka: committed offset of group %s on %s/%d: %w", group, r.Topic, r.Partition, r.Err)
		}
		if r.At < 0 {
			return
		}
		if out[r.Topic] == nil {
			out[r.Topic] = map[int32]int64{}
		}
		out[r.Topic][r.Partition] = r.At
	})
	return out, ferr
}

// describeTP formats topic/partition for messages.
func describeTP(topic string, p int32) string {
	return topic + "/" + strconv.Itoa(int(p))
}

// retry calls fn until it succeeds, fails with an error Kafka does not call
// retriable, or ctx is done.
func retry(ctx context.Context, fn func() error) error {
	backoff := 100 * time.Millisecond
	for {
		err := fn()
		if err == nil || !kerr.IsRetriable(err) {
			return err
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (gave up: %w)", err, ctx.Err())
		case <-t.C:
		}
		backoff = min(2*backoff, time.Second)
	}
}

// Admin runs the administrative requests that no source or sink makes.
type Admin struct {
	cl  *kgo.Client
	adm *kadm.Client
}

// NewAdmin connects.
func NewAdmin(ctx context.Context, cfg Config) (*Admin, error) {
	cl, err := connect(ctx, &cfg)
	if err != nil {
		return nil, err
	}
	return &Admin{cl: cl, adm: kadm.NewClient(cl)}, nil
}

// DeleteCommitted deletes the records below group's committed offsets
// (Kafka's DeleteRecords), for a broker that keeps its log in memory, such
// as the demo's embedded one: the consumed part of the input then does not
// grow without bound.
func (a *Admin) DeleteCommitted(ctx context.Context, group string) error {
	committed, err := a.adm.FetchOffsets(ctx, group)
	if err == nil {
		err = committed.Error()
	}
	if errors.Is(err, kerr.GroupIDNotFound) {
		return nil // some brokers say so for a group that has not committed yet
	}
	if err != nil {
		return fmt.Errorf("kafka: committed offsets of group %s: %w", group, err)
	}
	offsets := committed.Offsets()
	if len(offsets) == 0 {
		return nil
	}
	deleted, err := a.adm.DeleteRecords(ctx, offsets)
	if err == nil {
		err = deleted.Error()
	}
	if err != nil {
		return fmt.Errorf("kafka: delete the records group %s has committed: %w", group, err)
	}
	return nil
}

// Close closes the connections.
func (a *Admin) Close() error {
	a.cl.Close()
	return nil
}

package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/headcount/headcount/internal/kafka"
	"github.com/headcount/headcount/internal/pipeline"
	"github.com/headcount/headcount/internal/sink"
	"github.com/headcount/headcount/internal/source"
)

// connFlags are the connection settings every Kafka command shares.
type connFlags struct {
	tls          *bool
	tlsCA        *string
	tlsCert      *string
	tlsKey       *string
	tlsInsecure  *bool
	sasl         *string
	saslUser     *string
	saslPassword *string
	clientID     *string
}

func addConnFlags(fs *flag.FlagSet) *connFlags {
	return &connFlags{
		tls:          fs.Bool("tls", false, "Kafka: connect with TLS (Java: security.protocol=SSL, or SASL_SSL with --sasl); implied by --tls-ca/--tls-cert (default false)"),
		tlsCA:        fs.String("tls-ca", "", "Kafka: PEM file of the CAs that sign the brokers' certificates (Java: ssl.truststore.location); default: the system's roots"),
		tlsCert:      fs.String("tls-cert", "", "Kafka: PEM client certificate for mutual TLS, with --tls-key (Java: ssl.keystore.location); default: none"),
		tlsKey:       fs.String("tls-key", "", "Kafka: PEM private key of --tls-cert (Java: ssl.key.password / keystore); default: none"),
		tlsInsecure:  fs.Bool("tls-insecure", false, "Kafka: accept any broker certificate, for testing only (Java: ssl.endpoint.identification.algorithm= with a trust-all store) (default false)"),
		sasl:         fs.String("sasl", "", "Kafka: SASL mechanism plain, scram-sha-256 or scram-sha-512 (Java: sasl.mechanism, security.protocol=SASL_PLAINTEXT/SASL_SSL); default: none"),
		saslUser:     fs.String("sasl-user", "", "Kafka: SASL user name (Java: the username of sasl.jaas.config)"),
		saslPassword: fs.String("sasl-password", "", "Kafka: SASL password (Java: the password of sasl.jaas.config); prefer the environment, HEADCOUNT_SASL_PASSWORD, which ps does not show"),
		clientID:     fs.String("client-id", kafka.DefaultClientID, "Kafka: client id in broker logs and quotas (Java: client.id)"),
	}
}

// config returns the connection settings for the brokers of a kafka:// URL.
func (c *connFlags) config(brokers []string) kafka.Config {
	return kafka.Config{
		Brokers:  brokers,
		ClientID: *c.clientID,
		TLS: kafka.TLS{
			Enable:             *c.tls,
			CAFile:             *c.tlsCA,
			CertFile:           *c.tlsCert,
			KeyFile:            *c.tlsKey,
			InsecureSkipVerify: *c.tlsInsecure,
		},
		SASL: kafka.SASL{Mechanism: *c.sasl, User: *c.saslUser, Password: *c.saslPassword},
	}
}

// kafkaFlags are run's Kafka flags: the connection plus consumer and
// output-topic settings.
type kafkaFlags struct {
	*connFlags
	group          *string
	start          *string
	untilEnd       *bool
	assignTimeout  *time.Duration
	instanceID     *string
	sessionTimeout *time.Duration
	outPartitions  *int
	exactlyOnce    *bool
	commitEvery    *time.Duration
	stateTopic     *string
	txnID          *string
	buckets        *int
	// txn is the exactly-once input's transaction, once opened: the
	// Kafka outputs produce in it.
	txn *kafka.Txn
}

func addKafkaFlags(fs *flag.FlagSet) *kafkaFlags {
	return &kafkaFlags{
		connFlags:      addConnFlags(fs),
		group:          fs.String("group", "headcount", `Kafka input: consumer group; offsets are committed for what has been counted; "" reads without a group and commits nothing (Java: group.id)`),
		start:          fs.String("start", "earliest", "Kafka input: where a group without a committed offset starts: earliest or latest (Java: auto.offset.reset)"),
		instanceID:     fs.String("instance-id", "", "Kafka input: static group membership (Java: group.instance.id): a member restarted with the same id gets its partitions back at once instead of after the dead member's session; unique per live process; default: none"),
		sessionTimeout: fs.Duration("session-timeout", 0, "Kafka input: how long the broker waits for a silent member before moving its partitions (Java: session.timeout.ms; the broker allows group.min.session.timeout.ms, 6s by default, to group.max.session.timeout.ms); default 45s"),
		untilEnd:       fs.Bool("until-end", false, "Kafka input: stop at the end offsets seen at start, flush every window final and exit 0: a backfill (default false: run until interrupted). Exactly-once, every member of the group exits once the group has published everything; at-least-once, this member must be assigned every partition (within --assign-timeout) and keep them to the end, else it fails and commits nothing: counts of parts of the input do not add up"),
		assignTimeout:  fs.Duration("assign-timeout", kafka.DefaultAssignTimeout, "Kafka input with --until-end, a group and --exactly-once=false: how long to wait for this member to be assigned every partition of the input before failing"),
		outPartitions:  fs.Int("out-partitions", 1, "Kafka output: partitions of the output topic when headcount creates it (compacted, cleanup.policy=compact; replication: the broker's default.replication.factor)"),
		exactlyOnce:    fs.Bool("exactly-once", true, "Kafka input with a group: commit the results and dead letters (to Kafka), the state and the consumed offsets in one transaction every --commit-interval, and resume from the committed state after a crash; any number of members of the group count together (one exact result per window); false: at-least-once, one member per group (Java: processing.guarantee=exactly_once_v2)"),
		commitEvery:    fs.Duration("commit-interval", kafka.DefaultTxnInterval, "Kafka input: how often a transaction commits (results become visible to read_committed readers at most this long after they are produced); without --exactly-once, how often offsets are committed (Java: commit.interval.ms)"),
		stateTopic:     fs.String("state-topic", "", "Kafka input with --exactly-once: the compacted topic of the state (default <group>.headcount-state)"),
		buckets:        fs.Int("buckets", 0, "Kafka input with a group and --exactly-once: partitions of the group's bucket topic (<group>.headcount-buckets) when headcount creates it, the most members that count at once; default: as many as the input has"),
		txnID:          fs.String("transactional-id", "", "Kafka input with --exactly-once: the transactional id, unique per live member (default headcount-<group>-<instance-id>, or a new one per process without --instance-id; Java: transactional.id)"),
	}
}

// closer closes what an open* helper opened and reports the first error.
// The helpers return closers that act once, so run can both defer them for
// its error paths and call them to check the error on the normal path.
type closer func() error

func noClose() error { return nil }

func once(c func() error) closer {
	var done bool
	var err error
	return func() error {
		if !done {
			done, err = true, c()
		}
		return err
	}
}

// openInput opens --in: a kafka:// URL as a Kafka source, anything else as a
// file of JSON lines or stdin.
func (k *kafkaFlags) openInput(ctx context.Context, in string, maxFrame int) (source.Source, closer, error) {
	if !kafka.IsURL(in) {
		input, err := source.Open(in)
		if err != nil {
			return nil, nil, err
		}
		// The pipeline cuts a mapped file's lines in its workers.
		return source.NewSource(input, source.MaxFrame(maxFrame), source.DeferCut(true)), once(input.Close), nil
	}
	u, err := kafka.ParseTopicsURL("--in", in)
	if err != nil {
		return nil, nil, err
	}
	latest, err := kafka.ParseStart(*k.start)
	if err != nil {
		return nil, nil, err
	}
	src, err := kafka.NewSource(ctx, kafka.SourceConfig{
		Config:          k.config(u.Brokers),
		Topics:          u.Topics,
		Group:           *k.group,
		StartLatest:     latest,
		UntilEnd:        *k.untilEnd,
		MaxFrame:        maxFrame,
		AssignTimeout:   *k.assignTimeout,
		InstanceID:      *k.instanceID,
		SessionTimeout:  *k.sessionTimeout,
		ExactlyOnce:     *k.exactlyOnce && *k.group != "",
		Alone:           true,
		CommitInterval:  *k.commitEvery,
		StateTopic:      *k.stateTopic,
		TransactionalID: *k.txnID,
	})
	if err != nil {
		return nil, nil, err
	}
	k.txn = src.Txn()
	// Close commits the counted offsets: run must call it after the
	// pipeline and report its error.
	return src, once(src.Close), nil
}

// openOutput opens --out: "-" for stdout, a kafka:// URL for a topic, or a
// file, which create opens.
func (k *kafkaFlags) openOutput(ctx context.Context, out string, create func(string) (*os.File, error)) (pipeline.Sink, closer, error) {
	switch {
	case out == "-":
		return sink.NewLines(os.Stdout), noClose, nil
	case kafka.IsURL(out):
		brokers, topic, err := kafka.ParseTopicURL("--out", out)
		if err != nil {
			return nil, nil, err
		}
		s, err := kafka.NewSink(ctx, kafka.SinkConfig{Config: k.config(brokers), Topic: topic, Partitions: int32(*k.outPartitions), Txn: k.txn})
		if err != nil {
			return nil, nil, err
		}
		return s, once(s.Close), nil
	}
	f, err := create(out)
	if err != nil {
		return nil, nil, fmt.Errorf("open output: %w", err)
	}
	return sink.NewLines(f), once(f.Close), nil
}

// openDeadLetters opens --dead-letter: none (""), a kafka:// topic, or a
// file of JSON lines, which create opens. src names the input partitions in
// the dead letters' headers when it is a Kafka source.
func (k *kafkaFlags) openDeadLetters(ctx context.Context, dead string, src source.Source, create func(string) (*os.File, error)) (pipeline.DeadLetters, closer, error) {
	switch {
	case dead == "":
		return nil, noClose, nil
	case !kafka.IsURL(dead):
		f, err := create(dead)
		if err != nil {
			return nil, noClose, fmt.Errorf("open dead-letter file: %w", err)
		}
		d := sink.NewDeadLines(f, f)
		return d, once(func() error {
			if err := d.Close(); err != nil {
				return fmt.Errorf("dead-letter file %s: %w", dead, err)
			}
			return nil
		}), nil
	}
	brokers, topic, err := kafka.ParseTopicURL("--dead-letter", dead)
	if err != nil {
		return nil, noClose, err
	}
	cfg := kafka.DeadLetterConfig{Config: k.config(brokers), Topic: topic, Txn: k.txn}
	if ks, isKafka := src.(*kafka.Source); isKafka {
		cfg.Origin = ks.Origin
	}
	d, err := kafka.NewDeadLetters(ctx, cfg)
	if err != nil {
		return nil, noClose, err
	}
	return d, once(d.Close), nil
}

package main

import (
	"context"

	"github.com/headcount/headcount/internal/kafka"
	"github.com/headcount/headcount/internal/pipeline"
	"github.com/headcount/headcount/internal/result"
)

// together says whether run is a member of a group that counts together:
// a Kafka input read exactly once by a consumer group. Any number of such
// processes share the input and publish one result per window.
func (o *runOpts) together() bool {
	return kafka.IsURL(o.in) && *o.kafka.exactlyOnce && *o.kafka.group != ""
}

// openMember opens the ends of a member of a group (see kafka.Member): its
// pipeline splits frames to the buckets, and the member's merge writes the
// results to --out.
func (o *runOpts) openMember(ctx context.Context) (*runEnds, error) {
	e := &runEnds{results: discard{}}
	cfg, err := o.memberConfig(ctx)
	if err != nil {
		return e, err
	}
	if o.dead != "" && !kafka.IsURL(o.dead) {
		d, closeDead, err := o.kafka.openDeadLetters(ctx, o.dead, nil, o.create)
		if err != nil {
			return e, err
		}
		o.cfg.Dead = d
		e.closers = append(e.closers, closeDead)
	}
	if o.dead != "" {
		cfg.OpenDeadLetters = o.memberDeadLetters(ctx)
	}
	m, err := kafka.NewMember(ctx, cfg)
	if err != nil {
		return e, err
	}
	e.member = m
	src := m.Source()
	e.src = src
	// The input's step: frames go to the buckets, and the frames that do
	// not parse to the dead letters, in the input's transaction.
	o.cfg.Checkpoint, o.cfg.Counter = src.Txn(), m.NewCounter
	if kafka.IsURL(o.dead) {
		d, c, err := cfg.OpenDeadLetters(src.Txn(), src.Origin)
		if err != nil {
			e.closers = append(e.closers, m.Close)
			return e, err
		}
		o.cfg.Dead = d
		e.closers = append(e.closers, c)
	}
	e.closers = append(e.closers, m.Close)
	return e, nil
}

// memberConfig is the member's configuration from run's flags.
func (o *runOpts) memberConfig(ctx context.Context) (kafka.MemberConfig, error) {
	k := o.kafka
	u, err := kafka.ParseTopicsURL("--in", o.in)
	if err != nil {
		return kafka.MemberConfig{}, err
	}
	latest, err := kafka.ParseStart(*k.start)
	if err != nil {
		return kafka.MemberConfig{}, err
	}
	return kafka.MemberConfig{
		Source: kafka.SourceConfig{
			Config: k.config(u.Brokers), Topics: u.Topics, Group: *k.group, StartLatest: latest,
			UntilEnd: *k.untilEnd, MaxFrame: o.cfg.MaxFrame, InstanceID: *k.instanceID, SessionTimeout: *k.sessionTimeout,
			CommitInterval: *k.commitEvery, StateTopic: *k.stateTopic, TransactionalID: *k.txnID,
		},
		Window: o.cfg.Window, Watermark: o.cfg.Watermark, Early: o.cfg.Early, Buckets: *k.buckets,
		Observe: func(rs []result.Result) {
			if tap := o.tap.Load(); tap != nil {
				_ = (*tap).Write(ctx, rs) // the dashboard's tee of a sink that drops
			}
		},
		OpenResults: func(txn *kafka.Txn) (pipeline.Sink, func() error, error) {
			k.txn = txn
			return k.openOutput(ctx, o.out, o.create)
		},
	}, nil
}

// memberDeadLetters opens the dead letters of a step of the member: one
// file (written by both steps that reject frames: sink.DeadLines locks),
// or one topic through the transaction of the step that rejects them.
func (o *runOpts) memberDeadLetters(ctx context.Context) func(*kafka.Txn, func(int32) (string, int32, bool)) (pipeline.DeadLetters, func() error, error) {
	return func(txn *kafka.Txn, origin func(int32) (string, int32, bool)) (pipeline.DeadLetters, func() error, error) {
		if !kafka.IsURL(o.dead) {
			return o.cfg.Dead, noClose, nil
		}
		brokers, topic, err := kafka.ParseTopicURL("--dead-letter", o.dead)
		if err != nil {
			return nil, nil, err
		}
		d, err := kafka.NewDeadLetters(ctx, kafka.DeadLetterConfig{Config: o.kafka.config(brokers), Topic: topic, Txn: txn, Origin: origin})
		if err != nil {
			return nil, nil, err
		}
		return d, d.Close, nil
	}
}

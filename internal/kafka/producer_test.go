package kafka_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/headcount/headcount/internal/kafka"
	"github.com/headcount/headcount/internal/kafkatest"
	"github.com/headcount/headcount/internal/source"
)

// roundRobin checks that ProducerConfig.RoundRobin spreads records evenly
// over the partitions, one by one.
func roundRobin(t *testing.T, conn kafka.Config) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	topic := kafkatest.Topic(t, "in")
	p, err := kafka.NewProducer(ctx, kafka.ProducerConfig{Config: conn, Topic: topic, Partitions: 4, RoundRobin: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	data := bytes.Repeat([]byte(`{"uid":"a","ts":1468244400}`+"\n"), 40)
	if _, err := p.Load(ctx, source.NewLines(bytes.NewReader(data))); err != nil {
		t.Fatal(err)
	}
	per := map[int32]int{}
	for _, r := range kafkatest.ReadAll(t, ctx, conn, topic) {
		per[r.Partition]++
	}
	if len(per) != 4 || per[0] != 10 || per[1] != 10 || per[2] != 10 || per[3] != 10 {
		t.Errorf("records per partition %v, want 10 in each of 4", per)
	}
}

func TestProducerRoundRobinFake(t *testing.T) {
	conn, _ := kafkatest.Fake(t)
	roundRobin(t, conn)
}

func TestProducerRoundRobinRealBroker(t *testing.T) { roundRobin(t, kafkatest.Broker(t)) }

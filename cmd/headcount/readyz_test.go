package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/headcount/headcount/internal/kafka"
	"github.com/headcount/headcount/internal/kafkatest"
)

// TestReadyz: `run --http` serves /readyz and the Kafka metrics: a member
// of a group on a topic with frames becomes ready once it is assigned,
// restored and caught up, and then reports every partition's lag as 0.
func TestReadyz(t *testing.T) {
	conn, _ := kafkatest.Fake(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	topic := kafkatest.Topic(t, "events")
	cl := kafkatest.Client(t, conn, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if _, err := kafka.EnsureTopic(ctx, cl, kafka.Topic{Name: topic, Partitions: 2}); err != nil {
		t.Fatal(err)
	}
	var recs []*kgo.Record
	for i := range 200 {
		recs = append(recs, &kgo.Record{Topic: topic, Partition: int32(i % 2), Value: fmt.Appendf(nil, `{"uid":"u%d","ts":%d}`, i%13, 1468244400+i)})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	m := startMember(t, []string{"run", "--in", "kafka://" + strings.Join(conn.Brokers, ",") + "/" + topic, "--out", os.DevNull,
		"--quiet", "--http", "127.0.0.1:0", "--group", kafkatest.Topic(t, "group"), "--commit-interval", "100ms", "--ready-lag", "0"})
	url := m.httpBase(t)
	get := func(path string) (int, string) {
		resp, err := http.Get(url + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		code, body := get("/readyz")
		if code == 200 && body == "ready\n" {
			break
		}
		if time.Now().After(deadline) || code != 503 || !strings.HasPrefix(body, "not ready: ") {
			t.Fatalf("/readyz: %d %q; stderr:\n%s", code, body, m.stderr())
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, body := get("/metrics")
	for _, want := range []string{
		fmt.Sprintf(`headcount_kafka_consumer_lag{partition="0",topic=%q} 0`, topic),
		fmt.Sprintf(`headcount_kafka_consumer_lag{partition="1",topic=%q} 0`, topic),
		"headcount_ready 1",
		`headcount_checkpoint_age_seconds{step="pipeline"}`,
		`headcount_checkpoint_age_seconds{step="count"}`,
		`headcount_checkpoint_age_seconds{step="merge"}`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// httpBase returns the http://HOST:PORT the process says it serves on.
func (m *member) httpBase(t *testing.T) string {
	t.Helper()
	var url string
	if _, err := m.scan("metrics address", time.Minute, func(l string) bool {
		if sub := metricsRE.FindStringSubmatch(l); sub != nil {
			url = strings.TrimSuffix(sub[1], "/metrics")
		}
		return url != ""
	}); err != nil {
		t.Fatal(err)
	}
	return url
}

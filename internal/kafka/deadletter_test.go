package kafka_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/headcount/headcount/internal/frame"
	"github.com/headcount/headcount/internal/kafka"
)

// Close of the dead letters waits for the configured delivery timeout, not
// the default, and says which it was when the broker is gone.
func TestDeadLettersCloseTimeout(t *testing.T) {
	// franz-go's least record timeout is 1 s.
	for _, timeout := range []time.Duration{time.Second, 2 * time.Second} {
		t.Run(timeout.String(), func(t *testing.T) {
			c, err := kfake.NewCluster(kfake.NumBrokers(1))
			if err != nil {
				t.Fatal(err)
			}
			// The client's warnings about the closed broker are expected.
			quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
			conn := kafka.Config{Brokers: c.ListenAddrs(), ClientID: "headcount-test", Logger: quiet}
			dead, err := kafka.NewDeadLetters(context.Background(), kafka.DeadLetterConfig{Config: conn, Topic: "dead", DeliveryTimeout: timeout})
			if err != nil {
				c.Close()
				t.Fatal(err)
			}
			c.Close() // the broker is gone before the dead letter is sent
			if err := dead.Reject(0, 1, []byte("not json"), frame.NotJSON); err != nil {
				t.Fatal(err)
			}
			begin := time.Now()
			err = dead.Close()
			took := time.Since(begin)
			want := fmt.Sprintf("dead letters to dead not delivered within the delivery timeout (%s)", timeout)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Close: %v, want %q", err, want)
			}
			if took > timeout+5*time.Second {
				t.Errorf("Close took %v with a delivery timeout of %v", took, timeout)
			}
		})
	}
}

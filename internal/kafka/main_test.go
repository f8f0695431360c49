package kafka_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: every
// client, source, sink and kfake broker must be closed, and a source's
// fetch loop must stop with it.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

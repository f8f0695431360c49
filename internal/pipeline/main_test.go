package pipeline

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: every
// stage must stop when its input ends or its context is cancelled.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

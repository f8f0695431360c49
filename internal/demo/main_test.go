package demo

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: the
// demo's embedded broker, generator, pipeline and printer must all stop
// when it returns.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

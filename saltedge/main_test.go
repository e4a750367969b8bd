package saltedge_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: every client,
// fake and handler server a test starts must be closed.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

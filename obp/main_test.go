package obp_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if a goroutine is left running when they end: a
// client must stop everything it started once it is closed (and its fake too).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

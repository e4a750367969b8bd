package tkey7test_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if a goroutine is left running when they end:
// every fake server (and every client a test starts) must be closed.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

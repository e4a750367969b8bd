// Package demo holds each provider's main flow, shared by the quickstart and the
// per-provider example programs, so the two never drift apart.
package demo

import (
	"fmt"
	"io"
	"time"
)

// Stepper runs one named step of a flow: fn returns a short description of what it
// did, or an error.
type Stepper interface {
	Step(name string, fn func() (string, error)) error
}

// Printer is a Stepper that prints one line per step.
type Printer struct {
	Out io.Writer
}

// Step implements Stepper.
func (p Printer) Step(name string, fn func() (string, error)) error {
	start := time.Now()
	detail, err := fn()
	d := time.Since(start).Round(100 * time.Microsecond)
	if err != nil {
		fmt.Fprintf(p.Out, "FAIL  %-54s %9v  %v\n", name, d, err)
		return fmt.Errorf("%s: %w", name, err)
	}
	fmt.Fprintf(p.Out, "ok    %-54s %9v  %s\n", name, d, detail)
	return nil
}

// Shorten cuts s to n bytes for display.
func Shorten(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

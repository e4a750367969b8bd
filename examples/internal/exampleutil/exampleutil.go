// Package exampleutil holds what the example programs share that is not banksdk's API:
// the step lines they print, their command-line parsing, and the start-up of the fake
// servers they run against when no real API is configured. It makes no client calls:
// every call of a banksdk client is in the example programs themselves.
package exampleutil

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
)

// Steps prints one line per step of a flow: "ok" or "FAIL", the step's name, how long
// it took and what it did. A step runs from Begin to Done or Fail. Steps is not safe
// for concurrent use: one flow prints its steps in order.
type Steps struct {
	out    io.Writer
	label  string
	name   string
	start  time.Time
	count  int
	failed []string
}

// NewSteps returns a Steps printing to out; label, when not empty, is printed in a
// column of its own on every line (the quickstart prints the provider there).
func NewSteps(out io.Writer, label string) *Steps {
	return &Steps{out: out, label: label}
}

// Begin starts the step name.
func (s *Steps) Begin(name string) {
	s.name, s.start = name, time.Now()
	s.count++
}

// Done ends the current step as a success and prints its line; format and args
// describe what the step did.
func (s *Steps) Done(format string, args ...any) {
	s.line("ok  ", fmt.Sprintf(format, args...))
}

// Fail ends the current step as a failure, prints its line and returns err wrapped
// with the step's name.
func (s *Steps) Fail(err error) error {
	if err == nil {
		err = errors.New("failed without an error")
	}
	s.line("FAIL", err.Error())
	if s.label != "" {
		s.failed = append(s.failed, s.label+": "+s.name)
	} else {
		s.failed = append(s.failed, s.name)
	}
	return fmt.Errorf("%s: %w", s.name, err)
}

// Count is the number of steps begun.
func (s *Steps) Count() int { return s.count }

// Failed lists the steps that failed, prefixed with the label when there is one.
func (s *Steps) Failed() []string { return s.failed }

func (s *Steps) line(outcome, detail string) {
	d := time.Since(s.start).Round(100 * time.Microsecond)
	if s.label != "" {
		fmt.Fprintf(s.out, "  %s  %-8s %-54s %9v  %s\n", outcome, s.label, s.name, d, detail)
		return
	}
	fmt.Fprintf(s.out, "%s  %-54s %9v  %s\n", outcome, s.name, d, detail)
}

// Shorten cuts s to n bytes for display.
func Shorten(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// Flags are the flags every example program has: -v and -timeout.
type Flags struct {
	stderr  io.Writer
	verbose *bool
	timeout *time.Duration
}

// AddFlags makes fs (made with flag.ContinueOnError) report its errors to stderr, and
// defines on it -v (log every HTTP attempt) and -timeout (by default timeout).
func AddFlags(fs *flag.FlagSet, stderr io.Writer, timeout time.Duration) *Flags {
	fs.SetOutput(stderr)
	return &Flags{
		stderr:  stderr,
		verbose: fs.Bool("v", false, "log every HTTP attempt (method, host, path, status; never a secret)"),
		timeout: fs.Duration("timeout", timeout, "give up after this long"),
	}
}

// Context returns a context that ends after -timeout.
func (f *Flags) Context() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), *f.timeout)
}

// Logger returns the logger a program gives its clients, writing to stderr: every
// HTTP attempt at debug level with -v (banksdk never logs secrets), warnings and
// errors otherwise.
func (f *Flags) Logger() *slog.Logger { return newLogger(f.stderr, *f.verbose) }

// Parse parses args with fs, after setting fs.Usage to print usage (the program's
// description, including the environment variables it reads) followed by the
// flags. It reports whether the program goes on, and otherwise the exit code: 0 after
// -h or -help (the usage printed), 2 for a bad flag or an unexpected argument.
func Parse(fs *flag.FlagSet, args []string, usage string) (exitCode int, ok bool) {
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), strings.TrimLeft(usage, "\n"))
		fmt.Fprintf(fs.Output(), "\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		return 2, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return 2, false
	}
	return 0, true
}

// usageError is a configuration the program cannot run with.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// UsageError returns an error for a configuration the program cannot run with (a
// missing or malformed environment variable): ExitCode makes it exit 2.
func UsageError(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// ExitCode prints err, if any, to stderr after the program's name and returns the
// exit code for it: 0 for nil, 2 for a UsageError, 1 otherwise.
func ExitCode(stderr io.Writer, program string, err error) int {
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "%s: %v\n", program, err)
	if errors.As(err, new(usageError)) {
		return 2
	}
	return 1
}

// newLogger returns the logger a program gives its clients: every HTTP attempt at debug
// level when verbose (banksdk never logs secrets), warnings and errors otherwise.
func newLogger(w io.Writer, verbose bool) *slog.Logger {
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

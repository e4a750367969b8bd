// Package testkit holds what the module's tests share: the outcome matrix run
// against each provider client, and the check that a value holding credentials
// prints none of them. It is imported only by tests.
package testkit

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk"
	"github.com/banksdk/banksdk/fake"
)

// callTimeout bounds each call RunOutcomeMatrix makes, so a hung call fails the
// test instead of blocking it.
const callTimeout = 30 * time.Second

// OutcomeCall is a state-changing call of a provider client, for RunOutcomeMatrix.
type OutcomeCall[R any] struct {
	// ErrorBody is the body of the 500 answer: the provider's error document.
	ErrorBody string
	// APIStatus returns the status of the provider's *APIError in err's chain, and
	// false when there is none (see StatusOf).
	APIStatus func(err error) (int, bool)
	// Start starts, for one case, the provider's fake, a fake.NewBreakingProxy in
	// front of it and a client of the proxy, makes whatever calls must come before
	// the one under test, and returns the run.
	Start func(t *testing.T) OutcomeRun[R]
}

// OutcomeRun is one case's call, and what it reads of the fake.
type OutcomeRun[R any] struct {
	// Proxy is the breaking proxy the client talks to.
	Proxy *fake.Server
	// Method and Path are the call's request as it reaches the proxy: the fault is
	// injected on them and the proxy's count read for them.
	Method, Path string
	// Call makes the call under test.
	Call func(ctx context.Context) (R, error)
	// Acted returns how many times the server has carried the call out so far.
	Acted func() int
	// Received returns how many of the call's requests the server has received.
	Received func() int
	// Unknown, if set, makes the provider's own checks of an error whose outcome is
	// unknown (the request id it names, no secret in its text, the server's state).
	Unknown func(t *testing.T, err error)
	// Resent, if set, makes the provider's own checks of the result of the call,
	// re-sent after a refusal.
	Resent func(t *testing.T, result R)
}

// BreakingProxy starts a fake.NewBreakingProxy in front of origin, closed when the
// test ends.
func BreakingProxy(t *testing.T, origin string, opts ...fake.Option) *fake.Server {
	t.Helper()
	proxy, err := fake.NewBreakingProxy(origin, opts...)
	require.NoError(t, err)
	t.Cleanup(proxy.Close)
	return proxy
}

// StatusOf returns an OutcomeCall.APIStatus for the provider error type E, e.g.
// StatusOf(func(e *tpv.APIError) int { return e.StatusCode }).
func StatusOf[E error](status func(E) int) func(error) (int, bool) {
	return func(err error) (int, bool) {
		var e E
		if !errors.As(err, &e) {
			return 0, false
		}
		return status(e), true
	}
}

// RunOutcomeMatrix runs the call once per case of fake.OutcomeFaults, each in a
// subtest named after the case on a fresh run. When the server acted and the answer
// broke, the call fails with an error matching banksdk.ErrOutcomeUnknown, unwrapping
// to the provider's *APIError with the answer's status (none for a 2xx), after one
// request that the server received and carried out once. When the proxy refused the
// request (429, 503 with Retry-After) without forwarding it, the client sent it
// again, the call succeeded, and the server received it and carried it out once.
func RunOutcomeMatrix[R any](t *testing.T, call OutcomeCall[R]) {
	t.Helper()
	for _, f := range fake.OutcomeFaults(call.ErrorBody) {
		t.Run(f.Name, func(t *testing.T) {
			run := call.Start(t)
			acted, received := run.Acted(), run.Received()
			sent := run.Proxy.Count(run.Method, run.Path)
			run.Proxy.Inject(1, f.Fault.On(run.Method, run.Path))
			ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
			defer cancel()

			result, err := run.Call(ctx)

			if f.Refused {
				require.NoError(t, err, "the refusal proves the server did not act: the call is sent again")
				assert.Equal(t, acted+1, run.Acted(), "the server acted once")
				assert.Equal(t, received+1, run.Received(), "the server received it once: the proxy refused the first")
				assert.Equal(t, sent+2, run.Proxy.Count(run.Method, run.Path), "re-sent after the refusal")
				if run.Resent != nil {
					run.Resent(t, result)
				}
				return
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, banksdk.ErrOutcomeUnknown)
			assert.Equal(t, acted+1, run.Acted(), "the server acted once")
			assert.Equal(t, received+1, run.Received(), "the server received it once")
			assert.Equal(t, sent+1, run.Proxy.Count(run.Method, run.Path), "the client sent it once")
			status, isAPIError := call.APIStatus(err)
			if f.StatusCode == 0 {
				assert.False(t, isAPIError, "a 2xx is not an API error: %v", err)
			} else {
				require.True(t, isAPIError, "the error unwraps to the provider's API error: %v", err)
				assert.Equal(t, f.StatusCode, status)
			}
			if run.Unknown != nil {
				run.Unknown(t, err)
			}
		})
	}
}

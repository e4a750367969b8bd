package tkey7_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/fake"
	"github.com/banksdk/banksdk/tkey7"
	"github.com/banksdk/banksdk/tkey7/tkey7test"
)

// The access token (and every rotated token) never appears in log lines, errors or
// the client's printed form: success, API-error, transport-error, refresh-failure and
// revocation paths.
func TestTokenNeverInLogsOrErrors(t *testing.T) {
	var logs fake.LogBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := setup(t, []tkey7test.Option{tkey7test.WithRotation()},
		tkey7.WithRevokeAfter(slack), tkey7.WithRefreshInterval(interval), tkey7.WithLogger(logger))

	var errs []string
	record := func(err error) {
		if err != nil {
			errs = append(errs, err.Error(), fmt.Sprintf("%v %+v %#v", err, err, err))
		}
	}
	// Success, with rotations along the way.
	require.Eventually(t, func() bool { return e.srv.Refreshes() >= 2 }, waitTimeout, time.Millisecond)
	_, err := e.client.DigitalAccounts.List(ctx(t))
	require.NoError(t, err)
	// API error.
	_, err = e.client.DigitalAccounts.Get(ctx(t), "missing")
	require.Error(t, err)
	record(err)
	// Transport error (retried GET, then given up).
	e.srv.Inject(10, fake.DropBefore().On("GET", tkey7test.Path("digital-accounts")))
	_, err = e.client.DigitalAccounts.List(ctx(t))
	require.Error(t, err)
	record(err)
	e.srv.ClearFaults()
	// Outcome unknown POST.
	e.srv.Inject(1, fake.DropAfter().On("POST", tkey7test.Path("digital-accounts")))
	_, err = tkey7.Do[json.RawMessage](ctx(t), e.client, "POST", "digital-accounts", map[string]string{"id": "z"})
	require.ErrorIs(t, err, tkey7.ErrOutcomeUnknown)
	record(err)
	// Failing refreshes.
	before := e.srv.Refreshes()
	e.srv.InjectError(2, 500, "POST", "oauth-token/refresh")
	require.Eventually(t, func() bool {
		return e.srv.Refreshes() > before && e.srv.Count("POST", "oauth-token/refresh") >= e.srv.Refreshes()+2
	}, waitTimeout, time.Millisecond)
	printed := fmt.Sprintf("%v %+v %#v %s", e.client, e.client, e.client, e.client)
	assert.Contains(t, printed, "tkey7.Client{BaseURL: "+e.srv.URL())
	// Revocation: the refresh is refused and so is the next call.
	// The keep-alive may rotate the token meanwhile: revoke until the current one is.
	for e.srv.State(e.srv.CurrentToken(e.token)) != tkey7test.StateRevoked {
		e.srv.Revoke(e.srv.CurrentToken(e.token))
	}
	require.Eventually(t, func() bool {
		_, err := e.client.DigitalAccounts.List(ctx(t))
		if err != nil {
			record(err)
			return true
		}
		return false
	}, waitTimeout, time.Millisecond)
	_, err = e.client.DigitalAccounts.List(ctx(t))
	record(err)
	require.NoError(t, e.client.Close())
	_, err = e.client.DigitalAccounts.List(ctx(t))
	record(err)

	// Every token the fake ever saw.
	tokens := map[string]bool{}
	for _, r := range e.srv.Requests() {
		if v := r.Header.Get("Authorization"); v != "" {
			tokens[strings.TrimPrefix(v, "Bearer ")] = true
		}
	}
	require.GreaterOrEqual(t, len(tokens), 3, "rotations happened")
	out := logs.String()
	require.Contains(t, out, "banksdk http attempt", "debug logging was on")
	require.Contains(t, out, "refresh failed", "refresh failures were logged")
	haystacks := append([]string{out, printed}, errs...)
	for tok := range tokens {
		for _, h := range haystacks {
			assert.NotContains(t, h, tok)
			// The signature part alone is as secret as the whole.
			parts := strings.Split(tok, ".")
			assert.NotContains(t, h, parts[len(parts)-1])
		}
	}
	assert.NotRegexp(t, regexp.MustCompile(`(?i)bearer\s+\S{8,}`), out)
}

// goroutineIDs returns the stacks of goroutines that belong to a client: its
// keep-alive and its HTTP connections.
func clientGoroutines() map[string]string {
	buf := make([]byte, 4<<20)
	buf = buf[:runtime.Stack(buf, true)]
	out := map[string]string{}
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "banksdk/auth.(*KeepAlive)") || strings.Contains(g, "net/http.(*persistConn)") {
			id, _, _ := strings.Cut(g, " [")
			out[id] = g
		}
	}
	return out
}

// Close leaves no goroutine running: neither the keep-alive nor idle connections.
func TestCloseLeavesNoGoroutine(t *testing.T) {
	before := clientGoroutines()
	srv := tkey7test.NewServer(tkey7test.WithRotation())
	t.Cleanup(srv.Close)
	tok := srv.IssueToken()
	for range 3 {
		c, err := tkey7.NewClient(tkey7.WithBaseURL(srv.URL()), tkey7.WithAccessToken(tok, time.Time{}),
			tkey7.WithRevokeAfter(slack), tkey7.WithRefreshInterval(interval))
		require.NoError(t, err)
		for range 5 {
			_, err = c.DigitalAccounts.List(ctx(t))
			require.NoError(t, err)
		}
		require.Eventually(t, func() bool { return c.Refreshes() >= 1 }, waitTimeout, time.Millisecond)
		require.NotEmpty(t, newGoroutines(before), "the client runs goroutines while open")
		require.NoError(t, c.Close())
		tok = srv.CurrentToken(tok)
	}
	require.Eventually(t, func() bool { return len(newGoroutines(before)) == 0 }, waitTimeout, 5*time.Millisecond,
		"left running: %v", newGoroutines(before))
}

func newGoroutines(before map[string]string) []string {
	var out []string
	for id, g := range clientGoroutines() {
		if _, ok := before[id]; !ok {
			out = append(out, g)
		}
	}
	return out
}

package tkey7_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/tkey7"
	"github.com/banksdk/banksdk/tkey7/tkey7test"
)

type rules struct{ revoke, session time.Duration }

func (r rules) RevokeAfter() time.Duration   { return r.revoke }
func (r rules) SessionLength() time.Duration { return r.session }

// WithTimeRules(srv) gives the client the fake's revoke window and session cap, set
// once on the fake.
func TestWithTimeRulesTakesTheFakesRules(t *testing.T) {
	srv := tkey7test.NewServer(tkey7test.WithRevokeAfter(2*time.Second), tkey7test.WithSessionLength(time.Hour))
	t.Cleanup(srv.Close)
	issuedAt := time.Now()
	tok := srv.IssueToken(tkey7test.IssuedAt(issuedAt))
	base := []tkey7.Option{tkey7.WithBaseURL(srv.URL()), tkey7.WithAccessToken(tok, issuedAt), tkey7.WithTimeRules(srv)}

	// The refresh interval must stay below the fake's 2s window, not the default 15m.
	_, err := tkey7.NewClient(append(base, tkey7.WithRefreshInterval(5*time.Second))...)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "below the revoke window of 2s")

	client, err := tkey7.NewClient(append(base, tkey7.WithRefreshInterval(time.Second))...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Close() })
	assert.WithinDuration(t, issuedAt.Add(time.Hour), client.SessionEnd(), time.Second,
		"the session cap is the fake's hour, not the default 24h")
	id := srv.DigitalAccountIDs()[0]
	_, err = client.DigitalAccounts.Get(ctx(t), id)
	require.NoError(t, err)
	assert.Equal(t, 1, srv.Count("GET", "digital-accounts/"+id), "the call reached the fake")
}

func TestWithTimeRulesRejectsBadRules(t *testing.T) {
	base := []tkey7.Option{tkey7.WithBaseURL("https://bank.example.com/api"), tkey7.WithAccessToken("tok", time.Time{})}
	var nilServer *tkey7test.Server
	cases := map[string]struct {
		rules tkey7.TimeRules
		want  string
	}{
		"nil":             {nil, "time rules: must not be nil"},
		"nil pointer":     {nilServer, "time rules: must not be a nil pointer"},
		"zero window":     {rules{0, time.Hour}, "revoke window: must be positive"},
		"negative window": {rules{-time.Second, time.Hour}, "revoke window: must be positive"},
		"zero session":    {rules{time.Minute, 0}, "session length: must be positive"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := tkey7.NewClient(append(base, tkey7.WithTimeRules(tc.rules))...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

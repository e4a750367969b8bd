package tkey7_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/fake"
	"github.com/banksdk/banksdk/tkey7"
	"github.com/banksdk/banksdk/tkey7/tkey7test"
)

// bearers returns the token each request carried, in order, for one path.
func bearers(srv *tkey7test.Server, path string) []string {
	var out []string
	for _, r := range srv.Requests() {
		if r.Path == path {
			h := r.RawHeader("Authorization")
			if len(h) == 1 {
				out = append(out, h[0][len("Bearer "):])
			} else {
				out = append(out, "")
			}
		}
	}
	return out
}

// One stray 401 (a proxy's glitch: TKEY7 never saw the call) is confirmed with one
// refresh; TKEY7 accepts it, so the call is sent once more with the refreshed token
// and succeeds, and the keep-alive goes on from that token.
func TestStray401IsConfirmedByOneRefreshAndReplayed(t *testing.T) {
	for _, rotate := range []bool{false, true} {
		name := "in place"
		var srvOpts []tkey7test.Option
		if rotate {
			name = "rotation"
			srvOpts = append(srvOpts, tkey7test.WithRotation())
		}
		t.Run(name, func(t *testing.T) {
			rec, hook := recordRefreshes()
			e := setup(t, append(srvOpts, hook), tkey7.WithRevokeAfter(slack), tkey7.WithRefreshInterval(slack/2))
			e.srv.InjectError(1, http.StatusUnauthorized, "GET", "digital-accounts")

			list, err := e.client.DigitalAccounts.List(ctx(t))
			require.NoError(t, err)
			assert.Equal(t, 3, list.Len())

			reqs := e.srv.Requests()
			require.Len(t, reqs, 3, "the call, one refresh, the call again")
			assert.Equal(t, tkey7test.Path("digital-accounts"), reqs[0].Path)
			assert.Equal(t, e.srv.RefreshPath(), reqs[1].Path)
			assert.Equal(t, tkey7test.Path("digital-accounts"), reqs[2].Path)
			evs := rec.all()
			require.Len(t, evs, 1)
			assert.Equal(t, 200, evs[0].Status)
			assert.Equal(t, e.token, evs[0].Token, "the refresh confirmed the rejected token")
			assert.Equal(t, []string{e.token, evs[0].NewToken}, bearers(e.srv, tkey7test.Path("digital-accounts")),
				"the replay carried the refreshed token")
			assert.Equal(t, rotate, evs[0].NewToken != e.token)
			assert.Zero(t, e.srv.RetiredTokenUses())
			assert.Equal(t, int64(1), e.client.Refreshes())

			// The session goes on from the refreshed token.
			_, err = e.client.DigitalAccounts.Get(ctx(t), "da-0001")
			require.NoError(t, err)
			assert.Equal(t, evs[0].NewToken, bearers(e.srv, tkey7test.Path("digital-accounts/da-0001"))[0])
			assert.Equal(t, tkey7test.StateActive, e.srv.State(evs[0].NewToken))
		})
	}
}

// The keep-alive takes over the token a confirmation obtained: its next scheduled
// refresh refreshes that token, and never sends the one it replaced.
func TestKeepAliveTakesOverTheConfirmedToken(t *testing.T) {
	rec, hook := recordRefreshes()
	e := setup(t, []tkey7test.Option{tkey7test.WithRotation(), hook},
		tkey7.WithRevokeAfter(slack), tkey7.WithRefreshInterval(200*time.Millisecond))
	e.srv.InjectError(1, http.StatusUnauthorized, "GET", "digital-accounts")
	_, err := e.client.DigitalAccounts.List(ctx(t))
	require.NoError(t, err)
	evs := rec.waitOK(t, 3) // the confirmation, then two scheduled refreshes
	assertChain(t, e.token, evs)
	assert.Zero(t, e.srv.RetiredTokenUses(), "the replaced token was never sent again")
	_, err = e.client.DigitalAccounts.List(ctx(t))
	require.NoError(t, err)
}

// A stray 401 on a POST: TKEY7 did not process it, so sending it again after the
// confirming refresh is safe; the object is created once.
func TestStray401OnPostIsReplayedOnce(t *testing.T) {
	e := setup(t, []tkey7test.Option{tkey7test.WithRotation()}, tkey7.WithRevokeAfter(slack), tkey7.WithRefreshInterval(slack/2))
	e.srv.InjectError(1, http.StatusUnauthorized, "POST", "digital-accounts")
	created, err := tkey7.Do[map[string]any](ctx(t), e.client, "POST", "digital-accounts", map[string]string{"id": "once"})
	require.NoError(t, err)
	assert.Equal(t, "once", created["id"])
	assert.Equal(t, 2, e.srv.Count("POST", "digital-accounts"))
	assert.Equal(t, 1, e.srv.Count("POST", "oauth-token/refresh"))
	n := 0
	for _, id := range e.srv.DigitalAccountIDs() {
		if id == "once" {
			n++
		}
	}
	assert.Equal(t, 1, n)
}

// The confirming refresh fails in another way (500): nothing is known about the
// token, so the 401 is returned as is, without ending the session.
func TestStray401WhenTheConfirmingRefreshFails(t *testing.T) {
	e := setup(t, nil, tkey7.WithRevokeAfter(slack), tkey7.WithRefreshInterval(slack/2))
	e.srv.InjectError(1, http.StatusUnauthorized, "GET", "digital-accounts")
	e.srv.InjectError(1, http.StatusInternalServerError, "POST", "oauth-token/refresh")

	_, err := e.client.DigitalAccounts.List(ctx(t))
	var apiErr *tkey7.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusUnauthorized, apiErr.StatusCode)
	assert.NotErrorIs(t, err, tkey7.ErrTokenRevoked)
	assert.NotErrorIs(t, err, tkey7.ErrSessionExpired)
	assert.Contains(t, err.Error(), "not found dead")
	assert.Contains(t, err.Error(), "500")
	assert.Equal(t, 1, e.srv.Count("GET", "digital-accounts"), "not replayed: the token was not confirmed")
	assert.Equal(t, 1, e.srv.Count("POST", "oauth-token/refresh"))

	// The session goes on.
	_, err = e.client.DigitalAccounts.List(ctx(t))
	require.NoError(t, err)
}

// The replay is refused too (after TKEY7 accepted the refresh): returned as is, never
// a third sending, and the session goes on.
func TestReplayRefusedIsReturnedWithoutEndingTheSession(t *testing.T) {
	e := setup(t, nil, tkey7.WithRevokeAfter(slack), tkey7.WithRefreshInterval(slack/2))
	e.srv.InjectError(2, http.StatusUnauthorized, "GET", "digital-accounts")

	_, err := e.client.DigitalAccounts.List(ctx(t))
	var apiErr *tkey7.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusUnauthorized, apiErr.StatusCode)
	assert.NotErrorIs(t, err, tkey7.ErrTokenRevoked)
	assert.Contains(t, err.Error(), "refused again")
	assert.Equal(t, 2, e.srv.Count("GET", "digital-accounts"), "sent twice, never a third time")
	assert.Equal(t, 1, e.srv.Count("POST", "oauth-token/refresh"))

	_, err = e.client.DigitalAccounts.List(ctx(t))
	require.NoError(t, err)
	assert.Equal(t, 3, e.srv.Count("GET", "digital-accounts"))
}

// The first refresh is due at once (the token was issued an interval ago) and TKEY7
// refuses it. The keep-alive's goroutine handles that 401 while NewClient may still be
// finishing: run with -race, this catches any client field the goroutine reads that is
// set after the keep-alive started.
func TestFirstRefreshDueAtOnce(t *testing.T) {
	for _, shared := range []bool{false, true} {
		name := "alone"
		if shared {
			name = "with a store"
		}
		t.Run(name, func(t *testing.T) {
			rec, hook := recordRefreshes()
			srv := tkey7test.NewServer(hook)
			t.Cleanup(srv.Close)
			issued := time.Now().Add(-time.Minute)
			tok := srv.IssueToken(tkey7test.IssuedAt(issued))
			srv.Revoke(tok)
			opts := []tkey7.Option{tkey7.WithBaseURL(srv.URL()), tkey7.WithAccessToken(tok, issued),
				tkey7.WithRevokeAfter(slack), tkey7.WithRefreshInterval(time.Second)}
			if shared {
				opts = append(opts, tkey7.WithStore(auth.NewMemoryStore(), "tkey7:race"))
			}
			c, err := tkey7.NewClient(opts...)
			require.NoError(t, err)
			t.Cleanup(func() { _ = c.Close() })

			rec.waitFor(t, "the refused first refresh", func(evs []tkey7test.RefreshEvent) bool { return len(evs) == 1 })
			_, err = c.DigitalAccounts.List(ctx(t))
			require.ErrorIs(t, err, tkey7.ErrTokenRevoked)
			require.NoError(t, c.Close())
			// The call may leave in the instant between TKEY7's answer to the refresh
			// and the keep-alive stopping; then its 401 is final at once if the
			// keep-alive has stopped meanwhile, or confirmed by one more refresh,
			// refused too. Never more.
			gets := srv.Count("GET", "digital-accounts")
			assert.LessOrEqual(t, gets, 1)
			refreshes := srv.Count("POST", "oauth-token/refresh")
			assert.GreaterOrEqual(t, refreshes, 1)
			assert.LessOrEqual(t, refreshes, 1+gets)
		})
	}
	t.Run("accepted", func(t *testing.T) {
		rec, hook := recordRefreshes()
		srv := tkey7test.NewServer(tkey7test.WithRotation(), hook)
		t.Cleanup(srv.Close)
		issued := time.Now().Add(-time.Minute)
		tok := srv.IssueToken(tkey7test.IssuedAt(issued))
		c, err := tkey7.NewClient(tkey7.WithBaseURL(srv.URL()), tkey7.WithAccessToken(tok, issued),
			tkey7.WithRevokeAfter(slack), tkey7.WithRefreshInterval(time.Second))
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		evs := rec.waitOK(t, 1)
		_, err = c.DigitalAccounts.List(ctx(t))
		require.NoError(t, err)
		assert.Equal(t, []string{evs[0].NewToken}, bearers(srv, tkey7test.Path("digital-accounts")))
	})
}

// A server that quotes the token back in every field of its error answers: the
// client's current and previous tokens appear in no field of the *APIError, not in
// its Body, and not in its message, on an ordinary error, on a stray 401 it could not
// confirm, and on the final 401.
func TestTokenQuotedInErrorsIsScrubbed(t *testing.T) {
	rec, hook := recordRefreshes()
	e := setup(t, []tkey7test.Option{tkey7test.WithRotation(), tkey7test.WithTokenEcho(), hook},
		tkey7.WithRevokeAfter(slack), tkey7.WithRefreshInterval(interval))
	rec.waitOK(t, 2) // a current and previous tokens

	var got []*tkey7.APIError
	var msgs []string
	collect := func(err error) {
		t.Helper()
		var apiErr *tkey7.APIError
		require.ErrorAs(t, err, &apiErr)
		got = append(got, apiErr)
		msgs = append(msgs, err.Error())
	}
	_, err := e.client.DigitalAccounts.Get(ctx(t), "missing")
	collect(err)
	assert.Contains(t, got[0].LongMessage, "[REDACTED]", "the fake did quote the token")

	// Every refresh fails meanwhile (the keep-alive's own too, so that none of them
	// takes the failure meant for the confirmation), each answer quoting the token.
	quoting := func(tok string) string {
		return `{"short_message":"bad token ` + tok + `","long_message":"Bearer ` + tok + `"}`
	}
	cur := e.srv.CurrentToken(e.token)
	e.srv.Inject(1000, fake.Status(http.StatusInternalServerError, quoting(cur)).On("POST", e.srv.RefreshPath()))
	e.srv.Inject(1, fake.Status(http.StatusUnauthorized, quoting(cur)).On("GET", tkey7test.Path("digital-accounts")))
	_, err = e.client.DigitalAccounts.List(ctx(t))
	collect(err)
	assert.Contains(t, msgs[1], "not found dead", "the 401 could not be confirmed")
	e.srv.ClearFaults()

	e.srv.Revoke(e.srv.CurrentToken(e.token))
	require.Eventually(t, func() bool {
		_, err := tkey7.Do[json.RawMessage](ctx(t), e.client, "GET", "digital-accounts", nil)
		if err != nil {
			collect(err)
			return true
		}
		return false
	}, waitTimeout, time.Millisecond)

	tokens := map[string]bool{e.token: true}
	for _, ev := range rec.all() {
		tokens[ev.Token] = true
		if ev.NewToken != "" {
			tokens[ev.NewToken] = true
		}
	}
	require.GreaterOrEqual(t, len(tokens), 3)
	for tok := range tokens {
		for i, e := range got {
			for _, f := range []string{e.BuildVersion, e.Code, e.EndpointURL, e.LongMessage,
				e.MemberIdentification, e.ServiceName, e.ShortMessage, e.TroubleshootingID, string(e.Raw)} {
				assert.NotContains(t, f, tok, "error %d", i)
			}
			assert.NotContains(t, msgs[i], tok)
		}
	}
}

// DecodeError removes the bearer token the request carried.
func TestDecodeErrorScrubsTheRequestToken(t *testing.T) {
	const tok = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJlLXNlY3JldA"
	req, err := http.NewRequest("GET", "https://bank.example/client/v1/api/digital-accounts", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+tok)
	body := `{"long_message":"bad token ` + tok + `","short_message":"sig c2lnbmF0dXJlLXNlY3JldA","code":"X"}`
	err = tkey7.DecodeError(&http.Response{StatusCode: 401, Request: req}, []byte(body))
	var apiErr *tkey7.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, "bad token [REDACTED]", apiErr.LongMessage)
	assert.Equal(t, "sig [REDACTED]", apiErr.ShortMessage, "a JWT's signature alone is as secret as the token")
	assert.NotContains(t, string(apiErr.Raw), "c2lnbmF0dXJlLXNlY3JldA")
	assert.True(t, json.Valid(apiErr.Raw))
	assert.NotContains(t, err.Error(), "c2lnbmF0dXJlLXNlY3JldA")
}

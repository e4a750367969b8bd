package tpv_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/fake"
	"github.com/banksdk/banksdk/tpv"
	"github.com/banksdk/banksdk/tpv/tpvtest"
)

// portalCounts is what the fake portal has seen so far.
type portalCounts struct {
	logins, rejected, requests int
}

func countsOf(srv *tpvtest.Server) portalCounts {
	return portalCounts{logins: srv.Logins(), rejected: srv.RejectedAuthTokens(), requests: len(srv.Requests())}
}

// Two clients with the same application credentials take turns. The portal keeps one
// auth token per credential, so each login voids the other client's token, which the
// portal then answers with a 400 naming the token. Every call must still succeed,
// through one new login and one replay, and a submission must be stored once.
func TestClientsSharingCredentialsTakeTurns(t *testing.T) {
	a := setup(t, nil)
	srv := a.srv
	b, err := tpv.NewClient(tpv.WithBaseURL(srv.URL()), tpv.WithCredentials(srv.AppToken(), srv.AppSecret()),
		tpv.WithRetry(2, time.Millisecond, 5*time.Millisecond), tpv.WithTimeout(5*time.Second))
	require.NoError(t, err)
	closeWhenDone(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	first, err := a.c.SubmitTPV(ctx, seedSale())
	require.NoError(t, err)
	submits := 1
	calls := []struct {
		name string
		path string
		call func(c *tpv.Client) error
	}{
		{"SubmitTPV", "/api/v1/tpv", func(c *tpv.Client) error {
			submits++
			_, err := c.SubmitTPV(ctx, seedSale())
			return err
		}},
		{"Products", "/api/v1/products", func(c *tpv.Client) error { _, err := c.Products(ctx); return err }},
		{"SendDigital", "/api/v1/digital/send/" + first.Code, func(c *tpv.Client) error { _, err := c.SendDigital(ctx, first.Code); return err }},
		{"QueueCall", "/api/v1/queue/call/" + first.Code, func(c *tpv.Client) error { _, err := c.QueueCall(ctx, first.Code); return err }},
		{"Do", "/api/v1/test/api", func(c *tpv.Client) error {
			_, err := tpv.Do[map[string]string](ctx, c, "POST", "api/v1/test/api?your=Parameters&here=1", nil)
			return err
		}},
	}

	clients := []struct {
		name string
		c    *tpv.Client
	}{{"b", b}, {"a", a.c}}
	for turn := range 10 {
		who := clients[turn%2]
		op := calls[turn%len(calls)]
		before := countsOf(srv)
		require.NoError(t, op.call(who.c), "turn %d: client %s, %s", turn, who.name, op.name)
		after := countsOf(srv)
		reqs := srv.Requests()[before.requests:]

		if turn == 0 {
			// b's first call: it has no token yet, logs in and is served at once.
			assert.Equal(t, []string{"/api/v1/auth", op.path}, paths(reqs), "turn %d", turn)
			assert.Equal(t, before.rejected, after.rejected)
			continue
		}
		// The other client logged in since this one did: one 400, one login, one replay.
		require.Equal(t, []string{op.path, "/api/v1/auth", op.path}, paths(reqs), "turn %d: client %s, %s", turn, who.name, op.name)
		assert.Equal(t, before.logins+1, after.logins, "turn %d: one new login", turn)
		assert.Equal(t, before.rejected+1, after.rejected, "turn %d: the replaced token was refused once", turn)
		assert.NotEqual(t, reqs[0].RawHeader("Authorization"), reqs[2].RawHeader("Authorization"), "the replay carries the new token")
		assert.Equal(t, reqs[0].Body, reqs[2].Body, "the replay sends the same bytes")
	}

	subs := srv.Submissions()
	require.Len(t, subs, submits, "every submission stored exactly once")
	seen := map[string]bool{}
	for _, s := range subs {
		assert.False(t, seen[s.ConfirmationCode], "confirmation code %s stored twice", s.ConfirmationCode)
		seen[s.ConfirmationCode] = true
	}
	assert.Equal(t, []string{first.Code, first.Code}, srv.DigitalSends(), "each SendDigital acted once")
	assert.Equal(t, []string{first.Code, first.Code}, srv.QueuedCalls(), "each QueueCall acted once")
}

func paths(reqs []fake.Request) []string {
	out := make([]string, len(reqs))
	for i, r := range reqs {
		out[i] = r.Path
	}
	return out
}

// A 400 that names the auth token is replayed once after a new login; a second one is
// returned, not looped on.
func TestToken400ReplayedOnlyOnce(t *testing.T) {
	e := setup(t, nil)
	ctx := context.Background()
	require.NoError(t, e.c.Login(ctx))
	e.srv.Inject(2, fake.Status(400, `{"error":"Invalid auth token."}`).On("POST", "/api/v1/tpv"))

	_, err := e.c.SubmitTPV(ctx, seedSale())
	var ae *tpv.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, http.StatusBadRequest, ae.StatusCode)
	assert.Equal(t, "Invalid auth token.", ae.Message)
	assert.NotErrorIs(t, err, tpv.ErrOutcomeUnknown, "a 400 means the portal did not process it")
	assert.Equal(t, 2, e.srv.Count("POST", "/api/v1/tpv"), "one replay, no loop")
	assert.Equal(t, 2, e.srv.Logins(), "one new login for the replay")
	assert.Empty(t, e.srv.Submissions())
}

// A 400 about anything but the token is the portal's answer to the request itself:
// it is returned as is, with no new login and no replay.
func TestOther400NotReplayed(t *testing.T) {
	e := setup(t, nil)
	ctx := context.Background()
	require.NoError(t, e.c.Login(ctx))

	// The portal's own validation (the client's validation is bypassed through Do).
	body := []byte(`{"channel":"web","products":[]}`)
	_, err := tpv.Do[map[string]string](ctx, e.c, "POST", "api/v1/tpv", body)
	var ae *tpv.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, http.StatusBadRequest, ae.StatusCode)
	assert.NotEmpty(t, ae.Message)
	assert.False(t, tpv.TokenRejected(ae.Message), ae.Message)
	assert.Equal(t, 1, e.srv.Count("POST", "/api/v1/tpv"))

	for _, msg := range []string{
		"channel must be defined as one of dtd, tm, or retail.",
		"auth token must be sent without a Bearer prefix.",
		"invalid signature.",
		"confirmation code not found.",
	} {
		e.srv.Inject(1, fake.Status(400, `{"error":"`+msg+`"}`).On("POST", "/api/v1/tpv"))
		before := e.srv.Count("POST", "/api/v1/tpv")
		_, err := e.c.SubmitTPV(ctx, seedSale())
		require.ErrorAs(t, err, &ae, msg)
		assert.Equal(t, msg, ae.Message)
		assert.Equal(t, before+1, e.srv.Count("POST", "/api/v1/tpv"), "%q: sent once", msg)
	}
	assert.Equal(t, 1, e.srv.Logins(), "no new login")
	assert.Empty(t, e.srv.Submissions())
	assert.Zero(t, e.srv.RejectedAuthTokens())
}

func TestTokenRejected(t *testing.T) {
	for msg, want := range map[string]bool{
		"invalid auth token.":  true,
		"Invalid auth token.":  true,
		"auth token expired.":  true,
		"AUTH TOKEN EXPIRED":   true,
		"missing auth token.":  true,
		"Token not found":      true,
		"Unauthorized token":   true,
		"token unauthorised":   true,
		"auth_token revoked":   true,
		"The token has expiry": true,
		"auth token is invalid: a newer login with the same application token replaced it.": true,
		"The auth token has been invalidated by a newer login.":                             true,
		"Unauthenticated token.": true,
		"":                       false,
		"token":                  false,
		"invalid signature.":     false,
		"Unauthorized.":          false,
		"channel must be defined as one of dtd, tm, or retail.":    false,
		"auth token must be sent without a Bearer prefix.":         false,
		"confirmation code not found.":                             false,
		"btn must be numeric; account numbers are validated later": false,
	} {
		assert.Equal(t, want, tpv.TokenRejected(msg), "%q", msg)
	}
}

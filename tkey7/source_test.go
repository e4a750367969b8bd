package tkey7_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/fake"
	"github.com/banksdk/banksdk/tkey7"
	"github.com/banksdk/banksdk/tkey7/tkey7test"
)

// secretStore stands in for a secret manager an operator writes the Web Office token
// to: an auth.Source of the user's own, which counts its calls.
type secretStore struct {
	mu    sync.Mutex
	token string
	err   error
	calls atomic.Int32
}

func (s *secretStore) Token(context.Context) (auth.Token, error) {
	s.calls.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return auth.Token{}, s.err
	}
	return auth.Token{Value: s.token}, nil
}

func (s *secretStore) put(tok string) {
	s.mu.Lock()
	s.token, s.err = tok, nil
	s.mu.Unlock()
}

func (s *secretStore) fail(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}

// sourceClient builds a client whose token comes from the secret store alone.
func sourceClient(t *testing.T, srv *tkey7test.Server, store *secretStore, opts ...tkey7.Option) *tkey7.Client {
	t.Helper()
	base := []tkey7.Option{
		tkey7.WithBaseURL(srv.URL()),
		tkey7.WithAccessTokenSource(store),
		tkey7.WithRetry(3, time.Millisecond, 5*time.Millisecond),
	}
	c, err := tkey7.NewClient(append(base, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// A token TKEY7 revoked is replaced from the source without rebuilding the client: the
// call that found it dead (its 401 confirmed by one refused refresh) is sent once more
// with the operator's new token, a new session starts from it, and the keep-alive
// refreshes the new token from then on.
func TestRevokedTokenReplacedFromSource(t *testing.T) {
	rec, hook := recordRefreshes()
	srv := tkey7test.NewServer(tkey7test.WithRotation(), hook)
	t.Cleanup(srv.Close)
	first := srv.IssueToken()
	store := &secretStore{token: first}
	c := sourceClient(t, srv, store, tkey7.WithRevokeAfter(slack), tkey7.WithRefreshInterval(slack/2))
	require.Equal(t, int32(1), store.calls.Load(), "NewClient read the first token")
	firstEnd := c.SessionEnd()

	_, err := c.DigitalAccounts.List(ctx(t))
	require.NoError(t, err)
	assert.Equal(t, []string{first}, bearers(srv, tkey7test.Path("digital-accounts")))

	// An administrator revokes the token and creates a new one, which an operator
	// puts into the secret store.
	srv.Revoke(first)
	second := srv.IssueToken()
	store.put(second)

	list, err := c.DigitalAccounts.List(ctx(t))
	require.NoError(t, err, "healed without a new client")
	assert.Equal(t, 3, list.Len())
	assert.Equal(t, int32(2), store.calls.Load(), "the source was asked once more, when the token was found dead")
	assert.Equal(t, []string{first, first, second}, bearers(srv, tkey7test.Path("digital-accounts")),
		"the call, refused, then sent once more with the new token")
	assert.Equal(t, []string{first}, bearers(srv, srv.RefreshPath()), "one refresh confirmed the revocation")
	evs := rec.all()
	require.Len(t, evs, 1)
	assert.Equal(t, http.StatusUnauthorized, evs[0].Status)
	assert.True(t, c.SessionEnd().After(firstEnd), "a new session, counted from the new token")

	// The keep-alive goes on from the new token: a stray 401 is confirmed by
	// refreshing it, and the next call carries the refreshed token.
	srv.InjectError(1, http.StatusUnauthorized, "GET", "digital-accounts")
	_, err = c.DigitalAccounts.Get(ctx(t), "da-0001")
	require.NoError(t, err)
	evs = rec.waitOK(t, 1)
	assert.Equal(t, second, evs[0].Token, "the keep-alive refreshed the new token")
	_, err = c.DigitalAccounts.List(ctx(t))
	require.NoError(t, err)
	gets := bearers(srv, tkey7test.Path("digital-accounts"))
	assert.Equal(t, evs[0].NewToken, gets[len(gets)-1])
	assert.Equal(t, int32(2), store.calls.Load(), "a live token needs nothing from the source")
	assert.Equal(t, int64(1), c.Refreshes())
}

// A refresh TKEY7 refuses in the background ends the token's life with no call from the
// application; the next call takes the new token from the source before sending
// anything, and the keep-alive's later refreshes carry the new token, never the dead
// one.
func TestTokenRefusedInBackgroundReplacedFromSource(t *testing.T) {
	rec, hook := recordRefreshes()
	srv := tkey7test.NewServer(tkey7test.WithRotation(), hook)
	t.Cleanup(srv.Close)
	first := srv.IssueToken()
	store := &secretStore{token: first}
	c := sourceClient(t, srv, store, tkey7.WithRevokeAfter(slack), tkey7.WithRefreshInterval(interval))

	srv.Revoke(first)
	refused := rec.waitFor(t, "the refused refresh", func(evs []tkey7test.RefreshEvent) bool {
		return len(evs) > 0 && evs[len(evs)-1].Status == http.StatusUnauthorized
	})
	second := srv.IssueToken()
	store.put(second)

	_, err := c.DigitalAccounts.List(ctx(t))
	require.NoError(t, err)
	assert.Equal(t, []string{second}, bearers(srv, tkey7test.Path("digital-accounts")),
		"the dead token was not sent")
	assert.Equal(t, int32(2), store.calls.Load())

	evs := rec.waitFor(t, "two refreshes of the new session", func(evs []tkey7test.RefreshEvent) bool {
		return countOK(evs[len(refused):]) >= 2
	})
	later := evs[len(refused):]
	assertChain(t, second, later)
	for _, ev := range later {
		assert.Equal(t, 200, ev.Status)
		assert.NotEqual(t, first, ev.Token, "the dead token was not refreshed again")
	}
	assert.Zero(t, srv.RetiredTokenUses())
}

// A source with nothing new (the same token, or an error) leaves the client as it
// would be without one: the 401 is final and later calls are not sent. Each later call
// asks the source again, so a token the operator puts there later still heals the
// client.
func TestSourceWithNothingNew(t *testing.T) {
	srv := tkey7test.NewServer()
	t.Cleanup(srv.Close)
	first := srv.IssueToken()
	store := &secretStore{token: first}
	c := sourceClient(t, srv, store, tkey7.WithRevokeAfter(slack), tkey7.WithRefreshInterval(slack/2))

	srv.Revoke(first)
	_, err := c.DigitalAccounts.List(ctx(t))
	var apiErr *tkey7.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusUnauthorized, apiErr.StatusCode)
	require.ErrorIs(t, err, tkey7.ErrTokenRevoked)
	assert.Contains(t, err.Error(), "Web Office")
	assert.Contains(t, err.Error(), "no new token")
	assert.Equal(t, int32(2), store.calls.Load())

	store.fail(errors.New("vault: permission denied"))
	_, err = c.DigitalAccounts.List(ctx(t))
	require.ErrorIs(t, err, tkey7.ErrTokenRevoked)
	assert.Contains(t, err.Error(), "not sent")
	assert.Contains(t, err.Error(), "vault: permission denied")
	assert.Equal(t, int32(3), store.calls.Load())
	assert.Equal(t, 1, srv.Count("GET", "digital-accounts"), "nothing sent with the dead token")

	second := srv.IssueToken()
	store.put(second)
	_, err = c.DigitalAccounts.List(ctx(t))
	require.NoError(t, err)
	assert.Equal(t, int32(4), store.calls.Load())
	assert.Equal(t, []string{first, second}, bearers(srv, tkey7test.Path("digital-accounts")))
}

// A source whose error quotes the dead token (as a secret manager's might): the token
// stays out of the call's error and of the client's log. The token is opaque, so
// that nothing but the client's knowledge of it can remove it.
func TestSourceErrorQuotingTheTokenIsScrubbed(t *testing.T) {
	var logs fake.LogBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := tkey7test.NewServer(tkey7test.WithOpaqueTokens())
	t.Cleanup(srv.Close)
	first := srv.IssueToken()
	store := &secretStore{token: first}
	c := sourceClient(t, srv, store, tkey7.WithRevokeAfter(slack), tkey7.WithRefreshInterval(slack/2),
		tkey7.WithLogger(logger))

	srv.Revoke(first)
	store.fail(errors.New("vault: lease for " + first + " expired"))
	for range 2 { // the call that finds the token dead, and one sent no more
		_, err := c.DigitalAccounts.List(ctx(t))
		require.ErrorIs(t, err, tkey7.ErrTokenRevoked)
		assert.Contains(t, err.Error(), "vault: lease for [REDACTED] expired")
		assert.NotContains(t, err.Error(), first)
	}
	require.Contains(t, logs.String(), "its source failed", "the source's failure was logged")
	assert.NotContains(t, logs.String(), first)
}

// The source's first token is required and checked: NewClient fails when the source
// fails or answers with a token that cannot be sent.
func TestSourceAtStart(t *testing.T) {
	base := tkey7.WithBaseURL("https://us.bankname.payments.tkey7.com/client/v1/api")
	_, err := tkey7.NewClient(base, tkey7.WithAccessTokenSource(nil))
	assert.ErrorContains(t, err, "access token source: must not be nil")

	store := &secretStore{}
	store.fail(errors.New("vault sealed"))
	_, err = tkey7.NewClient(base, tkey7.WithAccessTokenSource(store))
	assert.ErrorContains(t, err, "access token source: vault sealed")

	store.put("a b")
	_, err = tkey7.NewClient(base, tkey7.WithAccessTokenSource(store))
	assert.ErrorContains(t, err, "spaces or control characters")
	assert.NotContains(t, err.Error(), "a b")
	assert.Equal(t, int32(2), store.calls.Load())
}

// With WithAccessToken as well, the first token is the given one and the source is
// only asked once that token is dead.
func TestSourceWithGivenFirstToken(t *testing.T) {
	srv := tkey7test.NewServer()
	t.Cleanup(srv.Close)
	first := srv.IssueToken()
	store := &secretStore{token: "unused-until-needed"}
	c := sourceClient(t, srv, store, tkey7.WithAccessToken(first, time.Time{}),
		tkey7.WithRevokeAfter(slack), tkey7.WithRefreshInterval(slack/2))
	_, err := c.DigitalAccounts.List(ctx(t))
	require.NoError(t, err)
	assert.Zero(t, store.calls.Load())
	assert.Equal(t, []string{first}, bearers(srv, tkey7test.Path("digital-accounts")))
}

// flakyStore is an auth.Store that can be taken down.
type flakyStore struct {
	auth.Store
	down atomic.Bool
}

var errStoreDown = errors.New("dial tcp: connection refused")

func (f *flakyStore) Load(ctx context.Context, key string) (auth.Record, error) {
	if f.down.Load() {
		return auth.Record{}, errStoreDown
	}
	return f.Store.Load(ctx, key)
}

func (f *flakyStore) TryLease(ctx context.Context, key string, ttl time.Duration) (func(context.Context) error, bool, error) {
	if f.down.Load() {
		return nil, false, errStoreDown
	}
	return f.Store.TryLease(ctx, key, ttl)
}

// A stray 401 while the shared store cannot be reached: the confirmation cannot look
// for another replica's token, so the 401 is returned with the store's error
// (*auth.StoreError), the session does not end, and once the store answers the client
// goes on with its token.
func TestStray401WhileTheStoreIsDown(t *testing.T) {
	store := &flakyStore{Store: auth.NewMemoryStore()}
	e := setup(t, nil, tkey7.WithRevokeAfter(slack), tkey7.WithRefreshInterval(slack/2),
		tkey7.WithStore(store, "tkey7:store-down"))
	store.down.Store(true)
	e.srv.InjectError(1, http.StatusUnauthorized, "GET", "digital-accounts")

	_, err := e.client.DigitalAccounts.List(ctx(t))
	var apiErr *tkey7.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusUnauthorized, apiErr.StatusCode)
	var se *auth.StoreError
	require.ErrorAs(t, err, &se, "the store's error is returned")
	assert.ErrorIs(t, err, errStoreDown)
	assert.NotErrorIs(t, err, tkey7.ErrTokenRevoked)
	assert.Contains(t, err.Error(), "not found dead")
	assert.Zero(t, e.srv.Count("POST", "oauth-token/refresh"), "nothing refreshed without the store")

	store.down.Store(false)
	_, err = e.client.DigitalAccounts.List(ctx(t))
	require.NoError(t, err, "the session goes on")
	assert.Equal(t, []string{e.token, e.token}, bearers(e.srv, tkey7test.Path("digital-accounts")))
}

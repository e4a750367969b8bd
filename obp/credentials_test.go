package obp_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/fake"
	"github.com/banksdk/banksdk/obp"
	"github.com/banksdk/banksdk/obp/obptest"
)

// hsmKey stands for a key in an HSM or a KMS: a crypto.Signer that is not an
// *rsa.PrivateKey and never hands its private half out. It counts what it signs.
type hsmKey struct {
	key   *rsa.PrivateKey // out of reach of the client: only Sign uses it
	signs atomic.Int64
	fail  error
}

func (h *hsmKey) Public() crypto.PublicKey { return &h.key.PublicKey }

func (h *hsmKey) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if h.fail != nil {
		return nil, h.fail
	}
	h.signs.Add(1)
	return h.key.Sign(rand, digest, opts)
}

// countingSource hands out tokens from next, counting its calls.
type countingSource struct {
	calls atomic.Int64
	next  func(ctx context.Context) (auth.Token, error)
}

func (s *countingSource) Token(ctx context.Context) (auth.Token, error) {
	s.calls.Add(1)
	return s.next(ctx)
}

func fixedToken(v string) func(context.Context) (auth.Token, error) {
	return func(context.Context) (auth.Token, error) { return auth.Token{Value: v}, nil }
}

// tokensInTurn hands out values one after the other, then the last one again.
func tokensInTurn(values ...string) func(context.Context) (auth.Token, error) {
	var mu sync.Mutex
	return func(context.Context) (auth.Token, error) {
		mu.Lock()
		defer mu.Unlock()
		v := values[0]
		if len(values) > 1 {
			values = values[1:]
		}
		return auth.Token{Value: v}, nil
	}
}

// A DAuth key behind a crypto.Signer signs every attempt, retries included, of the
// current-user and account-access calls; the fake verifies each signature with the
// public key it trusts.
func TestDAuthSignsWithACryptoSigner(t *testing.T) {
	s := setup(t)
	me := dauthHolder(t, s)
	key := &hsmKey{key: sharedKey(t)}
	cfg := dauthConfig(s)
	cfg.PrivateKey = key
	c := newClient(t, s, obp.WithDAuth(cfg))
	bob := s.EnsureUser("0xb0b", obp.DAuthProvider("ETH"))
	require.NoError(t, s.GrantAccess(bankID, accountID, bob, obptest.ViewOwner)) // a second owner
	s.Inject(1, fake.Status(http.StatusServiceUnavailable, "").On(http.MethodGet, currentPath))

	u, err := c.Users.Current(ctx(t))
	require.NoError(t, err)
	require.NotNil(t, u.Username)
	assert.Equal(t, contract, *u.Username)
	assert.Equal(t, me, u.UserID)

	v, err := c.AccountAccess.Grant(ctx(t), bankID, accountID, grantReq(bob, "ReadBalances", true))
	require.NoError(t, err)
	assert.Equal(t, "ReadBalances", v.ID)
	assert.Contains(t, s.Access(bankID, accountID, bob), "ReadBalances")

	ok, err := c.AccountAccess.Revoke(ctx(t), bankID, accountID, grantReq(bob, "ReadBalances", true))
	require.NoError(t, err)
	assert.True(t, ok)
	assert.NotContains(t, s.Access(bankID, accountID, bob), "ReadBalances")

	views, err := c.AccountAccess.CreateUserWithAccountAccess(ctx(t), bankID, accountID, obp.CreateUserAccountAccessRequest{
		Username: "0xfeed", Provider: obp.DAuthProvider("ETH"),
		Views: []obp.ViewSelector{{ViewID: "ReadAccountsBasic", IsSystem: true}},
	})
	require.NoError(t, err)
	require.Len(t, views, 1)
	feed, found := s.UserID("0xfeed", obp.DAuthProvider("ETH"))
	require.True(t, found)
	assert.Equal(t, []string{"ReadAccountsBasic"}, s.Access(bankID, accountID, feed))

	ok, err = c.AccountAccess.RevokeGrant(ctx(t), bankID, accountID, []string{"auditor", "owner"})
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, []string{"auditor", "owner"}, s.Access(bankID, accountID, me))

	reqs := s.Requests()
	require.Len(t, reqs, 6, "Users.Current twice (a 503, then the retry), four account-access calls")
	assert.Equal(t, "status", reqs[0].Fault)
	jwts := map[string]bool{}
	for i, r := range reqs {
		vals := r.RawHeader("DAuth")
		require.Len(t, vals, 1, "request %d", i)
		claims := verifyDAuth(t, &sharedKey(t).PublicKey, vals[0])
		assert.Equal(t, contract, claims["smart_contract_address"], "request %d", i)
		jwts[vals[0]] = true
	}
	assert.Len(t, jwts, 6, "a fresh JWT on every attempt")
	assert.Equal(t, int64(6), key.signs.Load(), "every attempt was signed by the signer, once")
	assert.Len(t, s.DAuthCalls(), 5, "the fake accepted every signature that reached it")
}

func TestDAuthSignerFailureSendsNothing(t *testing.T) {
	s := setup(t)
	boom := errors.New("hsm: device unreachable")
	cfg := dauthConfig(s)
	cfg.PrivateKey = &hsmKey{key: sharedKey(t), fail: boom}
	c := newClient(t, s, obp.WithDAuth(cfg))

	_, err := c.Users.Current(ctx(t))
	require.ErrorIs(t, err, boom)
	assert.Contains(t, err.Error(), "DAuth")
	assert.Empty(t, s.Requests(), "nothing unsigned was sent")
}

// Each token mode takes its credential from a source the user plugs in, once per
// attempt, and sends it under its exact header name.
func TestTokenSourcesOnTheWire(t *testing.T) {
	cases := []struct {
		name   string
		header string
		prefix string
		prep   func(t *testing.T, s *obptest.Server, me string) string // registers a token
		opt    func(src auth.Source) obp.Option
	}{
		{
			name: "OAuth2 access token", header: "Authorization", prefix: "Bearer ",
			prep: func(_ *testing.T, s *obptest.Server, me string) string {
				s.AddBearerToken("vault-access-token-1", me)
				return "vault-access-token-1"
			},
			opt: obp.WithAccessTokenSource,
		},
		{
			name: "DirectLogin token", header: "DirectLogin", prefix: "token=",
			prep: func(t *testing.T, s *obptest.Server, _ string) string {
				tok, err := loginClient(t, s).DirectLogin(ctx(t))
				require.NoError(t, err)
				return tok.Value
			},
			opt: obp.WithDirectLoginTokenSource,
		},
		{
			name: "Consent-JWT", header: "Consent-JWT",
			prep: func(_ *testing.T, s *obptest.Server, me string) string {
				s.AddConsent("eyJconsent.from.vault", me)
				return "eyJconsent.from.vault"
			},
			opt: obp.WithConsentJWTSource,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := setup(t)
			me, _ := s.UserID(obptest.DefaultUsername, s.LocalProvider())
			tok := tc.prep(t, s, me)
			s.ResetRequests()
			src := &countingSource{next: fixedToken(tok)}
			c := newClient(t, s, tc.opt(src), obp.WithConsumerKey(s.ConsumerKey()))
			s.Inject(1, fake.Status(http.StatusServiceUnavailable, "").On(http.MethodGet, currentPath))

			u, err := c.Users.Current(ctx(t))
			require.NoError(t, err)
			assert.Equal(t, me, u.UserID)
			_, err = c.Users.Current(ctx(t))
			require.NoError(t, err)

			reqs := s.Requests()
			require.Len(t, reqs, 3, "a 503 and its retry, then the second call")
			for i, r := range reqs {
				assert.Equal(t, []string{tc.prefix + tok}, r.RawHeader(tc.header), "request %d", i)
				assert.Equal(t, []string{s.ConsumerKey()}, r.RawHeader("Consumer-Key"), "request %d", i)
				for _, other := range []string{"Authorization", "DirectLogin", "Consent-JWT", "DAuth"} {
					if other != tc.header {
						assert.False(t, has(r.HeaderNames(), other), "request %d carries %s", i, other)
					}
				}
			}
			assert.Equal(t, int64(3), src.calls.Load(), "one token per attempt")
			assert.Contains(t, c.String(), "Source")
		})
	}
}

// loginSource logs in with DirectLogin through another client on every call: a token
// source of the user's own, as a service that hands out DirectLogin tokens would be.
func loginSource(t *testing.T, s *obptest.Server) *countingSource {
	t.Helper()
	login := loginClient(t, s)
	return &countingSource{next: login.DirectLogin}
}

// A rejected DirectLogin token from a source that can forget it (an auth.Cache) is
// renewed through the source and the call replayed once.
func TestDirectLoginTokenSourceRenewsThroughACache(t *testing.T) {
	s := setup(t)
	src := loginSource(t, s)
	cache := auth.NewCache(src)
	c := newClient(t, s, obp.WithDirectLoginTokenSource(cache))

	_, err := c.Users.Current(ctx(t))
	require.NoError(t, err)
	require.Equal(t, int64(1), src.calls.Load())
	first, ok := cache.Peek()
	require.True(t, ok)
	s.ExpireDirectLoginTokens()
	s.ResetRequests()

	u, err := c.Users.Current(ctx(t))
	require.NoError(t, err)
	assert.Equal(t, obptest.DefaultUsername, *u.Username)
	assert.Equal(t, int64(2), src.calls.Load(), "the rejected token was renewed once")

	reqs := s.Requests()
	require.Len(t, reqs, 3, "rejected call, the source's login, replay")
	assert.Equal(t, currentPath, reqs[0].Path)
	assert.Equal(t, []string{"token=" + first.Value}, reqs[0].RawHeader("DirectLogin"))
	assert.Equal(t, "/my/logins/direct", reqs[1].Path)
	assert.Equal(t, currentPath, reqs[2].Path)
	second, ok := cache.Peek()
	require.True(t, ok)
	assert.NotEqual(t, first.Value, second.Value)
	assert.Equal(t, []string{"token=" + second.Value}, reqs[2].RawHeader("DirectLogin"))

	// A replay that is rejected too is the answer: no loop.
	s.Inject(5, fake.Status(401, obptest.ErrorBody(401, obptest.MsgDirectLoginInvalidToken)).On(http.MethodGet, currentPath))
	s.ResetRequests()
	_, err = c.Users.Current(ctx(t))
	assert.ErrorIs(t, err, obp.ErrDirectLoginInvalidToken)
	assert.Equal(t, 2, s.Count(http.MethodGet, currentPath), "one call, one replay")
	assert.Equal(t, int64(3), src.calls.Load())
}

// A rejected DirectLogin token from a source that cannot forget it is the answer: the
// call is not replayed with the same token.
func TestDirectLoginTokenSourceStaticIsNotReplayed(t *testing.T) {
	s := setup(t)
	tok, err := loginClient(t, s).DirectLogin(ctx(t))
	require.NoError(t, err)
	src := &countingSource{next: fixedToken(tok.Value)}
	c := newClient(t, s, obp.WithDirectLoginTokenSource(src))
	s.ExpireDirectLoginTokens()
	s.ResetRequests()

	_, err = c.Users.Current(ctx(t))
	var apiErr *obp.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, string(obp.ErrDirectLoginInvalidToken), apiErr.OBPCode)
	assert.NotContains(t, err.Error(), tok.Value, "the fake echoes the token; the error must not")
	assert.Equal(t, 1, s.Count(http.MethodGet, currentPath), "no replay")
	assert.Equal(t, int64(1), src.calls.Load())
	assert.Equal(t, 1, s.Logins(), "only the login that made the token")
}

// A DirectLogin token from a source that OBP would misread, or a failing source,
// fails the call before anything is sent; the error never shows the token.
func TestDirectLoginTokenSourceValuesChecked(t *testing.T) {
	s := setup(t)
	bad := &countingSource{next: fixedToken("secret-part,username=admin")}
	c := newClient(t, s, obp.WithDirectLoginTokenSource(bad))
	_, err := c.Users.Current(ctx(t))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "comma")
	assert.NotContains(t, err.Error(), "secret-part")

	boom := errors.New("vault: sealed")
	failing := &countingSource{next: func(context.Context) (auth.Token, error) { return auth.Token{}, boom }}
	c = newClient(t, s, obp.WithDirectLoginTokenSource(failing))
	_, err = c.Users.Current(ctx(t))
	assert.ErrorIs(t, err, boom)
	assert.Empty(t, s.Requests(), "nothing was sent")
}

// A 401 to a Consent-JWT from a source that can forget it renews the consent and
// replays the call once; a static consent is not replayed.
func TestConsentJWTSourceRenewsThroughACache(t *testing.T) {
	s := setup(t)
	me, _ := s.UserID(obptest.DefaultUsername, s.LocalProvider())
	s.AddConsent("good-consent-id", me)
	src := &countingSource{next: tokensInTurn("revoked-consent-id", "good-consent-id")}
	c := newClient(t, s, obp.WithConsentJWTSource(auth.NewCache(src)), obp.WithConsumerKey(s.ConsumerKey()))
	id, err := c.Users.CurrentID(ctx(t))
	require.NoError(t, err)
	assert.Equal(t, me, id)
	reqs := s.Requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, []string{"revoked-consent-id"}, reqs[0].RawHeader("Consent-JWT"))
	assert.Equal(t, []string{"good-consent-id"}, reqs[1].RawHeader("Consent-JWT"))
	assert.Equal(t, int64(2), src.calls.Load())

	static := &countingSource{next: fixedToken("revoked-consent-id")}
	c = newClient(t, s, obp.WithConsentJWTSource(static))
	_, err = c.Users.CurrentID(ctx(t))
	assert.ErrorIs(t, err, obp.ErrUserNotLoggedIn)
	assert.Len(t, s.Requests(), 3, "no replay")
	assert.Equal(t, int64(1), static.calls.Load())
}

func TestNewClientSourceOptions(t *testing.T) {
	s := setup(t)
	src := auth.StaticSource(auth.Token{Value: "t1234"})
	var typedNil *rsa.PrivateKey
	nilKey := dauthConfig(s)
	nilKey.PrivateKey = typedNil
	cases := []struct {
		name string
		opt  []obp.Option
		want string
	}{
		{"nil DirectLogin token source", []obp.Option{obp.WithDirectLoginTokenSource(nil)}, "DirectLogin token source: required"},
		{"nil consent source", []obp.Option{obp.WithConsentJWTSource(nil)}, "consent JWT source: required"},
		{"two sources", []obp.Option{obp.WithDirectLoginTokenSource(src), obp.WithConsentJWTSource(src)},
			"exactly one authentication option is allowed, got WithDirectLoginTokenSource and WithConsentJWTSource"},
		{"token and its source", []obp.Option{obp.WithConsentJWT("c1234"), obp.WithConsentJWTSource(src)},
			"got WithConsentJWT and WithConsentJWTSource"},
		{"typed nil key", []obp.Option{obp.WithDAuth(nilKey)}, "DAuth PrivateKey"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := obp.NewClient(append([]obp.Option{obp.WithBaseURL(s.URL())}, tc.opt...)...)
			require.Error(t, err)
			assert.Nil(t, c)
			assert.Contains(t, err.Error(), tc.want)
			assert.True(t, strings.HasPrefix(err.Error(), "obp: "), err.Error())
		})
	}
	_, err := obp.NewClient(obp.WithBaseURL(s.URL()))
	require.Error(t, err)
	for _, name := range []string{"WithAccessTokenSource", "WithDirectLoginTokenSource", "WithConsentJWTSource"} {
		assert.Contains(t, err.Error(), name)
	}
	assert.Empty(t, s.Requests())
}

package saltedge_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/saltedge"
)

// answering is a Salt Edge that answers every request with one body and records
// the Authorization headers it received.
type answering struct {
	mu     sync.Mutex
	body   string
	authzs []string
}

func (a *answering) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.authzs = append(a.authzs, r.Header.Get("Authorization"))
	body := a.body
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, body)
}

func (a *answering) answer(body string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.body = body
}

func (a *answering) lastAuthorization(t *testing.T) string {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	require.NotEmpty(t, a.authzs, "no request received")
	return a.authzs[len(a.authzs)-1]
}

func newAnsweringClient(tb testing.TB, body string) (*saltedge.Client, *answering) {
	tb.Helper()
	srv := &answering{body: body}
	ts := httptest.NewServer(srv)
	tb.Cleanup(ts.Close)
	c, err := saltedge.NewClient(saltedge.WithBaseURL(ts.URL), saltedge.WithAppID("a"),
		saltedge.WithAppSecret("s"), saltedge.WithPrivateKey(keys()[1]))
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = c.Close() })
	return c, srv
}

// rawClaims verifies a callback's JWT and returns its claims segment as signed.
func rawClaims(t *testing.T, authz string) (string, int64) {
	t.Helper()
	exp, err := decodeCallbackJWT(t, &keys()[1].PublicKey, authz).GetExpirationTime()
	require.NoError(t, err)
	parts := strings.Split(strings.TrimPrefix(authz, "Bearer "), ".")
	require.Len(t, parts, 3)
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	return string(raw), exp.Unix()
}

// The JWT of tokens/index carries exactly {"data": <query>, "exp": now + TTL}, the
// query's members in the order they always had, zero fields left out.
func TestTokensIndexClaims(t *testing.T) {
	c, srv := newAnsweringClient(t, `{"data":{"tokens":[]},"meta":{"time":"2026-01-01T00:00:00Z"}}`)
	before := time.Now()
	_, err := c.Tokens.Index(ctxT(t), saltedge.TokensQuery{Kind: saltedge.TokenKindRevoked, FromID: 3,
		FromDate: time.Date(2026, 1, 2, 3, 4, 5, 600e6, time.FixedZone("CET", 3600)), PerPage: 5, CustomerID: 7})
	require.NoError(t, err)
	after := time.Now()
	raw, exp := rawClaims(t, srv.lastAuthorization(t))
	assert.Equal(t, `{"data":{"customer_id":7,"from_date":"2026-01-02T02:04:05.600Z","from_id":3,"kind":"revoked","per_page":5},"exp":`+
		strconv.FormatInt(exp, 10)+`}`, raw)
	// exp is now + TTL in whole seconds, now being some time during the call.
	assert.GreaterOrEqual(t, exp, before.Add(saltedge.DefaultTokenTTL).Unix())
	assert.LessOrEqual(t, exp, after.Add(saltedge.DefaultTokenTTL).Unix())

	_, err = c.Tokens.Index(ctxT(t), saltedge.TokensQuery{})
	require.NoError(t, err)
	raw, exp = rawClaims(t, srv.lastAuthorization(t))
	assert.Equal(t, `{"data":{},"exp":`+strconv.FormatInt(exp, 10)+`}`, raw)
}

// A payload too large for the claims' stack buffer is signed whole.
func TestLargePayloadSignedWhole(t *testing.T) {
	c, srv := newAnsweringClient(t, `{"data":{},"meta":{}}`)
	long := strings.Repeat("x", 1000)
	_, err := saltedge.Do[json.RawMessage](ctxT(t), c, http.MethodPost, "api/connectors/v1/sessions/update",
		map[string]string{"session_secret": long})
	require.NoError(t, err)
	raw, exp := rawClaims(t, srv.lastAuthorization(t))
	assert.Equal(t, `{"data":{"session_secret":"`+long+`"},"exp":`+strconv.FormatInt(exp, 10)+`}`, raw)
}

// tokens/index decodes its answer's data and meta in one pass: a page's tokens,
// next_id and time; none when data is null or absent; an error when data does not
// have the documented shape (a GET: nothing is left unknown).
func TestTokensIndexAnswers(t *testing.T) {
	c, srv := newAnsweringClient(t, "")
	for name, tc := range map[string]struct {
		body   string
		tokens []string
		nextID int64
		time   time.Time
	}{
		"page": {body: `{"data":{"tokens":[{"id":"1"},{"id":"2"}]},"meta":{"time":"2026-01-01T00:00:00Z","next_id":"9"}}`,
			tokens: []string{`{"id":"1"}`, `{"id":"2"}`}, nextID: 9, time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		"null data":    {body: `{"data":null,"meta":{"next_id":null}}`},
		"no data":      {body: `{"meta":{"time":"2026-01-01T00:00:00Z"}}`, time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		"null tokens":  {body: `{"data":{"tokens":null}}`},
		"empty answer": {body: ``},
	} {
		srv.answer(tc.body)
		page, err := c.Tokens.Index(ctxT(t), saltedge.TokensQuery{})
		require.NoError(t, err, name)
		var got []string
		for _, tok := range page.Tokens {
			got = append(got, string(tok))
		}
		assert.Equal(t, tc.tokens, got, name)
		assert.Equal(t, tc.nextID, page.NextID, name)
		assert.True(t, tc.time.Equal(page.Time), "%s: time %v", name, page.Time)
	}

	for _, body := range []string{`{"data":{"tokens":{"id":"1"}}}`, `{"data":[1]}`, `{"data":{"tokens":[]}} {}`, `{"data":`} {
		srv.answer(body)
		_, err := c.Tokens.Index(ctxT(t), saltedge.TokensQuery{})
		require.Error(t, err, body)
		assert.NotErrorIs(t, err, saltedge.ErrOutcomeUnknown, body)
	}
}

// tokens/revoke and clients/info read their data member as typed in one pass.
func TestRevokeAndClientsInfoAnswers(t *testing.T) {
	c, srv := newAnsweringClient(t, `{"data":{"revoked":true},"meta":{"time":"2026-01-01T00:00:00Z"}}`)
	res, err := c.Tokens.Revoke(ctxT(t), "tok-1")
	require.NoError(t, err)
	assert.True(t, res.Revoked)
	assert.Equal(t, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), res.Time)

	srv.answer(`{"data":{"revoked":"yes"}}`)
	_, err = c.Tokens.Revoke(ctxT(t), "tok-1")
	require.Error(t, err)

	srv.answer(`{"data":null}`)
	_, err = c.Clients.Info(ctxT(t), 5)
	require.ErrorContains(t, err, "no public_key")
	srv.answer(`{"data":{"name":"x","scopes":"all"}}`)
	_, err = c.Clients.Info(ctxT(t), 5)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "no public_key", "the answer's shape is refused first")
}

// Whatever Salt Edge answers to tokens/index, Index neither panics nor reports a GET's
// outcome as unknown, and a page it returns holds tokens that are JSON values.
func FuzzTokensIndexAnswer(f *testing.F) {
	for _, body := range []string{
		`{"data":{"tokens":[{"id":"1"},{"id":"2"}]},"meta":{"time":"2026-01-01T00:00:00Z","next_id":"9"}}`,
		`{"data":null,"meta":{"next_id":null}}`, `{"meta":{}}`, ``, ` `, `{"data":{"tokens":{"id":"1"}}}`,
		`{"data":[1]}`, `{"data":{"tokens":[]}} {}`, `{"data":`, `{"data":5,"data":{"tokens":[1]}}`,
		`{"DATA":{"Tokens":[true]}}`, "{\"data\":{\"tokens\":[\"\u3000\"]}}",
	} {
		f.Add(body)
	}
	c, srv := newAnsweringClient(f, "")
	f.Fuzz(func(t *testing.T, body string) {
		srv.answer(body)
		page, err := c.Tokens.Index(ctxT(t), saltedge.TokensQuery{})
		if err != nil {
			assert.NotErrorIs(t, err, saltedge.ErrOutcomeUnknown)
			return
		}
		for _, tok := range page.Tokens {
			assert.True(t, json.Valid(tok), "token %q", tok)
		}
		assert.GreaterOrEqual(t, page.NextID, int64(0))
	})
}

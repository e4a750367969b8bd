package obp_test

import (
	"encoding/json"
	"errors"
	"github.com/banksdk/banksdk/fake"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/obp"
	"github.com/banksdk/banksdk/obp/obptest"
)

var uuidRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestDAuthHeaderOnTheWire(t *testing.T) {
	s := setup(t)
	c := dauthClient(t, s)

	u, err := c.Users.Current(ctx(t))
	require.NoError(t, err)
	require.NotNil(t, u.Username)
	assert.Equal(t, contract, *u.Username)
	require.NotNil(t, u.Provider)
	assert.Equal(t, "dauth."+network, *u.Provider)

	reqs := s.Requests()
	require.Len(t, reqs, 1)
	r := reqs[0]
	assert.Equal(t, "/obp/v4.0.0/users/current", r.Path)
	// The header name arrived byte for byte as "DAuth", once, and in no other casing.
	var dauthNames []string
	for _, n := range r.HeaderNames() {
		if strings.EqualFold(n, "dauth") {
			dauthNames = append(dauthNames, n)
		}
	}
	assert.Equal(t, []string{"DAuth"}, dauthNames)
	vals := r.RawHeader("DAuth")
	require.Len(t, vals, 1)
	assert.False(t, has(r.HeaderNames(), "Authorization"))
	assert.False(t, has(r.HeaderNames(), "DirectLogin"))

	claims := verifyDAuth(t, &s.DAuthPrivateKey().PublicKey, vals[0])
	assert.Equal(t, contract, claims["smart_contract_address"])
	assert.Equal(t, network, claims["network_name"])
	assert.Equal(t, obptest.DefaultMsgSender, claims["msg_sender"])
	assert.Equal(t, s.ConsumerKey(), claims["consumer_key"])
	ts, _ := claims["timestamp"].(string)
	assert.True(t, strings.HasSuffix(ts, "Z"), ts)
	parsed, err := time.Parse(time.RFC3339, ts)
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now(), parsed, time.Minute)
	assert.Regexp(t, uuidRe, claims["request_id"])

	// JOSE header: RS256, JWT.
	hdr, err := jsonSegment(vals[0])
	require.NoError(t, err)
	assert.Equal(t, "RS256", hdr["alg"])
	assert.Equal(t, "JWT", hdr["typ"])

	calls := s.DAuthCalls()
	require.Len(t, calls, 1)
	assert.Equal(t, claims["request_id"], calls[0].RequestID)
}

func TestDAuthFreshJWTOnEveryAttemptRetriesIncluded(t *testing.T) {
	s := setup(t)
	c := dauthClient(t, s)
	s.Inject(2, fake.Status(http.StatusServiceUnavailable, "").On(http.MethodGet, "/obp/v4.0.0/users/current"))

	_, err := c.Users.Current(ctx(t))
	require.NoError(t, err)
	_, err = c.Users.CurrentID(ctx(t))
	require.NoError(t, err)

	reqs := s.Requests()
	require.Len(t, reqs, 4, "3 attempts of the first call, 1 of the second")
	ids := map[string]bool{}
	tokens := map[string]bool{}
	for i, r := range reqs {
		vals := r.RawHeader("DAuth")
		require.Len(t, vals, 1, "request %d", i)
		claims := verifyDAuth(t, &s.DAuthPrivateKey().PublicKey, vals[0])
		id, _ := claims["request_id"].(string)
		require.NotEmpty(t, id)
		ids[id] = true
		tokens[vals[0]] = true
	}
	assert.Len(t, ids, 4, "a different request_id on every attempt")
	assert.Len(t, tokens, 4)
	assert.Equal(t, "status", reqs[0].Fault)
	assert.Equal(t, "status", reqs[1].Fault)
	assert.Len(t, s.DAuthCalls(), 2)
}

func TestDAuthPostRetriedOn503WithNewJWT(t *testing.T) {
	s := setup(t)
	dauthHolder(t, s)
	c := dauthClient(t, s)
	bob := s.EnsureUser("0xb0b", obp.DAuthProvider("ETH"))
	s.Inject(1, fake.Status(http.StatusServiceUnavailable, "").WithRetryAfter("0").On(http.MethodPost, "/obp/"))

	v, err := c.AccountAccess.Grant(ctx(t), bankID, accountID, obp.AccountAccessRequest{UserID: bob, View: obp.ViewSelector{ViewID: "ReadBalances", IsSystem: true}})
	require.NoError(t, err)
	assert.Equal(t, "ReadBalances", v.ID)
	path := "/obp/v4.0.0/banks/" + bankID + "/accounts/" + accountID + "/account-access/grant"
	assert.Equal(t, 2, s.Count(http.MethodPost, path))
	reqs := s.Requests()
	assert.NotEqual(t, reqs[0].RawHeader("DAuth"), reqs[1].RawHeader("DAuth"))
	assert.Equal(t, reqs[0].Body, reqs[1].Body, "the body is the same bytes on every attempt")
}

func TestDAuthConcurrentCallsGetDistinctRequestIDs(t *testing.T) {
	s := setup(t)
	c := dauthClient(t, s)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Users.CurrentID(ctx(t))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	// The fake's default strict mode rejects a reused request_id, so 20 accepted calls
	// mean 20 distinct ids.
	assert.Len(t, s.DAuthCalls(), 20)
}

func TestDAuthUsesHTTP1(t *testing.T) {
	var mu sync.Mutex
	var protos []string
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		protos = append(protos, r.Proto)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"user_id":"u1","email":"","provider_id":"p","provider":"dauth.x","username":"0x1","entitlements":{"list":[]}}`))
	}))
	ts.EnableHTTP2 = true
	ts.StartTLS()
	t.Cleanup(ts.Close)

	// Control: the server's own client speaks HTTP/2 to it.
	resp, err := ts.Client().Get(ts.URL)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 2, resp.ProtoMajor)

	s := setup(t) // for its key
	c, err := obp.NewClient(obp.WithBaseURL(ts.URL), obp.WithHTTPClient(ts.Client()), obp.WithDAuth(dauthConfig(s)))
	require.NoError(t, err)
	closeWhenDone(t, c)
	_, err = c.Users.Current(ctx(t))
	require.NoError(t, err)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, protos, 2)
	assert.Equal(t, "HTTP/1.1", protos[1])
}

func TestDAuthRejectedByServer(t *testing.T) {
	other := obptest.NewServer() // its own key, which the servers below do not trust
	t.Cleanup(other.Close)
	cases := []struct {
		name   string
		opts   []obptest.Option
		key    func(s *obptest.Server) obp.DAuthConfig
		status int
		code   obp.Code
	}{
		{"signed with another key", nil, func(*obptest.Server) obp.DAuthConfig { return dauthConfig(other) }, 401, obp.ErrDAuthJWTCorrupted},
		{"address not allowed", []obptest.Option{obptest.WithDAuthHosts("192.0.2.10")}, dauthConfig, 401, obp.ErrDAuthAddressNotAllowed},
		{"dauth.host not defined", []obptest.Option{obptest.WithDAuthHosts()}, dauthConfig, 401, obp.ErrDAuthHostNotDefined},
		{"DAuth disabled", []obptest.Option{obptest.WithDAuthDisabled()}, dauthConfig, 401, obp.ErrUserNotLoggedIn},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := setup(t, tc.opts...)
			cfg := tc.key(s)
			cfg.ConsumerKey = s.ConsumerKey()
			c := newClient(t, s, obp.WithDAuth(cfg))
			_, err := c.Users.Current(ctx(t))
			var apiErr *obp.APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tc.status, apiErr.StatusCode)
			assert.Equal(t, string(tc.code), apiErr.OBPCode)
			assert.True(t, errors.Is(err, tc.code))
			assert.NotEmpty(t, apiErr.CorrelationID)
			assert.Len(t, s.Requests(), 1, "a 401 is not retried")
		})
	}
}

func TestDAuthProvider(t *testing.T) {
	assert.Equal(t, "dauth.AIRNODE.TESTNET.ETHEREUM", obp.DAuthProvider("AIRNODE.TESTNET.ETHEREUM"))
}

// jsonSegment decodes a JWT's header.
func jsonSegment(tok string) (map[string]any, error) {
	seg, _, _ := strings.Cut(tok, ".")
	b, err := decodeSegment(seg)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(b, &m)
}

package saltedge_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/saltedge"
)

// fixedClock pins the handler's clock so that lifetime boundaries are exact.
func fixedClock() (time.Time, func(*saltedge.HandlerConfig)) {
	now := time.Now().Truncate(time.Second)
	return now, func(c *saltedge.HandlerConfig) { c.Now = func() time.Time { return now } }
}

func saltEdgeJWT(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	if _, ok := claims["data"]; !ok {
		claims["data"] = map[string]any{}
	}
	claims["iss"] = saltedge.DefaultIssuer
	return sign(t, jwt.SigningMethodRS256, keys()[0], claims)
}

// A JWT whose exp lies further ahead than the maximum lifetime, or whose iat is in
// the future, is refused with 400 JWTVerificationError before the bank is called; the
// seed's own shape (exp = now + 60 s, no iat) and the leeway edges are accepted.
func TestHandlerRefusesLongLivedAndFutureJWTs(t *testing.T) {
	now, clock := fixedClock()
	e := setup(t, func(o *setupOpts) { o.handlerCfg = clock })
	lim := saltedge.DefaultMaxLifetime + saltedge.DefaultLeeway

	for _, tc := range []struct {
		name   string
		claims jwt.MapClaims
		ok     bool
		msg    string
	}{
		{"exp in the year 2200", jwt.MapClaims{"exp": time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC).Unix()}, false, "lifetime"},
		{"exp one second past the maximum lifetime", jwt.MapClaims{"exp": now.Add(lim + time.Second).Unix()}, false, "lifetime"},
		{"iat an hour ahead", jwt.MapClaims{"exp": now.Add(time.Minute).Unix(), "iat": now.Add(time.Hour).Unix()}, false, "iat"},
		{"iat just past the leeway", jwt.MapClaims{"exp": now.Add(time.Minute).Unix(), "iat": now.Add(saltedge.DefaultLeeway + time.Second).Unix()}, false, "iat"},
		{"the seed's shape: exp now+60s", jwt.MapClaims{"exp": now.Add(time.Minute).Unix()}, true, ""},
		{"exp exactly at the maximum lifetime plus leeway", jwt.MapClaims{"exp": now.Add(lim).Unix()}, true, ""},
		{"iat within the leeway", jwt.MapClaims{"exp": now.Add(time.Minute).Unix(), "iat": now.Add(saltedge.DefaultLeeway).Unix()}, true, ""},
		{"iat in the past", jwt.MapClaims{"exp": now.Add(time.Minute).Unix(), "iat": now.Add(-time.Minute).Unix()}, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.bank.callCount()
			st, body, _ := e.send(t, rawCall{method: "POST", path: "errors", auth: str("Bearer " + saltEdgeJWT(t, tc.claims))}, nil)
			if tc.ok {
				assert.Equal(t, 200, st, body)
				assert.Equal(t, before+1, e.bank.callCount())
				return
			}
			assert.Equal(t, 400, st)
			assert.Equal(t, saltedge.ClassJWTVerificationError, body["error_class"])
			assert.Contains(t, body["error_message"], tc.msg)
			assert.Equal(t, before, e.bank.callCount(), "the bank must not be called")
		})
	}
}

// HandlerConfig.MaxLifetime moves the bound both ways.
func TestHandlerMaxLifetimeIsConfigurable(t *testing.T) {
	now, clock := fixedClock()
	e := setup(t, func(o *setupOpts) {
		o.handlerCfg = func(c *saltedge.HandlerConfig) { clock(c); c.MaxLifetime = time.Hour; c.Leeway = time.Second }
	})
	st, body, _ := e.send(t, rawCall{method: "POST", path: "errors",
		auth: str("Bearer " + saltEdgeJWT(t, jwt.MapClaims{"exp": now.Add(50 * time.Minute).Unix()}))}, nil)
	assert.Equal(t, 200, st, body)
	st, body, _ = e.send(t, rawCall{method: "POST", path: "errors",
		auth: str("Bearer " + saltEdgeJWT(t, jwt.MapClaims{"exp": now.Add(time.Hour + 2*time.Second).Unix()}))}, nil)
	assert.Equal(t, 400, st)
	assert.Equal(t, saltedge.ClassJWTVerificationError, body["error_class"])
	assert.Equal(t, 1, e.bank.callCount())

	e2 := setup(t, func(o *setupOpts) {
		o.handlerCfg = func(c *saltedge.HandlerConfig) { clock(c); c.MaxLifetime = 30 * time.Second; c.Leeway = time.Second }
	})
	st, body, _ = e2.send(t, rawCall{method: "POST", path: "errors",
		auth: str("Bearer " + saltEdgeJWT(t, jwt.MapClaims{"exp": now.Add(time.Minute).Unix()}))}, nil)
	assert.Equal(t, 400, st, "60 s is beyond a 30 s maximum")
	assert.Equal(t, saltedge.ClassJWTVerificationError, body["error_class"])
	assert.Zero(t, e2.bank.callCount())

	for _, d := range []time.Duration{-time.Second, saltedge.MaxMaxLifetime + time.Second} {
		_, err := saltedge.NewHandler(saltedge.HandlerConfig{Connector: minimalBank{}, PublicKey: &keys()[0].PublicKey, MaxLifetime: d})
		assert.ErrorContains(t, err, "MaxLifetime", "%v", d)
	}
}

// With a ReplayStore, a JWT is served once: the same JWT again, even with another
// Client-Id, Access-Token or endpoint, is refused with 400 JWTVerificationError and
// never reaches the bank. A fresh JWT for the same payload is served.
func TestHandlerReplayGuard(t *testing.T) {
	store := saltedge.NewMemoryReplayStore(0)
	e := setup(t, func(o *setupOpts) {
		o.handlerCfg = func(c *saltedge.HandlerConfig) { c.ReplayStore = store }
	})
	data := map[string]any{"session_secret": "s-replay"}
	tok, err := e.fake.RequestJWT(data, 0)
	require.NoError(t, err)
	post := rawCall{method: "POST", path: "errors", auth: str("Bearer " + tok)}

	st, body, _ := e.send(t, post, nil)
	require.Equal(t, 200, st, body)
	require.Equal(t, 1, e.bank.callCount())
	assert.Equal(t, 1, store.Len())

	for _, c := range []rawCall{
		post,
		{method: "POST", path: "errors", auth: post.auth, clientID: str("772")},
		{method: "POST", path: "errors", auth: post.auth, clientID: str("1"), accessToken: "other"},
		{method: "GET", path: "kyc", auth: post.auth},
	} {
		st, body, _ := e.send(t, c, nil)
		assert.Equal(t, 400, st, "replay with Client-Id %v", c.clientID)
		assert.Equal(t, saltedge.ClassJWTVerificationError, body["error_class"])
		assert.Equal(t, "JWT was already used", body["error_message"])
	}
	assert.Equal(t, 1, e.bank.callCount(), "a replayed JWT never reaches the bank")

	// A JWT that fails verification is not recorded: it cannot fill the store.
	st, _, _ = e.send(t, rawCall{method: "POST", path: "errors", auth: str("Bearer " + tamper(t, tok))}, nil)
	assert.Equal(t, 400, st)
	assert.Equal(t, 1, store.Len())

	// Salt Edge signs every request afresh: a new JWT (a later exp) is served.
	tok2, err := e.fake.RequestJWT(data, 2*time.Minute)
	require.NoError(t, err)
	st, body, _ = e.send(t, rawCall{method: "POST", path: "errors", auth: str("Bearer " + tok2)}, nil)
	assert.Equal(t, 200, st, body)
	assert.Equal(t, 2, e.bank.callCount())
}

// Without a ReplayStore (the default) the handler keeps no state: the same JWT is
// served twice.
func TestHandlerReplayGuardIsOptIn(t *testing.T) {
	e := setup(t)
	tok, err := e.fake.RequestJWT(map[string]any{}, 0)
	require.NoError(t, err)
	for range 2 {
		st, body, _ := e.send(t, rawCall{method: "POST", path: "errors", auth: str("Bearer " + tok)}, nil)
		assert.Equal(t, 200, st, body)
	}
	assert.Equal(t, 2, e.bank.callCount())
}

type recordingStore struct {
	mu    sync.Mutex
	ids   []string
	until []time.Time
	err   error
}

func (s *recordingStore) SeenOnce(_ context.Context, id string, until time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return false, s.err
	}
	s.ids = append(s.ids, id)
	s.until = append(s.until, until)
	return true, nil
}

// A custom store gets a digest of the token (never the token) and exp + leeway; a
// failing store answers 500 InternalServerError without calling the bank.
func TestHandlerReplayStoreContract(t *testing.T) {
	now, clock := fixedClock()
	store := &recordingStore{}
	e := setup(t, func(o *setupOpts) {
		o.handlerCfg = func(c *saltedge.HandlerConfig) { clock(c); c.ReplayStore = store }
	})
	exp := now.Add(time.Minute)
	tok := saltEdgeJWT(t, jwt.MapClaims{"exp": exp.Unix()})
	st, body, _ := e.send(t, rawCall{method: "POST", path: "errors", auth: str("Bearer " + tok)}, nil)
	require.Equal(t, 200, st, body)
	store.mu.Lock()
	require.Len(t, store.ids, 1)
	assert.Len(t, store.ids[0], 64, "a hex SHA-256")
	assert.NotContains(t, tok, store.ids[0])
	assert.Equal(t, exp.Add(saltedge.DefaultLeeway), store.until[0])
	store.err = errors.New("redis: connection refused")
	store.mu.Unlock()

	st, body, _ = e.send(t, rawCall{method: "POST", path: "errors",
		auth: str("Bearer " + saltEdgeJWT(t, jwt.MapClaims{"exp": exp.Unix() + 1}))}, nil)
	assert.Equal(t, 500, st)
	assert.Equal(t, saltedge.ClassInternalServerError, body["error_class"])
	assert.NotContains(t, body["error_message"], "redis")
	assert.Equal(t, 1, e.bank.callCount())
}

// Many concurrent deliveries of one JWT: exactly one reaches the bank.
func TestHandlerReplayGuardConcurrent(t *testing.T) {
	b := &nopBank{}
	h, err := saltedge.NewHandler(saltedge.HandlerConfig{Connector: b, PublicKey: &keys()[0].PublicKey,
		Issuer: saltedge.DefaultIssuer, ReplayStore: saltedge.NewMemoryReplayStore(0)})
	require.NoError(t, err)
	tok := saltEdgeJWT(t, jwt.MapClaims{"exp": time.Now().Add(time.Minute).Unix()})
	var wg sync.WaitGroup
	codes := make([]int, 16)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := httptest.NewRequest(http.MethodPost, "/api/priora/v1/errors", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Client-Id", strconv.Itoa(700+i))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			codes[i] = rec.Code
		}()
	}
	wg.Wait()
	ok := 0
	for _, c := range codes {
		if c == 200 {
			ok++
		} else {
			assert.Equal(t, 400, c)
		}
	}
	assert.Equal(t, 1, ok)
	assert.Equal(t, int64(1), b.calls.Load())
}

// FuzzHandlerJWTTimes signs tokens with arbitrary exp and iat and delivers each twice,
// the second time with another Client-Id, to a handler with a replay guard: the bank
// is called once exactly when exp lies within (now - leeway, now + maximum lifetime +
// leeway] and iat (when present) is not beyond now + leeway, and never for the
// replay. Seeds: the seed's shape, exp in 2200, iat in the future, the edges.
func FuzzHandlerJWTTimes(f *testing.F) {
	const (
		leeway = int64(saltedge.DefaultLeeway / time.Second)
		maxLT  = int64(saltedge.DefaultMaxLifetime / time.Second)
	)
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Add(int64(60), false, int64(0), "771")                                                     // the seed's exp = now + 60 s
	f.Add(time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC).Unix()-now.Unix(), false, int64(0), "772") // exp in 2200
	f.Add(int64(60), true, int64(3600), "771")                                                   // iat an hour ahead
	f.Add(int64(60), true, leeway+1, "773")                                                      // iat just past the leeway
	f.Add(int64(60), true, leeway, "774")                                                        // iat at the leeway
	f.Add(maxLT+leeway, false, int64(0), "775")                                                  // exp at the bound
	f.Add(maxLT+leeway+1, false, int64(0), "776")                                                // exp just past it
	f.Add(-leeway, false, int64(0), "777")                                                       // expired at the leeway
	f.Add(int64(60), false, int64(0), "not-a-number")                                            // replay with a bad Client-Id
	key := keys()[0]
	f.Fuzz(func(t *testing.T, expOff int64, hasIat bool, iatOff int64, clientID2 string) {
		const bound = int64(1) << 34 // about 500 years either way
		if expOff > bound || expOff < -bound || iatOff > bound || iatOff < -bound {
			return
		}
		b := &nopBank{}
		h, err := saltedge.NewHandler(saltedge.HandlerConfig{Connector: b, PublicKey: &key.PublicKey,
			Issuer: saltedge.DefaultIssuer, Now: func() time.Time { return now },
			ReplayStore: saltedge.NewMemoryReplayStore(4)})
		if err != nil {
			t.Fatal(err)
		}
		claims := jwt.MapClaims{"data": map[string]any{}, "exp": now.Unix() + expOff, "iss": saltedge.DefaultIssuer}
		if hasIat {
			claims["iat"] = now.Unix() + iatOff
		}
		tok, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		deliver := func(clientID string) *httptest.ResponseRecorder {
			req := httptest.NewRequest(http.MethodPost, "/api/priora/v1/errors", nil)
			req.Header["Authorization"] = []string{"Bearer " + tok}
			req.Header["Client-Id"] = []string{clientID}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			checkAnswer(t, rec)
			return rec
		}
		want := expOff > -leeway && expOff <= maxLT+leeway && (!hasIat || iatOff <= leeway)
		first := deliver("771")
		if got := first.Code == http.StatusOK; got != want || b.calls.Load() != map[bool]int64{true: 1}[want] {
			t.Fatalf("exp %+d s, iat %v %+d s: answered %d %s, bank called %d times; want accepted=%v",
				expOff, hasIat, iatOff, first.Code, first.Body, b.calls.Load(), want)
		}
		if !want {
			return
		}
		second := deliver(clientID2)
		if second.Code == http.StatusOK || b.calls.Load() != 1 {
			t.Fatalf("replay with Client-Id %q answered %d %s; bank called %d times", clientID2, second.Code, second.Body, b.calls.Load())
		}
	})
}

package rest

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/banksdk/banksdk/auth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tests below hold the allocation shortcuts of the request path to the rules they
// replace.

// rotatingSource hands out the token it holds now; the test changes it.
type rotatingSource struct{ value atomic.Pointer[string] }

func (r *rotatingSource) Token(context.Context) (auth.Token, error) {
	return auth.Token{Value: *r.value.Load()}, nil
}

func TestNewHeaderTokenSendsTheCurrentTokenAndReusesItsValue(t *testing.T) {
	src := &rotatingSource{}
	first, second := "first-token-value", "second-token-value"
	src.value.Store(&first)
	h := NewHeaderToken(src, "Authorization", "Bearer ")

	r1, r2, r3 := mustRequest(t), mustRequest(t), mustRequest(t)
	require.NoError(t, h.Authorize(context.Background(), r1, nil))
	require.NoError(t, h.Authorize(context.Background(), r2, nil))
	assert.Equal(t, []string{"Bearer first-token-value"}, r1.Header["Authorization"])
	assert.Same(t, &r1.Header["Authorization"][0], &r2.Header["Authorization"][0], "the same token's value is built once")
	assert.Equal(t, 1, cap(r1.Header["Authorization"]), "a shared value has no room to be appended to in place")

	r2.Header.Add("Authorization", "extra")
	assert.Equal(t, []string{"Bearer first-token-value"}, r1.Header["Authorization"], "adding to one attempt's header leaves the others")

	src.value.Store(&second)
	require.NoError(t, h.Authorize(context.Background(), r3, nil))
	assert.Equal(t, []string{"Bearer second-token-value"}, r3.Header["Authorization"], "a new token is sent at once")
	tok, ok := h.Sent(r3)
	require.True(t, ok)
	assert.Equal(t, second, tok.Value)

	for _, out := range []string{fmt.Sprintf("%v", h), fmt.Sprintf("%+v", h), fmt.Sprintf("%#v", h)} {
		assert.NotContains(t, out, second, "the remembered token is not printed")
	}

	plain := HeaderToken{Source: src, Header: "X-Token"}
	r4 := mustRequest(t)
	require.NoError(t, plain.Authorize(context.Background(), r4, nil))
	assert.Equal(t, []string{second}, r4.Header["X-Token"], "a HeaderToken literal still works")
}

func TestNewHeaderTokenRenewsThroughThePipeline(t *testing.T) {
	src := &invalidatingSource{}
	var got []string
	h := setup(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get("Authorization"))
		if len(got) == 1 {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		echoHandler(w, r)
	}), func(c *Config) {
		c.Authorizer = NewHeaderToken(src, "", "Bearer ")
		c.CredentialRejected = rejectedOn401
	})
	_, err := h.client.Do(context.Background(), &Request{Method: http.MethodGet, Path: "x"}, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"Bearer token-1", "Bearer token-2"}, got, "the rejected token is replaced, not its remembered value sent again")
}

// invalidatingSource gives token-N and moves to the next one when told the current
// one was rejected.
type invalidatingSource struct{ n atomic.Int32 }

func (s *invalidatingSource) Token(context.Context) (auth.Token, error) {
	return auth.Token{Value: fmt.Sprintf("token-%d", s.n.Load()+1)}, nil
}

func (s *invalidatingSource) Invalidate(tok auth.Token) {
	if tok.Value == fmt.Sprintf("token-%d", s.n.Load()+1) {
		s.n.Add(1)
	}
}

func TestChainReleasesEveryLease(t *testing.T) {
	for leasers := 0; leasers <= 3; leasers++ {
		t.Run(fmt.Sprint(leasers), func(t *testing.T) {
			src := &leasingSource{}
			chain := Chain{StaticHeader{Header: "App-Id", Value: auth.NewSecret("app")}}
			for range leasers {
				chain = append(chain, HeaderToken{Source: src, Header: "X-Lease"})
			}
			r := mustRequest(t)
			release, err := chain.AuthorizeLease(context.Background(), r, nil)
			require.NoError(t, err)
			assert.Equal(t, int32(leasers), src.held.Load(), "every leaser holds its token")
			assert.Equal(t, []string{"app"}, r.Header["App-Id"])
			release()
			assert.Zero(t, src.held.Load(), "one release lets go of every lease")

			failing := append(chain[:len(chain):len(chain)], StaticHeader{})
			_, err = failing.AuthorizeLease(context.Background(), mustRequest(t), nil)
			require.Error(t, err)
			assert.Zero(t, src.held.Load(), "a failing member releases the leases taken before it")
		})
	}
}

// checkRelPathSplit is the validation checkRelPath replaces, kept as its reference.
func checkRelPathSplit(p string) error {
	if strings.ContainsAny(p, "?#") {
		return fmt.Errorf("path %q: must not contain '?' or '#' (escape segments with rest.Path; put queries in Request.Query)", p)
	}
	for _, seg := range strings.Split(strings.Trim(p, "/"), "/") {
		un, err := url.PathUnescape(seg)
		if err != nil {
			return fmt.Errorf("path %q: %w", p, err)
		}
		if seg == "." || seg == ".." || un == "." || un == ".." {
			return fmt.Errorf("path %q: dot segments are not allowed", p)
		}
	}
	return nil
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestCheckRelPath(t *testing.T) {
	for _, p := range []string{"", "a", "/a/b/", "a//b", "a/%2F/b", "a%2e", "...", "%2e%2e%2e", "a/%41b"} {
		assert.NoError(t, checkRelPath(p), p)
	}
	for _, p := range []string{".", "..", "a/./b", "a/../b", "%2e", "%2E%2e", ".%2E", "a/%2e.", "a?x", "a#f", "a/%zz", "a/%4", "a/%"} {
		assert.Error(t, checkRelPath(p), p)
		assert.Equal(t, errString(checkRelPathSplit(p)), errString(checkRelPath(p)), p)
	}
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = checkRelPath("accounts/acc%2D1/transactions") }), "a valid path allocates nothing")
}

func FuzzCheckRelPath(f *testing.F) {
	for _, p := range []string{"", "a/b", "a/%2e%2E", "..", "x/%zz", "%", "a%2", "%2e.", "/./", "a?b", "%252e"} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		require.Equal(t, errString(checkRelPathSplit(p)), errString(checkRelPath(p)), "%q", p)
	})
}

func TestJoinPathKeepsTheEscapedPath(t *testing.T) {
	base, err := url.Parse("https://api.example/v1/")
	require.NoError(t, err)
	u, err := joinPath(base, strings.TrimSuffix(base.EscapedPath(), "/"), "accounts/a%2Fb")
	require.NoError(t, err)
	assert.Equal(t, "https://api.example/v1/accounts/a%2Fb", u.String())
	assert.Equal(t, "/v1/accounts/a/b", u.Path)
	u, err = joinPath(base, "/v1", "")
	require.NoError(t, err)
	assert.Equal(t, "https://api.example/v1", u.String())
}

func TestHeaderValueReadsBothFormsWithoutAllocating(t *testing.T) {
	h := http.Header{}
	h.Set("X-Request-Id", "canonical")
	h["DirectLogin"] = []string{"direct"}
	h["X_Odd.Name"] = []string{"odd"}
	assert.Equal(t, "canonical", HeaderValue(h, "x-request-id"))
	assert.Equal(t, "canonical", HeaderValue(h, "X-Request-ID"))
	assert.Equal(t, "direct", HeaderValue(h, "DirectLogin"))
	assert.Equal(t, "odd", HeaderValue(h, "X_Odd.Name"))
	assert.Empty(t, HeaderValue(h, "Missing"))
	h["Directlogin"] = []string{"canonical wins"}
	assert.Equal(t, "canonical wins", HeaderValue(h, "DirectLogin"), "as Header.Get first")
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = HeaderValue(h, "X-Request-ID") }))
}

func FuzzCanonicalKey(f *testing.F) {
	for _, s := range []string{"", "x-request-id", "DirectLogin", "a--b", "-x", "ÄÖ", "a b", "X_Y", "9-a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got, ok := canonicalKey(nil, name)
		if ok {
			require.Equal(t, http.CanonicalHeaderKey(name), string(got), "%q", name)
		}
		h := http.Header{}
		h.Set(name, "v")
		if http.CanonicalHeaderKey(name) != "" {
			require.Equal(t, h.Get(name), HeaderValue(h, name), "%q", name)
		}
	})
}

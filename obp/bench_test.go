package obp_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/banksdk/banksdk/internal/testkit"
	"github.com/banksdk/banksdk/obp"
)

// The benchmark pairs obp's Users.Current (DirectLogin) with its floor in the same
// run, both with the same headers ("DirectLogin: token=...") and transport settings,
// decoding into the same type: impl=plain is net/http and encoding/json, impl=sdk is
// the client. Compare them with
//
//	go test -run '^$' -bench . -count 10 ./obp/ | tee obp.txt && benchstat -col /impl obp.txt

const benchDirectLoginToken = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJiZW5jaCJ9.directlogin-bench"

const benchUserBody = `{"user_id":"9ca9a7e4-6d02-40e3-a129-0b2bf89de9b1","email":"robert.x.0.gh@example.com",` +
	`"provider_id":"Robert.X.0.GH","provider":"https://apisandbox.openbankproject.com","username":"robert.x.0.gh",` +
	`"entitlements":{"list":[{"entitlement_id":"6fb17583-1e49-4435-bb74-a14fe0996723","role_name":"CanGetAnyUser","bank_id":""},` +
	`{"entitlement_id":"c2ab5c06-6e9a-4b29-b0b6-6e63a6b73f53","role_name":"CanCreateAccount","bank_id":"gh.29.uk"}]},` +
	`"views":{"list":[{"bank_id":"gh.29.uk","account_id":"8ca8a7e4-6d02-40e3-a129-0b2bf89de9f0","view_id":"owner"}]}}`

type benchEnv struct {
	srv    *testkit.BenchServer
	plain  *http.Client
	client *obp.Client
}

func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	e := &benchEnv{}
	e.srv = testkit.NewBenchServer(b, []byte(benchUserBody), nil, func(w http.ResponseWriter, r *http.Request) bool {
		if r.Header.Get("DirectLogin") != "token="+benchDirectLoginToken || r.URL.Path != "/obp/v4.0.0/users/current" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"code":401,"message":"OBP-20001: User not logged in. Authentication is required!"}`)
			return false
		}
		return true
	})
	e.plain = &http.Client{Transport: testkit.NewTransport(b)}

	c, err := obp.NewClient(obp.WithBaseURL(e.srv.URL), obp.WithDirectLoginToken(benchDirectLoginToken),
		obp.WithHTTPClient(&http.Client{Transport: testkit.NewTransport(b)}))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	e.client = c
	testkit.CheckSameHeaders(b, e.srv, e.impls(), twoEntitlements)
	return e
}

func (e *benchEnv) impls() []testkit.Impl[*obp.User] {
	return []testkit.Impl[*obp.User]{
		{Name: "plain", Call: e.plainCurrent}, {Name: "sdk", Call: e.client.Users.Current},
	}
}

// twoEntitlements checks the user read.
func twoEntitlements(u *obp.User) error {
	if len(u.Entitlements) != 2 {
		return fmt.Errorf("user %+v", u)
	}
	return nil
}

func header(h http.Header) {
	h["DirectLogin"] = []string{"token=" + benchDirectLoginToken}
}

// plainCurrent is the floor: the same request with net/http, one decode, the body
// drained.
func (e *benchEnv) plainCurrent(ctx context.Context) (*obp.User, error) {
	u, err := testkit.GetJSON[obp.User](ctx, e.plain, e.srv.URL+"/obp/v4.0.0/users/current", header)
	return &u, err
}

// BenchmarkUsersCurrent is a GET of a small JSON answer with a DirectLogin token.
func BenchmarkUsersCurrent(b *testing.B) {
	e := newBenchEnv(b)
	testkit.RunImpls(b, e.impls(), 0, twoEntitlements)
}

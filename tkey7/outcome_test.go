package tkey7_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/fake"
	"github.com/banksdk/banksdk/tkey7"
	"github.com/banksdk/banksdk/tkey7/tkey7test"
)

// The outcome model for the generic object calls, against the fake TKEY7 with a proxy
// in front of it that lets TKEY7 act and then breaks the answer.

const accountsPath = tkey7test.BasePath + "/digital-accounts"

type outcomeEnv struct {
	srv    *tkey7test.Server
	proxy  *fake.Server
	client *tkey7.Client
}

func setupOutcome(t *testing.T) outcomeEnv {
	t.Helper()
	srv := tkey7test.NewServer()
	t.Cleanup(srv.Close)
	proxy, err := fake.NewBreakingProxy(srv.Origin())
	require.NoError(t, err)
	t.Cleanup(proxy.Close)
	issuedAt := time.Now()
	client, err := tkey7.NewClient(
		tkey7.WithBaseURL(proxy.URL()+tkey7test.BasePath),
		tkey7.WithAccessToken(srv.IssueToken(tkey7test.IssuedAt(issuedAt)), issuedAt),
		tkey7.WithRetry(3, time.Millisecond, 5*time.Millisecond),
	)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, client.Close()) })
	return outcomeEnv{srv: srv, proxy: proxy, client: client}
}

func (e outcomeEnv) create(t *testing.T) (json.RawMessage, error) {
	return tkey7.Do[json.RawMessage](ctx(t), e.client, http.MethodPost, "digital-accounts",
		map[string]string{"name": "Main account"})
}

func TestCreateBrokenAfterTKEY7Acted(t *testing.T) {
	cases := []struct {
		name   string
		fault  fake.Fault
		status int // the status of the *tkey7.APIError; 0 for a 2xx whose body cannot be used
	}{
		{"cut 2xx body", fake.CutBody(), 0},
		{"malformed 2xx body", fake.ActThenMalformed(), 0},
		{"500", fake.ActThen(http.StatusInternalServerError, `{"shortMessage":"Internal error","code":"INTERNAL_ERROR"}`), http.StatusInternalServerError},
		{"502", fake.ActThen(http.StatusBadGateway, "<html>bad gateway</html>"), http.StatusBadGateway},
		{"503 without Retry-After", fake.ActThen(http.StatusServiceUnavailable, ""), http.StatusServiceUnavailable},
		{"504", fake.ActThen(http.StatusGatewayTimeout, ""), http.StatusGatewayTimeout},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := setupOutcome(t)
			before := len(e.srv.DigitalAccountIDs())
			e.proxy.Inject(1, c.fault.On(http.MethodPost, accountsPath))

			_, err := e.create(t)

			require.Error(t, err)
			assert.ErrorIs(t, err, tkey7.ErrOutcomeUnknown)
			assert.Len(t, e.srv.DigitalAccountIDs(), before+1, "TKEY7 created the object once")
			assert.Equal(t, 1, e.proxy.Count(http.MethodPost, accountsPath), "the client sent it once")
			var ae *tkey7.APIError
			if c.status == 0 {
				assert.False(t, errors.As(err, &ae), "a 2xx is not an API error: %v", err)
				return
			}
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, c.status, ae.StatusCode)
		})
	}
}

func TestCreateRefusedIsResent(t *testing.T) {
	for name, f := range map[string]fake.Fault{
		"429":                  fake.Status(http.StatusTooManyRequests, ""),
		"503 with Retry-After": fake.Status(http.StatusServiceUnavailable, "").WithRetryAfter("0"),
	} {
		t.Run(name, func(t *testing.T) {
			e := setupOutcome(t)
			before := e.srv.DigitalAccountIDs()
			e.proxy.Inject(1, f.On(http.MethodPost, accountsPath))

			doc, err := e.create(t)

			require.NoError(t, err)
			ids := e.srv.DigitalAccountIDs()
			require.Len(t, ids, len(before)+1, "TKEY7 acted once")
			var got struct{ ID string }
			require.NoError(t, json.Unmarshal(doc, &got))
			assert.Equal(t, ids[len(ids)-1], got.ID)
			assert.Equal(t, 2, e.proxy.Count(http.MethodPost, accountsPath), "re-sent after the refusal")
		})
	}
}

package tpv_test

import (
	"context"
	"fmt"
	"github.com/banksdk/banksdk/fake"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/tpv"
	"github.com/banksdk/banksdk/tpv/tpvtest"
)

// secretsSeen collects every credential that went over the wire: auth tokens,
// signatures, the login query and its values.
func secretsSeen(srv *tpvtest.Server) []string {
	out := []string{srv.AppSecret(), srv.AppToken()}
	for _, r := range srv.Requests() {
		out = append(out, r.RawHeader("Authorization")...)
		out = append(out, r.RawHeader("Signature")...)
		if r.Path == "/api/v1/auth" && r.RawQuery != "" {
			out = append(out, r.RawQuery)
			q, err := url.ParseQuery(r.RawQuery)
			if err == nil {
				out = append(out, q["_signature"]...)
			}
		}
	}
	return out
}

func TestSecretsNeverLeak(t *testing.T) {
	var logs fake.LogBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := setup(t, nil, tpv.WithLogger(logger))
	ctx := context.Background()
	var errs []error
	keep := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}

	// Success paths.
	conf, err := e.c.SubmitTPV(ctx, seedSale())
	require.NoError(t, err)
	_, err = e.c.Products(ctx)
	require.NoError(t, err)
	_, err = e.c.SendDigital(ctx, conf.Code)
	require.NoError(t, err)
	_, err = e.c.QueueCall(ctx, conf.Code)
	require.NoError(t, err)
	_, err = tpv.Do[map[string]any](ctx, e.c, "POST", "api/v1/test/api?your=Parameters&here=1", nil)
	require.NoError(t, err)

	// Auth expiry and replay.
	e.srv.ExpireAuthTokens()
	_, err = e.c.Products(ctx)
	require.NoError(t, err)

	// API errors, including a 401 that echoes the credentials it was sent.
	_, err = e.c.SendDigital(ctx, "00000000000")
	require.Error(t, err)
	keep(err)
	e.srv.Inject(2, fake.Status(401, `{"error":"rejected"}`).On("", "/api/v1/products"))
	_, err = e.c.Products(ctx)
	require.Error(t, err)
	keep(err)
	reqs := e.srv.Requests()
	last := reqs[len(reqs)-1]
	echo := fmt.Sprintf(`{"error":"bad token %s with signature %s"}`, last.RawHeader("Authorization")[0], last.RawHeader("Signature")[0])
	e.srv.Inject(1, fake.Status(403, echo).On("", "/api/v1/products"))
	_, err = e.c.Products(ctx)
	require.Error(t, err)
	keep(err)

	// Transport errors: a lost submission, and a login whose URL carries the query.
	e.srv.Inject(1, fake.DropAfter().On("POST", "/api/v1/tpv"))
	_, err = e.c.SubmitTPV(ctx, seedSale())
	require.ErrorIs(t, err, tpv.ErrOutcomeUnknown)
	keep(err)
	e.srv.ExpireAuthTokens()
	e.srv.Inject(3, fake.DropBefore().On("POST", "/api/v1/auth"))
	_, err = e.c.Products(ctx)
	require.ErrorIs(t, err, tpv.ErrLoginFailed)
	keep(err)

	// A login the portal rejects, and one whose 404 page echoes the login URL.
	bad, err := tpv.NewClient(tpv.WithBaseURL(e.srv.URL()), tpv.WithCredentials(e.srv.AppToken(), "wrong"),
		tpv.WithLogger(logger), tpv.WithRetry(0, time.Millisecond, time.Millisecond))
	require.NoError(t, err)
	closeWhenDone(t, bad)
	keep(bad.Login(ctx))
	e.srv.ClearFaults()
	var loginQuery string
	for _, r := range e.srv.Requests() {
		if r.Path == "/api/v1/auth" {
			loginQuery = r.RawQuery
		}
	}
	e.srv.Inject(1, fake.Status(404, "Not found: POST /api/v1/auth?"+loginQuery).On("POST", "/api/v1/auth"))
	keep(bad.Login(ctx))
	require.Len(t, errs, 7)

	secrets := secretsSeen(e.srv)
	require.Greater(t, len(secrets), 20)
	var texts []string
	texts = append(texts, logs.String(), fmt.Sprintf("%v %+v %#v", e.c, e.c, e.c), fmt.Sprintf("%v %+v %#v", *e.c, *e.c, *e.c))
	for _, err := range errs {
		texts = append(texts, err.Error(), fmt.Sprintf("%v %+v", err, err))
	}
	require.Contains(t, logs.String(), `"path":"/api/v1/auth"`, "the logger saw the calls")
	for _, text := range texts {
		for _, s := range secrets {
			if s == "" {
				continue
			}
			if strings.Contains(text, s) {
				t.Errorf("a credential (%d chars, starts %.3q) appears in: %.300s", len(s), s, text)
			}
		}
		assert.NotRegexp(t, `_signature=[0-9a-f]`, text)
	}
}

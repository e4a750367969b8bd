package rest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/fake"
	"github.com/banksdk/banksdk/internal/testkit"
)

// outcomeHarness is a server that counts what it acted on, a breaking proxy in front
// of it and a pipeline pointed at the proxy.
type outcomeHarness struct {
	srv    *fake.Server
	proxy  *fake.Server
	client *Client
	acted  atomic.Int32
}

const querySecret = "QUERY-SECRET-4242"

func setupOutcome(t *testing.T, mutate func(*Config)) *outcomeHarness {
	t.Helper()
	o := &outcomeHarness{}
	o.srv = fake.Start(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.acted.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"method":"`+r.Method+`","path":"`+r.URL.Path+`","body":"stored"}`)
	}))
	t.Cleanup(o.srv.Close)
	var err error
	o.proxy, err = fake.NewBreakingProxy(o.srv.URL())
	require.NoError(t, err)
	t.Cleanup(o.proxy.Close)
	cfg := DefaultConfig("test")
	require.NoError(t, cfg.SetBaseURL(o.proxy.URL()+"/api/v1"))
	require.NoError(t, cfg.SetRetry(3, time.Millisecond, 5*time.Millisecond))
	require.NoError(t, cfg.SetTimeout(5*time.Second))
	require.NoError(t, cfg.SetMaxResponseBytes(1024))
	cfg.DecodeError = decodeAPIError
	cfg.RequestIDHeaders = []string{"X-Request-ID"}
	cfg.Authorizer = AuthorizerFunc(func(_ context.Context, req *http.Request, _ []byte) error {
		req.URL.RawQuery = url.Values{"token": {querySecret}}.Encode()
		return nil
	})
	if mutate != nil {
		mutate(&cfg)
	}
	o.client, err = New(cfg)
	require.NoError(t, err)
	return o
}

// payment is what the harness's POST returns: the pipeline's response and the
// decoded answer.
type payment struct {
	resp *Response
	out  echo
}

// pay sends the POST the outcome tests break: a JSON body, a request id header, and
// the query secret the Authorizer adds.
func (o *outcomeHarness) pay(ctx context.Context) (payment, error) {
	var p payment
	var err error
	p.resp, err = o.client.Do(ctx, &Request{Method: http.MethodPost, Path: "payments",
		Header: http.Header{"X-Request-ID": {"rid-7"}}, Body: map[string]string{"amount": "10.00"}}, &p.out)
	return p, err
}

func (o *outcomeHarness) post(t *testing.T) error {
	t.Helper()
	_, err := o.pay(t.Context())
	return err
}

// checkOutcomeUnknown makes the pipeline's checks of an error whose outcome is unknown:
// it still matches when wrapped, tells the caller what to do, names the call (method,
// URL without query, request id) and prints no secret; an error status is both the
// OutcomeUnknownError's status and the provider's error's.
func checkOutcomeUnknown(t *testing.T, o *outcomeHarness, err error) {
	t.Helper()
	assert.True(t, errors.Is(fmt.Errorf("checkout: %w", err), ErrOutcomeUnknown), "still matches when wrapped")
	assert.Contains(t, err.Error(), "check its state before retrying")
	assert.NotContains(t, fmt.Sprintf("%v %+v %#v", err, err, err), querySecret)
	wantURL := o.proxy.URL() + "/api/v1/payments"
	var te *TransportError
	if errors.As(err, &te) {
		assert.True(t, te.OutcomeUnknown)
		assert.Equal(t, "test", te.Provider)
		assert.Equal(t, http.MethodPost, te.Method)
		assert.Equal(t, wantURL, te.URL)
		assert.Equal(t, "rid-7", te.RequestID)
		assert.Equal(t, 1, te.Attempts, "sent once")
		return
	}
	var oe *OutcomeUnknownError
	require.ErrorAs(t, err, &oe, "an answer that does not say whether the server acted")
	assert.Equal(t, "test", oe.Provider)
	assert.Equal(t, http.MethodPost, oe.Method)
	assert.Equal(t, wantURL, oe.URL)
	assert.Equal(t, "rid-7", oe.RequestID)
	var ae *apiError
	if errors.As(err, &ae) {
		assert.Equal(t, ae.Status, oe.StatusCode, "the provider's error is for the answer's status")
	} else {
		assert.Equal(t, http.StatusCreated, oe.StatusCode, "a success whose body could not be used")
	}
}

// TestPostOutcomeMatrix runs the pipeline through the outcome matrix the provider
// clients are tested on (fake.OutcomeFaults, by testkit.RunOutcomeMatrix), so a fault
// added to the list is tested here too: a breaking proxy lets the server act and then
// breaks the answer, and the POST is sent once and fails with ErrOutcomeUnknown; or the
// proxy refuses it without forwarding (429, 503 with Retry-After), and the POST is sent
// again, with the same body, and succeeds.
func TestPostOutcomeMatrix(t *testing.T) {
	const path = "/api/v1/payments"
	testkit.RunOutcomeMatrix(t, testkit.OutcomeCall[payment]{
		ErrorBody: `{"error":"boom"}`,
		APIStatus: testkit.StatusOf(func(e *apiError) int { return e.Status }),
		Start: func(t *testing.T) testkit.OutcomeRun[payment] {
			o := setupOutcome(t, nil)
			return testkit.OutcomeRun[payment]{
				Proxy:    o.proxy,
				Method:   http.MethodPost,
				Path:     path,
				Call:     o.pay,
				Acted:    func() int { return int(o.acted.Load()) },
				Received: func() int { return o.srv.Count(http.MethodPost, path) },
				Unknown:  func(t *testing.T, err error) { checkOutcomeUnknown(t, o, err) },
				Resent: func(t *testing.T, p payment) {
					assert.Equal(t, 2, p.resp.Attempts, "re-sent once")
					assert.Equal(t, "stored", p.out.Body)
					reqs := o.proxy.Requests()
					require.Len(t, reqs, 2)
					assert.JSONEq(t, `{"amount":"10.00"}`, string(reqs[0].Body))
					assert.Equal(t, string(reqs[0].Body), string(reqs[1].Body), "the same body re-sent")
					assert.Equal(t, "rid-7", reqs[1].Header.Get("X-Request-ID"))
				},
			}
		},
	})
}

// TestPostBrokenAfterTheServerActed covers what the shared matrix does not: the cause
// each broken success names, an oversized success body, and a 503 whose Retry-After
// cannot be read (no proof the server did not act).
func TestPostBrokenAfterTheServerActed(t *testing.T) {
	cases := []struct {
		name   string
		fault  fake.Fault
		status int // the status errors.As must find in the provider's error; 0: none
		check  func(t *testing.T, err error)
	}{
		{"cut 2xx body", fake.CutBody(), 0, func(t *testing.T, err error) {
			var te *TransportError
			require.ErrorAs(t, err, &te, "a body that breaks off is a transport failure")
			assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
		}},
		{"malformed 2xx body", fake.ActThenMalformed(), 0, func(t *testing.T, err error) {
			var oe *OutcomeUnknownError
			require.ErrorAs(t, err, &oe)
			assert.Contains(t, err.Error(), "decoding response")
		}},
		{"oversized 2xx body", fake.ActThenOversized(4096), 0, func(t *testing.T, err error) {
			var oe *OutcomeUnknownError
			require.ErrorAs(t, err, &oe)
			assert.ErrorIs(t, err, ErrResponseTooLarge)
		}},
		{"503 with a malformed Retry-After", fake.ActThen(http.StatusServiceUnavailable, "").WithRetryAfter("soon"), http.StatusServiceUnavailable, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := setupOutcome(t, nil)
			o.proxy.Inject(1, c.fault.On(http.MethodPost, "/api/v1/payments"))

			err := o.post(t)

			require.Error(t, err)
			assert.ErrorIs(t, err, ErrOutcomeUnknown)
			assert.Equal(t, int32(1), o.acted.Load(), "the server acted exactly once")
			assert.Equal(t, 1, o.srv.Count(http.MethodPost, "/api/v1/payments"))
			assert.Equal(t, 1, o.proxy.Count(http.MethodPost, "/api/v1/payments"), "the SDK sent it once")
			checkOutcomeUnknown(t, o, err)
			var ae *apiError
			if c.status != 0 {
				require.ErrorAs(t, err, &ae, "the provider's error for the answer")
				assert.Equal(t, c.status, ae.Status)
			} else {
				assert.False(t, errors.As(err, &ae), "a 2xx is not a provider error: %v", err)
			}
			if c.check != nil {
				c.check(t, err)
			}
		})
	}
}

// TestPostRefusedByTheGatewayIsResent covers the refusals the shared matrix does not:
// a 429 that also names a wait, and a 503 whose Retry-After is a date already past.
// The proxy answers them without forwarding.
func TestPostRefusedByTheGatewayIsResent(t *testing.T) {
	for name, f := range map[string]fake.Fault{
		"429 with Retry-After": fake.Status(http.StatusTooManyRequests, `{"error":"slow down"}`).WithRetryAfter("0"),
		"503 with a past date": fake.Status(http.StatusServiceUnavailable, "").WithRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT"),
	} {
		t.Run(name, func(t *testing.T) {
			o := setupOutcome(t, nil)
			o.proxy.Inject(1, f.On(http.MethodPost, "/api/v1/payments"))

			var out echo
			resp, err := o.client.Do(t.Context(), &Request{Method: http.MethodPost, Path: "payments", Body: []byte(`{"a":1}`)}, &out)

			require.NoError(t, err)
			assert.Equal(t, 2, resp.Attempts, "re-sent once")
			assert.Equal(t, "stored", out.Body)
			assert.Equal(t, int32(1), o.acted.Load(), "the server acted once")
			assert.Equal(t, 2, o.proxy.Count(http.MethodPost, "/api/v1/payments"))
			assert.Equal(t, []string{`{"a":1}`, `{"a":1}`}, []string{string(o.proxy.Requests()[0].Body), string(o.proxy.Requests()[1].Body)})
		})
	}
}

// A Retry-After longer than the maximum wait is returned at once; the server did not
// process the request, so the outcome is known.
func TestPostRetryAfterLongerThanMaxIsNotOutcomeUnknown(t *testing.T) {
	for _, status := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			o := setupOutcome(t, nil)
			o.proxy.Inject(1, fake.Status(status, `{"error":"later"}`).WithRetryAfter("3600"))
			err := o.post(t)
			var ra *RetryAfterError
			require.ErrorAs(t, err, &ra)
			assert.Equal(t, time.Hour, ra.RetryAfter)
			var ae *apiError
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, status, ae.Status)
			assert.NotErrorIs(t, err, ErrOutcomeUnknown)
			assert.Equal(t, int32(0), o.acted.Load())
			assert.Equal(t, 1, o.proxy.Count(http.MethodPost, "/api/v1/payments"))
		})
	}
}

// Statuses that say the server did not act are plain provider errors.
func TestPostRefusalsAreNotOutcomeUnknown(t *testing.T) {
	for _, status := range []int{http.StatusBadRequest, http.StatusConflict, http.StatusNotImplemented, http.StatusHTTPVersionNotSupported} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			o := setupOutcome(t, nil)
			o.proxy.Inject(1, fake.Status(status, `{"error":"no"}`))
			err := o.post(t)
			var ae *apiError
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, status, ae.Status)
			assert.NotErrorIs(t, err, ErrOutcomeUnknown)
			var oe *OutcomeUnknownError
			assert.False(t, errors.As(err, &oe))
			assert.Equal(t, 1, o.proxy.Count(http.MethodPost, "/api/v1/payments"))
		})
	}
}

// A 2xx status is the answer when the caller does not want the body: a body that
// breaks off does not matter.
func TestPostSuccessStatusWithoutDecodingIsSuccess(t *testing.T) {
	o := setupOutcome(t, nil)
	o.proxy.Inject(1, fake.CutBody())
	resp, err := o.client.Do(context.Background(), &Request{Method: http.MethodPost, Path: "payments"}, nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusCreated, resp.StatusCode)
	assert.Equal(t, int32(1), o.acted.Load())
}

func TestGetStillRetriedOnGatewayErrors(t *testing.T) {
	for _, status := range []int{http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			o := setupOutcome(t, nil)
			o.proxy.Inject(1, fake.ActThen(status, ""))
			var out echo
			resp, err := o.client.Do(context.Background(), &Request{Method: http.MethodGet, Path: "payments/1"}, &out)
			require.NoError(t, err)
			assert.Equal(t, 2, resp.Attempts)
			assert.Equal(t, "GET", out.Method)
			assert.Equal(t, int32(2), o.acted.Load())
		})
	}
}

func TestGetFailuresAreNotOutcomeUnknown(t *testing.T) {
	o := setupOutcome(t, nil)
	o.proxy.Inject(1, fake.ActThen(http.StatusInternalServerError, `{"error":"boom"}`))
	_, err := o.client.Do(context.Background(), &Request{Method: http.MethodGet, Path: "payments/1"}, nil)
	var ae *apiError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, http.StatusInternalServerError, ae.Status)
	assert.NotErrorIs(t, err, ErrOutcomeUnknown)
	assert.Equal(t, int32(1), o.acted.Load(), "a GET is not retried on 500")

	o.proxy.Inject(1, fake.ActThenMalformed())
	var out echo
	_, err = o.client.Do(context.Background(), &Request{Method: http.MethodGet, Path: "payments/1"}, &out)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "decoding response")
	assert.NotErrorIs(t, err, ErrOutcomeUnknown)
}

// Request.Idempotent moves a call from one rule to the other.
func TestIdempotentOverrideAppliesToStatuses(t *testing.T) {
	o := setupOutcome(t, nil)
	o.proxy.Inject(1, fake.ActThen(http.StatusBadGateway, ""))
	resp, err := o.client.Do(context.Background(), &Request{Method: http.MethodPost, Path: "payments", Idempotent: Idempotent(true)}, nil)
	require.NoError(t, err)
	assert.Equal(t, 2, resp.Attempts, "a POST the API makes safe to repeat is retried on 502")
	assert.Equal(t, int32(2), o.acted.Load())

	o.proxy.Inject(1, fake.ActThen(http.StatusBadGateway, ""))
	_, err = o.client.Do(context.Background(), &Request{Method: http.MethodGet, Path: "notify", Idempotent: Idempotent(false)}, nil)
	assert.ErrorIs(t, err, ErrOutcomeUnknown, "a GET that changes state follows the POST rule")
	assert.Equal(t, int32(3), o.acted.Load())

	o.proxy.Inject(1, fake.ActThenMalformed())
	var out echo
	_, err = o.client.Do(context.Background(), &Request{Method: http.MethodGet, Path: "notify", Idempotent: Idempotent(false)}, &out)
	assert.ErrorIs(t, err, ErrOutcomeUnknown)
	assert.Equal(t, int32(4), o.acted.Load())
}

func TestUndecodableSuccess(t *testing.T) {
	cause := errors.New("no confirmation code in the answer")
	assert.Nil(t, UndecodableSuccess(&Response{NonIdempotent: true}, nil))
	assert.Same(t, cause, UndecodableSuccess(nil, cause))
	assert.Same(t, cause, UndecodableSuccess(&Response{StatusCode: 200}, cause), "an idempotent call keeps its error")

	o := setupOutcome(t, nil)
	var raw []byte
	resp, err := o.client.Do(context.Background(), &Request{Method: http.MethodPost, Path: "payments",
		Header: http.Header{"X-Request-ID": {"rid-9"}}}, &raw)
	require.NoError(t, err)
	assert.True(t, resp.NonIdempotent)
	err = UndecodableSuccess(resp, cause)
	assert.ErrorIs(t, err, ErrOutcomeUnknown)
	assert.ErrorIs(t, err, cause)
	var oe *OutcomeUnknownError
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, &OutcomeUnknownError{Provider: "test", Method: "POST", URL: o.proxy.URL() + "/api/v1/payments",
		RequestID: "rid-9", StatusCode: http.StatusCreated, Err: cause}, oe)
	assert.NotContains(t, err.Error(), querySecret)

	resp, err = o.client.Do(context.Background(), &Request{Method: http.MethodGet, Path: "payments"}, &raw)
	require.NoError(t, err)
	assert.False(t, resp.NonIdempotent)
	assert.Same(t, cause, UndecodableSuccess(resp, cause))
}

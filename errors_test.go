package banksdk_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/banksdk/banksdk"
	"github.com/stretchr/testify/assert"
)

func TestTransportErrorMatchesOutcomeUnknownOnlyWhenSet(t *testing.T) {
	unknown := &banksdk.TransportError{Provider: "tpv", Method: "POST", URL: "https://portal.example/api/v1/tpv",
		RequestID: "rid-1", Attempts: 1, OutcomeUnknown: true, Err: context.DeadlineExceeded}
	assert.ErrorIs(t, unknown, banksdk.ErrOutcomeUnknown)
	assert.ErrorIs(t, unknown, context.DeadlineExceeded)
	assert.Equal(t, "tpv: POST https://portal.example/api/v1/tpv (request id rid-1): "+banksdk.ErrOutcomeUnknown.Error()+": context deadline exceeded", unknown.Error())

	known := &banksdk.TransportError{Method: "GET", URL: "https://x/y", Attempts: 4, Err: errors.New("connection refused")}
	assert.NotErrorIs(t, known, banksdk.ErrOutcomeUnknown)
	assert.Equal(t, "GET https://x/y after 4 attempts: connection refused", known.Error())
	wrapped := fmt.Errorf("checkout: %w", unknown)
	var te *banksdk.TransportError
	assert.ErrorAs(t, wrapped, &te)
}

func TestOutcomeUnknownErrorMatchesAndUnwraps(t *testing.T) {
	api := &banksdk.HTTPError{StatusCode: 502, Raw: []byte("bad gateway")}
	err := fmt.Errorf("pay: %w", &banksdk.OutcomeUnknownError{Provider: "kh", Method: "POST",
		URL: "https://bank.example/v1/payments/sepa", RequestID: "rid-1", StatusCode: 502, Err: api})
	assert.ErrorIs(t, err, banksdk.ErrOutcomeUnknown)
	var he *banksdk.HTTPError
	assert.ErrorAs(t, err, &he)
	assert.Same(t, api, he)
	var te *banksdk.TransportError
	assert.False(t, errors.As(err, &te), "an answer arrived: not a transport error")
	assert.Equal(t, "pay: kh: POST https://bank.example/v1/payments/sepa (request id rid-1): answered 502 Bad Gateway: "+
		banksdk.ErrOutcomeUnknown.Error()+": unexpected HTTP status 502 Bad Gateway", err.Error())

	decode := &banksdk.OutcomeUnknownError{Method: "POST", URL: "https://x/y", StatusCode: 201, Err: banksdk.ErrResponseTooLarge}
	assert.ErrorIs(t, decode, banksdk.ErrResponseTooLarge)
	assert.ErrorIs(t, decode, banksdk.ErrOutcomeUnknown)
	assert.Equal(t, "POST https://x/y: answered 201 Created: "+banksdk.ErrOutcomeUnknown.Error()+": "+banksdk.ErrResponseTooLarge.Error(), decode.Error())
	assert.NotErrorIs(t, &banksdk.RetryAfterError{RetryAfter: time.Hour}, banksdk.ErrOutcomeUnknown)
}

func TestRetryAfterErrorCarriesTheWait(t *testing.T) {
	api := errors.New("429 slow down")
	err := fmt.Errorf("x: %w", &banksdk.RetryAfterError{RetryAfter: time.Hour, MaxWait: 10 * time.Second, Err: api})
	var ra *banksdk.RetryAfterError
	assert.ErrorAs(t, err, &ra)
	assert.Equal(t, time.Hour, ra.RetryAfter)
	assert.ErrorIs(t, err, api)
	assert.Contains(t, err.Error(), "1h0m0s")
	assert.Equal(t, "unexpected HTTP status 502 Bad Gateway", (&banksdk.HTTPError{StatusCode: 502}).Error())
}

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

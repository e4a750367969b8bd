package tkey7_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/internal/testkit"
	"github.com/banksdk/banksdk/tkey7"
	"github.com/banksdk/banksdk/tkey7/tkey7test"
)

// The outcome model for the generic object calls, against the fake TKEY7 with a proxy
// in front of it that lets TKEY7 act and then breaks the answer (fake.OutcomeFaults).

const accountsPath = tkey7test.BasePath + "/digital-accounts"

// outcomeErrorBody is the 500 answer: TKEY7's documented error document.
const outcomeErrorBody = `{"build_version":"1.0","code":"INTERNAL_ERROR","endpoint_url":"https://us.bankname.payments.tkey7.com/client/v1/api/digital-accounts",` +
	`"long_message":"The object could not be created.","member_identification":"bankName","service_name":"accounts",` +
	`"short_message":"Internal error","timestamp":1651224866578,"troubleshooting_id":"ts-outcome"}`

func TestCreateOutcome(t *testing.T) {
	testkit.RunOutcomeMatrix(t, testkit.OutcomeCall[json.RawMessage]{
		ErrorBody: outcomeErrorBody,
		APIStatus: testkit.StatusOf(func(e *tkey7.APIError) int { return e.StatusCode }),
		Start: func(t *testing.T) testkit.OutcomeRun[json.RawMessage] {
			srv := tkey7test.NewServer()
			t.Cleanup(srv.Close)
			proxy := testkit.BreakingProxy(t, srv.Origin())
			issuedAt := time.Now()
			token := srv.IssueToken(tkey7test.IssuedAt(issuedAt))
			client, err := tkey7.NewClient(
				tkey7.WithBaseURL(proxy.URL()+tkey7test.BasePath),
				tkey7.WithAccessToken(token, issuedAt),
				tkey7.WithRetry(3, time.Millisecond, 5*time.Millisecond),
			)
			require.NoError(t, err)
			t.Cleanup(func() { assert.NoError(t, client.Close()) })
			return testkit.OutcomeRun[json.RawMessage]{
				Proxy: proxy, Method: http.MethodPost, Path: accountsPath,
				Call: func(ctx context.Context) (json.RawMessage, error) {
					return tkey7.Do[json.RawMessage](ctx, client, http.MethodPost, "digital-accounts",
						map[string]string{"name": "Main account"})
				},
				Acted:    func() int { return len(srv.DigitalAccountIDs()) },
				Received: func() int { return srv.Count(http.MethodPost, "digital-accounts") },
				Unknown: func(t *testing.T, err error) {
					assert.NotContains(t, err.Error(), token)
					assert.NotErrorIs(t, err, tkey7.ErrTokenRevoked, "the token is not in question")
					var apiErr *tkey7.APIError
					if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusInternalServerError {
						// The 500 carried the documented error: its fields reach the caller.
						assert.Equal(t, "INTERNAL_ERROR", apiErr.Code)
						assert.Equal(t, "Internal error", apiErr.ShortMessage)
						assert.Equal(t, "ts-outcome", apiErr.TroubleshootingID)
						assert.Equal(t, int64(1651224866578), apiErr.Timestamp)
						assert.Contains(t, err.Error(), "troubleshooting id ts-outcome")
					}
				},
				Resent: func(t *testing.T, doc json.RawMessage) {
					ids := srv.DigitalAccountIDs()
					require.NotEmpty(t, ids)
					var got struct{ ID string }
					require.NoError(t, json.Unmarshal(doc, &got))
					assert.Equal(t, ids[len(ids)-1], got.ID, "the answer names the object TKEY7 created")
				},
			}
		},
	})
}

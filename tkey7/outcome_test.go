package tkey7_test

import (
	"context"
	"encoding/json"
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

func TestCreateOutcome(t *testing.T) {
	testkit.RunOutcomeMatrix(t, testkit.OutcomeCall[json.RawMessage]{
		ErrorBody: `{"shortMessage":"Internal error","code":"INTERNAL_ERROR"}`,
		APIStatus: testkit.StatusOf(func(e *tkey7.APIError) int { return e.StatusCode }),
		Start: func(t *testing.T) testkit.OutcomeRun[json.RawMessage] {
			srv := tkey7test.NewServer()
			t.Cleanup(srv.Close)
			proxy := testkit.BreakingProxy(t, srv.Origin())
			issuedAt := time.Now()
			client, err := tkey7.NewClient(
				tkey7.WithBaseURL(proxy.URL()+tkey7test.BasePath),
				tkey7.WithAccessToken(srv.IssueToken(tkey7test.IssuedAt(issuedAt)), issuedAt),
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

package fake

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Each case of the outcome matrix does what it says through a proxy: the broken
// answers reach the server and then break, the refusals never reach it.
func TestOutcomeFaultsThroughAProxy(t *testing.T) {
	const errorBody = `{"error":"internal"}`
	faults := OutcomeFaults(errorBody)
	names := make([]string, 0, len(faults))
	for _, f := range faults {
		names = append(names, f.Name)
	}
	assert.Equal(t, []string{"cut 2xx body", "malformed 2xx body", "500", "502", "503 without Retry-After", "504",
		"429", "503 with Retry-After"}, names)

	for _, f := range faults {
		t.Run(f.Name, func(t *testing.T) {
			b := startBackend(t)
			p := startProxy(t, b.URL())
			p.Inject(1, f.Fault.On(http.MethodPost, "/payments"))

			resp, body, err := post(t, http.DefaultClient, p.URL()+"/payments")

			assert.Equal(t, 1, p.Count(http.MethodPost, "/payments"))
			if f.Refused {
				require.NoError(t, err)
				assert.Zero(t, b.acted.Load(), "refused without forwarding")
				assert.Zero(t, f.StatusCode)
				assert.Contains(t, []int{http.StatusTooManyRequests, http.StatusServiceUnavailable}, resp.StatusCode)
				if resp.StatusCode == http.StatusServiceUnavailable {
					assert.Equal(t, "0", resp.Header.Get("Retry-After"))
				}
				return
			}
			assert.Equal(t, int32(1), b.acted.Load(), "the server acted")
			if f.StatusCode != 0 {
				require.NoError(t, err)
				assert.Equal(t, f.StatusCode, resp.StatusCode)
				assert.Empty(t, resp.Header.Get("Retry-After"))
				if f.StatusCode == http.StatusInternalServerError {
					assert.Equal(t, errorBody, string(body))
				}
				return
			}
			// A 2xx whose body cannot be used: cut off while read, or not JSON.
			if err == nil {
				assert.Equal(t, http.StatusCreated, resp.StatusCode)
				assert.False(t, json.Valid(body), "the body is not JSON: %s", body)
			}
		})
	}
}

package fake

import "net/http"

// OutcomeFault is one case of the outcome matrix: an answer a gateway in front of
// the server may give to a request that changes state, and what a client of the SDK
// makes of it.
type OutcomeFault struct {
	// Name names the case, e.g. "504" or "503 with Retry-After".
	Name string
	// Fault breaks the answer; inject it on a NewBreakingProxy, narrowed with On to
	// the request under test.
	Fault Fault
	// Refused is set for the answers that prove the server did not act (429, and 503
	// with Retry-After): the proxy gives them without forwarding the request, and the
	// client sends the request again. Otherwise the server acted and its answer was
	// broken: the client sends nothing again and returns an error matching
	// banksdk.ErrOutcomeUnknown.
	Refused bool
	// StatusCode is, for a broken answer, the status of the provider's *APIError the
	// error unwraps to; 0 for a 2xx whose body could not be used, which is no
	// *APIError, and for a refusal.
	StatusCode int
}

// OutcomeFaults returns the outcome matrix the SDK documents (see
// banksdk.ErrOutcomeUnknown), in this order: the server acts and then the answer is a
// cut 2xx body, a malformed 2xx body, 500 (with errorBody, e.g. the provider's error
// document), 502, 503 without Retry-After or 504; or the proxy refuses the request
// with 429 or 503 with Retry-After (0 seconds) without forwarding it.
//
// A test of a provider client puts a NewBreakingProxy in front of the provider's fake
// and, for each case, injects the fault on the call's method and path, makes the
// call, and checks what the server did and what the client returned:
//
//	for _, f := range fake.OutcomeFaults("") {
//		proxy.Inject(1, f.Fault.On(http.MethodPost, "/api/v1/tpv"))
//		_, err := client.SubmitTPV(ctx, sale)
//		// f.Refused: err == nil, the proxy counted 2 requests, the portal acted once.
//		// Otherwise: errors.Is(err, tpv.ErrOutcomeUnknown), sent once, acted once.
//	}
func OutcomeFaults(errorBody string) []OutcomeFault {
	return []OutcomeFault{
		{Name: "cut 2xx body", Fault: CutBody()},
		{Name: "malformed 2xx body", Fault: ActThenMalformed()},
		{Name: "500", Fault: ActThen(http.StatusInternalServerError, errorBody), StatusCode: http.StatusInternalServerError},
		{Name: "502", Fault: ActThen(http.StatusBadGateway, "<html>bad gateway</html>"), StatusCode: http.StatusBadGateway},
		{Name: "503 without Retry-After", Fault: ActThen(http.StatusServiceUnavailable, ""), StatusCode: http.StatusServiceUnavailable},
		{Name: "504", Fault: ActThen(http.StatusGatewayTimeout, ""), StatusCode: http.StatusGatewayTimeout},
		{Name: "429", Fault: Status(http.StatusTooManyRequests, ""), Refused: true},
		{Name: "503 with Retry-After", Fault: Status(http.StatusServiceUnavailable, "").WithRetryAfter("0"), Refused: true},
	}
}

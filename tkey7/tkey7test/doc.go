// Package tkey7test is a fake TKEY7 API server for tests, in the spirit of
// net/http/httptest.
//
// It behaves as the TKEY7 documentation says and enforces it, so that a client that
// misreads the contract fails against it:
//
//   - Tokens are issued like the Web Office issues them ([Server.IssueToken]), optionally
//     restricted to endpoints, digital accounts, IP addresses or a Viewer role
//     (a request outside the restriction gets 403).
//   - Every request needs exactly one "Authorization: Bearer <OAuth-token>" header.
//   - A token that is not refreshed (POST <base>/oauth-token/refresh) within its window
//     (default 15 minutes, [WithRevokeAfter]) is revoked for good, and every session ends
//     at its cap (default 24 hours from issuance, [WithSessionLength]); both answer 401
//     afterwards, and only a newly issued token helps.
//   - With [WithRotation] a refresh returns a new token and retires the old one at once;
//     a request that still carries a retired token gets 401 and is counted
//     ([Server.RetiredTokenUses]).
//   - Errors have the documented JSON shape with all nine fields (build_version, code,
//     endpoint_url, long_message, member_identification, service_name, short_message,
//     timestamp, troubleshooting_id) for 400, 401, 403, 404, 406, 409 and 500.
//   - GET <base>/digital-accounts lists the digital accounts the token may see,
//     GET/DELETE <base>/digital-accounts/{id} read or delete one, and
//     POST <base>/digital-accounts creates one.
//
// The TKEY7 documentation does not describe the refresh call's request or answer, nor
// the digital-account schema. The fake's choices, which a client should not depend on
// beyond what the documentation says, are:
//
//   - the refresh answer is {"access_token": "...", "token_type": "Bearer",
//     "expires_in": <seconds until the token is revoked unless refreshed again>}; the
//     name of the token field is configurable ([WithRefreshTokenField]), and an empty
//     name answers {} (the token stays the same and its window restarts);
//   - tokens are JWTs (HS256, signed with a key only the fake knows) whose exp claim is
//     the session cap, with fractional seconds so that millisecond sessions in tests are
//     exact; [WithOpaqueTokens] issues opaque strings instead;
//   - a digital account is any JSON object with a string "id"; the defaults are a few
//     made-up accounts, replaced by [WithDigitalAccount].
//
// All durations are options, so tests can run the 15-minute and 24-hour rules in
// milliseconds. Better still, [WithClock] (with a [Clock]) puts them on a clock the test
// moves: a test crosses a revoke window or the session cap with [Clock.Advance], and
// its outcome does not depend on how fast a loaded machine runs. [OnRefresh] reports
// every refresh call the server answered, so a test waits for refreshes as events
// instead of sleeping. Faults (5xx answers, dropped connections, delays) are injected
// with [Server.Inject] and [Server.InjectError]; [WithTokenEcho] makes error answers
// quote the request's token, to test that a client keeps it out of its errors.
//
// A Server is a tkey7.TimeRules (RevokeAfter, SessionLength): set the rules once on
// the fake and give them to the client with tkey7.WithTimeRules(srv). The client
// takes URL as its base URL; Origin is the server's root without BasePath (for a
// proxy in front of the fake).
//
// Usage:
//
//	srv := tkey7test.NewServer(tkey7test.WithRevokeAfter(50 * time.Millisecond))
//	defer srv.Close()
//	token := srv.IssueToken()
//	req, _ := http.NewRequest("GET", srv.URL()+"/digital-accounts", nil)
//	req.Header.Set("Authorization", "Bearer "+token)
package tkey7test

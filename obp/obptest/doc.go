// Package obptest runs a fake Open Bank Project (OBP) instance for tests, in the
// manner of net/http/httptest. It needs no OBP account and no network beyond
// loopback.
//
// The fake enforces what OBP enforces, so that a client that gets the protocol wrong
// fails against it:
//
//   - DAuth: a header named exactly "DAuth" as it arrives on the wire (OBP matches the
//     name case-sensitively, so Go's canonical "Dauth" is not recognised and the call
//     is anonymous), one value, an RS256 JWT signed with the configured key (generated
//     by the fake, or given with WithDAuthPublicKey), the claims smart_contract_address,
//     network_name and consumer_key, and a caller address on the allow-list (loopback by
//     default). The user (smart_contract_address, "dauth."+network_name) is fetched or
//     created. By default the fake also requires a fresh RFC 3339 timestamp and a
//     request_id it has not seen before; WithLenientDAuth turns that off.
//   - DirectLogin: POST /my/logins/direct with a DirectLogin header (or Authorization:
//     DirectLogin ...) carrying username, password and consumer_key, split on commas as
//     OBP does; 201 {"token": ...}; then DirectLogin: token=... on every call. Expired or
//     unknown tokens fail with OBP-20003 (see ExpireDirectLoginTokens).
//   - Bearer tokens and Consent-JWT headers registered with AddBearerToken and
//     AddConsent.
//   - Duplicate header names are rejected with OBP-09017; every answer carries a
//     Correlation-Id header; errors are {"code": status, "message": "OBP-NNNNN: ..."}
//     (or the legacy {"error": ...} with WithLegacyErrors).
//   - GET /obp/<version>/users/current and /users/current/user_id; the v4.0.0 account
//     access calls (grant, revoke, user-account-access, PUT account-access) and
//     POST /user-entitlements, with OBP's permission checks (can_grant_access_to_views,
//     can_grant_access_to_custom_views and their revoke counterparts), 201 answers and
//     error codes. POST and PUT bodies must be sent as application/json.
//
// WithEchoCredentials makes every error message repeat the credentials the request
// carried, to test that a client keeps them out of its errors. A Server prints
// without its private key and password.
//
// A new server holds bank DefaultBankID with account DefaultAccountID, whose owner view
// belongs to the DirectLogin user DefaultUsername (password Password(), consumer key
// ConsumerKey()). Inject passes faults (Status, DropBefore, DropAfter, Delay, Malformed,
// Oversized) to the next requests; Requests shows what arrived, header names as sent.
//
// Where OBP's documentation and code disagree the fake follows the documentation's
// error list: a revoke without permission answers OBP-20048. Errors that the fake's
// model cannot produce (OBP-30063, OBP-50000) can be injected with Status and
// ErrorBody.
package obptest

// Package saltedgetest is a fake Salt Edge PSD2 Compliance (Priora) service for
// testing a bank's connector, in the spirit of net/http/httptest.
//
// Salt Edge and a connector call each other, so the fake plays both halves:
//
//   - It drives the connector under test. Server.Connector(url) returns a driver whose
//     methods (CreateToken, ConfirmToken, Accounts, TransactionsFor, KYCFor, ...) send
//     the seed's requests to url+"/api/priora/v1/...": every payload travels in the
//     data claim of "Authorization: Bearer <JWT>", RS256-signed with the fake's own
//     key (Server.PublicKey, the key a connector verifies with), with exp = now+TTL
//     and iss = "priora.saltedge.com". Original requests carry a client_jwt signed by
//     the TPP client application's key, which clients/info publishes.
//     RotateSigningKey switches the fake to a new key (and WithSigningKeyID or
//     RotateSigningKey names a kid), as Salt Edge does when it rotates its key, to
//     test a connector's HandlerConfig.KeySet.
//
//   - It serves the callbacks the connector sends back under
//     URL()+"/api/connectors/v1/": sessions/{update,success,fail},
//     payments/{update,success,fail}, funds_availability/{success,fail},
//     tokens/index, tokens/revoke and clients/info. Each callback must carry the
//     App-Id and App-Secret pair (AppID, AppSecret) and a Bearer JWT RS256-signed with
//     the provider key registered with the fake (WithProviderKey or
//     WithProviderPublicKey; by default the fake generates one and hands it out with
//     PrivateKey), with an exp in the future and a data object. Callbacks are
//     recorded (Callbacks, CallbackCount, WaitCallbacks) with their decoded data and
//     exp.
//
// Sessions: sending a request whose data has a session_secret opens that session;
// session callbacks for unknown sessions answer 404 SessionNotFound, for closed ones
// 400 SessionClosed, after WithSessionTTL 401 SessionExpired. WaitSession blocks until
// a success or fail callback closes a session. A sessions/success carrying "token"
// records an access token, listed by tokens/index (filters kind, from_id, from_date,
// per_page, customer_id; meta.next_id pages) and revocable with DELETE tokens/revoke
// and a Token header.
//
// Errors are answered as {"error_class": ..., "error_message": ...} with the seed's
// statuses. Faults (status, dropped connections, delays, malformed bodies) are
// injected with Inject, using the constructors of the internal fake kit.
//
// Where the seed is silent the fake chooses, and says so: a wrong App-Id or App-Secret
// answers 404 ProviderNotFound, a JWT that fails verification 401
// AuthorizationMissing (with the reason in error_message), clients/info for an
// unknown client 404 ClientNotFound, and tokens/index lists tokens as {"id", "token",
// "status", "customer_id", "created_at", "expires_at"}.
package saltedgetest

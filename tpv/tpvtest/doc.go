// Package tpvtest is a fake TPV clients portal for tests, examples and local
// development: an httptest server that behaves as the TPV API documentation says, so
// that an integration can be exercised without a portal account.
//
// The fake issues application credentials (AppToken, AppSecret) and enforces the
// documented contract, so that a client that misreads it fails:
//
//   - POST /api/v1/auth?token=..&timestamp=..&_signature=.. logs in. The signature
//     must be the lowercase hex HMAC-SHA256 of "token=<app token>&timestamp=<unix
//     seconds>" keyed by the application secret (compared in constant time), and the
//     timestamp may be at most five minutes (WithMaxSkew) away from the server's
//     clock. The answer is {"auth_token": "..."}; the auth token expires after 30
//     minutes (WithTokenTTL) or at once with ExpireAuthTokens. The portal keeps one
//     auth token per application credential, so a login invalidates the tokens issued
//     before it (WithConcurrentAuthTokens keeps them valid).
//   - Every other endpoint wants the auth token in the Authorization header, without
//     a "Bearer" prefix, and a Signature header. A missing, unknown, replaced or
//     expired token gets 400 in the documentation's style ({"error": "invalid auth
//     token."}, "auth token is invalid: a newer login with the same application
//     token replaced it.", "auth token expired."), as does a prefixed or repeated
//     Authorization header; RejectedAuthTokens counts the refused tokens. A missing
//     or wrong signature gets 403. The documentation
//     does not say what is signed; the fake expects the lowercase hex HMAC-SHA256,
//     keyed by the application secret, of the raw query string, or of the raw body
//     when there is no query. WithSignatureFunc replaces that rule and
//     WithoutSignatureCheck turns it off.
//   - POST /api/v1/tpv validates the submission (answering 400 {"error": "..."} in the
//     documentation's wording, e.g. "channel must be defined as one of dtd, tm, or
//     retail."), stores it (Submissions) and answers {"success": "<code>"} with an
//     11-digit, zero-padded confirmation code.
//   - /api/v1/products, /api/v1/digital/send/{code} and /api/v1/queue/call/{code}
//     answer {"success": ...}; an unknown confirmation code gets 400. The
//     documentation's headings say GET while its examples use POST; the fake accepts
//     POST unless WithEndpointMethod says otherwise, and answers 405 (with Allow) to
//     any other method.
//   - /api/v1/test/api, the documentation's "testing auth" endpoint, answers
//     {"success": "authenticated"} to any method once auth and signature pass.
//
// Every request is recorded (Requests, Count) and faults can be injected in front of
// the handler (Inject with Status, DropBefore, DropAfter, Delay, Malformed,
// Oversized), for example to lose the answer to a submission the fake has stored.
package tpvtest

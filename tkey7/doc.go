// Package tkey7 is a client for the TKEY7 API: digital accounts and the objects the
// API creates, reads and deletes, over REST with JSON answers.
//
// # Authentication and the token keep-alive
//
// Every request carries "Authorization: Bearer <OAuth-token>". The token is created by
// a User-Member with Administrator Access Rights in the Web Office ("Access Token
// Management"), for a user with Viewer or Manager rights, and may be restricted to a
// member, digital accounts, IP addresses and endpoints. Two rules govern its life:
//
//   - it is revoked unless it is refreshed (oauth-token/refresh) every fifteen
//     minutes or sooner;
//   - its session ends after 24 hours, whatever the refreshes.
//
// After either, only an administrator can help, by creating a new token in the Web
// Office (see Credentials for how a running client takes it). A client that refreshed only when the application happens to make a call
// would lose its token in any quiet quarter hour, so a Client refreshes in the
// background from NewClient until Close, every 10 minutes by default
// (WithRefreshInterval), whether or not the application makes calls. A failed refresh
// (5xx, dropped connection, timeout) is retried with backoff, always before the revoke
// deadline. OnSessionExpiring is called some time before the session cap
// (WithSessionWarning, default 30 minutes) so the application can ask for a new token
// in time.
//
// When the refresh answer carries a new token, later requests use it, and no request
// carrying the old token is in flight when the refresh happens: each request holds
// the token until its answer arrives, and a refresh waits for those requests and holds
// new ones back. A server that retires the old token the moment it issues the new one
// therefore never sees the old one again. (A refresh thus waits for the requests in
// flight, each bounded by WithTimeout; keep that well below the revoke window.) A
// refresh call is not abandoned when it is slow: with rotation, giving up on an
// answer TKEY7 may already have sent would lose the new token; it runs until the
// revoke deadline or Close.
//
// A 401 answer for a token the client believes live is confirmed before the session
// is given up: one stray 401 (a proxy's glitch, say) must not end it. The client
// refreshes the token once. If TKEY7 accepts the refresh, the token was live: the
// request is sent once more with the refreshed token (a 401 means TKEY7 did not
// process the request, so this is safe for a POST too), and the keep-alive goes on. If
// TKEY7 refuses the refresh too, the token was revoked, its session ended or it was
// never valid. With WithAccessTokenSource, the client then asks the source for a new
// token and, if it has one, sends the request once more with it. Otherwise the error
// wraps the *APIError (the first 401's) and matches ErrTokenRevoked (or
// ErrSessionExpired after the cap), its message says a new token must be created in
// the Web Office, the keep-alive stops, and later calls fail at once without reaching
// TKEY7. A request is never sent more than twice for this: a 401 to the second sending
// is returned as is, and so is the first 401 when the confirming refresh fails in
// another way (5xx, no answer, the shared store unreachable: then the error wraps the
// *auth.StoreError); neither ends the token's life, and neither matches
// ErrTokenRevoked. With WithStore, a 401 for a token another replica has already
// replaced adopts the replacement instead of refreshing.
//
// # Credentials
//
// The one credential is the access token an administrator created in the Web Office:
//
//   - WithAccessToken(token, issuedAt): the token in memory, and when it was created.
//   - WithAccessTokenSource(auth.Source): the token from a source of the application's
//     own (a secret manager, say). NewClient reads the first token from it, unless
//     WithAccessToken gives that one. When the token's life ends (TKEY7 refused it,
//     its session cap passed, the keep-alive could not refresh it in time), the client
//     asks the source again: a token other than the dead one starts a new session,
//     counted from then, and the client goes on without a restart. While the source
//     has nothing new, calls fail as they would without it, each asking it once.
//
// The keep-alive then owns the token's refreshes (WithRefreshInterval,
// WithRefreshEndpoint), shared with other replicas through WithStore. Give every
// replica the same source: a replica that found the dead token first publishes the
// new one through the store, and the others adopt it, each still counting its session
// cap from the token it started with.
//
// # Assumptions where the documentation is silent
//
//   - The refresh call: the documentation names the endpoint only. The client sends
//     POST <base URL>/oauth-token/refresh with the current token as bearer and no body
//     (WithRefreshEndpoint changes method and path). It reads the new token from
//     "access_token", "token" or "accessToken" in the JSON answer; an answer without
//     a token (or an empty body) means the current token was refreshed in place. If
//     the new token is a JWT, its exp claim (read without verifying the JWT, and used
//     for nothing but scheduling the next refresh) can bring the next refresh
//     forward.
//   - If the server rotates the token and the refresh answer is lost (the connection
//     drops after TKEY7 processed the refresh), the new token is unknown to the client
//     and the old one is retired: the next call gets 401. Nothing in the documented
//     API can recover the token; an administrator must create a new one.
//   - Digital accounts: GET digital-accounts is documented, its schema is not.
//     DigitalAccounts.List returns each document as raw JSON; Get reads
//     GET digital-accounts/{id}, the REST convention for one object. Do covers every
//     other object call (POST to create, GET to read, DELETE to delete).
//   - The session cap is counted from the issuance time given to WithAccessToken
//     (default: when NewClient runs), and for a token from the access token source
//     from when the client took it. Give the real time the token was created in the
//     Web Office if it is not fresh.
//
// # Errors
//
// For 400, 401, 403, 404, 406, 409 and 500 TKEY7 answers a JSON body with nine fields;
// they are all in *APIError (Timestamp is milliseconds since the epoch; Time converts
// it), with the HTTP status and the raw body. Any other answer, or a body that is not
// JSON, still gives an *APIError with the status. The outcome model concerns the
// calls that change state (Do with POST, PUT or PATCH, such as creating an object):
// once one may have reached TKEY7 it is not sent again, and a lost or unreadable
// answer, a 5xx other than 501 and 505, or a 503 without Retry-After gives an error
// matching ErrOutcomeUnknown (and the *APIError, when a status came back).
//
// Tokens never appear in log lines or error messages: if TKEY7 (or a proxy) quotes the
// client's current or previous token back in an error answer (as is, JSON- or
// URL-escaped, or a JWT's signature alone), it is replaced by [REDACTED] in every field
// of the *APIError and in its Raw body, and so is anything shaped like a JWT.
//
// # Usage
//
//	client, err := tkey7.NewClient(
//		tkey7.WithBaseURL("https://us.bankname.payments.tkey7.com/client/v1/api"),
//		// an auth.Source reading the secret manager; or WithAccessToken(token, issuedAt)
//		tkey7.WithAccessTokenSource(webOfficeToken),
//		tkey7.OnSessionExpiring(func(left time.Duration) {
//			log.Printf("TKEY7 session ends in %v: ask an administrator for a new token", left)
//		}),
//	)
//	if err != nil {
//		return err
//	}
//	defer client.Close()
//
//	list, err := client.DigitalAccounts.List(ctx)
//	var apiErr *tkey7.APIError
//	switch {
//	case errors.Is(err, tkey7.ErrTokenRevoked), errors.Is(err, tkey7.ErrSessionExpired):
//		// an administrator must create a new token in the Web Office
//	case errors.As(err, &apiErr):
//		log.Printf("TKEY7 error %s (troubleshooting id %s)", apiErr.Code, apiErr.TroubleshootingID)
//	}
//
// Package tkey7test provides a fake TKEY7 server for tests.
package tkey7

// Package saltedge is a connector kit for Salt Edge PSD2 Compliance ("Priora"), API
// v1: what a bank (ASPSP) needs to expose its accounts to third-party providers
// through Salt Edge, with only its business logic left to write.
//
// Salt Edge and the bank call each other:
//
//   - Salt Edge -> bank. NewHandler returns an http.Handler serving the connector API
//     under /api/priora/v1/: tokens/create, confirm, reconnect, revoke and cancel;
//     accounts (GET fetch, PUT refresh) and accounts/confirm; transactions; kyc;
//     errors; payments/create, confirm, cancel, show and check_funds. It verifies
//     each request and calls the Connector interface the bank implements, with a
//     typed request (CreateTokenRequest, TransactionsRequest, ...). Embed
//     UnimplementedConnector and override what the bank supports.
//   - Bank -> Salt Edge. Client sends the callbacks that carry the outcome of the
//     asynchronous flows (Sessions.Update/Success/Fail, Payments.Update/Success/Fail,
//     FundsAvailability.Success/Fail), lists and revokes tokens (Tokens.Index, All,
//     Revoke) and reads TPP applications (Clients.Info).
//
// # Authentication
//
// Every request of Salt Edge carries "Authorization: Bearer <JWT>", RS256-signed with
// Salt Edge's private key (verified with HandlerConfig.PublicKey, or with
// HandlerConfig.KeySet across a key rotation); its payload is the JWT's data claim
// (GET requests included; a request body is ignored). The handler pins RS256 (alg "none", HS256
// signed with the public key's bytes and every other algorithm are refused before
// the key is used), requires exp (with a small leeway, HandlerConfig.Leeway) no
// further ahead than HandlerConfig.MaxLifetime (default DefaultMaxLifetime, 5 min;
// Salt Edge signs with exp = now + 60 s), refuses an iat in the future, checks iss
// when HandlerConfig.Issuer is set (Salt Edge's current samples carry
// DefaultIssuer), and requires a positive integer Client-Id header. With
// HandlerConfig.ReplayStore set (NewMemoryReplayStore for one process; a shared
// store such as Redis for replicas) each JWT is served once: the same JWT again,
// whatever its Client-Id, is refused until it expires. Every JWT refusal is 400
// JWTVerificationError (JWTExpiredSignature for a past exp, JWTDecodeError and
// JWTIncorrectAlgorithm for malformed and non-RS256 tokens; 500 InternalServerError
// when the KeySet fails), and the Connector is not called. Access-Token and
// Consent-Id are handed to the Connector in the request's Call; Access-Token is
// required on the endpoints bound to a token and held in an auth.Secret, so it
// prints as [REDACTED].
//
// Every callback carries App-Id, App-Secret and "Authorization: Bearer <JWT>" with
// claims {"data": payload, "exp": now+TTL} (WithTokenTTL, default 60 s), RS256-signed
// with the connector's private key (its public half is registered in Salt Edge's
// dashboard). The JWT is minted afresh for every attempt, so there is no token to
// renew and no answer of Salt Edge makes the client replay a callback. As in Salt
// Edge's own examples, callbacks send no body. Close the Client when done: it closes
// the idle connections it holds.
//
// # Credentials
//
// Each credential is given in memory, or plugged in from where it is kept (an HSM, a
// cloud KMS, a secret manager):
//
//	Credential                  In memory                   Plugged in
//	Client: private key         WithPrivateKeyPEM(pem),     WithPrivateKey(crypto.Signer)
//	                            WithPrivateKey(*rsa.PrivateKey)
//	Client: App-Secret          WithAppSecret(string)       WithAppSecretSource(auth.Source)
//	Client: App-Id              WithAppID(string)           (an identifier, not a secret)
//	Handler: Salt Edge's key    HandlerConfig.PublicKey     HandlerConfig.KeySet (auth.KeySet)
//
// WithPrivateKey takes any crypto.Signer whose public key is RSA (2048 bits or more):
// an *rsa.PrivateKey, or a key that never leaves an HSM or a KMS; it signs a SHA-256
// digest for every attempt. WithAppSecretSource's source is read on every attempt
// (wrap it in an auth.Cache to read it less often), so a rotated secret is sent from
// the next attempt on; a failing source fails the call before anything is sent.
// HandlerConfig.KeySet follows Salt Edge's key rotation: during a rollover it gives
// the old and the new key (auth.StaticKeySet(old, next)), or picks a key by the JWT's
// kid (auth.KeySetFunc). Exactly one of PublicKey and KeySet is set.
// ClientJWTVerifier needs no key: it fetches each TPP's key with clients/info.
//
// # Errors
//
// A Connector answers an error with a *ConnectorError: the handler writes
// {"error_class": Class, "error_message": Message} with the class's documented status
// (ConnectorStatus: 400, 401, 404, 406 or 500) and an optional Retry-After. Any other
// error, and a panic, is answered 500 InternalServerError with a generic message and
// logged. Salt Edge's error answers to callbacks are *APIError{StatusCode, Class,
// Message, Raw}; compare classes with APIError.Has. The outcome model concerns the callbacks
// that change state (sessions and payments success, update and fail, and Do with a
// POST): once one may have reached Salt Edge it is not sent again, and a lost or
// unreadable answer, a 5xx other than 501 and 505, or a 503 without Retry-After gives
// an error matching ErrOutcomeUnknown (also an *APIError when a status came back).
//
// # Usage
//
//	client, err := saltedge.NewClient(
//		saltedge.WithAppID(appID),
//		saltedge.WithAppSecret(appSecret),
//		saltedge.WithPrivateKeyPEM(privatePEM),
//	)
//	...
//	defer client.Close()
//	type myBank struct {
//		saltedge.UnimplementedConnector
//		client *saltedge.Client
//	}
//
//	func (b *myBank) CreateToken(ctx context.Context, req *saltedge.CreateTokenRequest) error {
//		go func(ctx context.Context) {
//			// Send the PSU to the bank's login page; once authorised, Sessions.Success.
//			_, _ = b.client.Sessions.Update(ctx, saltedge.RedirectUpdate(req.SessionSecret, loginURL))
//		}(context.WithoutCancel(ctx))
//		return nil // answered 200 {}; the outcome follows by callback
//	}
//
//	h, err := saltedge.NewHandler(saltedge.HandlerConfig{
//		Connector: &myBank{client: client},
//		PublicKey: saltEdgePublicKey, // auth.LoadRSAPublicKey(pem)
//		Issuer:    saltedge.DefaultIssuer,
//		ReplayStore: saltedge.NewMemoryReplayStore(0), // optional: each JWT once
//	})
//	http.Handle("/api/priora/v1/", h)
//
// The fake Salt Edge in package saltedgetest drives a handler end to end and verifies
// the callbacks, for tests without a Salt Edge account.
//
// # Assumptions
//
// Where the seed documentation is silent or ambiguous the package chooses, and says so:
//
//   - The seed documents no "not implemented" class: UnimplementedConnector answers
//     406 ActionNotAllowed, the seed's class for an action that is not allowed.
//   - Payments and funds-availability endpoints and callbacks follow Salt Edge's v1
//     connector SDK (the seed shows only accounts information).
//   - tokens/index documents no token fields: tokens are returned as raw JSON.
//     tokens/revoke is a DELETE with a Token header and an empty data object, as the
//     seed shows. clients/info's public key is parsed (PKIX, PKCS#1 or certificate).
//   - Amounts decode from JSON strings and numbers (the sources show both) and encode
//     as strings, as in the seed's samples. Transaction.MadeOn is sent as given (the
//     seed's sample is a date-time; other sources use dates).
//   - The handler answers async endpoints 200 {} and data endpoints {"data": ...}.
//     Oversized headers or bodies are 400 WrongRequestFormat (the documented class for
//     a malformed request), an unknown path 404 and a wrong method 405, both with
//     WrongRequestFormat. errors accepts a report without Access-Token.
//   - Salt Edge's error answers are read as {"error_class", "error_message"}, and also
//     {"error": {"class", "message"}}.
//   - The seed documents no jti: the replay guard keys on the whole token (its
//     SHA-256), and is off by default in case Salt Edge resends a failed request
//     with the JWT it sent before (its SDKs sign every request afresh).
package saltedge

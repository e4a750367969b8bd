// Package conformance checks a Salt Edge PSD2 Compliance ("Priora") connector, API
// v1, against Salt Edge's documentation: a bank's implementation of the connector
// API, in any language, reached over HTTP. Run acts as Salt Edge: it sends every
// request of the documentation, signed as Salt Edge signs them, and forged ones, and
// serves Salt Edge's callback API to follow the token flow. The command
// cmd/saltedge-conformance runs it from a shell or CI.
//
// # Setting a connector up
//
// The connector under test must trust a test key pair of Salt Edge's (its public
// half replaces Salt Edge's public key in the connector's configuration; the command
// writes one with -gen-key), and send its callbacks to the runner's listener
// (Config.Callbacks) instead of Salt Edge, with the App-Id (and App-Secret) the
// runner expects. Give Config.ConnectorPublicKey to have the callbacks' signatures
// verified too.
//
// # The flow
//
// Every request carries "Authorization: Bearer <JWT>" (RS256, claims {"data":
// payload, "exp": now + 60 s, "iss": "priora.saltedge.com"}), Accept and
// Content-Type application/json, Client-Id, and Access-Token where the documentation
// lists it; no body. Run goes through:
//
//  1. POST tokens/create with the seed's payload (its original_request signed by a
//     TPP key of the run's own, served on clients/info), then the connector's
//     sessions callbacks: after a sessions/update redirect the PSU authorises at the
//     bank (Config.Authorize; by default a GET of extra.redirect_url); after a
//     sessions/update waiting_confirmation_code the runner sends tokens/confirm with
//     Config.Confirmation; sessions/success brings the access token.
//  2. GET accounts, GET transactions for the first account listed (or
//     Config.AccountID) over three months, GET kyc, with that token.
//  3. GET accounts again, forged or incomplete: each must be refused with a documented
//     error even though the token is valid.
//  4. PUT accounts and accounts/confirm, tokens/reconnect (optional for a connector:
//     406 ActionNotAllowed passes), POST errors, a second tokens/create cancelled with
//     tokens/cancel once its first callback came, tokens/revoke, and the revoked token
//     refused.
//  5. Every callback received: App-Id, App-Secret, an RS256 JWT with exp for a session
//     the runner opened.
//
// An error answer passes when it is {"error_class": ..., "error_message": ...} with
// a class the check allows and the status Salt Edge's connector SDK documents for it
// (saltedge.ConnectorStatus). Amounts must be decimal strings, as the seed shows them.
//
// # Checks
//
// Each check is reported by ID, in this order:
//
//	tokens.create          POST tokens/create answers 200
//	tokens.confirm         tokens/confirm answers 200 (passes as "not applicable" in a redirect flow)
//	tokens.flow            the flow ends in sessions/success with an access token
//	accounts.fetch         GET accounts answers 200 {"data": [...]} with at least one account
//	accounts.fields        id, name, nature, currency_code, balance; the seed's types
//	transactions.fetch     GET transactions answers 200 {"data": [...]}
//	transactions.fields    id, account_id, amount, currency_code, made_on, status; the seed's types
//	kyc.fetch              GET kyc answers 200 {"data": {...}}
//	kyc.fields             name, email, phone, address, date_of_birth are strings
//	auth.no-authorization  no Authorization: AuthorizationMissing
//	auth.alg-none          alg "none": JWTIncorrectAlgorithm, JWTVerificationError or JWTDecodeError
//	auth.hs256-pem         HS256 keyed with the public key's PEM: likewise
//	auth.hs256-der         HS256 keyed with the public key's DER: likewise
//	auth.expired           exp 5 minutes ago: JWTExpiredSignature
//	auth.no-exp            no exp: JWTVerificationError or JWTDecodeError
//	auth.wrong-key         signed with another RSA key: likewise
//	auth.tampered          claims changed after signing: likewise
//	auth.no-client-id      no Client-Id: InvalidClientId
//	auth.bad-client-id     Client-Id not an integer: InvalidClientId
//	access.missing         no Access-Token: AccessTokenMissing
//	access.unknown         an unknown Access-Token: TokenNotFound or AccessDenied
//	accounts.refresh       PUT accounts answers 200 (or 406 ActionNotAllowed)
//	accounts.confirm       accounts/confirm answers 200 and a callback follows, or a documented error
//	tokens.reconnect       tokens/reconnect answers 200 and a callback follows (or 406 ActionNotAllowed)
//	errors.notify          POST errors answers 200
//	tokens.create-second   tokens/create answers 200 for the session to cancel
//	tokens.cancel          tokens/cancel answers 200
//	tokens.revoke          tokens/revoke answers 200
//	access.revoked         the revoked token: TokenNotFound or AccessDenied
//	callbacks.auth         every callback was authenticated
//
// A check that needs the access token fails with "not run" when the flow produced
// none. Details describe answers; they never quote a token, a JWT or a key.
//
// # Usage
//
//	ln, err := net.Listen("tcp", ":8099") // the connector's Salt Edge URL: http://runner-host:8099
//	...
//	rep, err := conformance.Run(ctx, conformance.Config{
//		BaseURL:    "https://bank.test.example",
//		SigningKey: saltEdgeTestKey, // its public half is configured in the connector
//		Callbacks:  ln,
//		AppID:      "test-app-id",
//		AppSecret:  "test-app-secret",
//		Confirmation: saltedge.Credentials{"": "4896"}, // for an embedded flow
//	})
//	if err != nil {
//		return err // a Config Run cannot use, or ctx ended
//	}
//	for _, c := range rep.Failed() {
//		t.Errorf("%s %s: %s", c.ID, c.Name, c.Detail)
//	}
package conformance

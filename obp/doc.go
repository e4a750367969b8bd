// Package obp is a client for the Open Bank Project (OBP) API: DAuth, DirectLogin,
// OAuth2 bearer and Consent-JWT authentication, the current user, the v4.0.0
// account-access calls, DAuth users with roles, and typed OBP errors. Package obptest
// runs a fake OBP instance to test against.
//
// # Authentication
//
// A client has exactly one authentication mode, chosen at construction:
//
//   - WithDAuth: every attempt (retries included) carries a fresh RS256 JWT with the
//     claims smart_contract_address, network_name, msg_sender (if set), consumer_key,
//     timestamp (RFC 3339, UTC) and a unique request_id, in a header named exactly
//     "DAuth". OBP matches that name case-sensitively, so the header is set by direct
//     map assignment (Go's Header.Set would send "Dauth") and DAuth clients speak
//     HTTP/1.1 only (HTTP/2 lowercases header names). OBP gets or creates the user
//     (smart_contract_address, DAuthProvider(network_name)). The instance must enable
//     DAuth, trust the key, and list the caller's IP address in its dauth.host.
//   - WithDirectLogin: POST /my/logins/direct with "DirectLogin: username=...,
//     password=..., consumer_key=..." on first use (or Client.DirectLogin), then
//     "DirectLogin: token=..." on every call. An OBP-20003 answer (token invalid or
//     expired) logs in again and replays the call once. OBP splits that header on
//     commas and strips quotes, so values with a comma or a double quote are refused
//     by NewClient, before anything is sent.
//   - WithDirectLoginToken, WithDirectLoginTokenSource: a DirectLogin token obtained
//     elsewhere, fixed or from an auth.Source.
//   - WithAccessTokenSource: "Authorization: Bearer" with OAuth2/OIDC access tokens
//     from an auth.Source.
//   - WithConsentJWT, WithConsentJWTSource: "Consent-JWT" (case kept, HTTP/1.1), fixed
//     or from an auth.Source, optionally with WithConsumerKey.
//
// # Credentials
//
// Every credential can come from what the user plugs in, so that a key stays in an
// HSM or a KMS and a token in a secret manager; the in-memory forms are conveniences:
//
//	Mode          In memory                     Plugged in
//	DAuth         DAuthConfig.PrivateKey:       DAuthConfig.PrivateKey: any crypto.Signer
//	              an *rsa.PrivateKey            with an RSA key (HSM, KMS, PKCS#11)
//	DirectLogin   WithDirectLogin(user, pw, ck) WithDirectLoginTokenSource(auth.Source)
//	              WithDirectLoginToken(token)
//	OAuth2        -                             WithAccessTokenSource(auth.Source)
//	Consent-JWT   WithConsentJWT(jwt)           WithConsentJWTSource(auth.Source)
//
// A token is taken from its source for every attempt. When OBP refuses it (OBP-20003
// for a DirectLogin token, a 401 for an access token or a consent), a source that can
// forget a token (it has Invalidate(auth.Token), as auth.Cache has) forgets the one the
// call carried and the call is replayed once with the next; a source that cannot (a
// fixed token, auth.StaticSource) gets no replay and the error is returned. A source
// with Acquire (auth.KeepAlive) holds each token while a request carrying it is in
// flight. The login-based WithDirectLogin keeps its token in such a cache. Sources
// are the caller's to stop; Close does not stop them.
//
// Credentials never appear in logs, errors or a printed client. DAuthConfig prints
// "[REDACTED]" for its private key under every fmt verb, json.Marshal and slog. An
// error body OBP sends back is cleaned, in APIError.Message and Raw, of every
// credential the request carried (the DAuth JWT, the DirectLogin token, password and
// header, the Authorization value with its OAuth2 bearer token, the Consent-JWT), of
// the client's own secrets, and of anything shaped like a JWT or a "token=" parameter.
//
// # Closing
//
// Close cancels a DirectLogin login in flight and closes the client's idle
// connections; later calls fail with ErrClosed before any credential is taken or
// sent. Close a client when done with it.
//
// # Usage
//
//	key, err := auth.LoadRSAPrivateKey(pemBytes)
//	if err != nil { ... }
//	c, err := obp.NewClient(
//		obp.WithBaseURL("https://obp.example.com"),
//		obp.WithDAuth(obp.DAuthConfig{
//			PrivateKey:           key,
//			SmartContractAddress: "0xe123425E7734CE288F8367e1Bb143E90bb3F051224",
//			NetworkName:          "AIRNODE.TESTNET.ETHEREUM",
//			ConsumerKey:          consumerKey,
//		}),
//	)
//	if err != nil { ... }
//	defer c.Close()
//	me, err := c.Users.Current(ctx)
//	views, err := c.AccountAccess.CreateUserWithAccountAccess(ctx, "gh.29.uk", accountID,
//		obp.CreateUserAccountAccessRequest{
//			Username: "0xabc...",
//			Provider: obp.DAuthProvider("AIRNODE.TESTNET.ETHEREUM"),
//			Views:    []obp.ViewSelector{{ViewID: "ReadAccountsBasic", IsSystem: true}},
//		})
//	if errors.Is(err, obp.ErrCannotGrantAccessToView) { ... }
//
// Do reaches every other endpoint with the same authentication, retries and errors:
//
//	banks, err := obp.Do[json.RawMessage](ctx, c, "GET", "banks", nil)
//
// # Errors
//
// A non-2xx answer is an *APIError: the HTTP status, the body's code and message,
// OBPCode (the first OBP-<digits> in the message; servers append context and chain
// causes with " <- ", and OBPCodes keeps every code found), and the Correlation-Id
// header. Key on codes, never on text (OBP translates messages with ?locale=). The
// codes are constants of type Code, and errors.Is(err, obp.ErrUserNotLoggedIn)
// matches the primary code. Legacy {"error": "..."} bodies decode too. The outcome
// model concerns the calls that change state (account access grant, revoke and
// create-user-with-access, and Do with POST, PUT or PATCH): once one may have reached
// OBP it is not re-sent, and a lost or unreadable answer, a 5xx other than 501 and 505,
// or a 503 without Retry-After gives an error matching ErrOutcomeUnknown (also an
// *APIError when a status came back).
//
// # Versions and assumptions
//
// Paths are /obp/<version>/... with version DefaultVersion (v4.0.0) unless
// WithVersion says otherwise; DirectLogin's /my/logins/direct is unversioned. The
// account-access calls and CreateWithRoles are v4.0.0 endpoints: with v5.1.0 or later,
// which dropped them, they keep using v4.0.0 paths. Where OBP's documentation and its
// code disagree, the client follows the code, as the reference notes: the DAuth user
// provider is "dauth." + network (DAuthProvider), not "dauth"; every account-access
// call answers 201; RevokeGrant (PUT account-access) acts on the calling user and
// takes view ids; CreateUserWithAccountAccess's body is the username, provider and
// views list. View keeps fields that a newer server adds (Extra), so they survive a
// decode and re-encode.
package obp

// Package khtest is a fake K&H Bank PSD2 API (Berlin Group NextGenPSD2 with K&H's
// token scheme) for tests and examples, in the spirit of net/http/httptest.
//
// The fake serves HTTPS and requires a client certificate issued by its PKI (NewPKI
// generates a CA, a server certificate and a TPP client certificate in memory; the
// TPP is identified by the certificate's common name). Clients trust the fake through
// RootCAs and present ClientCertificate:
//
//	srv := khtest.NewServer()
//	defer srv.Close()
//	client, err := kh.NewClient(
//		kh.WithBaseURL(srv.URL()),
//		kh.WithClientCertificate(srv.ClientCertificate()),
//		kh.WithRootCAs(srv.RootCAs()),
//		kh.WithAppToken(srv.AppToken()),
//	)
//
// # What the fake enforces
//
//   - Every /v1 request carries exactly one X-Request-ID holding a UUID; the fake echoes
//     it in every answer, errors included.
//   - The endpoint-token table of the K&H token page (Table): each endpoint accepts
//     only the token kinds of its row; an endpoint without kinds (tpp/app,
//     tpp/contact, tpp/app/token) must be called without a token. The Authorization
//     header is exactly "Bearer " followed by a JWT: any other form is 400
//     FORMAT_ERROR; an unknown token, a token of another TPP and an expired token are
//     401 TOKEN_UNKNOWN (WithExpiredTokenCode changes the code for expiry); a token of a
//     kind the row does not list is 401 TOKEN_INVALID; a token of a consent that is no
//     longer valid is 401 CONSENT_INVALID or CONSENT_EXPIRED.
//   - Request bodies are read strictly: an unknown field is 400 FORMAT_ERROR, and the
//     Berlin Group rules (required fields, IBAN with checksum, BBAN, currency, amount
//     pattern, text lengths, dates, enums) are checked. PSU-IP-Address is required on
//     payment initiation, consent creation and signing-basket creation.
//   - Errors are Berlin Group bodies: {"tppMessages":[{"category","code","path","text"}]}.
//
// # Tokens
//
// AppToken is the token of the application registered at start (ApplicationID). POST
// /v1/tpp/app registers another application and returns its token; POST
// /v1/tpp/app/token issues a new one by application id. A consent's token is issued
// by GET /v1/consents/{id}/status while the consent is valid, in the "token" response
// header, anew on every call (earlier tokens stay valid until they expire);
// IssueConsentToken issues one without a status call, as a TPP's own token service
// would. Tokens
// last an hour (WithTokenTTL, WithAppTokenTTL, WithConsentTokenTTL); ExpireToken and
// ExpireTokens expire them at once. Tokens are JWT-shaped (HS256 under the fake's own
// key); clients must treat them as opaque.
//
// # Consents and their purposes
//
// A consent serves one purpose, and its tokens have the matching kind. The fake reads
// the purpose from the Berlin Group access object:
//
//	availableAccounts or availableAccountsWithBalance only -> PSU identification
//	balances (optionally with accounts)                  -> account balance
//	transactions (optionally with accounts)              -> transaction history
//	accounts only                                        -> funds confirmation
//
// Any other combination (and allPsd2) is 400 FORMAT_ERROR. A PSU identification token
// lists the PSU's accounts (GET /v1/accounts) and authorises the PSU-only endpoints
// (payment details, cancellation, PUT on payment and basket authorisations).
//
// # SCA
//
// TPP-Redirect-Preferred "true" selects the redirect approach (TPP-Redirect-URI then
// required, its host the application's registered redirect host), "false" the embedded
// one; without the header the fake uses WithDefaultApproach (EMBEDDED). For payments
// and consents the embedded approach, and the redirect approach with
// TPP-Explicit-Authorisation-Preferred "true", wait for POST .../authorisations; the
// redirect approach otherwise creates the authorisation at once and returns its
// scaRedirect link. A signing basket always starts its one authorisation with the
// basket (K&H lists no endpoint to start it).
//
// Embedded: PUT {"psuData":{"password"}} (or the same in the POST), then PUT
// {"authenticationMethodId"} to pick one of WithScaMethods (skipped with a single
// method), then PUT {"scaAuthenticationData": otp}. A wrong password or OTP is 401
// PSU_CREDENTIALS_INVALID; the third wrong OTP fails the authorisation and rejects
// what it authorises.
//
// Redirect: the scaRedirect link points to /sca/redirect/{authorisationId} on the
// redirect screen, a listener of its own at SCAURL (HTTPS with the bank's server
// certificate; no client certificate, since the PSU's browser has none), to be opened
// with the TPP's token (application or consent token) as the URL parameter "token".
// The screen is plain HTML forms without JavaScript, in the steps of the embedded
// approach: PSU ID and password (scaStatus psuAuthenticated), the SCA method (skipped
// with a single method; scaMethodSelected), then the OTP with Approve or Deny. Opening
// the link starts a page session (a cookie, and a nonce in every form) that replaces
// any earlier one; a form without both is 403, a form of an earlier step 409. A wrong
// password, an unknown method or a wrong OTP shows the step again with the error and
// leaves the authorisation unfinished; the third wrong OTP fails it. Approve
// finalises the authorisation and answers 303 to TPP-Redirect-URI; Deny fails it and
// answers 303 to TPP-Nok-Redirect-URI, or to TPP-Redirect-URI when the TPP gave no Nok
// URI (the TPP reads the outcome from the SCA status). The PSU's credentials are
// WithPSU's (PSU returns them). ApproveRedirect and DenyRedirect go through the screen
// from Go as the PSU's browser would; CompleteSCA finishes an authorisation without
// it.
//
// A finalised authorisation makes a payment ACTC (each later status call moves single
// and bulk payments on to ACSP, then ACSC), a consent valid, a basket ACTC with all
// its payments and consents. DELETE of a payment not yet authorised answers 204; of an
// authorised one 202 with a startAuthorisation link to its cancellation
// authorisations, whose finalisation makes it CANC. Cancellation authorisation lists
// use the Berlin Group key cancellationIds.
//
// # Accounts and transactions
//
// The PSU has the accounts of Accounts, each with WithTransactionCount transactions
// (default 25, the last two pending) served WithPageSize per page (default 10) with
// first/previous/next/last links carrying pageIndex. WithTransactionLinkLoop makes a
// next link point back to an earlier page. Every listing carries a download link to
// /v1/accounts/{id}/transactions/download/{downloadid} serving a camt.053 document
// (DownloadContent). remittanceInformationStructured comes both as an object (Berlin
// Group 1.3.6) and as a string (1.3.8+).
//
// # TPP onboarding
//
// K&H documents what its onboarding calls carry but not their JSON names. The fake
// reads PUT /v1/tpp/contact {"name","phone","email"}, POST /v1/tpp/app {"name",
// "roles":["AISP","PISP","PIISP"],"redirectHost"} answered 201
// {"applicationId","token"}, and POST /v1/tpp/app/token {"applicationId"} answered 200
// {"token"}. A TPP (client certificate) other than the pre-registered one must record
// its contact before registering an application.
//
// # Inspection and faults
//
// Requests, Count, Inject and ClearFaults come from the shared fake kit; Lookup finds
// the resource a request created by its X-Request-ID; PaymentCount, PaymentStatus,
// ConsentStatus, ConsentKind, ConsentTokens, AppTokens, TokenKind, StatusCalls,
// BasketStatus and ScaStatus show the bank's state.
package khtest

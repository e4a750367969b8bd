// Package kh is a client for the PSD2 API of K&H Bank (Hungary): Berlin Group
// NextGenPSD2 resources (payments, consents, accounts, signing baskets, funds
// confirmations) behind mutual TLS and K&H's own JWT bearer tokens.
//
//	client, err := kh.NewClient(
//		kh.WithBaseURL("https://..."),                         // the bank's API root
//		kh.WithClientCertificateFiles("qwac.crt", "qwac.key"), // or WithClientCertificatePKCS12
//		kh.WithAppToken(appToken),                             // the application token
//		kh.WithApplicationID(appID),                           // to renew it
//	)
//	consent, err := client.Consents.Create(ctx, kh.PSUIdentificationConsent("2025-12-31"),
//		kh.PSUIPAddress(psuIP))
//	// ... SCA (below), then:
//	_, err = client.Consents.Status(ctx, consent.ConsentID) // fetches the consent's token
//	accounts, err := client.Accounts.List(ctx, consent.ConsentID)
//
// Package khtest is a fake K&H bank for tests and examples.
//
// # Credentials
//
// Each credential is given in memory, or comes from something the caller plugs in (a
// key in an HSM or a cloud KMS, a token service, a secret manager):
//
//	Credential           In memory                          Plugged in
//	client certificate   WithClientCertificate (its         WithGetClientCertificate
//	                     PrivateKey any crypto.Signer),     (a callback per handshake)
//	                     ...PEM, ...Files, ...PKCS12
//	application token    WithAppToken (+ WithApplicationID  WithAppTokenSource (auth.Source)
//	                     to renew it)
//	consent tokens       Consents.SetToken                  WithConsentTokenSource
//	                                                        (auth.KeyedSource by consent id;
//	                                                        default: the status call)
//
// Exactly one of the certificate options may be given. Tokens, from whichever source,
// are cached (per consent for consent tokens), renewed once however many calls need
// them at the same time, and shared between replicas with WithStore.
//
// # Mutual TLS
//
// K&H identifies the TPP by its client certificate (a QWAC; the sandbox issues a test
// certificate). Set it with WithClientCertificate, WithClientCertificateFiles or
// WithClientCertificatePEM (PEM) or WithClientCertificatePKCS12 (a .p12/.pfx file,
// decoded by go-pkcs12: see LoadPKCS12). A key that must not leave an HSM or a KMS
// signs the handshake as a crypto.Signer: put it in the tls.Certificate given to
// WithClientCertificate, or return the certificate from WithGetClientCertificate's
// callback. WithRootCAs sets the CAs trusted for the bank's certificate. The client
// never negotiates below TLS 1.2.
//
// # Tokens and the endpoint-token table
//
// Every call carries "Authorization: Bearer <JWT>" (exactly that form), except the
// onboarding calls (TPP.SetContact, TPP.RegisterApp, TPP.NewAppToken), which carry
// none. There are two token families: the application token, which identifies the
// TPP's application, and consent tokens, one kind per consent purpose (PSU
// identification, account balance, transaction history, funds confirmation). Which
// kinds an endpoint accepts is K&H's endpoint-token table, which the client holds as
// data (Endpoints) and routes every call by:
//
//   - A call that names a consent (account reads and funds confirmations take its id;
//     other calls take UseConsent) uses that consent's token when the endpoint accepts
//     its kind; otherwise a call uses the application token when the endpoint accepts
//     it.
//   - A call for which the client holds no accepted token is refused before anything is
//     sent, with a *RoutingError (errors.Is ErrNoAllowedToken) that names the endpoint
//     and the kinds it accepts. For example, payment details, payment cancellation and
//     the PUT on payment and basket authorisations accept only a PSU identification
//     token: pass kh.UseConsent(psuConsentID).
//
// The application token comes from WithAppToken (K&H hands it out at registration, and
// TPP.RegisterApp returns it), from WithAppTokenSource, or is fetched by application id
// (WithApplicationID) with POST /v1/tpp/app/token. Client.UseApplication switches to
// another application.
//
// A consent's token is issued by the consent status call while the consent is valid,
// in the "token" response header, anew on every call. Consents.Status stores it for the
// consent; a call that needs a consent token the client does not have yet fetches it the
// same way, or from WithConsentTokenSource's source. The client remembers each consent
// it creates with its purpose; register consents created elsewhere with Consents.Track
// or Consents.SetToken.
//
// When the bank answers 401 TOKEN_UNKNOWN, TOKEN_EXPIRED or TOKEN_INVALID (K&H reports
// expiry as "token unknown"), the client forgets exactly the token the call carried,
// renews it once (the application token by application id or from its source, a
// consent token by a consent status call made with the application token or from its
// source) and replays the call once; it never loops. A token that cannot be renewed
// (WithAppToken without an application id) is not replayed: the call fails with the
// bank's answer. The client also renews
// a token shortly before the expiry its JWT states (the exp claim is read, not
// verified: the bank verifies its tokens).
//
// # SCA
//
// Consents, payments (and their cancellations) have authorisation sub-resources with
// one implementation (Authorisations): Start, then Update with PSUPassword,
// SelectMethod and OTP for the embedded approach. For the redirect approach (request
// options RedirectPreferred(true) and RedirectURI) send the PSU to the scaRedirect link
// with the token as a URL parameter: Client.SCARedirectURL builds it. A signing basket
// authorises several payments and consents at once (K&H's flow for the per-account
// consents made after the account list); its one authorisation starts with the basket
// (SigningBasketCreated.Links.AuthorisationID).
//
// # Transactions and downloads
//
// Accounts.Transactions returns every transaction as an iter.Seq2, page after page,
// following each page's _links.next (resolved against the base URL, refused when it
// points to another host); a next link back to a page already read ends the sequence
// with an error matching ErrPageLoop. Accounts.Download and DownloadLink stream the
// transaction download as an io.ReadCloser.
//
// # Request ids, retries and errors
//
// Every logical call carries a fresh UUIDv4 X-Request-ID (or RequestID's), the same on
// its retries and its token replay, returned in results (Meta.RequestID) and errors
// (RequestIDOf). Reads are retried on transport errors, 429, 502, 503 and 504; calls that
// change state only when the bank provably did not process them (connection refused,
// 429, 503 with Retry-After). The outcome model concerns every call that changes state
// (payment, consent, basket and authorisation creation and updates, registrations):
// one whose answer was lost or unreadable, or answered a 5xx other than 501 and 505 or
// a 503 without Retry-After, is never sent again, and the error matches
// ErrOutcomeUnknown (also an *APIError when a status came back) and carries the
// X-Request-ID to look the payment up.
//
// Non-2xx answers are *APIError: the HTTP status, the request id, the Berlin Group
// tppMessages (also a single tppMessage, or an RFC 7807 body) with Has(code) and the
// Code... constants, the _links and the raw body. Requests are validated before sending
// (IBAN with check digits, BBAN, currency, amount pattern, required fields, text
// lengths, dates, enums): a *ValidationError naming the field (errors.Is
// ErrInvalidRequest). Amounts are strings, statuses are open string types with
// constants, and answers are decoded leniently (booleans and numbers as strings,
// remittanceInformationStructured as a string or an object, tppMessage or
// tppMessages, unknown fields and link names).
//
// Logs (WithLogger) carry method, host, path, status, attempt, duration and request id;
// never tokens, query strings, headers or bodies. A printed Client shows no credential,
// nor do PSUData, AuthorisationRequest (PSUPassword, OTP, Confirm) and
// Application.Token: fmt, slog and json.Marshal show [REDACTED]. The client sends the
// SCA credentials to the bank through its own encoding of the request body.
//
// # Assumptions
//
// K&H's public documentation leaves these open; the client (and khtest) assume:
//
//   - The purpose of a consent, and so its token kind, follows from its Berlin Group
//     access object: availableAccounts (or availableAccountsWithBalance) only is PSU
//     identification, balances is account balance, transactions is transaction
//     history, accounts only is funds confirmation (ConsentRequest.Purpose). One
//     consent, one purpose.
//   - GET /v1/accounts (the account list K&H's SCA description relies on, missing from
//     its table) accepts a PSU identification token.
//   - The table's "/v1/consents/ POST" is the Berlin Group POST /v1/consents.
//   - Account reads and funds confirmations send Consent-ID as well as the consent's
//     token (the Berlin Group requires the header there).
//   - Consent status answers carry the token in a header named "token".
//   - The redirect screen takes the token as the URL parameter "token".
//   - A signing basket's authorisation starts with the basket (the table lists no POST
//     on basket authorisations).
//   - PSU-IP-Address is required on payment initiation, consent creation and basket
//     creation, as the Berlin Group says.
//   - The onboarding bodies: PUT /v1/tpp/contact {"name","phone","email"}; POST
//     /v1/tpp/app {"name","roles","redirectHost"} answered {"applicationId","token"};
//     POST /v1/tpp/app/token {"applicationId"} answered {"token"} (a "token" header,
//     appId, id, accessToken and appToken are accepted too).
//   - Cancellation authorisation lists may use the key cancellationIds or
//     authorisationIds.
//
// The bank's base URL is not public: WithBaseURL is required.
package kh

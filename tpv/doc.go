// Package tpv is a client for the TPV clients-portal API (third-party verification
// of sales): it logs in with an HMAC-signed application credential, submits sales
// for verification, lists products, sends the digital verification link and queues
// verification calls.
//
// # Authentication
//
// The brand's application token and secret come from the management portal
// (Brands, API Access). The secret never goes over the wire (see Credentials for
// keeping it out of the process too). The client logs in with
//
//	POST /api/v1/auth?token=<app token>&timestamp=<unix seconds>&_signature=<sig>
//
// where sig is the lowercase hex HMAC-SHA256 of "token=<app token>&timestamp=<unix
// seconds>" keyed by the secret (LoginSignature; the documentation's "×tamp" is a
// garbled "&timestamp"). Every login attempt is signed afresh. The auth token it
// returns is valid for 30 minutes; the client caches it and logs in again a little
// before it runs out. Concurrent callers share one login.
//
// The portal may stop honouring a token before its 30 minutes: it keeps one auth
// token per application credential, so another login with the same credentials
// (another process, a replica without WithStore) voids it. When the portal rejects
// the token, the client forgets it, logs in and replays the call once; a second
// rejection is returned. A rejection is a 401, or, since the documentation answers
// every failure with 400, a 400 whose message names the token: it contains "token"
// and a word starting with invalid, expir, missing, unauthorized (or unauthorised),
// unauthenticated, revoked or "not found", in any case (TokenRejected). A 400 about
// anything else, such as the portal's validation of a submission, is returned as
// is. A rejected request was not processed, so the replay is safe for a submission
// too.
//
// Every other call carries "Authorization: <auth token>" (no "Bearer" prefix) and
// "Signature: <signature>".
//
// # Credentials
//
// Give the application token and the secret's HMAC key one way each:
//
//	WithCredentials(appToken, appSecret)  both, held in memory (a fixed token source
//	                                      and auth.NewHMACSHA256 of the secret)
//	WithAppTokenSource(auth.Source)       the application token from a secret manager,
//	                                      read afresh for every login, kept no longer
//	WithHMACSigner(auth.HMACSigner)       the HMAC-SHA256 keyed by the secret, computed
//	                                      where the key lives (KMS, Vault transit); it
//	                                      signs the login and the default Signature
//	WithRequestSigner(RequestSigner)      what the Signature signs (with the signer)
//	WithStore(auth.Store, key)            the auth token shared between replicas
//
// WithAppTokenSource and WithHMACSigner go together, instead of WithCredentials;
// NewClient names the options when one is missing or given twice. The signer gets
// the context of the login or request it signs. A signer or token source that fails
// stops the call before anything is sent; its error is wrapped (a login's in an
// error matching ErrLoginFailed) with the application token removed from the text.
//
// # Assumptions where the documentation is silent
//
//   - What the Signature header signs is not documented. By default it is the
//     lowercase hex HMAC-SHA256, keyed by the application secret (the client's HMAC
//     signer), of the request's raw query string, or of the raw request body when
//     the request has no query (an empty body signs the empty string).
//     WithRequestSigner replaces it.
//   - The headings of products, digital send and queue call say GET while every
//     example uses POST. The client sends POST (WithEndpointMethod changes that per
//     endpoint) and, after a 405 answer, tries the other method once and keeps
//     using the one that worked.
//   - The answers of products, digital send and queue call are not documented: they
//     are returned as raw JSON (Result) with the {"success": ...} member decoded when
//     present. A 2xx answer that carries only {"error": "..."} is an *APIError.
//   - Enrollment.Validate enforces what the documentation states and nothing more:
//     the channel is one of the documented list (dtd|tm|retail); names, btn,
//     service address, city, state and ZIP, language and market are given; an email
//     address, when given, is an address; at least one product with a program code
//     and at least one account number. The documentation does not restrict
//     language, market, state, ZIP or postal code, or phone number formats: any
//     value is sent as given ("french", "ON", "K1A 0B1"), and the portal's 400 answer
//     is the authority on them. Billing address fields, email address, vendor,
//     sales agent id and digital delivery are optional.
//   - Failures are documented as HTTP 400 {"error": "..."}; any non-2xx answer is
//     an *APIError, whose Message also falls back to a "message" member or an
//     excerpt of a non-JSON body.
//
// # Safety
//
// A TPV submission records a customer's consent to a sale: sending it twice creates
// two verifications. The outcome model concerns SubmitTPV, SendDigital and QueueCall
// (the latter two contact the customer): never re-sent once they may have reached the
// portal, they give an error matching ErrOutcomeUnknown for a lost or unreadable
// answer, a 5xx other than 501 and 505, or a 503 without Retry-After (also an
// *APIError when a status came back), after which the sale must be looked up before
// it is submitted again. The application secret, the auth
// token, signatures and the login query never appear in logs or error messages.
//
// # Closing
//
// Close cancels a login in flight (a renewal runs in the background while the
// current token is still served), forgets the auth token and closes the client's idle
// connections; later calls fail with ErrClosed. Close a client when done with it.
//
// # Usage
//
//	c, err := tpv.NewClient(
//		tpv.WithBaseURL("https://clients.tpvhub.com"),
//		tpv.WithCredentials(appToken, appSecret),
//	)
//	if err != nil {
//		return err
//	}
//	defer c.Close()
//	conf, err := c.SubmitTPV(ctx, tpv.Enrollment{
//		DigitalDelivery: tpv.DigitalDeliveryEmail,
//		Channel:         tpv.ChannelDTD,
//		Language:        tpv.LanguageEnglish,
//		Market:          tpv.MarketResidential,
//		// ... names, btn, addresses ...
//		Products: []tpv.Product{{
//			ProgramCode:    "555",
//			AccountNumbers: []tpv.AccountNumber{{AccountNumber: "123123123123123", AccountNumberLabel: "Account Number"}},
//		}},
//	})
//	switch {
//	case errors.Is(err, tpv.ErrOutcomeUnknown):
//		// The sale may be recorded: look it up before submitting again.
//	case err != nil:
//		return err
//	}
//	_, err = c.SendDigital(ctx, conf.Code)
//
// Package tpvtest provides a fake portal for tests and examples.
package tpv

// Package rest is the request pipeline every banksdk provider client uses. One
// rest.Client per provider client owns:
//
//  1. URL building: Path escapes every segment and rejects empty, "." and ".."
//     segments, so an identifier from user input cannot change the path or add a query.
//     ResolveLink follows links from answers, only to the base URL's host.
//  2. Bodies encoded once to bytes (so retries resend the same bytes), Accept,
//     Content-Type and User-Agent ("banksdk-go/<version> <app>").
//  3. Authorization per attempt: the Authorizer runs inside the retry loop, so every
//     attempt is signed afresh. A Request may carry its own Authorizer. Optional
//     interfaces: Renewer (own what a rejection of the credential means) and Leaser
//     (hold the credential while the attempt is in flight). HeaderToken, StaticHeader
//     and Chain cover the header schemes the providers use.
//  4. The retry policy (one outcome model). GET, HEAD, OPTIONS and DELETE are retried
//     on transport errors, 429, 502, 503 and 504. POST, PUT and PATCH (and any request
//     marked Idempotent(false)) are re-sent only when the server provably did not act:
//     the connection was never established, or the answer was 429, or 503 with
//     Retry-After. Every other failure after the request may have reached the server
//     returns an error matching ErrOutcomeUnknown and is not sent again: a timeout,
//     reset or cancelled context after the connection was made (*TransportError); a 5xx
//     other than 501, 505 and 503 with Retry-After, since a gateway can answer 502 or
//     504 after the backend acted (*OutcomeUnknownError wrapping the provider's error,
//     which errors.As still finds); a 2xx whose body breaks off (*TransportError), is
//     not valid JSON for the caller's type or exceeds the size limit
//     (*OutcomeUnknownError). Provider code that decodes a 2xx body itself reports a
//     failure through UndecodableSuccess, which applies the same rule.
//     Request.Idempotent overrides the classification for one call. Errors from an
//     Authorizer are never retried.
//  5. Backoff: exponential with full jitter between RetryWaitMin and RetryWaitMax.
//     Retry-After (seconds or HTTP date) on 429/503 is honoured up to RetryWaitMax; a
//     longer hint is returned at once as a *RetryAfterError carrying the duration (for
//     any method: such an answer means "not processed", never "outcome unknown").
//  6. Error answers: the last answer is kept (never drained by the retry loop); at
//     most 1 MiB of its body goes to the provider's DecodeError. An answer the loop lets
//     go to try again is read (up to 4 KiB) and closed, so its connection is reused.
//  7. A rejected credential has one owner: when Config.CredentialRejected (a pure
//     classifier) says the provider refused the credential an attempt carried, the
//     request's Authorizer (a Renewer) renews it and decides whether to replay; the
//     request is replayed at most once (never in a loop).
//  8. Success bodies: JSON decoded with a size limit; Stream returns the open body.
//  9. Secrets: log lines carry provider, method,
//     host, path, status, attempt, duration and request id only; errors never carry a
//     query string (*url.Error messages are rebuilt without it).
//
// Each attempt goes to the configured HTTP client's Transport directly (with its
// cookie Jar, if it has one); the client's Timeout and CheckRedirect are not used.
// Redirects are never followed: an answer 3xx is an error, and a credential never
// travels to another location.
package rest

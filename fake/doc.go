// Package fake is what every banksdk fake server shares, and what a test uses to make
// one misbehave: an httptest server with a request log (method, path, body, and the
// header lines exactly as they arrived on the wire, which net/http's parsed Header
// cannot show) and fault injection.
//
// Each provider's fake (tkey7test, tpvtest, khtest, obptest, saltedgetest) is built
// on Start and exposes Inject and Requests:
//
//	portal := tpvtest.NewServer()
//	portal.Inject(1, fake.DropAfter())                                   // handled, answer lost
//	portal.Inject(2, fake.Status(503, "").WithRetryAfter("1").On("POST", "/api/v1/tpv"))
//	portal.Inject(1, fake.Delay(2*time.Second))
//	for _, r := range portal.Requests() { ... }                         // what the server received
//
// Faults: Status (with WithRetryAfter), DropBefore (the connection closes before the
// handler runs: not processed), DropAfter (the handler ran, the client never hears
// the answer), Delay, Malformed (truncated JSON) and Oversized. Faults that let the
// handler act and then break its answer: ActThen (a status such as a gateway's 502 or
// 504 in place of the handler's answer), CutBody (the handler's status and half its
// body, then the connection closes), ActThenMalformed and ActThenOversized. On narrows
// a fault to one method and path prefix.
//
// NewBreakingProxy puts the same request log and faults in a reverse proxy in front of
// any server (a provider fake, or your own), where a gateway would sit:
//
//	proxy, err := fake.NewBreakingProxy(portal.URL())
//	proxy.Inject(1, fake.ActThen(504, ""))                    // the portal stores the sale, the client gets 504
//	proxy.Inject(1, fake.Status(429, "").WithRetryAfter("1")) // answered by the proxy, not forwarded
//	client, err := tpv.NewClient(tpv.WithBaseURL(proxy.URL()), ...)
package fake

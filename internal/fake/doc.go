// Package fake holds what every provider's fake server shares: an httptest server
// with a request log (method, path, body, and the header lines exactly as they arrived
// on the wire) and fault injection (answer with a status and Retry-After, drop the
// connection before or after the handler ran, delay, malformed or oversized bodies).
//
// Provider fakes (tkey7test, tpvtest, khtest, obptest, saltedgetest) wrap their
// handler with Start and expose Inject and Requests to their users.
package fake

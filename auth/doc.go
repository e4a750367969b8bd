// Package auth supplies the credentials banksdk's provider clients need, behind small
// interfaces that take a context (unlike x/oauth2's TokenSource).
//
//   - Token, Source and SourceFunc: a credential with an optional expiry, and what
//     produces it. A Token prints as [REDACTED]; so does a Secret.
//   - Cache: a Source wrapper with a lock-free fast path, one refresh in flight however
//     many goroutines ask, refresh ahead of expiry with jitter, and compare-and-swap
//     Invalidate. It never returns a token past its Expiry. After a failed refresh it
//     leaves the Source alone for an exponential backoff with jitter: a still-valid
//     token keeps being served; without one, callers get ErrRefreshBackoff wrapping
//     the last error at once. KeyedCache keeps one Cache per key (consent tokens).
//   - KeepAlive: a background refresher for tokens a provider revokes unless they are
//     refreshed within a window (TKEY7: 15 minutes), even when the process is idle; it
//     tracks the session cap (ErrSessionExpired, OnSessionExpiring) and stops on Close.
//   - HMACSHA256Hex: the hex HMAC-SHA256 used by HMAC-signed logins (TPV).
//   - JWTMinter and JWTVerifier: RS256 only. The verifier pins the algorithm, requires
//     exp, checks the issuer when configured and hands the library a typed
//     *rsa.PublicKey, so "alg: none" and HS256-with-the-public-key forgeries fail.
//     LoadRSAPrivateKey (PKCS#1, PKCS#8) and LoadRSAPublicKey (PKIX, PKCS#1,
//     certificate) read PEM.
//   - Store and MemoryStore: a shared home for one credential used by several replicas
//     (load, save, compare-and-swap by version, refresh lease). With a Store, a
//     KeepAlive bounds every store call made while requests are held by its grace,
//     refreshes on its own when the store stays unreachable close to the revoke
//     deadline, reports a *StoreError (not ErrTokenRevoked) when the outage still cost
//     it the token, and replaces records that cannot be read (ErrUnreadable).
//
// Example:
//
//	src := auth.SourceFunc(func(ctx context.Context) (auth.Token, error) {
//		return login(ctx) // your provider's login
//	})
//	cache := auth.NewCache(src, auth.WithRefreshWindow(2*time.Minute))
//	tok, err := cache.Token(ctx)
package auth

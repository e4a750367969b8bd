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
//   - KeyedSource and KeyedSourceFunc: one credential per key, such as a consent token
//     per consent id (K&H's consent-token renewer is one); a KeyedCache in front of it
//     caches and coalesces renewals per key.
//   - HMACSigner: an HMAC under a key the caller may never see (a KMS or Vault transit
//     key implements it); HMACSHA256 is the in-memory one. SignHMACHex and
//     HMACSHA256Hex give the hex form HMAC-signed logins use (TPV).
//   - JWTMinter and JWTVerifier: RS256 only. The minter signs with any crypto.Signer
//     whose public key is RSA (an *rsa.PrivateKey, or a key in an HSM, a KMS or a
//     PKCS#11 token); Mint takes a claims map, MintJSON and AppendJWT claims the
//     caller encoded (no map per token; AppendJWT writes into the caller's buffer,
//     after a "Bearer " say). The verifier pins the algorithm, requires exp, refuses
//     an iat in the future, checks the issuer and a maximum lifetime when configured,
//     and takes a KeySet (StaticKeySet, KeySetFunc) so that it follows an issuer's key
//     rotation;
//     it hands the library typed *rsa.PublicKeys, so "alg: none" and
//     HS256-with-the-public-key forgeries fail. LoadRSAPrivateKey (PKCS#1, PKCS#8) and
//     LoadRSAPublicKey (PKIX, PKCS#1, certificate) read PEM.
//   - Store and MemoryStore: a shared home for one credential used by several replicas
//     (load, save, compare-and-swap by version, refresh lease). With a Store, a
//     KeepAlive bounds every store call made while requests are held by its grace,
//     refreshes on its own when the store stays unreachable close to the revoke
//     deadline, reports a *StoreError (not ErrTokenRevoked) when the outage still cost
//     it the token, and replaces records that cannot be read (ErrUnreadable).
//
// Every client in banksdk takes each credential it uses from one of these pieces, so a
// key or secret can stay in the user's HSM, KMS or secret manager; the in-memory
// options (a token string, an *rsa.PrivateKey) are conveniences on top.
//
// Example:
//
//	src := auth.SourceFunc(func(ctx context.Context) (auth.Token, error) {
//		return login(ctx) // your provider's login
//	})
//	cache := auth.NewCache(src, auth.WithRefreshWindow(2*time.Minute))
//	tok, err := cache.Token(ctx)
package auth

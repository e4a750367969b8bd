// Package redisstore is an auth.Store on Redis, so that several replicas of a service
// share one provider credential: one replica refreshes it (the holder of the store's
// lease) and the others use the result, instead of revoking each other's tokens.
//
// Records are encrypted at rest with AES-256-GCM under a caller-supplied 32-byte key;
// the key id is stored beside each record, so keys can rotate (WithEncryptionKey for
// new records, WithDecryptionKey for older ones). A ciphertext is bound to its Redis
// key and to every clear field of its record: format, version, update time and key
// id. A record that cannot be read (not a record, tampered with, sealed with an unknown
// key, or written by a redisstore before the update time was authenticated) is
// reported as auth.ErrUnreadable with the version that replaces it, and the next lease
// holder overwrites it. Leases are SET NX PX with a fencing token, released only by
// their holder (a Lua compare-and-delete); records are written by version
// compare-and-swap.
//
// go-redis ignores context deadlines unless Options.ContextTimeoutEnabled is set: a
// paused server makes each call wait its ReadTimeout (3 s by default). The auth
// keep-alive does not wait that long while it holds requests, whatever the option.
//
// It is a separate Go module, so the core banksdk module does not depend on Redis.
//
//	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
//	store, err := redisstore.New(rdb, redisstore.WithEncryptionKey("k1", key32))
//	client, err := tkey7.NewClient(..., tkey7.WithStore(store, "tkey7:us:bank"))
//
// When Redis is unreachable, clients keep serving a still-valid token from memory;
// once it nears expiry, calls fail with an *auth.StoreError naming the store.
package redisstore

package redisstore_test

import (
	"crypto/rand"
	"log"

	"github.com/banksdk/banksdk/auth/redisstore"
	"github.com/banksdk/banksdk/tpv"
	"github.com/redis/go-redis/v9"
)

// Replicas of a service share TPV's auth token through Redis: one logs in, the
// others use its token. (Compiled, not run: it needs a Redis server.)
func ExampleNew() {
	key := make([]byte, 32) // in production: from your secret manager, the same on every replica
	if _, err := rand.Read(key); err != nil {
		log.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	store, err := redisstore.New(rdb, redisstore.WithEncryptionKey("2026-11", key))
	if err != nil {
		log.Fatal(err)
	}
	client, err := tpv.NewClient(
		tpv.WithBaseURL("https://clients.example.com"),
		tpv.WithCredentials("app-token", "app-secret"),
		tpv.WithStore(store, "tpv:app-token"),
	)
	if err != nil {
		log.Fatal(err)
	}
	_ = client
}

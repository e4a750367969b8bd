package redisstore_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/banksdk/banksdk/auth/redisstore"
	"github.com/banksdk/banksdk/kh"
	"github.com/banksdk/banksdk/kh/khtest"
	"github.com/banksdk/banksdk/tkey7"
	"github.com/banksdk/banksdk/tkey7/tkey7test"
	"github.com/banksdk/banksdk/tpv"
	"github.com/banksdk/banksdk/tpv/tpvtest"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// TestReadmeReplicas runs the README's replicas example against a real Redis and the
// fakes: two clients per provider share one credential through the store.
func TestReadmeReplicas(t *testing.T) {
	addr := os.Getenv("BANKSDK_REDIS_ADDR")
	if addr == "" {
		t.Skip("needs a Redis server: set BANKSDK_REDIS_ADDR (CI does this)")
	}
	ctx := context.Background()
	key32 := make([]byte, 32)
	_, err := rand.Read(key32)
	require.NoError(t, err)
	portal := tpvtest.NewServer()
	t.Cleanup(portal.Close)
	bank := khtest.NewServer()
	t.Cleanup(bank.Close)
	tk := tkey7test.NewServer()
	t.Cleanup(tk.Close)
	ns := fmt.Sprintf("readme-%d:", time.Now().UnixNano()) // keeps test runs apart in one Redis
	appToken := portal.AppToken()
	tkeyToken := tk.IssueToken()

	replica := func() (*tpv.Client, *kh.Client, *tkey7.Client, error) {
		var tpvOpts = []tpv.Option{tpv.WithBaseURL(portal.URL()), tpv.WithCredentials(appToken, portal.AppSecret())}
		var khOpts = []kh.Option{kh.WithBaseURL(bank.URL()), kh.WithClientCertificate(bank.ClientCertificate()),
			kh.WithRootCAs(bank.RootCAs()), kh.WithAppToken(bank.AppToken()), kh.WithApplicationID(bank.ApplicationID())}
		var tkey7Opts = []tkey7.Option{tkey7.WithBaseURL(tk.URL()), tkey7.WithAccessToken(tkeyToken, time.Now())}

		// readme:begin replicas
		rdb := redis.NewClient(&redis.Options{Addr: addr})                                                           // e.g. "redis:6379"
		store, err := redisstore.New(rdb, redisstore.WithPrefix(ns), redisstore.WithEncryptionKey("2026-11", key32)) // AES-256-GCM at rest
		if err != nil {
			return nil, nil, nil, err
		}
		tpvClient, err := tpv.NewClient(append(tpvOpts, tpv.WithStore(store, "tpv:"+appToken))...)
		if err != nil {
			return nil, nil, nil, err
		}
		khClient, err := kh.NewClient(append(khOpts, kh.WithStore(store, "kh:tpp-1:"))...)
		if err != nil {
			return nil, nil, nil, err
		}
		tkey7Client, err := tkey7.NewClient(append(tkey7Opts, tkey7.WithStore(store, "tkey7:us:bank"))...)
		if err != nil {
			return nil, nil, nil, err
		}
		// readme:end replicas
		t.Cleanup(func() { _ = tpvClient.Close(); _ = khClient.Close(); _ = tkey7Client.Close(); _ = rdb.Close() })
		return tpvClient, khClient, tkey7Client, nil
	}
	for i := range 2 {
		tp, _, tc, err := replica()
		require.NoError(t, err, "replica %d", i)
		_, err = tp.Products(ctx)
		require.NoError(t, err, "replica %d: tpv", i)
		_, err = tc.DigitalAccounts.List(ctx)
		require.NoError(t, err, "replica %d: tkey7", i)
	}
	require.Equal(t, 1, portal.Logins(), "the second replica used the first one's TPV auth token")
}

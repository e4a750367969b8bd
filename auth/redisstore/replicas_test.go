package redisstore

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/banksdk/banksdk/tpv"
	"github.com/banksdk/banksdk/tpv/tpvtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEightTPVReplicasLogInOnce(t *testing.T) {
	_, _, replica := setupReplicas(t)
	portal := tpvtest.NewServer()
	t.Cleanup(portal.Close)
	var clients []*tpv.Client
	for range 8 {
		c, err := tpv.NewClient(tpv.WithBaseURL(portal.URL()), tpv.WithCredentials(portal.AppToken(), portal.AppSecret()),
			tpv.WithStore(replica(), "tpv:app"))
		require.NoError(t, err)
		clients = append(clients, c)
	}
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Products(context.Background())
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	assert.Equal(t, 1, portal.Count(http.MethodPost, tpvtest.PathAuth), "eight replicas starting together log in once")
	assert.Equal(t, 8, portal.Count(http.MethodPost, "/api/v1/products"))
}

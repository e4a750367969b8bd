package redisstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/fake"
	"github.com/banksdk/banksdk/tkey7"
	"github.com/banksdk/banksdk/tkey7/tkey7test"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// redisProc is a redis-server child process of the test, on 127.0.0.1 and a free
// port, so that it can be paused, killed and restarted without disturbing the shared
// server of the other tests.
type redisProc struct {
	t      *testing.T
	path   string
	addr   string
	port   string
	dir    string
	cmd    *exec.Cmd
	paused bool
}

// startRedis starts a private redis-server. Without one installed it skips, except in
// CI (CI=true), where that is a failure.
func startRedis(t *testing.T) *redisProc {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server is not installed: CI must install it (apt-get install redis-server)")
		}
		t.Skip("needs redis-server on PATH, to pause, kill and restart it (apt-get install redis-server); with CI=true this fails")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	require.NoError(t, ln.Close())
	r := &redisProc{t: t, path: path, port: port, addr: "127.0.0.1:" + port, dir: t.TempDir()}
	r.start()
	t.Cleanup(r.stop)
	return r
}

func (r *redisProc) start() {
	r.t.Helper()
	r.cmd = exec.Command(r.path, "--port", r.port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", r.dir)
	require.NoError(r.t, r.cmd.Start())
	c := redis.NewClient(&redis.Options{Addr: r.addr, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			r.t.Fatalf("redis-server on %s did not answer within 10 s", r.addr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// pause stops the server with SIGSTOP: connections stay open, nothing answers.
func (r *redisProc) pause() {
	require.NoError(r.t, r.cmd.Process.Signal(syscall.SIGSTOP))
	r.paused = true
}

func (r *redisProc) resume() {
	require.NoError(r.t, r.cmd.Process.Signal(syscall.SIGCONT))
	r.paused = false
}

// kill ends the server (its data is gone: it keeps none on disk).
func (r *redisProc) kill() {
	if r.paused {
		r.resume()
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
}

func (r *redisProc) stop() {
	if r.cmd.ProcessState == nil {
		r.kill()
	}
}

// faultReplica is a TKEY7 client sharing its token through the private Redis, on a
// go-redis client with default options (it does not honour context deadlines: a
// paused server makes a call wait the 3 s read timeout), logging to log.
type faultReplica struct {
	c   *tkey7.Client
	log *fake.LogBuffer
}

const (
	faultWindow   = 3 * time.Second
	faultInterval = time.Second
	faultGrace    = 100 * time.Millisecond // min(Interval/10, 100 ms)
)

func faultReplicas(t *testing.T, r *redisProc, srv *tkey7test.Server, n int) ([]faultReplica, string, func() *Store) {
	t.Helper()
	key := newKey(t)
	prefix := fmt.Sprintf("banksdk-test:%s:", t.Name())
	newStore := func() *Store {
		rdb := redis.NewClient(&redis.Options{Addr: r.addr})
		t.Cleanup(func() { rdb.Close() })
		s, err := New(rdb, WithPrefix(prefix), WithEncryptionKey("k1", key))
		require.NoError(t, err)
		return s
	}
	issued := time.Now()
	tok := srv.IssueToken(tkey7test.IssuedAt(issued))
	var rs []faultReplica
	for i := range n {
		log := &fake.LogBuffer{}
		c, err := tkey7.NewClient(tkey7.WithBaseURL(srv.URL()), tkey7.WithAccessToken(tok, issued),
			tkey7.WithUserAgent(fmt.Sprintf("replica/%d", i)), tkey7.WithLogger(slog.New(slog.NewTextHandler(log, nil))),
			tkey7.WithRevokeAfter(faultWindow), tkey7.WithRefreshInterval(faultInterval),
			tkey7.WithRetry(3, time.Millisecond, 5*time.Millisecond), tkey7.WithStore(newStore(), "tkey7:us:bank"))
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		rs = append(rs, faultReplica{c, log})
	}
	return rs, tok, newStore
}

// waitFor polls cond every 5 ms and fails the test with msg after timeout.
func waitFor(t *testing.T, timeout time.Duration, msg string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", timeout, msg)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// While Redis is paused (SIGSTOP) across the shared refresh time, no request is held
// longer than the grace (plus a second of slack for a loaded machine) and every call
// succeeds with the still-valid token; after SIGCONT the replicas refresh again.
func TestTKEY7RedisPausedRequestsHeldAtMostTheGrace(t *testing.T) {
	r := startRedis(t)
	srv := tkey7test.NewServer(tkey7test.WithRevokeAfter(faultWindow), tkey7test.WithRotation())
	t.Cleanup(srv.Close)
	replicas, tok, newStore := faultReplicas(t, r, srv, 3)
	waitFor(t, 10*time.Second, "the first refresh", func() bool { return srv.Refreshes() >= 1 })
	for _, rp := range replicas {
		_, err := rp.c.DigitalAccounts.List(context.Background())
		require.NoError(t, err)
	}

	r.pause()
	paused := true
	defer func() {
		if paused {
			r.resume()
		}
	}()
	refreshes := srv.Refreshes()
	// Call from every replica until each has met the paused store while holding its
	// requests (it says so at warn level), timing every call.
	var longest time.Duration
	var calls int
	waitFor(t, 20*time.Second, "every replica met the paused store in its hold", func() bool {
		for _, rp := range replicas {
			start := time.Now()
			_, err := rp.c.DigitalAccounts.List(context.Background())
			longest = max(longest, time.Since(start))
			calls++
			require.NoError(t, err, "the still-valid token is served while Redis is paused")
		}
		for _, rp := range replicas {
			if !bytes.Contains([]byte(rp.log.String()), []byte("did not answer within the grace")) {
				return false
			}
		}
		return true
	})
	assert.Less(t, longest, faultGrace+time.Second, "a call waited %v (grace %v)", longest, faultGrace)
	assert.Greater(t, calls, 3)
	assert.Equal(t, refreshes, srv.Refreshes(), "no refresh without the store's lease while it is only paused")
	assert.Zero(t, srv.Unauthorized())

	r.resume()
	paused = false
	waitFor(t, 20*time.Second, "a refresh after SIGCONT", func() bool { return srv.Refreshes() > refreshes })
	waitFor(t, 20*time.Second, "the refreshed token published", func() bool {
		rec, err := newStore().Load(context.Background(), "tkey7:us:bank")
		return err == nil && rec.Token.Value == srv.CurrentToken(tok)
	})
	for _, rp := range replicas {
		_, err := rp.c.DigitalAccounts.List(context.Background())
		require.NoError(t, err)
	}
	assert.Zero(t, srv.Unauthorized())
}

// Redis is killed for longer than RevokeAfter - Interval, then restarted empty: the
// replica refreshes on its own before TKEY7's revoke deadline (logging why), every
// call succeeds throughout, and once Redis is back the live token is published.
func TestTKEY7RedisKilledPastRefreshIntervalSessionSurvives(t *testing.T) {
	r := startRedis(t)
	srv := tkey7test.NewServer(tkey7test.WithRevokeAfter(faultWindow), tkey7test.WithRotation())
	t.Cleanup(srv.Close)
	replicas, tok, newStore := faultReplicas(t, r, srv, 1)
	c := replicas[0]
	waitFor(t, 10*time.Second, "the first refresh", func() bool { return srv.Refreshes() >= 1 })
	r.kill()
	killed := time.Now()
	before := srv.Refreshes()

	waitFor(t, 2*faultWindow, "a refresh without the store", func() bool {
		_, err := c.c.DigitalAccounts.List(context.Background())
		require.NoError(t, err, "calls succeed while Redis is down")
		return srv.Refreshes() > before
	})
	assert.Less(t, time.Since(killed), faultWindow, "refreshed before the revoke deadline")
	assert.Contains(t, c.log.String(), "the store is unreachable close to the revoke deadline; refreshing without it")
	// Down for longer than the revoke window: the replica keeps its session alive.
	for time.Since(killed) < faultWindow+faultInterval {
		_, err := c.c.DigitalAccounts.List(context.Background())
		require.NoError(t, err, "calls succeed while Redis is down")
		time.Sleep(20 * time.Millisecond)
	}

	r.start()
	waitFor(t, 20*time.Second, "the live token published once Redis is back", func() bool {
		rec, err := newStore().Load(context.Background(), "tkey7:us:bank")
		return err == nil && rec.Token.Value == srv.CurrentToken(tok)
	})
	_, err := c.c.DigitalAccounts.List(context.Background())
	require.NoError(t, err)
	assert.Equal(t, tkey7test.StateActive, srv.State(srv.CurrentToken(tok)))
	assert.Zero(t, srv.Unauthorized())
}

// Redis is gone and TKEY7's refresh keeps failing: once the token passes its revoke
// deadline, calls fail with an *auth.StoreError naming the store, not "token revoked".
func TestTKEY7RedisGoneErrorNamesTheStore(t *testing.T) {
	r := startRedis(t)
	srv := tkey7test.NewServer(tkey7test.WithRevokeAfter(faultWindow), tkey7test.WithRotation())
	t.Cleanup(srv.Close)
	replicas, _, _ := faultReplicas(t, r, srv, 1)
	c := replicas[0]
	srv.InjectError(1000, http.StatusServiceUnavailable, http.MethodPost, strings.TrimPrefix(srv.RefreshPath(), tkey7test.BasePath))
	r.kill()
	var err error
	waitFor(t, 4*faultWindow, "calls fail once the token passed its deadline", func() bool {
		_, err = c.c.DigitalAccounts.List(context.Background())
		return err != nil
	})
	var se *auth.StoreError
	require.ErrorAs(t, err, &se)
	assert.Contains(t, err.Error(), "credential store")
	assert.Contains(t, err.Error(), "redisstore")
	assert.NotErrorIs(t, err, tkey7.ErrTokenRevoked)
	assert.NotContains(t, err.Error(), "token revoked")
}

// A record overwritten with garbage, and one whose update time was moved an hour
// ahead, are replaced by the lease holder: the replicas keep refreshing once per
// window and no call fails.
func TestTKEY7GarbageAndTamperedRecordsRecover(t *testing.T) {
	r := startRedis(t)
	srv := tkey7test.NewServer(tkey7test.WithRevokeAfter(faultWindow), tkey7test.WithRotation())
	t.Cleanup(srv.Close)
	replicas, tok, newStore := faultReplicas(t, r, srv, 3)
	s := newStore()
	rdb := redis.NewClient(&redis.Options{Addr: r.addr})
	t.Cleanup(func() { rdb.Close() })
	rk := s.recordKey("tkey7:us:bank")
	waitFor(t, 10*time.Second, "the first refresh", func() bool { return srv.Refreshes() >= 1 })

	published := func() bool {
		rec, err := s.Load(context.Background(), "tkey7:us:bank")
		return err == nil && rec.Token.Value == srv.CurrentToken(tok)
	}
	calls := func() {
		for _, rp := range replicas {
			_, err := rp.c.DigitalAccounts.List(context.Background())
			require.NoError(t, err)
		}
	}
	waitFor(t, 10*time.Second, "the first token published", published)
	// Every replica has settled on it (a call passes only once its hold is over), so
	// the record is damaged between windows, not under a replica still waiting for it.
	calls()

	// Garbage.
	require.NoError(t, rdb.Set(context.Background(), rk, "\x00not a record{", 0).Err())
	_, err := s.Load(context.Background(), "tkey7:us:bank")
	require.ErrorIs(t, err, auth.ErrUnreadable)
	n := srv.Refreshes()
	waitFor(t, 4*faultWindow, "the garbage replaced", func() bool { calls(); return srv.Refreshes() > n && published() })
	calls()

	// The update time moved an hour ahead, the rest of the record intact.
	raw, err := rdb.Get(context.Background(), rk).Bytes()
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	m["u"] = time.Now().Add(time.Hour).UnixNano()
	tampered, err := json.Marshal(m)
	require.NoError(t, err)
	require.NoError(t, rdb.Set(context.Background(), rk, tampered, 0).Err())
	_, err = s.Load(context.Background(), "tkey7:us:bank")
	require.ErrorIs(t, err, auth.ErrUnreadable, "the update time is authenticated")
	n = srv.Refreshes()
	waitFor(t, 4*faultWindow, "refreshes go on and the record is replaced", func() bool {
		calls()
		return srv.Refreshes() >= n+2 && published()
	})
	found := false
	for _, rp := range replicas {
		found = found || bytes.Contains([]byte(rp.log.String()), []byte("replacing the stored token, which cannot be read"))
		assert.NotContains(t, rp.log.String(), srv.CurrentToken(tok), "no token in the logs")
	}
	assert.True(t, found, "the lease holder said it replaced the record")
	assert.Zero(t, srv.Unauthorized())
	assert.Zero(t, srv.RetiredTokenUses())
}

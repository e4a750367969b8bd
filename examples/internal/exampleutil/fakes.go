package exampleutil

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/banksdk/banksdk/obp"
	"github.com/banksdk/banksdk/obp/obptest"
	"github.com/banksdk/banksdk/saltedge/saltedgetest"
	"github.com/banksdk/banksdk/tkey7/tkey7test"
)

// TKEY7Fake starts the fake TKEY7 on a clock that moves only when told to, so a
// program crosses its 15-minute revoke window without waiting, and with a new token
// on every refresh, as TKEY7 may rotate them.
func TKEY7Fake() (*tkey7test.Server, *tkey7test.Clock) {
	clock := tkey7test.NewClock(time.Time{})
	return tkey7test.NewServer(tkey7test.WithClock(clock.Now), tkey7test.WithRotation()), clock
}

// IdleRevokeWindows moves the fake TKEY7's clock on by half a revoke window n times,
// and after each move waits for a refresh the fake saw at the new time: the fake would
// revoke the token if a whole window of its clock passed without one. It fails when
// ctx ends first.
func IdleRevokeWindows(ctx context.Context, srv *tkey7test.Server, clock *tkey7test.Clock, n int) error {
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	refreshedSince := func(t time.Time) bool {
		times := srv.RefreshTimes()
		return len(times) > 0 && !times[len(times)-1].Before(t)
	}
	for range n {
		now := clock.Advance(srv.RevokeAfter() / 2)
		for !refreshedSince(now) {
			select {
			case <-ctx.Done():
				return fmt.Errorf("waiting for the keep-alive to refresh: %w", ctx.Err())
			case <-tick.C:
			}
		}
	}
	return nil
}

// OBPFake starts the fake OBP instance and returns the DAuth configuration it
// accepts. That DAuth identity holds the owner view of the account
// obptest.DefaultAccountID at bank obptest.DefaultBankID, as an account holder would
// have arranged on a real instance.
func OBPFake() (*obptest.Server, obp.DAuthConfig, error) {
	srv := obptest.NewServer()
	dauth := obp.DAuthConfig{
		PrivateKey:           srv.DAuthPrivateKey(),
		SmartContractAddress: obptest.DefaultSmartContractAddress,
		NetworkName:          obptest.DefaultNetworkName,
		MsgSender:            obptest.DefaultMsgSender,
		ConsumerKey:          srv.ConsumerKey(),
	}
	id := srv.EnsureUser(dauth.SmartContractAddress, obp.DAuthProvider(dauth.NetworkName))
	if err := srv.GrantAccess(obptest.DefaultBankID, obptest.DefaultAccountID, id, obptest.ViewOwner); err != nil {
		srv.Close()
		return nil, obp.DAuthConfig{}, err
	}
	return srv, dauth, nil
}

// ServeLoopback serves on a new loopback port the handler newHandler builds for the
// port's base URL (http://127.0.0.1:port), until stop is called.
func ServeLoopback(newHandler func(baseURL string) (http.Handler, error)) (baseURL string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	baseURL = "http://" + ln.Addr().String()
	h, err := newHandler(baseURL)
	if err != nil {
		ln.Close()
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	return baseURL, func() {
		_ = srv.Close()
		<-done
	}, nil
}

// SaltEdgeAnswer checks an answer the connector gave the fake Salt Edge: err when the
// request failed, an error naming the answer's class when it is not a success, and
// otherwise its data decoded into v (unless v is nil).
func SaltEdgeAnswer(resp *saltedgetest.Response, err error, v any) error {
	if err != nil {
		return err
	}
	if resp == nil {
		return errors.New("no answer")
	}
	if !resp.OK() {
		return fmt.Errorf("HTTP %d %s: %s", resp.StatusCode, resp.ErrorClass, resp.ErrorMessage)
	}
	if v == nil {
		return nil
	}
	return resp.DecodeData(v)
}

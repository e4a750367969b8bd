package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/tkey7"
	"github.com/banksdk/banksdk/tkey7/tkey7test"
)

// TKEY7 lists the digital accounts, reads one and handles an API error.
func TKEY7(ctx context.Context, p Stepper, client *tkey7.Client) error {
	var ids []string
	if err := p.Step("list digital accounts", func() (string, error) {
		list, err := client.DigitalAccounts.List(ctx)
		if err != nil {
			return "", err
		}
		ids = accountIDs(list)
		if list.Accounts == nil {
			return fmt.Sprintf("answer is not a JSON array (%d bytes, kept raw)", len(list.Raw)), nil
		}
		return fmt.Sprintf("%d accounts: %s", len(list.Accounts), Shorten(strings.Join(ids, ", "), 60)), nil
	}); err != nil {
		return err
	}

	if len(ids) > 0 {
		if err := p.Step("get digital account "+ids[0], func() (string, error) {
			doc, err := client.DigitalAccounts.Get(ctx, ids[0])
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("%d bytes of JSON", len(doc)), nil
		}); err != nil {
			return err
		}
	}

	if err := p.Step("handle an API error (unknown account)", func() (string, error) {
		_, err := client.DigitalAccounts.Get(ctx, "banksdk-example-no-such-account")
		var apiErr *tkey7.APIError
		switch {
		case err == nil:
			return "", errors.New("expected an error for an unknown account")
		case errors.Is(err, tkey7.ErrTokenRevoked), errors.Is(err, tkey7.ErrSessionExpired):
			return "", err
		case !errors.As(err, &apiErr):
			return "", err
		}
		return fmt.Sprintf("%d %s %q (troubleshooting id %s)", apiErr.StatusCode, apiErr.Code,
			apiErr.ShortMessage, apiErr.TroubleshootingID), nil
	}); err != nil {
		return err
	}

	return nil
}

// TKEY7KeepAlive runs against the fake only, whose clock (see tkey7test.WithClock)
// moves only when told to: the client stays idle while the fake's clock crosses three
// and a half revoke windows, half a window after each refresh the keep-alive makes, so
// the fake would revoke the token if the keep-alive let a window pass. Then the fake
// revokes the token and the client reports it after one confirming refresh, without
// retrying. Each wait is an event (a refresh the fake saw), bounded by ctx.
func TKEY7KeepAlive(ctx context.Context, p Stepper, client *tkey7.Client, srv *tkey7test.Server, clock *tkey7test.Clock, issuedToken string) error {
	if err := p.Step("stay idle for 3.5 revoke windows (fake clock)", func() (string, error) {
		for range 7 {
			clock.Advance(srv.RevokeAfter() / 2)
			before := srv.Refreshes() // wait for a refresh after the clock moved
			if err := waitFor(ctx, func() bool { return srv.Refreshes() > before }); err != nil {
				return "", fmt.Errorf("waiting for the keep-alive to refresh: %w", err)
			}
		}
		if _, err := client.DigitalAccounts.List(ctx); err != nil {
			return "", err
		}
		return fmt.Sprintf("%d refreshes in the background, %d retired tokens sent; token still valid",
			client.Refreshes(), srv.RetiredTokenUses()), nil
	}); err != nil {
		return err
	}

	return p.Step("a revoked token is reported, not retried", func() (string, error) {
		before := len(srv.Requests())
		// As TKEY7 does after 15 minutes without a refresh. The keep-alive may rotate
		// the token meanwhile: revoke until the session's current token is revoked.
		for srv.State(srv.CurrentToken(issuedToken)) != tkey7test.StateRevoked {
			srv.Revoke(srv.CurrentToken(issuedToken))
		}
		_, err := client.DigitalAccounts.List(ctx)
		if !errors.Is(err, tkey7.ErrTokenRevoked) {
			return "", fmt.Errorf("expected ErrTokenRevoked, got %v", err)
		}
		_, err2 := client.DigitalAccounts.List(ctx)
		if !errors.Is(err2, tkey7.ErrTokenRevoked) {
			return "", fmt.Errorf("expected ErrTokenRevoked again, got %v", err2)
		}
		var apiErr *tkey7.APIError
		if !errors.As(err, &apiErr) {
			return "", fmt.Errorf("expected an *APIError, got %v", err)
		}
		return fmt.Sprintf("%d %s; 2 calls, %d requests reached TKEY7 (at most a call and its confirming refresh); the error ends: ...%s",
			apiErr.StatusCode, apiErr.Code, len(srv.Requests())-before, err.Error()[strings.LastIndex(err.Error(), ":"):]), nil
	})
}

// TokenBox is an access token source an operator updates: the stand-in for the secret
// manager an administrator's new Web Office token is put into. It is safe for
// concurrent use.
type TokenBox struct {
	mu  sync.Mutex
	tok string
}

// Put stores a new token.
func (b *TokenBox) Put(tok string) {
	b.mu.Lock()
	b.tok = tok
	b.mu.Unlock()
}

// Token implements auth.Source.
func (b *TokenBox) Token(context.Context) (auth.Token, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.tok == "" {
		return auth.Token{}, errors.New("no access token stored yet")
	}
	return auth.Token{Value: b.tok}, nil
}

// TKEY7NewToken runs against the fake only, after TKEY7KeepAlive reported the revoked
// token: an administrator creates a new token and an operator puts it into the box the
// client's access token source reads; the next call succeeds with it, in a new
// session, without a new client.
func TKEY7NewToken(ctx context.Context, p Stepper, client *tkey7.Client, srv *tkey7test.Server, box *TokenBox) error {
	return p.Step("a new token in the access token source heals the client", func() (string, error) {
		box.Put(srv.IssueToken())
		list, err := client.DigitalAccounts.List(ctx)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%d accounts with the new token, no new client; its session ends %s",
			len(list.Accounts), client.SessionEnd().UTC().Format(time.RFC3339)), nil
	})
}

// waitFor polls cond until it holds or ctx ends.
func waitFor(ctx context.Context, cond func() bool) error {
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// accountIDs reads the "id" of each account document, when it has one.
func accountIDs(list *tkey7.DigitalAccountList) []string {
	var ids []string
	for _, raw := range list.Accounts {
		var doc struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(raw, &doc) == nil && doc.ID != "" {
			ids = append(ids, doc.ID)
		}
	}
	return ids
}

package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/banksdk/banksdk/saltedge"
)

// bank is a small in-memory bank's connector: one PSU with two accounts, an OAuth
// token flow (tokens/create sends the PSU to the bank's /authorize page; approving
// there issues an access token, sent to Salt Edge with sessions/success), accounts,
// transactions, KYC and revoke. Everything else is left to UnimplementedConnector,
// which answers Salt Edge with the documented "not supported" error.
//
// This is the code a bank writes: the handler of package saltedge verifies each of
// Salt Edge's requests and calls these methods; the bank answers with the client's
// callbacks.
type bank struct {
	saltedge.UnimplementedConnector
	client    *saltedge.Client
	publicURL string // where the PSU reaches the bank's /authorize page
	log       *slog.Logger

	mu      sync.Mutex
	pending map[string]time.Time // session secret -> when the PSU's authorisation expires
	tokens  map[string]string    // access token -> user id
	bg      sync.WaitGroup       // callbacks in flight
}

func newBank(client *saltedge.Client, publicURL string, log *slog.Logger) *bank {
	return &bank{client: client, publicURL: publicURL, log: log,
		pending: map[string]time.Time{}, tokens: map[string]string{}}
}

// routes serves Salt Edge's connector API (h, from saltedge.NewHandler) under
// saltedge.DefaultBasePath and the bank's /authorize page for the PSU.
func (b *bank) routes(h http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(saltedge.DefaultBasePath+"/", h)
	mux.HandleFunc("GET /authorize", b.authorize)
	return mux
}

var bankAccounts = []saltedge.Account{
	{ID: "acc-1", Name: "Current account", Nature: saltedge.NatureChecking, CurrencyCode: "EUR",
		Balance: "1520.35", AvailableAmount: "1420.35", IBAN: "DE89370400440532013000",
		PaymentAccount: true, Status: saltedge.AccountActive, Extra: map[string]any{}},
	{ID: "acc-2", Name: "Savings", Nature: saltedge.NatureSavings, CurrencyCode: "EUR",
		Balance: "10000.00", Status: saltedge.AccountActive, Extra: map[string]any{}},
}

var bankTransactions = map[string][]saltedge.Transaction{
	"acc-1": {
		{ID: "tx-1", AccountID: "acc-1", Amount: "-42.10", CurrencyCode: "EUR", Description: "Groceries",
			MadeOn: "2024-11-02", Status: saltedge.TransactionPosted},
		{ID: "tx-2", AccountID: "acc-1", Amount: "2500.00", CurrencyCode: "EUR", Description: "Salary",
			MadeOn: "2024-11-01", Status: saltedge.TransactionPosted},
		{ID: "tx-3", AccountID: "acc-1", Amount: "-9.99", CurrencyCode: "EUR", Description: "Streaming",
			MadeOn: "2024-11-03", Status: saltedge.TransactionPending,
			Fees: []saltedge.Fee{{Description: "FX fee", Amount: "0.10", CurrencyCode: "EUR"}}},
	},
}

// wait waits for the callbacks still in flight.
func (b *bank) wait() { b.bg.Wait() }

// CreateToken starts the OAuth flow: Salt Edge is told (sessions/update) to send the
// PSU to the bank's /authorize page.
func (b *bank) CreateToken(ctx context.Context, req *saltedge.CreateTokenRequest) error {
	b.mu.Lock()
	b.pending[req.SessionSecret] = time.Now().Add(15 * time.Minute)
	b.mu.Unlock()
	redirect := b.publicURL + "/authorize?" + url.Values{"session_secret": {req.SessionSecret}}.Encode()
	b.async(ctx, "sessions/update", func(ctx context.Context) error {
		_, err := b.client.Sessions.Update(ctx, saltedge.RedirectUpdate(req.SessionSecret, redirect))
		if errors.Is(err, saltedge.ErrOutcomeUnknown) {
			// Salt Edge may have the redirect: it was not sent again. The PSU who is
			// not redirected starts over, with a new session.
			return fmt.Errorf("the redirect may not have reached Salt Edge: %w", err)
		}
		return err
	})
	return nil // answered 200 {}: the outcome follows by callback
}

// CancelToken drops a token still in enrollment.
func (b *bank) CancelToken(_ context.Context, req *saltedge.CancelTokenRequest) error {
	b.mu.Lock()
	delete(b.pending, req.SessionSecret)
	b.mu.Unlock()
	return nil
}

// RevokeToken forgets an access token.
func (b *bank) RevokeToken(_ context.Context, req *saltedge.RevokeTokenRequest) error {
	if _, err := b.user(req.AccessToken.Reveal()); err != nil {
		return err
	}
	b.mu.Lock()
	delete(b.tokens, req.AccessToken.Reveal())
	b.mu.Unlock()
	return nil
}

// Accounts lists the PSU's accounts.
func (b *bank) Accounts(_ context.Context, req *saltedge.AccountsRequest) ([]saltedge.Account, error) {
	if _, err := b.user(req.AccessToken.Reveal()); err != nil {
		return nil, err
	}
	return bankAccounts, nil
}

// Transactions lists an account's transactions.
func (b *bank) Transactions(_ context.Context, req *saltedge.TransactionsRequest) ([]saltedge.Transaction, error) {
	if _, err := b.user(req.AccessToken.Reveal()); err != nil {
		return nil, err
	}
	for _, a := range bankAccounts {
		if a.ID == req.AccountID {
			return bankTransactions[a.ID], nil
		}
	}
	return nil, saltedge.NewConnectorError(saltedge.ClassAccountNotFound, "no account "+req.AccountID)
}

// KYC describes the PSU.
func (b *bank) KYC(_ context.Context, req *saltedge.KYCRequest) (*saltedge.KYC, error) {
	if _, err := b.user(req.AccessToken.Reveal()); err != nil {
		return nil, err
	}
	return &saltedge.KYC{Name: "Jane Doe", Email: "jane@example.com", DateOfBirth: "1990-04-01"}, nil
}

// user returns the user an access token belongs to, or the documented error class
// for an unknown token.
func (b *bank) user(token string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	u, ok := b.tokens[token]
	if !ok {
		return "", saltedge.NewConnectorError(saltedge.ClassTokenNotFound, "unknown access token")
	}
	return u, nil
}

// authorize is the bank's login page: here the PSU approves at once, and the bank
// issues an access token and sends it to Salt Edge with sessions/success.
func (b *bank) authorize(w http.ResponseWriter, r *http.Request) {
	secret := r.URL.Query().Get("session_secret")
	b.mu.Lock()
	exp, ok := b.pending[secret]
	delete(b.pending, secret)
	b.mu.Unlock()
	if !ok || time.Now().After(exp) {
		http.Error(w, "unknown or expired session", http.StatusNotFound)
		return
	}
	tok := make([]byte, 32)
	if _, err := rand.Read(tok); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	token := base64.RawURLEncoding.EncodeToString(tok)
	b.mu.Lock()
	b.tokens[token] = "psu-1"
	b.mu.Unlock()
	_, err := b.client.Sessions.Success(r.Context(), saltedge.SessionSuccess{
		SessionSecret:  secret,
		Token:          token,
		UserID:         "psu-1",
		TokenExpiresAt: time.Now().Add(90 * 24 * time.Hour).UTC().Truncate(time.Second),
		Consent:        []saltedge.ConsentAccess{{AccountID: saltedge.ConsentAllAccounts, Scopes: []string{"balance", "transactions"}}},
	})
	var apiErr *saltedge.APIError
	switch {
	case errors.Is(err, saltedge.ErrOutcomeUnknown):
		// Salt Edge may hold the token: keep it valid (its tokens/index lists the
		// tokens it holds) and do not send sessions/success again blindly.
		b.log.Warn("sessions/success may not have reached Salt Edge", slog.String("error", err.Error()))
		http.Error(w, "Your authorisation is being confirmed; come back later.", http.StatusAccepted)
		return
	case errors.As(err, &apiErr) && (apiErr.Has(saltedge.ClassSessionExpired) || apiErr.Has(saltedge.ClassSessionClosed)):
		b.forget(token) // Salt Edge will never use it
		http.Error(w, "This authorisation expired; start again from your provider.", http.StatusGone)
		return
	case err != nil:
		b.forget(token)
		b.log.Error("sessions/success failed", slog.String("error", err.Error()))
		http.Error(w, "could not confirm the authorisation", http.StatusBadGateway)
		return
	}
	fmt.Fprintln(w, "Access granted. You can close this page.")
}

func (b *bank) forget(token string) {
	b.mu.Lock()
	delete(b.tokens, token)
	b.mu.Unlock()
}

// async runs a callback after the handler answered, detached from the request's
// cancellation.
func (b *bank) async(ctx context.Context, name string, fn func(context.Context) error) {
	b.bg.Add(1)
	go func() {
		defer b.bg.Done()
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := fn(cctx); err != nil {
			b.log.Error("callback failed", slog.String("callback", name), slog.String("error", err.Error()))
		}
	}()
}

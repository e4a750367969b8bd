package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/banksdk/banksdk/saltedge"
)

// demoBank is a small in-memory bank connector: one PSU with two accounts, an OAuth
// token flow (tokens/create sends the PSU to the bank's /authorize page; approving
// there issues an access token by sessions/success), accounts, transactions, KYC and
// revoke. Everything else is left to UnimplementedConnector.
type demoBank struct {
	saltedge.UnimplementedConnector
	client  *saltedge.Client
	baseURL string // where the bank's /authorize page is served
	log     *slog.Logger

	mu      sync.Mutex
	pending map[string]time.Time // session secret -> expiry
	tokens  map[string]string    // access token -> user id
	bg      sync.WaitGroup
}

func newDemoBank(client *saltedge.Client, baseURL string, log *slog.Logger) *demoBank {
	return &demoBank{client: client, baseURL: baseURL, log: log,
		pending: map[string]time.Time{}, tokens: map[string]string{}}
}

var demoAccounts = []saltedge.Account{
	{ID: "acc-1", Name: "Current account", Nature: saltedge.NatureChecking, CurrencyCode: "EUR",
		Balance: "1520.35", AvailableAmount: "1420.35", IBAN: "DE89370400440532013000",
		PaymentAccount: true, Status: saltedge.AccountActive, Extra: map[string]any{}},
	{ID: "acc-2", Name: "Savings", Nature: saltedge.NatureSavings, CurrencyCode: "EUR",
		Balance: "10000.00", Status: saltedge.AccountActive, Extra: map[string]any{}},
}

var demoTransactions = map[string][]saltedge.Transaction{
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

func (b *demoBank) wait() { b.bg.Wait() }

// CreateToken starts the OAuth flow: the PSU is sent to the bank's /authorize page.
func (b *demoBank) CreateToken(ctx context.Context, req *saltedge.CreateTokenRequest) error {
	b.mu.Lock()
	b.pending[req.SessionSecret] = time.Now().Add(15 * time.Minute)
	b.mu.Unlock()
	redirect := b.baseURL + "/authorize?" + url.Values{"session_secret": {req.SessionSecret}}.Encode()
	b.async(ctx, "sessions/update", func(ctx context.Context) error {
		_, err := b.client.Sessions.Update(ctx, saltedge.RedirectUpdate(req.SessionSecret, redirect))
		return err
	})
	return nil
}

// CancelToken drops a token still in enrollment.
func (b *demoBank) CancelToken(_ context.Context, req *saltedge.CancelTokenRequest) error {
	b.mu.Lock()
	delete(b.pending, req.SessionSecret)
	b.mu.Unlock()
	return nil
}

// RevokeToken forgets an access token.
func (b *demoBank) RevokeToken(_ context.Context, req *saltedge.RevokeTokenRequest) error {
	if _, err := b.user(req.AccessToken.Reveal()); err != nil {
		return err
	}
	b.mu.Lock()
	delete(b.tokens, req.AccessToken.Reveal())
	b.mu.Unlock()
	return nil
}

func (b *demoBank) Accounts(_ context.Context, req *saltedge.AccountsRequest) ([]saltedge.Account, error) {
	if _, err := b.user(req.AccessToken.Reveal()); err != nil {
		return nil, err
	}
	return demoAccounts, nil
}

func (b *demoBank) Transactions(_ context.Context, req *saltedge.TransactionsRequest) ([]saltedge.Transaction, error) {
	if _, err := b.user(req.AccessToken.Reveal()); err != nil {
		return nil, err
	}
	for _, a := range demoAccounts {
		if a.ID == req.AccountID {
			return demoTransactions[a.ID], nil
		}
	}
	return nil, saltedge.NewConnectorError(saltedge.ClassAccountNotFound, "no account "+req.AccountID)
}

func (b *demoBank) KYC(_ context.Context, req *saltedge.KYCRequest) (*saltedge.KYC, error) {
	if _, err := b.user(req.AccessToken.Reveal()); err != nil {
		return nil, err
	}
	return &saltedge.KYC{Name: "Jane Doe", Email: "jane@example.com", DateOfBirth: "1990-04-01"}, nil
}

func (b *demoBank) user(token string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	u, ok := b.tokens[token]
	if !ok {
		return "", saltedge.NewConnectorError(saltedge.ClassTokenNotFound, "unknown access token")
	}
	return u, nil
}

// authorize is the bank's login page: here the PSU approves at once, and the bank
// issues an access token with sessions/success.
func (b *demoBank) authorize(w http.ResponseWriter, r *http.Request) {
	secret := r.URL.Query().Get("session_secret")
	b.mu.Lock()
	exp, ok := b.pending[secret]
	delete(b.pending, secret)
	b.mu.Unlock()
	if !ok || time.Now().After(exp) {
		http.Error(w, "unknown or expired session", http.StatusNotFound)
		return
	}
	token, err := randomToken()
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	b.mu.Lock()
	b.tokens[token] = "psu-1"
	b.mu.Unlock()
	_, err = b.client.Sessions.Success(r.Context(), saltedge.SessionSuccess{
		SessionSecret:  secret,
		Token:          token,
		UserID:         "psu-1",
		TokenExpiresAt: time.Now().Add(90 * 24 * time.Hour).UTC().Truncate(time.Second),
		Consent:        []saltedge.ConsentAccess{{AccountID: saltedge.ConsentAllAccounts, Scopes: []string{"balance", "transactions"}}},
	})
	if err != nil {
		b.log.Error("sessions/success failed", slog.String("error", err.Error()))
		http.Error(w, "could not confirm the authorisation", http.StatusBadGateway)
		return
	}
	fmt.Fprintln(w, "Access granted. You can close this page.")
}

// async runs a callback after the handler answered, detached from the request.
func (b *demoBank) async(ctx context.Context, name string, fn func(context.Context) error) {
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

func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

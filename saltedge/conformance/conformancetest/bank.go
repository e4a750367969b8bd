// Package conformancetest runs a small reference bank connector that passes every
// check of package conformance: saltedge.NewHandler over an in-memory bank with one
// PSU and two accounts (adapted from the demo bank of the examples). Use it to see
// the runner at work, and, wrapped by Config.Wrap, to try the runner against a
// connector broken on purpose.
package conformancetest

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"time"

	"github.com/banksdk/banksdk/saltedge"
)

// Config configures a reference bank.
type Config struct {
	// SaltEdgeKey is the public half of the key the runner signs with
	// (conformance.Config.SigningKey): the bank verifies every request with it.
	// Required.
	SaltEdgeKey *rsa.PublicKey
	// CallbackURL is where the bank sends its callbacks: the URL of the runner's
	// conformance.Config.Callbacks listener. Required.
	CallbackURL string
	// AppID and AppSecret are sent with every callback. Required.
	AppID, AppSecret string
	// ProviderKey signs the callbacks (its public half is
	// conformance.Config.ConnectorPublicKey). Required.
	ProviderKey crypto.Signer
	// ConfirmationCode, when set, makes the bank use the embedded flow: tokens/create
	// is answered with sessions/update waiting_confirmation_code (interactive field
	// "sms_pincode"), and tokens/confirm must carry this code. Otherwise the bank uses
	// the redirect (OAuth) flow: the PSU approves on the bank's /authorize page.
	ConfirmationCode string
	// Wrap, when set, wraps the connector API's handler (tests break it on purpose).
	Wrap func(http.Handler) http.Handler
	// Logger receives the handler's and the bank's logs (default: discard).
	Logger *slog.Logger
}

// Server is a running reference bank.
type Server struct {
	srv    *httptest.Server
	bank   *bank
	client *saltedge.Client
}

// Start starts a reference bank on a loopback port. Close it when done.
func Start(cfg Config) (*Server, error) {
	if cfg.SaltEdgeKey == nil || cfg.CallbackURL == "" || cfg.AppID == "" || cfg.AppSecret == "" || cfg.ProviderKey == nil {
		return nil, errors.New("conformancetest: SaltEdgeKey, CallbackURL, AppID, AppSecret and ProviderKey are required")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	client, err := saltedge.NewClient(saltedge.WithBaseURL(cfg.CallbackURL), saltedge.WithAppID(cfg.AppID),
		saltedge.WithAppSecret(cfg.AppSecret), saltedge.WithPrivateKey(cfg.ProviderKey), saltedge.WithLogger(log))
	if err != nil {
		return nil, fmt.Errorf("conformancetest: %w", err)
	}
	verifier, err := saltedge.NewClientJWTVerifier(client)
	if err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("conformancetest: %w", err)
	}
	srv := httptest.NewUnstartedServer(nil)
	b := &bank{client: client, clientJWT: verifier, baseURL: "http://" + srv.Listener.Addr().String(), code: cfg.ConfirmationCode,
		log: log, pending: map[string]time.Time{}, tokens: map[string]string{}}
	h, err := saltedge.NewHandler(saltedge.HandlerConfig{Connector: b, PublicKey: cfg.SaltEdgeKey,
		Issuer: saltedge.DefaultIssuer, Logger: log})
	if err != nil {
		srv.Close()
		_ = client.Close()
		return nil, fmt.Errorf("conformancetest: %w", err)
	}
	if cfg.Wrap != nil {
		h = cfg.Wrap(h)
	}
	mux := http.NewServeMux()
	mux.Handle(saltedge.DefaultBasePath+"/", h)
	mux.HandleFunc("GET /authorize", b.authorize)
	srv.Config.Handler = mux
	srv.Start()
	return &Server{srv: srv, bank: b, client: client}, nil
}

// URL is the bank's root URL (conformance.Config.BaseURL).
func (s *Server) URL() string { return s.srv.URL }

// Close stops the bank and waits for the callbacks it is sending.
func (s *Server) Close() {
	s.srv.Close()
	s.bank.bg.Wait()
	_ = s.client.Close()
}

// bank is the in-memory connector: one PSU, two accounts.
type bank struct {
	saltedge.UnimplementedConnector
	client    *saltedge.Client
	clientJWT *saltedge.ClientJWTVerifier // the TPP's signature, key from clients/info
	baseURL   string
	code      string
	log       *slog.Logger

	mu      sync.Mutex
	pending map[string]time.Time // session secret -> expiry
	tokens  map[string]string    // access token -> user id
	bg      sync.WaitGroup
}

var accounts = []saltedge.Account{
	{ID: "acc-1", Name: "Current account", Nature: saltedge.NatureChecking, CurrencyCode: "EUR",
		Balance: "1520.35", AvailableAmount: "1420.35", IBAN: "DE89370400440532013000",
		PaymentAccount: true, Status: saltedge.AccountActive, Extra: map[string]any{}},
	{ID: "acc-2", Name: "Savings", Nature: saltedge.NatureSavings, CurrencyCode: "EUR",
		Balance: "10000.00", Status: saltedge.AccountActive, Extra: map[string]any{}},
}

var transactions = map[string][]saltedge.Transaction{
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

// CreateToken starts the redirect flow (the PSU goes to /authorize) or, with a
// confirmation code, the embedded flow (the PSU types the code).
func (b *bank) CreateToken(ctx context.Context, req *saltedge.CreateTokenRequest) error {
	if _, err := req.OriginalRequest.Verify(ctx, b.clientJWT, req.ClientID); err != nil {
		return saltedge.NewConnectorError(saltedge.ClassWrongRequestFormat, "client_jwt does not verify")
	}
	b.mu.Lock()
	b.pending[req.SessionSecret] = time.Now().Add(15 * time.Minute)
	b.mu.Unlock()
	update := saltedge.SessionUpdate{SessionSecret: req.SessionSecret, Status: saltedge.SessionWaitingConfirmationCode,
		InteractiveStepInstruction: &saltedge.InteractiveStep{Instruction: "Enter the code sent by SMS", InteractiveField: "sms_pincode"}}
	if b.code == "" {
		update = saltedge.RedirectUpdate(req.SessionSecret,
			b.baseURL+"/authorize?"+url.Values{"session_secret": {req.SessionSecret}}.Encode())
	}
	b.async(ctx, func(ctx context.Context) error {
		_, err := b.client.Sessions.Update(ctx, update)
		return err
	})
	return nil
}

// ConfirmToken checks the code of the embedded flow and issues the token.
func (b *bank) ConfirmToken(ctx context.Context, req *saltedge.ConfirmTokenRequest) error {
	if b.code == "" {
		return saltedge.NewConnectorError(saltedge.ClassActionNotAllowed, "this bank uses the redirect flow")
	}
	payload, err := req.OriginalRequest.Verify(ctx, b.clientJWT, req.ClientID)
	if err != nil {
		return saltedge.NewConnectorError(saltedge.ClassWrongRequestFormat, "client_jwt does not verify")
	}
	if !b.take(req.SessionSecret) {
		return saltedge.NewConnectorError(saltedge.ClassTokenNotFound, "no token in enrollment for this session")
	}
	secret, ok := req.SessionSecret, payload.Credentials.Get("sms_pincode") == b.code
	b.async(ctx, func(ctx context.Context) error {
		if !ok {
			_, err := b.client.Sessions.Fail(ctx, saltedge.SessionFail{SessionSecret: secret,
				ErrorClass: saltedge.ClassInvalidConfirmationCode, ErrorMessage: "wrong confirmation code"})
			return err
		}
		return b.grant(ctx, secret)
	})
	return nil
}

// CancelToken drops a token still in enrollment.
func (b *bank) CancelToken(_ context.Context, req *saltedge.CancelTokenRequest) error {
	b.take(req.SessionSecret)
	return nil
}

// RevokeToken forgets an access token.
func (b *bank) RevokeToken(_ context.Context, req *saltedge.RevokeTokenRequest) error {
	if err := b.user(req.AccessToken.Reveal()); err != nil {
		return err
	}
	b.mu.Lock()
	delete(b.tokens, req.AccessToken.Reveal())
	b.mu.Unlock()
	return nil
}

// Accounts lists the PSU's accounts.
func (b *bank) Accounts(_ context.Context, req *saltedge.AccountsRequest) ([]saltedge.Account, error) {
	if err := b.user(req.AccessToken.Reveal()); err != nil {
		return nil, err
	}
	return accounts, nil
}

// Transactions lists an account's transactions.
func (b *bank) Transactions(_ context.Context, req *saltedge.TransactionsRequest) ([]saltedge.Transaction, error) {
	if err := b.user(req.AccessToken.Reveal()); err != nil {
		return nil, err
	}
	for _, a := range accounts {
		if a.ID == req.AccountID {
			return transactions[a.ID], nil
		}
	}
	return nil, saltedge.NewConnectorError(saltedge.ClassAccountNotFound, "no such account")
}

// KYC describes the PSU.
func (b *bank) KYC(_ context.Context, req *saltedge.KYCRequest) (*saltedge.KYC, error) {
	if err := b.user(req.AccessToken.Reveal()); err != nil {
		return nil, err
	}
	return &saltedge.KYC{Name: "Jane Doe", Email: "jane@example.com", DateOfBirth: "1990-04-01"}, nil
}

func (b *bank) user(token string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.tokens[token]; !ok {
		return saltedge.NewConnectorError(saltedge.ClassTokenNotFound, "unknown access token")
	}
	return nil
}

// take ends the enrollment of a session, reporting whether it was pending.
func (b *bank) take(secret string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	exp, ok := b.pending[secret]
	delete(b.pending, secret)
	return ok && time.Now().Before(exp)
}

// grant issues an access token for the session by sessions/success.
func (b *bank) grant(ctx context.Context, secret string) error {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return err
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	b.mu.Lock()
	b.tokens[token] = "psu-1"
	b.mu.Unlock()
	_, err := b.client.Sessions.Success(ctx, saltedge.SessionSuccess{SessionSecret: secret, Token: token, UserID: "psu-1",
		TokenExpiresAt: time.Now().Add(90 * 24 * time.Hour).UTC().Truncate(time.Second),
		Consent:        []saltedge.ConsentAccess{{AccountID: saltedge.ConsentAllAccounts, Scopes: []string{"balance", "transactions"}}}})
	return err
}

// authorize is the bank's login page of the redirect flow: the PSU approves at once.
func (b *bank) authorize(w http.ResponseWriter, r *http.Request) {
	if !b.take(r.URL.Query().Get("session_secret")) {
		http.Error(w, "unknown or expired session", http.StatusNotFound)
		return
	}
	if err := b.grant(r.Context(), r.URL.Query().Get("session_secret")); err != nil {
		b.log.Error("sessions/success failed", slog.String("error", err.Error()))
		http.Error(w, "could not confirm the authorisation", http.StatusBadGateway)
		return
	}
	_, _ = fmt.Fprintln(w, "Access granted. You can close this page.")
}

// async sends a callback after the handler answered, detached from the request.
func (b *bank) async(ctx context.Context, fn func(context.Context) error) {
	b.bg.Add(1)
	go func() {
		defer b.bg.Done()
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := fn(cctx); err != nil {
			b.log.Error("callback failed", slog.String("error", err.Error()))
		}
	}()
}

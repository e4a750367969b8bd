package demo

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/banksdk/banksdk/saltedge"
	"github.com/banksdk/banksdk/saltedge/saltedgetest"
)

// SaltEdgeRoutes serves the connector API under saltedge.DefaultBasePath and the
// bank's /authorize page.
func SaltEdgeRoutes(h http.Handler, bank *SaltEdgeBank) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(saltedge.DefaultBasePath+"/", h)
	mux.HandleFunc("GET /authorize", bank.Authorize)
	return mux
}

// SaltEdge runs the demo bank connector on a loopback port and lets the fake Salt
// Edge drive it: tokens/create, the sessions/update (redirect) and sessions/success
// callbacks, accounts, transactions and KYC, tokens/index from the connector, and
// tokens/revoke.
func SaltEdge(ctx context.Context, s Stepper, se *saltedgetest.Server, logger *slog.Logger) error {
	client, err := saltedge.NewClient(
		saltedge.WithBaseURL(se.URL()),
		saltedge.WithAppID(se.AppID()),
		saltedge.WithAppSecret(se.AppSecret()),
		saltedge.WithPrivateKey(se.PrivateKey()),
		saltedge.WithLogger(logger),
	)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	bankURL := "http://" + ln.Addr().String()
	bank := NewSaltEdgeBank(client, bankURL, logger)
	h, err := saltedge.NewHandler(saltedge.HandlerConfig{Connector: bank, PublicKey: se.PublicKey(),
		Issuer: saltedge.DefaultIssuer, Logger: logger})
	if err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{Handler: SaltEdgeRoutes(h, bank), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		_ = srv.Close()
		bank.Wait()
	}()
	saltEdge := se.Connector(bankURL)

	var secret, redirect, token string
	var accounts []saltedge.Account
	steps := []struct {
		name string
		fn   func() (string, error)
	}{
		{"tokens/create: Salt Edge asks the bank for access", func() (string, error) {
			resp, err := saltEdge.CreateToken(ctx, saltedgetest.TokenRequest{Scopes: []string{"accounts", "transactions", "kyc"}})
			if err := check(resp, err, "tokens/create", nil); err != nil {
				return "", err
			}
			secret = resp.SessionSecret
			return fmt.Sprintf("HTTP %d", resp.StatusCode), nil
		}},
		{"sessions/update callback: redirect the PSU", func() (string, error) {
			redirect, err = waitRedirect(ctx, se, secret)
			return "to the bank's /authorize page", err
		}},
		{"the PSU approves; sessions/success callback", func() (string, error) {
			if err := visit(ctx, redirect); err != nil {
				return "", err
			}
			sess, err := se.WaitSession(ctx, secret)
			if err != nil {
				return "", err
			}
			if sess.Status != saltedgetest.SessionSuccess {
				return "", fmt.Errorf("session ended with %s: %s", sess.Status, sess.Result)
			}
			var success struct {
				Token string `json:"token"`
			}
			if err := json.Unmarshal(sess.Result, &success); err != nil || success.Token == "" {
				return "", errors.New("sessions/success carried no token")
			}
			token = success.Token
			return "access token issued ([REDACTED])", nil
		}},
		{"the fake verified every callback's RS256 JWT", func() (string, error) {
			cbs := se.Callbacks()
			for _, cb := range cbs {
				if !cb.Verified {
					return "", fmt.Errorf("callback %s was not verified: %s", cb.Name, cb.ErrorMessage)
				}
			}
			return fmt.Sprintf("%d callback(s) verified", len(cbs)), nil
		}},
		{"accounts", func() (string, error) {
			resp, err := saltEdge.Accounts(ctx, token, secret)
			if err := check(resp, err, "accounts", &accounts); err != nil {
				return "", err
			}
			if len(accounts) == 0 {
				return "", errors.New("no accounts")
			}
			return fmt.Sprintf("%d account(s), %s %s %s", len(accounts), accounts[0].Name, accounts[0].Balance, accounts[0].CurrencyCode), nil
		}},
		{"transactions", func() (string, error) {
			now := time.Now()
			resp, err := saltEdge.TransactionsFor(ctx, token, secret, accounts[0].ID, now.AddDate(0, -3, 0), now)
			var txs []saltedge.Transaction
			if err := check(resp, err, "transactions", &txs); err != nil {
				return "", err
			}
			return fmt.Sprintf("%d transaction(s)", len(txs)), nil
		}},
		{"kyc", func() (string, error) {
			resp, err := saltEdge.KYCFor(ctx, token, secret)
			var kyc saltedge.KYC
			if err := check(resp, err, "kyc", &kyc); err != nil {
				return "", err
			}
			return kyc.Name, nil
		}},
		{"tokens/index: the connector lists its tokens", func() (string, error) {
			page, err := client.Tokens.Index(ctx, saltedge.TokensQuery{})
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("%d token(s)", len(page.Tokens)), nil
		}},
		{"an unknown token is refused with a documented class", func() (string, error) {
			resp, err := saltEdge.Accounts(ctx, "forged-token", secret)
			if err != nil {
				return "", err
			}
			if resp.OK() {
				return "", errors.New("a forged token was accepted")
			}
			return fmt.Sprintf("HTTP %d %s", resp.StatusCode, resp.ErrorClass), nil
		}},
		{"tokens/revoke", func() (string, error) {
			resp, err := saltEdge.RevokeToken(ctx, token, secret)
			return fmt.Sprintf("HTTP %d", resp.StatusCode), check(resp, err, "tokens/revoke", nil)
		}},
	}
	for _, st := range steps {
		if err := s.Step(st.name, st.fn); err != nil {
			return err
		}
	}
	return nil
}

func check(resp *saltedgetest.Response, err error, what string, v any) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if !resp.OK() {
		return fmt.Errorf("%s: %d %s: %s", what, resp.StatusCode, resp.ErrorClass, resp.ErrorMessage)
	}
	if v == nil {
		return nil
	}
	return resp.DecodeData(v)
}

// waitRedirect waits for the connector's sessions/update and returns its redirect_url.
func waitRedirect(ctx context.Context, se *saltedgetest.Server, secret string) (string, error) {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		if s, ok := se.Session(secret); ok && len(s.Updates) > 0 {
			var u saltedge.SessionUpdate
			if err := json.Unmarshal(s.Updates[0], &u); err != nil {
				return "", err
			}
			url, _ := u.Extra["redirect_url"].(string)
			if u.Status != saltedge.SessionRedirect || url == "" {
				return "", fmt.Errorf("unexpected update: %s", s.Updates[0])
			}
			return url, nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("waiting for sessions/update: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// visit opens the redirect URL as the PSU's browser would.
func visit(ctx context.Context, u string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("authorize page: %d %s", resp.StatusCode, body)
	}
	return nil
}

// SaltEdgeBank is a small in-memory bank connector: one PSU with two accounts, an OAuth
// token flow (tokens/create sends the PSU to the bank's /authorize page; approving
// there issues an access token by sessions/success), accounts, transactions, KYC and
// revoke. Everything else is left to UnimplementedConnector.
type SaltEdgeBank struct {
	saltedge.UnimplementedConnector
	client  *saltedge.Client
	baseURL string // where the bank's /authorize page is served
	log     *slog.Logger

	mu      sync.Mutex
	pending map[string]time.Time // session secret -> expiry
	tokens  map[string]string    // access token -> user id
	bg      sync.WaitGroup
}

// NewSaltEdgeBank returns the demo bank; baseURL is where its /authorize page is served.
func NewSaltEdgeBank(client *saltedge.Client, baseURL string, log *slog.Logger) *SaltEdgeBank {
	return &SaltEdgeBank{client: client, baseURL: baseURL, log: log,
		pending: map[string]time.Time{}, tokens: map[string]string{}}
}

var saltEdgeAccounts = []saltedge.Account{
	{ID: "acc-1", Name: "Current account", Nature: saltedge.NatureChecking, CurrencyCode: "EUR",
		Balance: "1520.35", AvailableAmount: "1420.35", IBAN: "DE89370400440532013000",
		PaymentAccount: true, Status: saltedge.AccountActive, Extra: map[string]any{}},
	{ID: "acc-2", Name: "Savings", Nature: saltedge.NatureSavings, CurrencyCode: "EUR",
		Balance: "10000.00", Status: saltedge.AccountActive, Extra: map[string]any{}},
}

var saltEdgeTransactions = map[string][]saltedge.Transaction{
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

// Wait waits for callbacks still in flight.
func (b *SaltEdgeBank) Wait() { b.bg.Wait() }

// CreateToken starts the OAuth flow: the PSU is sent to the bank's /authorize page.
func (b *SaltEdgeBank) CreateToken(ctx context.Context, req *saltedge.CreateTokenRequest) error {
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
func (b *SaltEdgeBank) CancelToken(_ context.Context, req *saltedge.CancelTokenRequest) error {
	b.mu.Lock()
	delete(b.pending, req.SessionSecret)
	b.mu.Unlock()
	return nil
}

// RevokeToken forgets an access token.
func (b *SaltEdgeBank) RevokeToken(_ context.Context, req *saltedge.RevokeTokenRequest) error {
	if _, err := b.user(req.AccessToken.Reveal()); err != nil {
		return err
	}
	b.mu.Lock()
	delete(b.tokens, req.AccessToken.Reveal())
	b.mu.Unlock()
	return nil
}

// Accounts lists the PSU's accounts.
func (b *SaltEdgeBank) Accounts(_ context.Context, req *saltedge.AccountsRequest) ([]saltedge.Account, error) {
	if _, err := b.user(req.AccessToken.Reveal()); err != nil {
		return nil, err
	}
	return saltEdgeAccounts, nil
}

// Transactions lists an account's transactions.
func (b *SaltEdgeBank) Transactions(_ context.Context, req *saltedge.TransactionsRequest) ([]saltedge.Transaction, error) {
	if _, err := b.user(req.AccessToken.Reveal()); err != nil {
		return nil, err
	}
	for _, a := range saltEdgeAccounts {
		if a.ID == req.AccountID {
			return saltEdgeTransactions[a.ID], nil
		}
	}
	return nil, saltedge.NewConnectorError(saltedge.ClassAccountNotFound, "no account "+req.AccountID)
}

// KYC describes the PSU.
func (b *SaltEdgeBank) KYC(_ context.Context, req *saltedge.KYCRequest) (*saltedge.KYC, error) {
	if _, err := b.user(req.AccessToken.Reveal()); err != nil {
		return nil, err
	}
	return &saltedge.KYC{Name: "Jane Doe", Email: "jane@example.com", DateOfBirth: "1990-04-01"}, nil
}

func (b *SaltEdgeBank) user(token string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	u, ok := b.tokens[token]
	if !ok {
		return "", saltedge.NewConnectorError(saltedge.ClassTokenNotFound, "unknown access token")
	}
	return u, nil
}

// Authorize is the bank's login page: here the PSU approves at once, and the bank
// issues an access token with sessions/success.
func (b *SaltEdgeBank) Authorize(w http.ResponseWriter, r *http.Request) {
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
func (b *SaltEdgeBank) async(ctx context.Context, name string, fn func(context.Context) error) {
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

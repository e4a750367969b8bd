package saltedge_test

import (
	"context"
	"crypto/rsa"
	"errors"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/saltedge"
	"github.com/banksdk/banksdk/saltedge/saltedgetest"
)

// RSA key generation is the slow part of every setup: the package generates its keys
// once. [0] Salt Edge, [1] the connector (provider), [2] the TPP, [3] a stranger.
var keys = sync.OnceValue(func() [4]*rsa.PrivateKey {
	var ks [4]*rsa.PrivateKey
	for i := range ks {
		k, err := saltedgetest.GenerateKey()
		if err != nil {
			panic(err)
		}
		ks[i] = k
	}
	return ks
})

const (
	testAppID     = "app-id-7Qx"
	testAppSecret = "app-secret-Zr91LmQp"
)

type env struct {
	fake    *saltedgetest.Server
	client  *saltedge.Client
	bank    *bank
	handler *httptest.Server
	driver  *saltedgetest.Connector
}

type setupOpts struct {
	fakeOpts   []saltedgetest.Option
	clientOpts []saltedge.Option
	handlerCfg func(*saltedge.HandlerConfig)
}

func fakeOptions() []saltedgetest.Option {
	k := keys()
	return []saltedgetest.Option{
		saltedgetest.WithSigningKey(k[0]),
		saltedgetest.WithProviderKey(k[1]),
		saltedgetest.WithAppCredentials(testAppID, testAppSecret),
		saltedgetest.WithoutDefaultClient(),
		saltedgetest.WithClient(saltedgetest.Client{ID: saltedgetest.DefaultClientID, Name: "Example TPP",
			Scopes: []string{"accounts", "transactions", "kyc"}, Key: k[2]}),
	}
}

// setup starts a fake Salt Edge, a Client pointed at it, a test bank and the
// connector handler serving the bank, driven by the fake.
func setup(t *testing.T, o ...func(*setupOpts)) *env {
	t.Helper()
	var so setupOpts
	for _, f := range o {
		f(&so)
	}
	fk := saltedgetest.NewServer(append(fakeOptions(), so.fakeOpts...)...)
	t.Cleanup(fk.Close)
	copts := append([]saltedge.Option{
		saltedge.WithBaseURL(fk.URL()),
		saltedge.WithAppID(fk.AppID()),
		saltedge.WithAppSecret(fk.AppSecret()),
		saltedge.WithPrivateKey(fk.PrivateKey()),
		saltedge.WithRetry(2, time.Millisecond, 5*time.Millisecond),
	}, so.clientOpts...)
	client, err := saltedge.NewClient(copts...)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, client.Close()) })
	b := newBank(client)
	t.Cleanup(b.wait)
	cfg := saltedge.HandlerConfig{Connector: b, PublicKey: fk.PublicKey(), Issuer: saltedge.DefaultIssuer}
	if so.handlerCfg != nil {
		so.handlerCfg(&cfg)
	}
	h, err := saltedge.NewHandler(cfg)
	require.NoError(t, err)
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return &env{fake: fk, client: client, bank: b, handler: ts, driver: fk.Connector(ts.URL)}
}

// bank is a small in-memory connector: tokens/create answers with a redirect update
// and then a success carrying a new access token; accounts, transactions and kyc
// answer for that token.
type bank struct {
	saltedge.UnimplementedConnector
	client *saltedge.Client

	mu       sync.Mutex
	calls    []saltedge.Call
	requests []any
	tokens   map[string]string // access token -> user id
	bg       sync.WaitGroup
	bgErrs   []error
	// hooks for tests
	fail      error
	panicWith any
}

func newBank(c *saltedge.Client) *bank {
	return &bank{client: c, tokens: map[string]string{}}
}

func (b *bank) wait() { b.bg.Wait() }

// setFailure makes the next calls return err, or panic with p when p is not nil.
func (b *bank) setFailure(err error, p any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.fail, b.panicWith = err, p
}

func (b *bank) record(call saltedge.Call, req any) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = append(b.calls, call)
	b.requests = append(b.requests, req)
	if b.panicWith != nil {
		panic(b.panicWith)
	}
	return b.fail
}

func (b *bank) callCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.calls)
}

func (b *bank) lastRequest() any {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.requests) == 0 {
		return nil
	}
	return b.requests[len(b.requests)-1]
}

func (b *bank) lastCall() saltedge.Call {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls[len(b.calls)-1]
}

func (b *bank) backgroundErrors() []error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]error(nil), b.bgErrs...)
}

func (b *bank) background(ctx context.Context, fn func(ctx context.Context) error) {
	b.bg.Add(1)
	go func() {
		defer b.bg.Done()
		if err := fn(context.WithoutCancel(ctx)); err != nil {
			b.mu.Lock()
			b.bgErrs = append(b.bgErrs, err)
			b.mu.Unlock()
		}
	}()
}

func (b *bank) issue(ctx context.Context, secret string) error {
	token := "access-" + secret
	b.mu.Lock()
	b.tokens[token] = "user-1"
	b.mu.Unlock()
	_, err := b.client.Sessions.Success(ctx, saltedge.SessionSuccess{SessionSecret: secret,
		Token: token, UserID: "user-1", TokenExpiresAt: time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second)})
	return err
}

// CreateToken: the OAuth flow (redirect, then success) unless the PSU typed a login
// (embedded flow: ask for an SMS code).
func (b *bank) CreateToken(ctx context.Context, req *saltedge.CreateTokenRequest) error {
	if err := b.record(req.Call, req); err != nil {
		return err
	}
	secret := req.SessionSecret
	if req.OriginalRequest.ClientPayload.Data.Credentials.Get("login") != "" {
		b.background(ctx, func(ctx context.Context) error {
			_, err := b.client.Sessions.Update(ctx, saltedge.SessionUpdate{SessionSecret: secret,
				Status:                     saltedge.SessionWaitingConfirmationCode,
				InteractiveStepInstruction: &saltedge.InteractiveStep{Instruction: "Enter the SMS code", InteractiveField: "sms_pincode"}})
			return err
		})
		return nil
	}
	b.background(ctx, func(ctx context.Context) error {
		if _, err := b.client.Sessions.Update(ctx, saltedge.RedirectUpdate(secret, "https://bank.example/oauth?s="+secret)); err != nil {
			return err
		}
		return b.issue(ctx, secret)
	})
	return nil
}

func (b *bank) ConfirmToken(ctx context.Context, req *saltedge.ConfirmTokenRequest) error {
	if err := b.record(req.Call, req); err != nil {
		return err
	}
	secret, code := req.SessionSecret, req.OriginalRequest.ClientPayload.Data.Credentials.Get("sms_pincode")
	b.background(ctx, func(ctx context.Context) error {
		if code != "1234" {
			_, err := b.client.Sessions.Fail(ctx, saltedge.SessionFail{SessionSecret: secret,
				ErrorClass: saltedge.ClassInvalidConfirmationCode, ErrorMessage: "wrong code"})
			return err
		}
		return b.issue(ctx, secret)
	})
	return nil
}

func (b *bank) CreatePayment(ctx context.Context, req *saltedge.CreatePaymentRequest) error {
	if err := b.record(req.Call, req); err != nil {
		return err
	}
	if _, err := b.user(req.AccessToken.Reveal()); err != nil {
		return err
	}
	secret, prioraID := req.SessionSecret, req.PrioraPaymentID
	b.background(ctx, func(ctx context.Context) error {
		_, err := b.client.Payments.Success(ctx, saltedge.PaymentSuccess{SessionSecret: secret,
			PaymentID: "pay-1", PrioraPaymentID: prioraID})
		return err
	})
	return nil
}

func (b *bank) CheckFunds(ctx context.Context, req *saltedge.CheckFundsRequest) error {
	if err := b.record(req.Call, req); err != nil {
		return err
	}
	amount, err := req.Amount.Float64()
	if err != nil {
		return saltedge.NewConnectorError(saltedge.ClassInvalidAttributeValue, "amount")
	}
	secret := req.SessionSecret
	b.background(ctx, func(ctx context.Context) error {
		_, err := b.client.FundsAvailability.Success(ctx, saltedge.FundsSuccess{SessionSecret: secret,
			FundsAvailable: amount <= 4995})
		return err
	})
	return nil
}

func (b *bank) ShowPayment(_ context.Context, req *saltedge.ShowPaymentRequest) (*saltedge.Payment, error) {
	if err := b.record(req.Call, req); err != nil {
		return nil, err
	}
	if req.PaymentID != "pay-1" {
		return nil, nil
	}
	return &saltedge.Payment{ID: "pay-1", PrioraPaymentID: 77, Status: saltedge.PaymentSuccessful,
		Amount: "10.00", Total: "10.50", Fees: []saltedge.Fee{{Amount: "0.50", CurrencyCode: "EUR"}}}, nil
}

func (b *bank) RevokeToken(_ context.Context, req *saltedge.RevokeTokenRequest) error {
	if err := b.record(req.Call, req); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.tokens, req.AccessToken.Reveal())
	return nil
}

func (b *bank) user(tok string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	u, ok := b.tokens[tok]
	if !ok {
		return "", saltedge.NewConnectorError(saltedge.ClassTokenNotFound, "unknown access token")
	}
	return u, nil
}

var testAccounts = []saltedge.Account{{
	ID: "724", Name: "Example Name", IBAN: "FK54RAND61068421435452", CurrencyCode: "USD",
	Extra: map[string]any{}, Number: "619656558", SortCode: "82-78-66", SwiftCode: "TBNFFR23PAR",
	Nature: saltedge.NatureCredit, PaymentAccount: false, Balance: "5000.00",
	AvailableAmount: "4995.00", CreditLimit: "7000", Status: saltedge.AccountActive,
}}

var testTransactions = []saltedge.Transaction{{
	ID: "378", AccountID: "724", Amount: "38.85", CurrencyCode: "GBP", Description: "Test transaction",
	MadeOn: "2019-11-18T16:04:49.573Z", Status: saltedge.TransactionPosted,
	Fees:  []saltedge.Fee{{Description: "card fee", Amount: "0.50", CurrencyCode: "GBP"}},
	Extra: map[string]any{"mcc": "5411"},
}}

func (b *bank) Accounts(_ context.Context, req *saltedge.AccountsRequest) ([]saltedge.Account, error) {
	if err := b.record(req.Call, req); err != nil {
		return nil, err
	}
	if _, err := b.user(req.AccessToken.Reveal()); err != nil {
		return nil, err
	}
	return testAccounts, nil
}

func (b *bank) Transactions(_ context.Context, req *saltedge.TransactionsRequest) ([]saltedge.Transaction, error) {
	if err := b.record(req.Call, req); err != nil {
		return nil, err
	}
	if _, err := b.user(req.AccessToken.Reveal()); err != nil {
		return nil, err
	}
	if req.AccountID != "724" {
		return nil, saltedge.NewConnectorError(saltedge.ClassAccountNotFound, "no such account")
	}
	return testTransactions, nil
}

func (b *bank) KYC(_ context.Context, req *saltedge.KYCRequest) (*saltedge.KYC, error) {
	if err := b.record(req.Call, req); err != nil {
		return nil, err
	}
	if _, err := b.user(req.AccessToken.Reveal()); err != nil {
		return nil, err
	}
	return &saltedge.KYC{Name: "Example Name", Email: "psu@example.com"}, nil
}

func (b *bank) ReportError(_ context.Context, req *saltedge.ErrorReport) error {
	return b.record(req.Call, req)
}

var errBoom = errors.New("core banking down: password=hunter2")

// hasClass reports whether err is (or wraps) an *APIError of this class.
func hasClass(err error, class string) bool {
	var ae *saltedge.APIError
	return errors.As(err, &ae) && ae.Has(class)
}

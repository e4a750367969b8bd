package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/banksdk/banksdk/examples/internal/exampleutil"
	"github.com/banksdk/banksdk/saltedge"
	"github.com/banksdk/banksdk/saltedge/saltedgetest"
)

// quickBank is the smallest connector: tokens/create grants access at once (no PSU
// page, see examples/saltedge for one) and the token reads one account.
type quickBank struct {
	saltedge.UnimplementedConnector
	client *saltedge.Client
	log    *slog.Logger
	tokens sync.Map // access token -> struct{}
	bg     sync.WaitGroup
}

func (b *quickBank) CreateToken(ctx context.Context, req *saltedge.CreateTokenRequest) error {
	token := rand.Text()
	b.tokens.Store(token, struct{}{})
	b.bg.Add(1)
	go func() { // the outcome goes by callback, after the answer
		defer b.bg.Done()
		_, err := b.client.Sessions.Success(context.WithoutCancel(ctx), saltedge.SessionSuccess{SessionSecret: req.SessionSecret, Token: token})
		if err != nil {
			b.log.Error("sessions/success", slog.String("error", err.Error()))
		}
	}()
	return nil
}

func (b *quickBank) Accounts(_ context.Context, req *saltedge.AccountsRequest) ([]saltedge.Account, error) {
	if _, ok := b.tokens.Load(req.AccessToken.Reveal()); !ok {
		return nil, saltedge.NewConnectorError(saltedge.ClassTokenNotFound, "unknown access token")
	}
	return []saltedge.Account{{ID: "a1", Name: "Current", Nature: saltedge.NatureChecking, CurrencyCode: "EUR",
		Balance: "100.00", Status: saltedge.AccountActive}}, nil
}

func init() {
	register("saltedge", func(ctx context.Context, steps *exampleutil.Steps, logger *slog.Logger) error {
		se := saltedgetest.NewServer()
		defer se.Close()
		c, err := saltedge.NewClient(saltedge.WithBaseURL(se.URL()), saltedge.WithAppID(se.AppID()),
			saltedge.WithAppSecret(se.AppSecret()), saltedge.WithPrivateKey(se.PrivateKey()), saltedge.WithLogger(logger))
		if err != nil {
			return err
		}
		defer c.Close()
		bank := &quickBank{client: c, log: logger}
		h, err := saltedge.NewHandler(saltedge.HandlerConfig{Connector: bank, PublicKey: se.PublicKey(),
			Issuer: saltedge.DefaultIssuer, Logger: logger})
		if err != nil {
			return err
		}
		bankURL, stop, err := exampleutil.ServeLoopback(func(string) (http.Handler, error) { return h, nil })
		if err != nil {
			return err
		}
		defer func() { stop(); bank.bg.Wait() }()
		saltEdge := se.Connector(bankURL)

		steps.Begin("tokens/create: the fake Salt Edge's RS256 JWT, verified")
		resp, err := saltEdge.CreateToken(ctx, saltedgetest.TokenRequest{Scopes: []string{"accounts"}})
		if err := exampleutil.SaltEdgeAnswer(resp, err, nil); err != nil {
			return steps.Fail(err)
		}
		steps.Done("HTTP %d", resp.StatusCode)

		steps.Begin("sessions/success callback, signed by the connector")
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		sess, err := se.WaitSession(wctx, resp.SessionSecret)
		if err != nil {
			return steps.Fail(err)
		}
		var success struct{ Token string }
		if err := json.Unmarshal(sess.Result, &success); err != nil || sess.Status != saltedgetest.SessionSuccess {
			return steps.Fail(fmt.Errorf("session %s: %s", sess.Status, sess.Result))
		}
		steps.Done("session %s", sess.Status)

		steps.Begin("accounts with the token issued")
		var accounts []saltedge.Account
		resp, err = saltEdge.Accounts(ctx, success.Token, resp.SessionSecret)
		if err := exampleutil.SaltEdgeAnswer(resp, err, &accounts); err != nil {
			return steps.Fail(err)
		}
		steps.Done("%d account(s)", len(accounts))

		steps.Begin("tokens/index: the connector asks Salt Edge")
		page, err := c.Tokens.Index(ctx, saltedge.TokensQuery{})
		if err != nil {
			return steps.Fail(err)
		}
		steps.Done("%d token(s)", len(page.Tokens))
		return nil
	})
}

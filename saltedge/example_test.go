package saltedge_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http/httptest"
	"time"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/saltedge"
	"github.com/banksdk/banksdk/saltedge/saltedgetest"
)

// demoBank is the smallest useful connector: it serves accounts and KYC and leaves
// every other endpoint to UnimplementedConnector.
type demoBank struct {
	saltedge.UnimplementedConnector
}

func (demoBank) Accounts(_ context.Context, req *saltedge.AccountsRequest) ([]saltedge.Account, error) {
	if req.AccessToken.Reveal() != "token-1" {
		return nil, saltedge.NewConnectorError(saltedge.ClassTokenNotFound, "unknown access token")
	}
	return []saltedge.Account{{ID: "1", Name: "Current account", Nature: saltedge.NatureChecking,
		CurrencyCode: "EUR", Balance: "120.50", Status: saltedge.AccountActive}}, nil
}

func (demoBank) KYC(context.Context, *saltedge.KYCRequest) (*saltedge.KYC, error) {
	return &saltedge.KYC{Name: "Jane Doe"}, nil
}

// A connector serving Salt Edge's requests, driven by the fake Salt Edge.
func ExampleNewHandler() {
	se := saltedgetest.NewServer() // a fake Salt Edge with its own key pair
	defer se.Close()

	h, err := saltedge.NewHandler(saltedge.HandlerConfig{
		Connector: demoBank{},
		PublicKey: se.PublicKey(), // Salt Edge's public key, from its dashboard
		Issuer:    saltedge.DefaultIssuer,
	})
	if err != nil {
		log.Fatal(err)
	}
	bankSrv := httptest.NewServer(h) // in production: your HTTPS server
	defer bankSrv.Close()

	ctx := context.Background()
	saltEdge := se.Connector(bankSrv.URL)
	resp, err := saltEdge.Accounts(ctx, "token-1", "session-1")
	if err != nil {
		log.Fatal(err)
	}
	var accounts []saltedge.Account
	_ = resp.DecodeData(&accounts)
	fmt.Println(resp.StatusCode, accounts[0].Name, accounts[0].Balance)

	resp, _ = saltEdge.Accounts(ctx, "token-2", "session-1")
	fmt.Println(resp.StatusCode, resp.ErrorClass)

	resp, _ = saltEdge.CancelToken(ctx, "session-1")
	fmt.Println(resp.StatusCode, resp.ErrorClass)
	// Output:
	// 200 Current account 120.50
	// 404 TokenNotFound
	// 406 ActionNotAllowed
}

// Calling Salt Edge back: the result of a token flow.
func ExampleSessionsService_Success() {
	se := saltedgetest.NewServer()
	defer se.Close()
	se.OpenSession("session-1") // as if Salt Edge had sent tokens/create for it

	client, err := saltedge.NewClient(
		saltedge.WithBaseURL(se.URL()), // default https://priora.saltedge.com
		saltedge.WithAppID(se.AppID()),
		saltedge.WithAppSecret(se.AppSecret()),
		saltedge.WithPrivateKey(se.PrivateKey()),
	)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	_, err = client.Sessions.Update(ctx, saltedge.RedirectUpdate("session-1", "https://bank.example/authorize"))
	if err != nil {
		log.Fatal(err)
	}
	_, err = client.Sessions.Success(ctx, saltedge.SessionSuccess{
		SessionSecret:  "session-1",
		Token:          "token-1",
		UserID:         "user-1",
		TokenExpiresAt: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, cb := range se.Callbacks() {
		fmt.Println(cb.Name, cb.Verified)
	}
	_, err = client.Sessions.Success(ctx, saltedge.SessionSuccess{SessionSecret: "session-1"})
	var apiErr *saltedge.APIError
	fmt.Println(errors.As(err, &apiErr) && apiErr.Has(saltedge.ClassSessionClosed))
	// Output:
	// sessions/update true
	// sessions/success true
	// true
}

// Listing every token, page after page.
func ExampleTokensService_All() {
	se := saltedgetest.NewServer()
	defer se.Close()
	for _, tok := range []string{"a", "b", "c"} {
		se.AddToken("token-"+tok, "821", time.Time{})
	}
	client, err := saltedge.NewClient(saltedge.WithBaseURL(se.URL()), saltedge.WithAppID(se.AppID()),
		saltedge.WithAppSecret(se.AppSecret()), saltedge.WithPrivateKey(se.PrivateKey()))
	if err != nil {
		log.Fatal(err)
	}
	for tok, err := range client.Tokens.All(context.Background(), saltedge.TokensQuery{PerPage: 2, CustomerID: 821}) {
		if err != nil {
			log.Fatal(err)
		}
		var t struct {
			Token string `json:"token"`
		}
		_ = json.Unmarshal(tok, &t)
		fmt.Println(t.Token)
	}
	// Output:
	// token-a
	// token-b
	// token-c
}

// Verifying the TPP's own signature on a relayed request.
func ExampleClientJWTVerifier() {
	se := saltedgetest.NewServer()
	defer se.Close()
	client, err := saltedge.NewClient(saltedge.WithBaseURL(se.URL()), saltedge.WithAppID(se.AppID()),
		saltedge.WithAppSecret(se.AppSecret()), saltedge.WithPrivateKey(se.PrivateKey()))
	if err != nil {
		log.Fatal(err)
	}
	verifier, err := saltedge.NewClientJWTVerifier(client) // keys from clients/info, cached per client
	if err != nil {
		log.Fatal(err)
	}

	// In a Connector, this is req.OriginalRequest of a CreateTokenRequest.
	clientJWT, _ := se.ClientJWT(saltedgetest.DefaultClientID,
		map[string]any{"scopes": []string{"accounts"}, "consent_period_days": 90}, time.Minute)
	orig := saltedge.OriginalRequest[saltedge.TokenPayload]{ClientJWT: clientJWT}
	payload, err := orig.Verify(context.Background(), verifier, saltedgetest.DefaultClientID)
	fmt.Println(payload.Scopes, payload.ConsentPeriodDays, err)
	// Output:
	// [accounts] 90 <nil>
}

// Amounts arrive as JSON strings or numbers and leave as strings.
func ExampleAmount() {
	var fee saltedge.Fee
	_ = json.Unmarshal([]byte(`{"amount": 0.5, "currency_code": "EUR"}`), &fee)
	out, _ := json.Marshal(fee)
	fmt.Println(string(out))
	// Output:
	// {"amount":"0.5","currency_code":"EUR"}
}

// Salt Edge rotates its key: with both keys in the handler's KeySet, requests signed
// by the old key and by the new one are served through the rollover.
func ExampleHandlerConfig_keySet() {
	oldKey, err := saltedgetest.GenerateKey()
	if err != nil {
		log.Fatal(err)
	}
	newKey, err := saltedgetest.GenerateKey()
	if err != nil {
		log.Fatal(err)
	}
	se := saltedgetest.NewServer(saltedgetest.WithSigningKey(oldKey))
	defer se.Close()

	h, err := saltedge.NewHandler(saltedge.HandlerConfig{
		Connector: demoBank{},
		// Both of Salt Edge's public keys, e.g. read with auth.LoadRSAPublicKey.
		KeySet: auth.StaticKeySet(&oldKey.PublicKey, &newKey.PublicKey),
		Issuer: saltedge.DefaultIssuer,
	})
	if err != nil {
		log.Fatal(err)
	}
	bankSrv := httptest.NewServer(h)
	defer bankSrv.Close()

	ctx := context.Background()
	saltEdge := se.Connector(bankSrv.URL)
	resp, _ := saltEdge.KYCFor(ctx, "token-1", "session-1")
	fmt.Println("old key:", resp.StatusCode)

	se.RotateSigningKey(newKey, "")
	resp, _ = saltEdge.KYCFor(ctx, "token-1", "session-1")
	fmt.Println("new key:", resp.StatusCode)
	// Output:
	// old key: 200
	// new key: 200
}

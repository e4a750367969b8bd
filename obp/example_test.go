package obp_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/obp"
	"github.com/banksdk/banksdk/obp/obptest"
)

// DAuth: every call carries a fresh RS256 JWT in the "DAuth" header, and OBP acts as
// the user (smart contract address, "dauth."+network).
func ExampleWithDAuth() {
	srv := obptest.NewServer() // a fake OBP instance
	defer srv.Close()

	c, err := obp.NewClient(
		obp.WithBaseURL(srv.URL()),
		obp.WithDAuth(obp.DAuthConfig{
			PrivateKey:           srv.DAuthPrivateKey(),
			SmartContractAddress: "0xe123425E7734CE288F8367e1Bb143E90bb3F051224",
			NetworkName:          "AIRNODE.TESTNET.ETHEREUM",
			MsgSender:            "0xe12340927f1725E7734CE288F8367e1Bb143E90fhku767",
			ConsumerKey:          srv.ConsumerKey(),
		}),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	me, err := c.Users.Current(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(*me.Username)
	fmt.Println(*me.Provider)
	// Output:
	// 0xe123425E7734CE288F8367e1Bb143E90bb3F051224
	// dauth.AIRNODE.TESTNET.ETHEREUM
}

// DirectLogin: the client logs in on first use and again, once, when the token has
// expired.
func ExampleWithDirectLogin() {
	srv := obptest.NewServer()
	defer srv.Close()

	c, err := obp.NewClient(
		obp.WithBaseURL(srv.URL()),
		obp.WithDirectLogin(obptest.DefaultUsername, srv.Password(), srv.ConsumerKey()),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	me, err := c.Users.Current(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(*me.Username, len(me.Views), "view")

	srv.ExpireDirectLoginTokens()
	if _, err := c.Users.Current(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("logins:", srv.Logins())
	// Output:
	// felixsmith 1 view
	// logins: 2
}

// OAuth2: access tokens come from a source the application plugs in (here a function
// standing for a secret manager). Behind an auth.Cache a token OBP refuses with a 401
// is forgotten and the call replayed once with the next one.
func ExampleWithAccessTokenSource() {
	srv := obptest.NewServer()
	defer srv.Close()
	me, _ := srv.UserID(obptest.DefaultUsername, srv.LocalProvider())
	srv.AddBearerToken("access-token-from-vault", me)

	fetch := auth.SourceFunc(func(ctx context.Context) (auth.Token, error) {
		return auth.Token{Value: "access-token-from-vault"}, nil // e.g. read from Vault
	})
	c, err := obp.NewClient(
		obp.WithBaseURL(srv.URL()),
		obp.WithAccessTokenSource(auth.NewCache(fetch)),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	u, err := c.Users.Current(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(*u.Username, u.UserID == me)
	// Output:
	// felixsmith true
}

// An account holder pre-creates the DAuth user a smart contract will act as, grants it
// a view, and takes it back.
func ExampleAccountAccessService() {
	srv := obptest.NewServer()
	defer srv.Close()
	c, err := obp.NewClient(
		obp.WithBaseURL(srv.URL()),
		obp.WithDirectLogin(obptest.DefaultUsername, srv.Password(), srv.ConsumerKey()),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	bank, account := obptest.DefaultBankID, obptest.DefaultAccountID

	views, err := c.AccountAccess.CreateUserWithAccountAccess(ctx, bank, account, obp.CreateUserAccountAccessRequest{
		Username: "0xfeedfacecafe",
		Provider: obp.DAuthProvider("ETHEREUM"),
		Views:    []obp.ViewSelector{{ViewID: "ReadAccountsBasic", IsSystem: true}},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("created with", views[0].ID)

	userID, _ := srv.UserID("0xfeedfacecafe", "dauth.ETHEREUM")
	req := obp.AccountAccessRequest{UserID: userID, View: obp.ViewSelector{ViewID: "ReadBalances", IsSystem: true}}
	v, err := c.AccountAccess.Grant(ctx, bank, account, req)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("granted", v.ID, "balance visible:", v.CanSeeBankAccountBalance)
	revoked, err := c.AccountAccess.Revoke(ctx, bank, account, req)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("revoked:", revoked)
	// Output:
	// created with ReadAccountsBasic
	// granted ReadBalances balance visible: true
	// revoked: true
}

// OBP errors carry a code; compare codes with errors.Is, never message text.
func ExampleAPIError() {
	srv := obptest.NewServer()
	defer srv.Close()
	c, err := obp.NewClient(
		obp.WithBaseURL(srv.URL()),
		obp.WithDirectLogin(obptest.DefaultUsername, srv.Password(), srv.ConsumerKey()),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	_, err = c.AccountAccess.Grant(context.Background(), obptest.DefaultBankID, obptest.DefaultAccountID,
		obp.AccountAccessRequest{UserID: "no-such-user", View: obp.ViewSelector{ViewID: "owner", IsSystem: true}})

	var apiErr *obp.APIError
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.StatusCode, apiErr.OBPCode)
	}
	fmt.Println(errors.Is(err, obp.ErrUserNotFoundByID))
	// Output:
	// 404 OBP-20005
	// true
}

// Do reaches endpoints the package does not type, with the same authentication and
// errors.
func ExampleDo() {
	srv := obptest.NewServer()
	defer srv.Close()
	c, err := obp.NewClient(
		obp.WithBaseURL(srv.URL()),
		obp.WithDirectLogin(obptest.DefaultUsername, srv.Password(), srv.ConsumerKey()),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	raw, err := obp.Do[json.RawMessage](context.Background(), c, "GET", "users/current", nil)
	if err != nil {
		log.Fatal(err)
	}
	var u struct {
		Username string `json:"username"`
	}
	_ = json.Unmarshal(raw, &u)
	fmt.Println(u.Username)
	// Output: felixsmith
}

func ExampleDecodeError() {
	body := []byte(`{"code":400,"message":"OBP-30063: Cannot grant account access. <- OBP-50000: Unknown Error."}`)
	err := obp.DecodeError(nil, body)
	var apiErr *obp.APIError
	errors.As(err, &apiErr)
	fmt.Println(apiErr.OBPCode, apiErr.OBPCodes)
	fmt.Println(errors.Is(err, obp.ErrCannotGrantAccountAccess), apiErr.Has(obp.ErrUnknownError))
	// Output:
	// OBP-30063 [OBP-30063 OBP-50000]
	// true true
}

package tkey7_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"sync"
	"time"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/tkey7"
	"github.com/banksdk/banksdk/tkey7/tkey7test"
)

// A client lists the digital accounts its token may see. Here the server is the fake;
// in production, the base URL is the bank's and region's, and the token is the one an
// administrator created in the Web Office.
func Example() {
	srv := tkey7test.NewServer()
	defer srv.Close()
	token := srv.IssueToken() // what the administrator hands over

	client, err := tkey7.NewClient(
		tkey7.WithBaseURL(srv.URL()),
		tkey7.WithAccessToken(token, time.Now()),
		tkey7.OnSessionExpiring(func(left time.Duration) {
			log.Printf("TKEY7 session ends in %v: ask an administrator for a new token", left)
		}),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	list, err := client.DigitalAccounts.List(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	for _, raw := range list.All() {
		var acct struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		}
		if err := json.Unmarshal(raw, &acct); err != nil {
			log.Fatal(err)
		}
		fmt.Println(acct.ID, acct.Name)
	}
	// Output:
	// da-0001 Operating account
	// da-0002 Settlement account
	// da-0003 Reserve account
}

// Errors from TKEY7 carry the nine documented fields.
func ExampleAPIError() {
	srv := tkey7test.NewServer()
	defer srv.Close()
	client, err := tkey7.NewClient(tkey7.WithBaseURL(srv.URL()),
		tkey7.WithAccessToken(srv.IssueToken(), time.Time{}))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	_, err = client.DigitalAccounts.Get(context.Background(), "no-such-account")
	var apiErr *tkey7.APIError
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.StatusCode, apiErr.Code)
		fmt.Println(apiErr.ShortMessage)
		fmt.Println(apiErr.LongMessage)
		fmt.Println(apiErr.MemberIdentification, apiErr.ServiceName)
		fmt.Println(apiErr.TroubleshootingID != "", !apiErr.Time().IsZero())
	}
	// Output:
	// 404 NOT_FOUND
	// Not found
	// No digital account with id no-such-account.
	// bankName tkey7test
	// true true
}

// A token that TKEY7 revoked (or whose 24-hour session ended) cannot be saved: the
// error says so, and later calls fail at once without reaching TKEY7.
func ExampleAPIError_revoked() {
	srv := tkey7test.NewServer()
	defer srv.Close()
	token := srv.IssueToken()
	client, err := tkey7.NewClient(tkey7.WithBaseURL(srv.URL()), tkey7.WithAccessToken(token, time.Time{}))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	srv.Revoke(token) // as if it had not been refreshed for 15 minutes
	_, err = client.DigitalAccounts.List(context.Background())
	fmt.Println(errors.Is(err, tkey7.ErrTokenRevoked))
	_, err = client.DigitalAccounts.List(context.Background())
	fmt.Println(errors.Is(err, tkey7.ErrTokenRevoked), srv.Count("GET", "digital-accounts"))
	// Output:
	// true
	// true 1
}

// The keep-alive refreshes the token in the background, with no calls from the
// application. The fake's clock moves only when told to: here it crosses three and a
// half of its 15-minute revoke windows, half a window after each refresh.
func ExampleWithRefreshInterval() {
	refreshed := make(chan struct{}, 100)
	clock := tkey7test.NewClock(time.Time{})
	srv := tkey7test.NewServer(tkey7test.WithClock(clock.Now),
		tkey7test.OnRefresh(func(tkey7test.RefreshEvent) { refreshed <- struct{}{} }))
	defer srv.Close()
	token := srv.IssueToken()
	client, err := tkey7.NewClient(tkey7.WithBaseURL(srv.URL()),
		tkey7.WithAccessToken(token, time.Now()),
		tkey7.WithRefreshInterval(20*time.Millisecond)) // 10 minutes by default
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	for range 7 {
		clock.Advance(7*time.Minute + 30*time.Second)
		for len(refreshed) > 0 { // refreshes before the clock moved
			<-refreshed
		}
		select {
		case <-refreshed:
		case <-time.After(10 * time.Second):
			log.Fatal("no refresh")
		}
	}
	_, err = client.DigitalAccounts.List(context.Background())
	fmt.Println(err == nil, srv.State(token))
	// Output: true active
}

// A test sets the time rules once, on the fake, and the client takes the same rules:
// here a revoke window of two seconds and a session of one hour.
func ExampleWithTimeRules() {
	srv := tkey7test.NewServer(tkey7test.WithRevokeAfter(2*time.Second),
		tkey7test.WithSessionLength(time.Hour))
	defer srv.Close()
	issued := time.Now()
	client, err := tkey7.NewClient(tkey7.WithBaseURL(srv.URL()),
		tkey7.WithAccessToken(srv.IssueToken(tkey7test.IssuedAt(issued)), issued),
		tkey7.WithTimeRules(srv),
		tkey7.WithRefreshInterval(time.Second)) // below the fake's window, as it must be
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	fmt.Println(client.SessionEnd().Sub(issued).Round(time.Minute))
	// Output: 1h0m0s
}

// Do covers the object calls the package does not type.
func ExampleDo() {
	srv := tkey7test.NewServer()
	defer srv.Close()
	client, err := tkey7.NewClient(tkey7.WithBaseURL(srv.URL()),
		tkey7.WithAccessToken(srv.IssueToken(), time.Time{}))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	ctx := context.Background()

	created, err := tkey7.Do[map[string]any](ctx, client, "POST", "digital-accounts",
		map[string]string{"id": "da-0100", "name": "Escrow"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(created["id"], created["name"])
	if _, err := tkey7.Do[json.RawMessage](ctx, client, "DELETE", "digital-accounts/da-0100", nil); err != nil {
		log.Fatal(err)
	}
	// Output: da-0100 Escrow
}

// The access token from a source of the application's own (here a variable an
// operator updates; in production a secret manager). When TKEY7 revokes the token, the
// client takes the new one from the source and goes on, without a restart.
func ExampleWithAccessTokenSource() {
	srv := tkey7test.NewServer()
	defer srv.Close()
	var mu sync.Mutex
	current := srv.IssueToken() // created by an administrator in the Web Office
	webOfficeToken := auth.SourceFunc(func(context.Context) (auth.Token, error) {
		mu.Lock()
		defer mu.Unlock()
		return auth.Token{Value: current}, nil
	})
	client, err := tkey7.NewClient(tkey7.WithBaseURL(srv.URL()), tkey7.WithAccessTokenSource(webOfficeToken))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	srv.Revoke(current) // the token is revoked; an administrator creates a new one
	mu.Lock()
	current = srv.IssueToken()
	mu.Unlock()

	list, err := client.DigitalAccounts.List(context.Background())
	fmt.Println(err == nil, list.Len())
	// Output: true 3
}

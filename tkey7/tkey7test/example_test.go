package tkey7test_test

import (
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/banksdk/banksdk/tkey7/tkey7test"
)

// The fake revokes a token that is not refreshed within its 15-minute window. Its
// clock moves only when told to, so the example crosses the window at once.
func Example() {
	clock := tkey7test.NewClock(time.Time{})
	srv := tkey7test.NewServer(tkey7test.WithClock(clock.Now))
	defer srv.Close()
	token := srv.IssueToken()

	get := func() int {
		req, _ := http.NewRequest("GET", srv.URL()+"/digital-accounts", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode
	}
	fmt.Println(get(), srv.State(token))
	clock.Advance(16 * time.Minute) // no refresh
	fmt.Println(get(), srv.State(token))
	// Output:
	// 200 active
	// 401 revoked
}

// A token restricted to some digital accounts sees only them.
func ExampleForAccounts() {
	srv := tkey7test.NewServer()
	defer srv.Close()
	token := srv.IssueToken(tkey7test.ForAccounts("da-0002"))

	req, _ := http.NewRequest("GET", srv.URL()+"/digital-accounts", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(string(body))
	// Output: [{"id":"da-0002","name":"Settlement account","currency":"USD"}]
}

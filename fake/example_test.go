package fake_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/banksdk/banksdk/fake"
)

// A server whose next POST is handled but whose answer is lost: the client sees a
// transport error, and the request log shows the server did receive the request.
func ExampleServer_Inject() {
	srv := fake.Start(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"id":"pay-1"}`)
	}))
	defer srv.Close()
	srv.Inject(1, fake.DropAfter().On(http.MethodPost, "/payments"))

	_, err := http.Post(srv.URL()+"/payments", "application/json", strings.NewReader(`{"amount":"10.00"}`))
	fmt.Println("client saw an error:", err != nil)
	for _, r := range srv.Requests() {
		fmt.Println(r.Method, r.Path, string(r.Body), r.Fault)
	}
	// Output:
	// client saw an error: true
	// POST /payments {"amount":"10.00"} drop-after
}

// Header names as they arrived on the wire: net/http's parsed Header shows "Dauth".
func ExampleRequest_RawHeader() {
	srv := fake.Start(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL()+"/users/current", nil)
	req.Header["DAuth"] = []string{"jwt"}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	r := srv.Requests()[0]
	fmt.Println(r.RawHeader("DAuth"), r.Header.Get("Dauth"), r.RawHeader("Dauth"))
	// Output: [jwt] jwt []
}

// A proxy in front of a server: the server stores the payment, the gateway in between
// answers 504. The server's log shows it acted once; the client saw only the 504.
func ExampleNewBreakingProxy() {
	var stored atomic.Int32
	srv := fake.Start(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		stored.Add(1)
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"id":"pay-1"}`)
	}))
	defer srv.Close()
	proxy, err := fake.NewBreakingProxy(srv.URL())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer proxy.Close()
	proxy.Inject(1, fake.ActThen(http.StatusGatewayTimeout, "").On(http.MethodPost, "/payments"))

	resp, err := http.Post(proxy.URL()+"/payments", "application/json", strings.NewReader(`{"amount":"10.00"}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println("client saw:", resp.StatusCode)
	fmt.Println("server stored:", stored.Load(), "received:", srv.Count(http.MethodPost, "/payments"))
	fmt.Println("proxy fault:", proxy.Requests()[0].Fault)
	// Output:
	// client saw: 504
	// server stored: 1 received: 1
	// proxy fault: act-then-status
}

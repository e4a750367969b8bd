package fake_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"

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

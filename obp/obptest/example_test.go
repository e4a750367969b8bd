package obptest_test

import (
	"encoding/json"
	"fmt"
	"github.com/banksdk/banksdk/fake"
	"log"
	"net/http"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/banksdk/banksdk/obp/obptest"
)

// A DAuth call by hand: the header name must be exactly "DAuth" (direct map
// assignment; Header.Set would send "Dauth", which OBP does not recognise).
func ExampleNewServer() {
	srv := obptest.NewServer()
	defer srv.Close()

	tok, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"smart_contract_address": obptest.DefaultSmartContractAddress,
		"network_name":           obptest.DefaultNetworkName,
		"consumer_key":           srv.ConsumerKey(),
		"timestamp":              time.Now().UTC().Format(time.RFC3339),
		"request_id":             "4f0d2a4e-1d7b-4c55-9f50-2b1e3f0c9a11",
	}).SignedString(srv.DAuthPrivateKey())
	if err != nil {
		log.Fatal(err)
	}
	req, _ := http.NewRequest("GET", srv.URL()+"/obp/v4.0.0/users/current", nil)
	req.Header["DAuth"] = []string{tok}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var user struct {
		Username string `json:"username"`
		Provider string `json:"provider"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&user)
	fmt.Println(resp.StatusCode, user.Username, user.Provider)
	fmt.Println(len(srv.Requests()[0].RawHeader("DAuth")), len(srv.Requests()[0].RawHeader("Dauth")))
	// Output:
	// 200 0xe123425E7734CE288F8367e1Bb143E90bb3F051224 dauth.AIRNODE.TESTNET.ETHEREUM
	// 1 0
}

// Errors that the fake's model cannot produce are injected.
func ExampleServer_Inject() {
	srv := obptest.NewServer()
	defer srv.Close()
	srv.Inject(1, fake.Status(500, obptest.ErrorBody(500, obptest.MsgUnknownError)).On("GET", "/obp/"))

	resp, err := http.Get(srv.URL() + "/obp/v4.0.0/users/current")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	fmt.Println(resp.StatusCode, body.Message)
	// Output: 500 OBP-50000: Unknown Error.
}

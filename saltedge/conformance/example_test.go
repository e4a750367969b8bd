package conformance_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"log"
	"net"
	"time"

	"github.com/banksdk/banksdk/saltedge/conformance"
	"github.com/banksdk/banksdk/saltedge/conformance/conformancetest"
)

// Run against a connector served in-process: the reference bank of conformancetest
// (saltedge.NewHandler over an in-memory bank), set up as a bank sets up its own
// connector for the run.
func Example() {
	saltEdgeKey, err := rsa.GenerateKey(rand.Reader, 2048) // Salt Edge's test key pair
	if err != nil {
		log.Fatal(err)
	}
	connectorKey, err := rsa.GenerateKey(rand.Reader, 2048) // signs the connector's callbacks
	if err != nil {
		log.Fatal(err)
	}
	// The runner serves Salt Edge's callback API here; the connector calls it.
	callbacks, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	bank, err := conformancetest.Start(conformancetest.Config{
		SaltEdgeKey: &saltEdgeKey.PublicKey,
		CallbackURL: "http://" + callbacks.Addr().String(),
		AppID:       "app-id",
		AppSecret:   "app-secret",
		ProviderKey: connectorKey,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer bank.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := conformance.Run(ctx, conformance.Config{
		BaseURL:            bank.URL(),
		SigningKey:         saltEdgeKey,
		Callbacks:          callbacks, // Run closes it when done
		AppID:              "app-id",
		AppSecret:          "app-secret",
		ConnectorPublicKey: &connectorKey.PublicKey,
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range rep.Failed() {
		fmt.Printf("FAIL  %s  %s: %s\n", c.ID, c.Name, c.Detail)
	}
	fmt.Printf("%d passed, %d failed\n", rep.Passed(), len(rep.Failed()))
	// Output: 30 passed, 0 failed
}

package obp_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/obp"
	"github.com/banksdk/banksdk/obp/obptest"
)

const (
	bankID    = obptest.DefaultBankID
	accountID = obptest.DefaultAccountID
	contract  = obptest.DefaultSmartContractAddress
	network   = obptest.DefaultNetworkName
)

// fast keeps retries short.
var fast = obp.WithRetry(3, time.Millisecond, 5*time.Millisecond)

var (
	keyOnce sync.Once
	testKey *rsa.PrivateKey
)

// sharedKey is one DAuth key pair for every fake of the package's tests.
func sharedKey(t *testing.T) *rsa.PrivateKey {
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		testKey = k
	})
	return testKey
}

func setup(t *testing.T, opts ...obptest.Option) *obptest.Server {
	t.Helper()
	s := obptest.NewServer(append([]obptest.Option{obptest.WithDAuthPrivateKey(sharedKey(t))}, opts...)...)
	t.Cleanup(s.Close)
	return s
}

func dauthConfig(s *obptest.Server) obp.DAuthConfig {
	return obp.DAuthConfig{
		PrivateKey:           s.DAuthPrivateKey(),
		SmartContractAddress: contract,
		NetworkName:          network,
		MsgSender:            obptest.DefaultMsgSender,
		ConsumerKey:          s.ConsumerKey(),
	}
}

func newClient(t *testing.T, s *obptest.Server, opts ...obp.Option) *obp.Client {
	t.Helper()
	c, err := obp.NewClient(append([]obp.Option{obp.WithBaseURL(s.URL()), fast}, opts...)...)
	require.NoError(t, err)
	closeWhenDone(t, c)
	return c
}

// closeWhenDone closes c when the test ends (before the fakes started earlier close),
// so that the package's goroutine-leak check sees every client closed.
func closeWhenDone(t *testing.T, c *obp.Client) {
	t.Helper()
	t.Cleanup(func() { require.NoError(t, c.Close()) })
}

func dauthClient(t *testing.T, s *obptest.Server, opts ...obp.Option) *obp.Client {
	t.Helper()
	return newClient(t, s, append([]obp.Option{obp.WithDAuth(dauthConfig(s))}, opts...)...)
}

func loginClient(t *testing.T, s *obptest.Server, opts ...obp.Option) *obp.Client {
	t.Helper()
	return newClient(t, s, append([]obp.Option{obp.WithDirectLogin(obptest.DefaultUsername, s.Password(), s.ConsumerKey())}, opts...)...)
}

// dauthHolder makes the default DAuth user an owner of the default account and
// returns its id.
func dauthHolder(t *testing.T, s *obptest.Server) string {
	t.Helper()
	id := s.EnsureUser(contract, obp.DAuthProvider(network))
	require.NoError(t, s.GrantAccess(bankID, accountID, id, obptest.ViewOwner))
	return id
}

func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// verifyDAuth checks a DAuth JWT's signature with the fake's key and returns its claims.
func verifyDAuth(t *testing.T, pub *rsa.PublicKey, tok string) jwt.MapClaims {
	t.Helper()
	claims := jwt.MapClaims{}
	parsed, err := jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return pub, nil },
		jwt.WithValidMethods([]string{"RS256"}))
	require.NoError(t, err)
	require.True(t, parsed.Valid)
	return claims
}

// keyFragments returns pieces of an RSA private key that must never be printed: its
// private exponent and primes in decimal and base64.
func keyFragments(k *rsa.PrivateKey) []string {
	out := []string{k.D.String()[:40], base64.StdEncoding.EncodeToString(k.D.Bytes())[:40]}
	for _, p := range k.Primes {
		out = append(out, p.String()[:40])
	}
	return out
}

func has(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

func decodeSegment(seg string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(seg) }

package kh

import (
	"fmt"
	"strings"
	"sync"
)

// TokenKind is a kind of K&H token. The application token identifies the TPP's
// application; the other kinds are consent tokens, one kind per consent purpose.
type TokenKind uint8

// The token kinds of the K&H endpoint-token table, in its column order.
const (
	TokenApp                TokenKind = iota + 1 // TPP application authentication token
	TokenPSUIdentification                       // token of a PSU identification consent
	TokenAccountBalance                          // token of an account balance consent
	TokenTransactionHistory                      // token of a transaction history consent
	TokenFundsConfirmation                       // token of a funds confirmation consent
)

// String names the kind as the K&H table does.
func (k TokenKind) String() string {
	switch k {
	case TokenApp:
		return "TPP application authentication token"
	case TokenPSUIdentification:
		return "PSU identification token"
	case TokenAccountBalance:
		return "account balance token"
	case TokenTransactionHistory:
		return "transaction history token"
	case TokenFundsConfirmation:
		return "funds confirmation token"
	}
	return fmt.Sprintf("TokenKind(%d)", uint8(k))
}

func kindList(ks []TokenKind) string {
	if len(ks) == 0 {
		return "no token"
	}
	parts := make([]string, len(ks))
	for i, k := range ks {
		parts[i] = k.String()
	}
	if len(parts) == 1 {
		return "only a " + parts[0]
	}
	return "a " + strings.Join(parts[:len(parts)-1], ", a ") + " or a " + parts[len(parts)-1]
}

// kindSet is a set of token kinds.
type kindSet uint8

const (
	kApp  = kindSet(1) << TokenApp
	kPSU  = kindSet(1) << TokenPSUIdentification
	kBal  = kindSet(1) << TokenAccountBalance
	kTx   = kindSet(1) << TokenTransactionHistory
	kFund = kindSet(1) << TokenFundsConfirmation
	kNone = kindSet(0)
)

func (s kindSet) has(k TokenKind) bool { return k != 0 && s&(kindSet(1)<<k) != 0 }

func (s kindSet) list() []TokenKind {
	var out []TokenKind
	for k := TokenApp; k <= TokenFundsConfirmation; k++ {
		if s.has(k) {
			out = append(out, k)
		}
	}
	return out
}

// Endpoint is one row of the endpoint-token table: an endpoint and the token kinds it
// accepts. An endpoint that accepts no kind is called without a token (the TPP is
// identified by its client certificate).
type Endpoint struct {
	Method string
	// Pattern is the path as the K&H table writes it, e.g.
	// "/v1/consents/{consentId}/status".
	Pattern string
	Accepts []TokenKind
	// Documented is false for the one endpoint the client routes that the K&H table
	// lacks: GET /v1/accounts (the account list the K&H SCA flow relies on; the
	// client sends it a PSU identification token).
	Documented bool
}

func (e Endpoint) String() string { return e.Method + " " + e.Pattern }

type endpoint struct {
	method, pattern string
	accepts         kindSet
	documented      bool
}

func (e *endpoint) String() string { return e.method + " " + e.pattern }

// endpointTable is the "which kind of token you can use for which API endpoint"
// table of the K&H token page, transcribed row by row in the page's order.
func endpointTable() []endpoint {
	return []endpoint{
		{"POST", "/v1/payments/payment-order", kApp | kPSU, true},
		{"GET", "/v1/payments/payment-order/{paymentId}", kPSU, true},
		{"GET", "/v1/payments/payment-order/{paymentId}/status", kApp | kPSU, true},
		{"DELETE", "/v1/payments/payment-order/{paymentId}", kPSU, true},
		{"POST", "/v1/payments/payment-order/{paymentId}/authorisations", kApp | kPSU, true},
		{"GET", "/v1/payments/payment-order/{paymentId}/authorisations", kApp | kPSU, true},
		{"PUT", "/v1/payments/payment-order/{paymentId}/authorisations/{authorisationId}", kPSU, true},
		{"GET", "/v1/payments/payment-order/{paymentId}/authorisations/{authorisationId}", kApp | kPSU, true},

		{"POST", "/v1/bulk-payments/payment-order", kApp | kPSU, true},
		{"GET", "/v1/bulk-payments/payment-order/{paymentId}", kPSU, true},
		{"GET", "/v1/bulk-payments/payment-order/{paymentId}/status", kApp | kPSU, true},
		{"DELETE", "/v1/bulk-payments/payment-order/{paymentId}", kPSU, true},
		{"POST", "/v1/bulk-payments/payment-order/{paymentId}/authorisations", kApp | kPSU, true},
		{"GET", "/v1/bulk-payments/payment-order/{paymentId}/authorisations", kApp | kPSU, true},
		{"PUT", "/v1/bulk-payments/payment-order/{paymentId}/authorisations/{authorisationId}", kPSU, true},
		{"GET", "/v1/bulk-payments/payment-order/{paymentId}/authorisations/{authorisationId}", kApp | kPSU, true},

		{"POST", "/v1/periodic-payments/standing-order", kApp | kPSU, true},
		{"GET", "/v1/periodic-payments/standing-order/{paymentId}", kPSU, true},
		{"GET", "/v1/periodic-payments/standing-order/{paymentId}/status", kApp | kPSU, true},
		{"DELETE", "/v1/periodic-payments/standing-order/{paymentId}", kPSU, true},
		{"POST", "/v1/periodic-payments/standing-order/{paymentId}/authorisations", kApp | kPSU, true},
		{"GET", "/v1/periodic-payments/standing-order/{paymentId}/authorisations", kApp | kPSU, true},
		{"PUT", "/v1/periodic-payments/standing-order/{paymentId}/authorisations/{authorisationId}", kPSU, true},
		{"GET", "/v1/periodic-payments/standing-order/{paymentId}/authorisations/{authorisationId}", kApp | kPSU, true},

		{"POST", "/v1/signing-baskets", kApp | kPSU, true},
		{"GET", "/v1/signing-baskets/{basketId}", kApp | kPSU, true},
		{"DELETE", "/v1/signing-baskets/{basketId}", kApp | kPSU, true},
		{"GET", "/v1/signing-baskets/{basketId}/authorisations", kApp | kPSU, true},
		{"PUT", "/v1/signing-baskets/{basketId}/authorisations/{authorisationId}", kPSU, true},
		{"GET", "/v1/signing-baskets/{basketId}/authorisations/{authorisationId}", kApp | kPSU, true},

		{"POST", "/v1/bulk-payments/payment-order/{paymentId}/cancellation-authorisations", kApp | kPSU, true},
		{"GET", "/v1/bulk-payments/payment-order/{paymentId}/cancellation-authorisations", kApp | kPSU, true},
		{"PUT", "/v1/bulk-payments/payment-order/{paymentId}/cancellation-authorisations/{cancellationId}", kPSU, true},
		{"GET", "/v1/bulk-payments/payment-order/{paymentId}/cancellation-authorisations/{cancellationId}", kApp | kPSU, true},
		{"POST", "/v1/payments/payment-order/{paymentId}/cancellation-authorisations", kApp | kPSU, true},
		{"GET", "/v1/payments/payment-order/{paymentId}/cancellation-authorisations", kApp | kPSU, true},
		{"PUT", "/v1/payments/payment-order/{paymentId}/cancellation-authorisations/{cancellationId}", kPSU, true},
		{"GET", "/v1/payments/payment-order/{paymentId}/cancellation-authorisations/{cancellationId}", kApp | kPSU, true},
		{"POST", "/v1/periodic-payments/standing-order/{paymentId}/cancellation-authorisations", kApp | kPSU, true},
		{"GET", "/v1/periodic-payments/standing-order/{paymentId}/cancellation-authorisations", kApp | kPSU, true},
		{"PUT", "/v1/periodic-payments/standing-order/{paymentId}/cancellation-authorisations/{cancellationId}", kPSU, true},
		{"GET", "/v1/periodic-payments/standing-order/{paymentId}/cancellation-authorisations/{cancellationId}", kApp | kPSU, true},

		{"GET", "/v1/accounts/{account-id}", kBal | kTx, true},
		{"GET", "/v1/accounts/{account-id}/balances", kBal, true},
		{"GET", "/v1/accounts/{account-id}/transactions", kTx, true},
		{"GET", "/v1/accounts/{account-id}/transactions/download/{downloadid}", kTx, true},

		// The K&H page writes this row with a trailing slash ("/v1/consents/ POST"); the
		// client sends the Berlin Group path /v1/consents.
		{"POST", "/v1/consents", kApp | kPSU, true},
		{"GET", "/v1/consents/{consentId}", kPSU, true},
		{"POST", "/v1/consents/{consentId}/authorisations", kApp | kPSU, true},
		{"GET", "/v1/consents/{consentId}/authorisations", kApp | kPSU, true},
		{"GET", "/v1/consents/{consentId}/authorisations/{authorisationId}", kApp | kPSU, true},
		{"PUT", "/v1/consents/{consentId}/authorisations/{authorisationId}", kApp | kPSU, true},
		{"GET", "/v1/consents/{consentId}/status", kApp | kPSU, true},
		{"DELETE", "/v1/consents/{consentId}", kApp | kPSU, true},

		{"POST", "/v1/funds-confirmations", kFund, true},

		{"POST", "/v1/tpp/app", kNone, true},
		{"PUT", "/v1/tpp/contact", kNone, true},
		{"POST", "/v1/tpp/app/token", kNone, true},

		// Not a row of the K&H table: see Endpoint.Documented.
		{"GET", "/v1/accounts", kPSU, false},
	}
}

// Endpoints returns the endpoint-token table the client routes by, in the K&H page's
// order (GET /v1/accounts, which the page lacks, last).
func Endpoints() []Endpoint {
	t := endpointTable()
	out := make([]Endpoint, len(t))
	for i, e := range t {
		out[i] = Endpoint{Method: e.method, Pattern: e.pattern, Accepts: e.accepts.list(), Documented: e.documented}
	}
	return out
}

var endpointIndex = sync.OnceValue(func() map[string]*endpoint {
	t := endpointTable()
	m := make(map[string]*endpoint, len(t))
	for i := range t {
		m[t[i].method+" "+t[i].pattern] = &t[i]
	}
	return m
})

// lookup returns the table row of method and pattern. A miss is a bug in this
// package (every typed method names a row); the tests call every row.
func lookup(method, pattern string) (*endpoint, error) {
	if e, ok := endpointIndex()[method+" "+pattern]; ok {
		return e, nil
	}
	return nil, fmt.Errorf("kh: %s %s is not in the K&H endpoint-token table", method, pattern)
}

// matchEndpoint finds the row whose pattern matches an unescaped path such as
// "/v1/consents/abc/status" (for Do and for links).
func matchEndpoint(method, path string) (*endpoint, map[string]string, bool) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for _, e := range endpointIndex() {
		if e.method != method {
			continue
		}
		if params, ok := matchPattern(e.pattern, segs); ok {
			return e, params, true
		}
	}
	return nil, nil, false
}

func matchPattern(pattern string, segs []string) (map[string]string, bool) {
	ps := strings.Split(strings.Trim(pattern, "/"), "/")
	if len(ps) != len(segs) {
		return nil, false
	}
	params := map[string]string{}
	for i, p := range ps {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
			if segs[i] == "" {
				return nil, false
			}
			params[p[1:len(p)-1]] = segs[i]
			continue
		}
		if p != segs[i] {
			return nil, false
		}
	}
	return params, true
}

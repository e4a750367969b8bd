package khtest

import "strings"

// TokenKind names the kind of a token the fake bank issues.
type TokenKind string

// The token kinds of the K&H documentation. An application token identifies the TPP's
// application; the four consent kinds are the tokens of consents created for one
// purpose each.
const (
	KindApp                TokenKind = "app"
	KindPSUIdentification  TokenKind = "psu-identification"
	KindAccountBalance     TokenKind = "account-balance"
	KindTransactionHistory TokenKind = "transaction-history"
	KindFundsConfirmation  TokenKind = "funds-confirmation"
)

// Route is one row of the endpoint-token table: an endpoint and the token kinds it
// accepts. A route that accepts no kind is called without a token (the TPP is
// identified by its client certificate).
type Route struct {
	Method  string
	Pattern string
	Kinds   []TokenKind
	// Seed is false for routes the fake serves that are not rows of the K&H table
	// (GET /v1/accounts, which the K&H SCA description relies on).
	Seed bool
}

type handlerFunc func(*Server, *call)

type route struct {
	Route
	segs    []string
	handler handlerFunc
}

// routes is the "which kind of token you can use for which API endpoint" table of the
// K&H token page, row by row in the page's order, each with the handler serving it.
func routes() []route {
	aP := []TokenKind{KindApp, KindPSUIdentification}
	p := []TokenKind{KindPSUIdentification}
	bT := []TokenKind{KindAccountBalance, KindTransactionHistory}
	b := []TokenKind{KindAccountBalance}
	t := []TokenKind{KindTransactionHistory}
	f := []TokenKind{KindFundsConfirmation}
	non := []TokenKind{}
	rows := []route{
		{Route{"POST", "/v1/payments/payment-order", aP, true}, nil, (*Server).initiatePayment},
		{Route{"GET", "/v1/payments/payment-order/{paymentId}", p, true}, nil, (*Server).getPayment},
		{Route{"GET", "/v1/payments/payment-order/{paymentId}/status", aP, true}, nil, (*Server).paymentStatus},
		{Route{"DELETE", "/v1/payments/payment-order/{paymentId}", p, true}, nil, (*Server).cancelPayment},
		{Route{"POST", "/v1/payments/payment-order/{paymentId}/authorisations", aP, true}, nil, (*Server).startAuthorisation},
		{Route{"GET", "/v1/payments/payment-order/{paymentId}/authorisations", aP, true}, nil, (*Server).listAuthorisations},
		{Route{"PUT", "/v1/payments/payment-order/{paymentId}/authorisations/{authorisationId}", p, true}, nil, (*Server).updateAuthorisation},
		{Route{"GET", "/v1/payments/payment-order/{paymentId}/authorisations/{authorisationId}", aP, true}, nil, (*Server).authorisationStatus},

		{Route{"POST", "/v1/bulk-payments/payment-order", aP, true}, nil, (*Server).initiatePayment},
		{Route{"GET", "/v1/bulk-payments/payment-order/{paymentId}", p, true}, nil, (*Server).getPayment},
		{Route{"GET", "/v1/bulk-payments/payment-order/{paymentId}/status", aP, true}, nil, (*Server).paymentStatus},
		{Route{"DELETE", "/v1/bulk-payments/payment-order/{paymentId}", p, true}, nil, (*Server).cancelPayment},
		{Route{"POST", "/v1/bulk-payments/payment-order/{paymentId}/authorisations", aP, true}, nil, (*Server).startAuthorisation},
		{Route{"GET", "/v1/bulk-payments/payment-order/{paymentId}/authorisations", aP, true}, nil, (*Server).listAuthorisations},
		{Route{"PUT", "/v1/bulk-payments/payment-order/{paymentId}/authorisations/{authorisationId}", p, true}, nil, (*Server).updateAuthorisation},
		{Route{"GET", "/v1/bulk-payments/payment-order/{paymentId}/authorisations/{authorisationId}", aP, true}, nil, (*Server).authorisationStatus},

		{Route{"POST", "/v1/periodic-payments/standing-order", aP, true}, nil, (*Server).initiatePayment},
		{Route{"GET", "/v1/periodic-payments/standing-order/{paymentId}", p, true}, nil, (*Server).getPayment},
		{Route{"GET", "/v1/periodic-payments/standing-order/{paymentId}/status", aP, true}, nil, (*Server).paymentStatus},
		{Route{"DELETE", "/v1/periodic-payments/standing-order/{paymentId}", p, true}, nil, (*Server).cancelPayment},
		{Route{"POST", "/v1/periodic-payments/standing-order/{paymentId}/authorisations", aP, true}, nil, (*Server).startAuthorisation},
		{Route{"GET", "/v1/periodic-payments/standing-order/{paymentId}/authorisations", aP, true}, nil, (*Server).listAuthorisations},
		{Route{"PUT", "/v1/periodic-payments/standing-order/{paymentId}/authorisations/{authorisationId}", p, true}, nil, (*Server).updateAuthorisation},
		{Route{"GET", "/v1/periodic-payments/standing-order/{paymentId}/authorisations/{authorisationId}", aP, true}, nil, (*Server).authorisationStatus},

		{Route{"POST", "/v1/signing-baskets", aP, true}, nil, (*Server).createBasket},
		{Route{"GET", "/v1/signing-baskets/{basketId}", aP, true}, nil, (*Server).getBasket},
		{Route{"DELETE", "/v1/signing-baskets/{basketId}", aP, true}, nil, (*Server).deleteBasket},
		{Route{"GET", "/v1/signing-baskets/{basketId}/authorisations", aP, true}, nil, (*Server).listAuthorisations},
		{Route{"PUT", "/v1/signing-baskets/{basketId}/authorisations/{authorisationId}", p, true}, nil, (*Server).updateAuthorisation},
		{Route{"GET", "/v1/signing-baskets/{basketId}/authorisations/{authorisationId}", aP, true}, nil, (*Server).authorisationStatus},

		{Route{"POST", "/v1/bulk-payments/payment-order/{paymentId}/cancellation-authorisations", aP, true}, nil, (*Server).startAuthorisation},
		{Route{"GET", "/v1/bulk-payments/payment-order/{paymentId}/cancellation-authorisations", aP, true}, nil, (*Server).listAuthorisations},
		{Route{"PUT", "/v1/bulk-payments/payment-order/{paymentId}/cancellation-authorisations/{cancellationId}", p, true}, nil, (*Server).updateAuthorisation},
		{Route{"GET", "/v1/bulk-payments/payment-order/{paymentId}/cancellation-authorisations/{cancellationId}", aP, true}, nil, (*Server).authorisationStatus},
		{Route{"POST", "/v1/payments/payment-order/{paymentId}/cancellation-authorisations", aP, true}, nil, (*Server).startAuthorisation},
		{Route{"GET", "/v1/payments/payment-order/{paymentId}/cancellation-authorisations", aP, true}, nil, (*Server).listAuthorisations},
		{Route{"PUT", "/v1/payments/payment-order/{paymentId}/cancellation-authorisations/{cancellationId}", p, true}, nil, (*Server).updateAuthorisation},
		{Route{"GET", "/v1/payments/payment-order/{paymentId}/cancellation-authorisations/{cancellationId}", aP, true}, nil, (*Server).authorisationStatus},
		{Route{"POST", "/v1/periodic-payments/standing-order/{paymentId}/cancellation-authorisations", aP, true}, nil, (*Server).startAuthorisation},
		{Route{"GET", "/v1/periodic-payments/standing-order/{paymentId}/cancellation-authorisations", aP, true}, nil, (*Server).listAuthorisations},
		{Route{"PUT", "/v1/periodic-payments/standing-order/{paymentId}/cancellation-authorisations/{cancellationId}", p, true}, nil, (*Server).updateAuthorisation},
		{Route{"GET", "/v1/periodic-payments/standing-order/{paymentId}/cancellation-authorisations/{cancellationId}", aP, true}, nil, (*Server).authorisationStatus},

		{Route{"GET", "/v1/accounts/{account-id}", bT, true}, nil, (*Server).getAccount},
		{Route{"GET", "/v1/accounts/{account-id}/balances", b, true}, nil, (*Server).getBalances},
		{Route{"GET", "/v1/accounts/{account-id}/transactions", t, true}, nil, (*Server).getTransactions},
		{Route{"GET", "/v1/accounts/{account-id}/transactions/download/{downloadid}", t, true}, nil, (*Server).download},

		// The page writes this row with a trailing slash; the fake accepts both forms.
		{Route{"POST", "/v1/consents/", aP, true}, nil, (*Server).createConsent},
		{Route{"GET", "/v1/consents/{consentId}", p, true}, nil, (*Server).getConsent},
		{Route{"POST", "/v1/consents/{consentId}/authorisations", aP, true}, nil, (*Server).startAuthorisation},
		{Route{"GET", "/v1/consents/{consentId}/authorisations", aP, true}, nil, (*Server).listAuthorisations},
		{Route{"GET", "/v1/consents/{consentId}/authorisations/{authorisationId}", aP, true}, nil, (*Server).authorisationStatus},
		{Route{"PUT", "/v1/consents/{consentId}/authorisations/{authorisationId}", aP, true}, nil, (*Server).updateAuthorisation},
		{Route{"GET", "/v1/consents/{consentId}/status", aP, true}, nil, (*Server).consentStatus},
		{Route{"DELETE", "/v1/consents/{consentId}", aP, true}, nil, (*Server).deleteConsent},

		{Route{"POST", "/v1/funds-confirmations", f, true}, nil, (*Server).fundsConfirmation},

		{Route{"POST", "/v1/tpp/app", non, true}, nil, (*Server).registerApp},
		{Route{"PUT", "/v1/tpp/contact", non, true}, nil, (*Server).putContact},
		{Route{"POST", "/v1/tpp/app/token", non, true}, nil, (*Server).appToken},

		// Not a row of the table. The K&H SCA page: with a valid PSU identification
		// consent the account list returns all the PSU's payment accounts.
		{Route{"GET", "/v1/accounts", p, false}, nil, (*Server).listAccounts},
	}
	for i := range rows {
		rows[i].segs = splitPath(rows[i].Pattern)
	}
	return rows
}

// Table returns the endpoint-token table the fake enforces, in the K&H page's order,
// followed by the routes the fake serves beyond the table (Seed false).
func Table() []Route {
	rs := routes()
	out := make([]Route, len(rs))
	for i, r := range rs {
		out[i] = r.Route
		out[i].Kinds = append([]TokenKind(nil), r.Kinds...)
	}
	return out
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// match reports whether the request path segments fit the route's pattern and returns
// the path parameters.
func (r *route) match(segs []string) (map[string]string, bool) {
	if len(segs) != len(r.segs) {
		return nil, false
	}
	var params map[string]string
	for i, ps := range r.segs {
		if strings.HasPrefix(ps, "{") && strings.HasSuffix(ps, "}") {
			if segs[i] == "" {
				return nil, false
			}
			if params == nil {
				params = map[string]string{}
			}
			params[ps[1:len(ps)-1]] = segs[i]
			continue
		}
		if ps != segs[i] {
			return nil, false
		}
	}
	return params, true
}

func (r *route) accepts(k TokenKind) bool {
	for _, x := range r.Kinds {
		if x == k {
			return true
		}
	}
	return false
}

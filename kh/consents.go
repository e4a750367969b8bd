package kh

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/internal/rest"
)

// ConsentAccess is a consent's access object.
type ConsentAccess struct {
	Accounts                     []AccountReference     `json:"accounts,omitempty"`
	Balances                     []AccountReference     `json:"balances,omitempty"`
	Transactions                 []AccountReference     `json:"transactions,omitempty"`
	AdditionalInformation        *AdditionalInformation `json:"additionalInformation,omitempty"`
	AvailableAccounts            AccessScope            `json:"availableAccounts,omitempty"`
	AvailableAccountsWithBalance AccessScope            `json:"availableAccountsWithBalance,omitempty"`
	AllPSD2                      AccessScope            `json:"allPsd2,omitempty"`
	// RestrictedTo lists ISO cash account types (e.g. CACC).
	RestrictedTo []string `json:"restrictedTo,omitempty"`
}

// AdditionalInformation asks for the owner name or trusted beneficiaries of accounts.
type AdditionalInformation struct {
	OwnerName            []AccountReference `json:"ownerName,omitempty"`
	TrustedBeneficiaries []AccountReference `json:"trustedBeneficiaries,omitempty"`
}

// ConsentRequest is the body of POST /v1/consents.
type ConsentRequest struct {
	Access ConsentAccess `json:"access"`
	// RecurringIndicator: true for recurring access, false for one-off access (then
	// FrequencyPerDay must be 1).
	RecurringIndicator bool `json:"recurringIndicator"`
	// ValidUntil is a date YYYY-MM-DD ("9999-12-31" asks for the longest validity).
	ValidUntil string `json:"validUntil"`
	// FrequencyPerDay is how often per day the TPP may read without the PSU (>= 1).
	FrequencyPerDay int `json:"frequencyPerDay"`
	// CombinedServiceIndicator: true when payment initiation runs in the same session.
	CombinedServiceIndicator bool `json:"combinedServiceIndicator"`
}

// The K&H documentation names the token kinds of consents (PSU identification, account
// balance, transaction history, funds confirmation) but not how a consent body selects
// one. The client reads the purpose from the Berlin Group access object (Purpose).

// PSUIdentificationConsent asks for the list of the PSU's accounts
// (availableAccounts: allAccounts). Its token identifies the PSU: it lists accounts
// (Accounts.List) and authorises the PSU-only payment and basket calls.
func PSUIdentificationConsent(validUntil string) ConsentRequest {
	return ConsentRequest{Access: ConsentAccess{AvailableAccounts: AllAccounts},
		RecurringIndicator: true, ValidUntil: validUntil, FrequencyPerDay: 4}
}

// BalanceConsent asks for the balances of accounts (K&H: one consent per account).
func BalanceConsent(validUntil string, accounts ...AccountReference) ConsentRequest {
	return ConsentRequest{Access: ConsentAccess{Balances: accounts},
		RecurringIndicator: true, ValidUntil: validUntil, FrequencyPerDay: 4}
}

// TransactionConsent asks for the transaction history of accounts.
func TransactionConsent(validUntil string, accounts ...AccountReference) ConsentRequest {
	return ConsentRequest{Access: ConsentAccess{Transactions: accounts},
		RecurringIndicator: true, ValidUntil: validUntil, FrequencyPerDay: 4}
}

// FundsConfirmationConsent asks to confirm funds on accounts (access.accounts only).
func FundsConfirmationConsent(validUntil string, accounts ...AccountReference) ConsentRequest {
	return ConsentRequest{Access: ConsentAccess{Accounts: accounts},
		RecurringIndicator: true, ValidUntil: validUntil, FrequencyPerDay: 4}
}

// Purpose returns the token kind the consent's tokens will have, read from its access:
//
//	availableAccounts or availableAccountsWithBalance only -> TokenPSUIdentification
//	balances (optionally with accounts)                  -> TokenAccountBalance
//	transactions (optionally with accounts)              -> TokenTransactionHistory
//	accounts only                                        -> TokenFundsConfirmation
//
// A consent serves one purpose: other combinations (and allPsd2) are an error.
func (r ConsentRequest) Purpose() (TokenKind, error) {
	a := r.Access
	avail := a.AvailableAccounts != "" || a.AvailableAccountsWithBalance != ""
	nb, nt, na := len(a.Balances), len(a.Transactions), len(a.Accounts)
	switch {
	case a.AllPSD2 != "":
		return 0, invalid("access.allPsd2", "not supported: K&H consents serve one purpose each")
	case avail && na+nb+nt == 0:
		return TokenPSUIdentification, nil
	case !avail && nb > 0 && nt == 0:
		return TokenAccountBalance, nil
	case !avail && nt > 0 && nb == 0:
		return TokenTransactionHistory, nil
	case !avail && na > 0 && nb+nt == 0:
		return TokenFundsConfirmation, nil
	}
	return 0, invalid("access", "a consent serves exactly one purpose: availableAccounts (PSU identification), balances, transactions, or accounts only (funds confirmation)")
}

func purposeOf(k TokenKind) string {
	switch k {
	case TokenPSUIdentification:
		return "PSU identification"
	case TokenAccountBalance:
		return "account balance"
	case TokenTransactionHistory:
		return "transaction history"
	case TokenFundsConfirmation:
		return "funds confirmation"
	}
	return k.String()
}

// ConsentCreated is the answer to POST /v1/consents (201).
type ConsentCreated struct {
	ConsentStatus ConsentStatus `json:"consentStatus"`
	ConsentID     string        `json:"consentId"`
	SCAData
	TPPMessages []TPPMessage `json:"-"`
	// Purpose is the kind of the consent's tokens.
	Purpose     TokenKind   `json:"-"`
	Location    string      `json:"-"`
	SCAApproach SCAApproach `json:"-"`
	Meta        `json:"-"`
}

func (c *ConsentCreated) setMeta(r *rest.Response, body []byte) {
	c.Meta, c.TPPMessages = metaOf(r), extraMessages(body)
	c.Location, c.SCAApproach = r.Header.Get("Location"), SCAApproach(r.Header.Get("ASPSP-SCA-Approach"))
}

// Consent is a consent as GET /v1/consents/{consentId} returns it.
type Consent struct {
	Access             ConsentAccess `json:"access"`
	RecurringIndicator Bool          `json:"recurringIndicator"`
	ValidUntil         string        `json:"validUntil"`
	FrequencyPerDay    Int           `json:"frequencyPerDay"`
	LastActionDate     string        `json:"lastActionDate"`
	ConsentStatus      ConsentStatus `json:"consentStatus"`
	Links              Links         `json:"_links,omitempty"`
	Meta               `json:"-"`
}

func (c *Consent) setMeta(r *rest.Response, _ []byte) { c.Meta = metaOf(r) }

// ConsentStatusResult is a consent's status.
type ConsentStatusResult struct {
	ConsentStatus ConsentStatus `json:"consentStatus"`
	PSUMessage    string        `json:"psuMessage,omitempty"`
	// TokenIssued says that the bank sent a new consent token (it does for a valid
	// consent), which the client stored for the consent.
	TokenIssued bool `json:"-"`
	Meta        `json:"-"`
}

func (c *ConsentStatusResult) setMeta(r *rest.Response, _ []byte) { c.Meta = metaOf(r) }

// ConsentsService manages consents and their tokens.
type ConsentsService struct {
	client *Client
	// Authorisations are the consents' SCA sub-resources.
	Authorisations *Authorisations
}

// Create creates a consent (PSU-IP-Address required). The client remembers the
// consent and its purpose; once it is valid, its token is fetched through Status.
func (s *ConsentsService) Create(ctx context.Context, req ConsentRequest, opts ...RequestOption) (*ConsentCreated, error) {
	kind, err := req.Purpose()
	if err != nil {
		return nil, err
	}
	if err := req.validate(); err != nil {
		return nil, err
	}
	res, err := do[ConsentCreated](ctx, s.client, &call{method: "POST", pattern: "/v1/consents",
		path: []string{"v1", "consents"}, body: req, requireHeaders: []string{"PSU-IP-Address"}}, opts)
	if err != nil {
		return nil, err
	}
	res.Purpose = kind
	if res.ConsentID != "" {
		s.client.tokens.track(res.ConsentID, kind)
	}
	return res, nil
}

// Get returns a consent. K&H accepts only a PSU identification token here: the
// consent's own token when it is a PSU identification consent, or another one named
// with UseConsent.
func (s *ConsentsService) Get(ctx context.Context, consentID string, opts ...RequestOption) (*Consent, error) {
	if err := needID("consentId", consentID); err != nil {
		return nil, err
	}
	cl := &call{method: "GET", pattern: "/v1/consents/{consentId}", path: []string{"v1", "consents", consentID}}
	if k, ok := s.client.tokens.kind(consentID); ok && k == TokenPSUIdentification {
		opts = append([]RequestOption{UseConsent(consentID)}, opts...)
	}
	return do[Consent](ctx, s.client, cl, opts)
}

// Status returns a consent's status. When the consent is valid the bank issues a new
// consent token in the "token" response header, on every call: the client stores it
// for the consent (the consent must be known: created by this client or registered
// with Track).
func (s *ConsentsService) Status(ctx context.Context, consentID string, opts ...RequestOption) (*ConsentStatusResult, error) {
	res, _, err := s.status(ctx, consentID, opts, true)
	return res, err
}

func (s *ConsentsService) status(ctx context.Context, consentID string, opts []RequestOption, store bool) (*ConsentStatusResult, string, error) {
	if err := needID("consentId", consentID); err != nil {
		return nil, "", err
	}
	var raw []byte
	resp, err := s.client.send(ctx, &call{method: "GET", pattern: "/v1/consents/{consentId}/status",
		path: []string{"v1", "consents", consentID, "status"}}, opts, &raw)
	if err != nil {
		return nil, "", err
	}
	res := &ConsentStatusResult{}
	if err := json.Unmarshal(raw, res); err != nil {
		return nil, "", invalidAnswer("GET /v1/consents/{consentId}/status", resp, err)
	}
	res.setMeta(resp, raw)
	tok := strings.TrimSpace(resp.Header.Get("token"))
	if tok != "" && checkToken(tok) != nil {
		tok = ""
	}
	res.TokenIssued = tok != ""
	if tok != "" && store {
		if _, ok := s.client.tokens.kind(consentID); ok {
			if err := s.client.tokens.cache.Set(ctx, consentID, auth.Token{Value: tok, Expiry: jwtExpiry(tok)}); err != nil {
				s.client.rc.Logger().Warn("kh: consent token not shared with the other replicas", "error", err.Error())
			}
		}
	}
	return res, tok, nil
}

// Delete terminates a consent and forgets its token.
func (s *ConsentsService) Delete(ctx context.Context, consentID string, opts ...RequestOption) (Meta, error) {
	if err := needID("consentId", consentID); err != nil {
		return Meta{}, err
	}
	resp, err := s.client.send(ctx, &call{method: "DELETE", pattern: "/v1/consents/{consentId}",
		path: []string{"v1", "consents", consentID}}, opts, nil)
	if err != nil {
		return Meta{}, err
	}
	s.client.tokens.forget(consentID)
	return metaOf(resp), nil
}

// Track registers a consent created elsewhere (e.g. by another process) with the kind
// of its tokens, so that calls can use it; its token is fetched through Status.
func (s *ConsentsService) Track(consentID string, kind TokenKind) error {
	if err := needID("consentId", consentID); err != nil {
		return err
	}
	if kind < TokenPSUIdentification || kind > TokenFundsConfirmation {
		return invalid("kind", "must be a consent token kind (PSU identification, account balance, transaction history or funds confirmation)")
	}
	s.client.tokens.track(consentID, kind)
	return nil
}

// SetToken registers a consent and a token for it obtained elsewhere.
func (s *ConsentsService) SetToken(consentID string, kind TokenKind, token string) error {
	if err := s.Track(consentID, kind); err != nil {
		return err
	}
	if err := checkToken(token); err != nil {
		return invalid("token", "%v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.client.tokens.cache.Set(ctx, consentID, auth.Token{Value: token, Expiry: jwtExpiry(token)})
}

// Forget drops a consent and its token from the client (the consent stays at the bank).
func (s *ConsentsService) Forget(consentID string) { s.client.tokens.forget(consentID) }

// Purpose returns the token kind of a consent the client knows.
func (s *ConsentsService) Purpose(consentID string) (TokenKind, bool) {
	return s.client.tokens.kind(consentID)
}

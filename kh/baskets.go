package kh

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/internal/rest"
)

// SigningBasketRequest lists the payments and consents to authorise together.
type SigningBasketRequest struct {
	PaymentIDs []string `json:"paymentIds,omitempty"`
	ConsentIDs []string `json:"consentIds,omitempty"`
}

// SigningBasketCreated is the answer to creating a signing basket (201). The basket's
// one authorisation starts with it: Links.AuthorisationID gives its id.
type SigningBasketCreated struct {
	TransactionStatus TransactionStatus `json:"transactionStatus"`
	BasketID          string            `json:"basketId"`
	SCAData
	TPPMessages []TPPMessage `json:"-"`
	Location    string       `json:"-"`
	SCAApproach SCAApproach  `json:"-"`
	Meta        `json:"-"`
}

func (b *SigningBasketCreated) setMeta(r *rest.Response, body []byte) {
	b.Meta, b.TPPMessages = metaOf(r), extraMessages(body)
	b.Location, b.SCAApproach = r.Header.Get("Location"), SCAApproach(r.Header.Get("ASPSP-SCA-Approach"))
}

// SigningBasket is a basket as GET /v1/signing-baskets/{basketId} returns it.
type SigningBasket struct {
	Payments          []string          `json:"payments,omitempty"`
	Consents          []string          `json:"consents,omitempty"`
	TransactionStatus TransactionStatus `json:"transactionStatus"`
	Links             Links             `json:"_links,omitempty"`
	Meta              `json:"-"`
}

func (b *SigningBasket) setMeta(r *rest.Response, _ []byte) { b.Meta = metaOf(r) }

// SigningBasketsService groups payments and consents under one SCA (K&H: one
// authorisation per basket; e.g. the per-account consents of the account-list flow).
type SigningBasketsService struct {
	client *Client
	// Authorisations are the baskets' SCA sub-resources.
	Authorisations *BasketAuthorisations
}

// Create creates a signing basket (PSU-IP-Address required).
func (s *SigningBasketsService) Create(ctx context.Context, req SigningBasketRequest, opts ...RequestOption) (*SigningBasketCreated, error) {
	if err := req.validate(); err != nil {
		return nil, err
	}
	return do[SigningBasketCreated](ctx, s.client, &call{method: "POST", pattern: "/v1/signing-baskets",
		path: []string{"v1", "signing-baskets"}, body: req, requireHeaders: []string{"PSU-IP-Address"}}, opts)
}

// Get returns a signing basket.
func (s *SigningBasketsService) Get(ctx context.Context, basketID string, opts ...RequestOption) (*SigningBasket, error) {
	if err := needID("basketId", basketID); err != nil {
		return nil, err
	}
	return do[SigningBasket](ctx, s.client, &call{method: "GET", pattern: "/v1/signing-baskets/{basketId}",
		path: []string{"v1", "signing-baskets", basketID}}, opts)
}

// Delete deletes a signing basket that is not authorised yet.
func (s *SigningBasketsService) Delete(ctx context.Context, basketID string, opts ...RequestOption) (Meta, error) {
	if err := needID("basketId", basketID); err != nil {
		return Meta{}, err
	}
	resp, err := s.client.send(ctx, &call{method: "DELETE", pattern: "/v1/signing-baskets/{basketId}",
		path: []string{"v1", "signing-baskets", basketID}}, opts, nil)
	if err != nil {
		return Meta{}, err
	}
	return metaOf(resp), nil
}

// FundsConfirmationRequest is the body of POST /v1/funds-confirmations.
type FundsConfirmationRequest struct {
	Account          AccountReference `json:"account"`
	InstructedAmount Amount           `json:"instructedAmount"`
	CardNumber       string           `json:"cardNumber,omitempty"`
	Payee            string           `json:"payee,omitempty"`
}

// FundsConfirmation is the bank's answer.
type FundsConfirmation struct {
	FundsAvailable Bool `json:"fundsAvailable"`
	Meta           `json:"-"`
}

func (f *FundsConfirmation) setMeta(r *rest.Response, _ []byte) { f.Meta = metaOf(r) }

// FundsConfirmationsService confirms funds under a funds confirmation consent.
type FundsConfirmationsService service

// Confirm asks whether the account holds the amount (funds confirmation consent).
func (s *FundsConfirmationsService) Confirm(ctx context.Context, consentID string, req FundsConfirmationRequest, opts ...RequestOption) (*FundsConfirmation, error) {
	if err := needID("consentId", consentID); err != nil {
		return nil, err
	}
	if err := req.validate(); err != nil {
		return nil, err
	}
	return do[FundsConfirmation](ctx, s.client, &call{method: "POST", pattern: "/v1/funds-confirmations",
		path: []string{"v1", "funds-confirmations"}, body: req, consent: consentID, consentHeader: true}, opts)
}

// ---------------------------------------------------------------------------
// TPP onboarding. K&H documents what these calls carry (contact name, phone and
// e-mail; application name, roles, redirect URL host; the application id) but not the
// JSON names: the client sends the names below (see the package documentation).

// Role is a PSD2 TPP role.
type Role string

// The PSD2 roles an application can have.
const (
	RoleAISP  Role = "AISP"
	RolePISP  Role = "PISP"
	RolePIISP Role = "PIISP"
)

// Contact is the TPP's contact data (one contact per TPP).
type Contact struct {
	Name  string `json:"name"`
	Phone string `json:"phone"`
	Email string `json:"email"`
}

// ContactResult is the answer to PUT /v1/tpp/contact (its shape is not documented).
type ContactResult struct {
	Raw json.RawMessage
	Meta
}

// AppRegistration is the body of POST /v1/tpp/app.
type AppRegistration struct {
	// Name is shown to the bank's customers.
	Name string `json:"name"`
	// Roles are a non-empty subset of the TPP's roles; the application may call only
	// those roles' APIs.
	Roles []Role `json:"roles"`
	// RedirectHost is the host every TPP-Redirect-URI of the application must use.
	RedirectHost string `json:"redirectHost"`
}

// Application is a registered application: its id and its application token. Token
// prints as [REDACTED]; pass the values to Client.UseApplication.
type Application struct {
	ID    string
	Token auth.Secret
	Meta
}

// AppToken is a new application token.
type AppToken struct {
	Token auth.Secret
	Meta
}

// TPPService registers the TPP's contact data and applications and renews application
// tokens. These calls carry no token: the bank identifies the TPP by its certificate.
type TPPService service

// SetContact records the TPP's contact data (PUT /v1/tpp/contact).
func (s *TPPService) SetContact(ctx context.Context, c Contact, opts ...RequestOption) (*ContactResult, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	var raw []byte
	resp, err := s.client.send(ctx, &call{method: "PUT", pattern: "/v1/tpp/contact", path: []string{"v1", "tpp", "contact"},
		body: c}, opts, &raw)
	if err != nil {
		return nil, err
	}
	return &ContactResult{Raw: raw, Meta: metaOf(resp)}, nil
}

// RegisterApp registers an application (POST /v1/tpp/app) and returns its id and
// application token. The client does not switch to it by itself: call UseApplication.
func (s *TPPService) RegisterApp(ctx context.Context, r AppRegistration, opts ...RequestOption) (*Application, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	var raw []byte
	resp, err := s.client.send(ctx, &call{method: "POST", pattern: "/v1/tpp/app", path: []string{"v1", "tpp", "app"},
		body: r}, opts, &raw)
	if err != nil {
		return nil, err
	}
	id, tok := appAnswer(raw, resp)
	if id == "" || checkToken(tok) != nil {
		return nil, invalidAnswer("POST /v1/tpp/app", resp, errors.New("no application id and token in the answer"))
	}
	return &Application{ID: id, Token: auth.NewSecret(tok), Meta: metaOf(resp)}, nil
}

// NewAppToken requests a new application token by application id (POST
// /v1/tpp/app/token). The client calls it by itself when it has the application id.
func (s *TPPService) NewAppToken(ctx context.Context, appID string, opts ...RequestOption) (*AppToken, error) {
	if err := needID("applicationId", appID); err != nil {
		return nil, err
	}
	var raw []byte
	resp, err := s.client.send(ctx, &call{method: "POST", pattern: "/v1/tpp/app/token", path: []string{"v1", "tpp", "app", "token"},
		body: map[string]string{"applicationId": appID}}, opts, &raw)
	if err != nil {
		return nil, err
	}
	_, tok := appAnswer(raw, resp)
	if checkToken(tok) != nil {
		return nil, invalidAnswer("POST /v1/tpp/app/token", resp, errors.New("no token in the answer"))
	}
	return &AppToken{Token: auth.NewSecret(tok), Meta: metaOf(resp)}, nil
}

// appAnswer reads an application id and token from an onboarding answer: JSON
// applicationId (or appId, id) and token (or accessToken, appToken), or the "token"
// response header.
func appAnswer(raw []byte, resp *rest.Response) (id, tok string) {
	var m map[string]json.RawMessage
	_ = json.Unmarshal(raw, &m)
	for _, k := range []string{"applicationId", "appId", "id"} {
		if id = looseString(m[k]); id != "" {
			break
		}
	}
	for _, k := range []string{"token", "accessToken", "appToken"} {
		if tok = looseString(m[k]); tok != "" {
			break
		}
	}
	if tok == "" && resp != nil {
		tok = strings.TrimSpace(resp.Header.Get("token"))
	}
	return id, tok
}

// ---------------------------------------------------------------------------
// SCA redirect

// SCARedirectURL returns the URL to send the PSU to for redirect SCA: the bank's
// scaRedirect link with the token as the URL parameter "token" (K&H: "upon redirection
// to the K&H redirection screen ... the token must be passed as an URL parameter").
// The result carries a credential: hand it to the PSU's browser only, never log it.
func SCARedirectURL(link, token string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(link))
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return "", invalid("scaRedirect", "must be an absolute https URL")
	}
	if err := checkToken(token); err != nil {
		return "", invalid("token", "%v", err)
	}
	q := u.Query()
	q.Set("token", token)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// SCARedirectURL builds the redirect URL with the application token, or with the token
// of the consent named by UseConsent.
func (c *Client) SCARedirectURL(ctx context.Context, link string, opts ...RequestOption) (string, error) {
	if err := c.life.Err(); err != nil {
		return "", err
	}
	ro := applyOpts(opts)
	if ro.err != nil {
		return "", ro.err
	}
	var tok auth.Token
	var err error
	switch {
	case ro.useConsent != "":
		if _, ok := c.tokens.kind(ro.useConsent); !ok {
			return "", invalid("UseConsent", "consent %q is unknown to the client", rest.Clip(ro.useConsent, 64))
		}
		tok, err = c.tokens.cache.Token(ctx, ro.useConsent)
	case c.app.configured():
		tok, err = c.app.current().Token(ctx)
	default:
		return "", errors.New("kh: SCARedirectURL: no application token configured")
	}
	if err != nil {
		return "", err
	}
	return SCARedirectURL(link, tok.Value)
}

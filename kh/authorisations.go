package kh

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/internal/rest"
)

// SCAData are the SCA fields of the answers that start or continue SCA.
type SCAData struct {
	ScaStatus       ScaStatus              `json:"scaStatus,omitempty"`
	ScaMethods      []AuthenticationObject `json:"scaMethods,omitempty"`
	ChosenScaMethod *AuthenticationObject  `json:"chosenScaMethod,omitempty"`
	ChallengeData   *ChallengeData         `json:"challengeData,omitempty"`
	PSUMessage      string                 `json:"psuMessage,omitempty"`
	Links           Links                  `json:"_links,omitempty"`
}

// AuthorisationID returns the id of the authorisation sub-resource the links point to
// (from scaStatus, updatePsuAuthentication, selectAuthenticationMethod or
// authoriseTransaction), or "". A signing basket's authorisation starts with the
// basket: this is how to find its id.
func (l Links) AuthorisationID() string {
	for _, name := range []string{LinkSCAStatus, LinkUpdatePSUAuthentication, LinkUpdatePSUIdentification,
		LinkSelectAuthenticationMethod, LinkAuthoriseTransaction} {
		h := l.Get(name)
		if h == "" {
			continue
		}
		u, err := url.Parse(h)
		if err != nil {
			continue
		}
		segs := strings.Split(strings.Trim(u.Path, "/"), "/")
		if n := len(segs); n >= 2 && (segs[n-2] == "authorisations" || segs[n-2] == "cancellation-authorisations") && segs[n-1] != "" {
			return segs[n-1]
		}
	}
	return ""
}

// StartLink returns the link that starts SCA explicitly (startAuthorisation... in any
// of its spellings), or "".
func (l Links) StartLink() string {
	for _, name := range []string{LinkStartAuthorisationWithPSUAuthentication, linkStartAuthenticationWithPSUAuthentication,
		LinkStartAuthorisationWithPSUIdentification, LinkStartAuthorisationWithAuthMethodSelect,
		LinkStartAuthorisationWithTransactionAuth, LinkStartAuthorisation} {
		if h := l.Get(name); h != "" {
			return h
		}
	}
	return ""
}

// PSUData carries the PSU's credentials for embedded SCA. The values print as
// [REDACTED] everywhere (fmt, slog, json.Marshal): the client reveals them only in the
// request body it sends to the bank.
type PSUData struct {
	Password                    auth.Secret
	EncryptedPassword           auth.Secret
	AdditionalPassword          auth.Secret
	AdditionalEncryptedPassword auth.Secret
}

// MarshalJSON writes the Berlin Group psuData object with every value given as
// [REDACTED]; it shows which credentials are set, never what they are.
func (d PSUData) MarshalJSON() ([]byte, error) { return json.Marshal(d.wire(redactSecret)) }

// psuDataWire is psuData as the bank reads it.
type psuDataWire struct {
	Password                    string `json:"password,omitempty"`
	EncryptedPassword           string `json:"encryptedPassword,omitempty"`
	AdditionalPassword          string `json:"additionalPassword,omitempty"`
	AdditionalEncryptedPassword string `json:"additionalEncryptedPassword,omitempty"`
}

func (d PSUData) wire(show func(auth.Secret) string) *psuDataWire {
	return &psuDataWire{Password: show(d.Password), EncryptedPassword: show(d.EncryptedPassword),
		AdditionalPassword: show(d.AdditionalPassword), AdditionalEncryptedPassword: show(d.AdditionalEncryptedPassword)}
}

// revealSecret shows a secret in a request body (see wireBody); redactSecret
// everywhere else.
func revealSecret(s auth.Secret) string { return s.Reveal() }

func redactSecret(s auth.Secret) string {
	if s.IsZero() {
		return ""
	}
	return rest.Redacted
}

func (d PSUData) empty() bool {
	return d.Password.IsZero() && d.EncryptedPassword.IsZero() && d.AdditionalPassword.IsZero() && d.AdditionalEncryptedPassword.IsZero()
}

// AuthorisationRequest is the body that starts or continues an authorisation: empty,
// or exactly one of PSUData, AuthenticationMethodID, ScaAuthenticationData (the OTP)
// and ConfirmationCode. Build it with PSUPassword, SelectMethod, OTP or Confirm.
type AuthorisationRequest struct {
	PSUData                *PSUData
	AuthenticationMethodID string
	ScaAuthenticationData  auth.Secret
	ConfirmationCode       auth.Secret
}

// PSUPassword authenticates the PSU with a password (embedded SCA).
func PSUPassword(password string) AuthorisationRequest {
	return AuthorisationRequest{PSUData: &PSUData{Password: auth.NewSecret(password)}}
}

// SelectMethod picks one of the SCA methods the bank offered (authenticationMethodId).
func SelectMethod(authenticationMethodID string) AuthorisationRequest {
	return AuthorisationRequest{AuthenticationMethodID: authenticationMethodID}
}

// OTP sends the one-time password the PSU received (scaAuthenticationData).
func OTP(code string) AuthorisationRequest {
	return AuthorisationRequest{ScaAuthenticationData: auth.NewSecret(code)}
}

// Confirm sends the confirmation code of a redirect with confirmation.
func Confirm(code string) AuthorisationRequest {
	return AuthorisationRequest{ConfirmationCode: auth.NewSecret(code)}
}

func (r AuthorisationRequest) count() int {
	n := 0
	if r.PSUData != nil {
		n++
	}
	if r.AuthenticationMethodID != "" {
		n++
	}
	if !r.ScaAuthenticationData.IsZero() {
		n++
	}
	if !r.ConfirmationCode.IsZero() {
		n++
	}
	return n
}

func (r AuthorisationRequest) validate(update bool) error {
	switch n := r.count(); {
	case n > 1:
		return invalid("body", "send one of psuData, authenticationMethodId, scaAuthenticationData and confirmationCode")
	case n == 0 && update:
		return invalid("body", "an update needs psuData, authenticationMethodId, scaAuthenticationData or confirmationCode")
	}
	if r.PSUData != nil && r.PSUData.empty() {
		return invalid("psuData", "needs a password")
	}
	if len(r.AuthenticationMethodID) > 35 {
		return invalid("authenticationMethodId", "at most 35 characters")
	}
	return nil
}

// MarshalJSON writes the Berlin Group body ({} when empty) with the PSU's password,
// the OTP and the confirmation code given as [REDACTED]. The client sends the values
// through its own encoding, not this one.
func (r AuthorisationRequest) MarshalJSON() ([]byte, error) {
	return json.Marshal(r.wire(redactSecret))
}

// wireBody returns what a call sends as body: the types whose JSON encoding redacts
// their secrets go through their wire form, which reveals them, so that they reach
// the bank (from Authorisations and from Do) and nothing else.
func wireBody(body any) any {
	switch b := body.(type) {
	case AuthorisationRequest:
		return b.wire(revealSecret)
	case *AuthorisationRequest:
		if b != nil {
			return b.wire(revealSecret)
		}
	case PSUData:
		return b.wire(revealSecret)
	case *PSUData:
		if b != nil {
			return b.wire(revealSecret)
		}
	}
	return body
}

// authorisationBody is an AuthorisationRequest as the bank reads it.
type authorisationBody struct {
	PSUData                *psuDataWire `json:"psuData,omitempty"`
	AuthenticationMethodID string       `json:"authenticationMethodId,omitempty"`
	ScaAuthenticationData  string       `json:"scaAuthenticationData,omitempty"`
	ConfirmationCode       string       `json:"confirmationCode,omitempty"`
}

// wire encodes r with show deciding what its secrets become: revealSecret for the
// request body, redactSecret for anything else.
func (r AuthorisationRequest) wire(show func(auth.Secret) string) authorisationBody {
	b := authorisationBody{AuthenticationMethodID: r.AuthenticationMethodID,
		ScaAuthenticationData: show(r.ScaAuthenticationData), ConfirmationCode: show(r.ConfirmationCode)}
	if r.PSUData != nil {
		b.PSUData = r.PSUData.wire(show)
	}
	return b
}

// Authorisation is the answer to starting an authorisation (201).
type Authorisation struct {
	AuthorisationID string `json:"authorisationId"`
	SCAData
	TPPMessages []TPPMessage `json:"-"`
	// Location and SCAApproach are response headers.
	Location    string      `json:"-"`
	SCAApproach SCAApproach `json:"-"`
	Meta        `json:"-"`
}

func (a *Authorisation) setMeta(r *rest.Response, body []byte) {
	a.Meta, a.TPPMessages = metaOf(r), extraMessages(body)
	a.Location, a.SCAApproach = r.Header.Get("Location"), SCAApproach(r.Header.Get("ASPSP-SCA-Approach"))
}

// AuthorisationUpdate is the answer to an update of an authorisation (200).
type AuthorisationUpdate struct {
	SCAData
	TPPMessages []TPPMessage `json:"-"`
	SCAApproach SCAApproach  `json:"-"`
	Meta        `json:"-"`
}

func (a *AuthorisationUpdate) setMeta(r *rest.Response, body []byte) {
	a.Meta, a.TPPMessages = metaOf(r), extraMessages(body)
	a.SCAApproach = SCAApproach(r.Header.Get("ASPSP-SCA-Approach"))
}

// AuthorisationList lists a resource's authorisation (or cancellation) sub-resources.
type AuthorisationList struct {
	AuthorisationIDs []string
	Meta
}

// UnmarshalJSON reads authorisationIds and the cancellationIds of cancellation lists.
func (l *AuthorisationList) UnmarshalJSON(b []byte) error {
	var raw struct {
		A []string `json:"authorisationIds"`
		C []string `json:"cancellationIds"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	l.AuthorisationIDs = append(raw.A, raw.C...)
	return nil
}

func (l *AuthorisationList) setMeta(r *rest.Response, _ []byte) { l.Meta = metaOf(r) }

// ScaStatusResult is an authorisation's SCA status.
type ScaStatusResult struct {
	ScaStatus              ScaStatus    `json:"scaStatus"`
	PSUMessage             string       `json:"psuMessage,omitempty"`
	TrustedBeneficiaryFlag *Bool        `json:"trustedBeneficiaryFlag,omitempty"`
	Links                  Links        `json:"_links,omitempty"`
	TPPMessages            []TPPMessage `json:"-"`
	Meta                   `json:"-"`
}

func (s *ScaStatusResult) setMeta(r *rest.Response, body []byte) {
	s.Meta, s.TPPMessages = metaOf(r), extraMessages(body)
}

// Authorisations are the SCA sub-resources of one kind of resource: the
// authorisations of single, bulk or periodic payments, their cancellation
// authorisations, or the authorisations of consents. One implementation serves all:
// they differ only by path.
type Authorisations struct {
	client  *Client
	prefix  string // pattern of the resource collection, e.g. "/v1/consents"
	param   string // the resource id's placeholder, e.g. "{consentId}"
	sub     string // "authorisations" or "cancellation-authorisations"
	idParam string // "{authorisationId}" or "{cancellationId}"
}

func (a *Authorisations) pattern(withID bool) string {
	p := a.prefix + "/" + a.param + "/" + a.sub
	if withID {
		p += "/" + a.idParam
	}
	return p
}

func (a *Authorisations) path(parentID string, ids ...string) []string {
	segs := append(strings.Split(strings.Trim(a.prefix, "/"), "/"), parentID, a.sub)
	return append(segs, ids...)
}

func needID(field, v string) error {
	if strings.TrimSpace(v) == "" {
		return invalid(field, "required")
	}
	return nil
}

// Start creates an authorisation sub-resource (POST .../authorisations). req may be
// empty (then continue with Update) or carry the PSU's password. With embedded SCA the
// answer offers SCA methods or a challenge; with redirect SCA its links hold
// scaRedirect (see SCARedirectURL).
func (a *Authorisations) Start(ctx context.Context, parentID string, req AuthorisationRequest, opts ...RequestOption) (*Authorisation, error) {
	if err := needID(strings.Trim(a.param, "{}"), parentID); err != nil {
		return nil, err
	}
	if err := req.validate(false); err != nil {
		return nil, err
	}
	return do[Authorisation](ctx, a.client, &call{method: "POST", pattern: a.pattern(false),
		path: a.path(parentID), body: req}, opts)
}

// List returns the ids of the resource's authorisation sub-resources.
func (a *Authorisations) List(ctx context.Context, parentID string, opts ...RequestOption) (*AuthorisationList, error) {
	if err := needID(strings.Trim(a.param, "{}"), parentID); err != nil {
		return nil, err
	}
	return do[AuthorisationList](ctx, a.client, &call{method: "GET", pattern: a.pattern(false),
		path: a.path(parentID)}, opts)
}

// Update continues an authorisation (PUT): the PSU's password, the chosen SCA method,
// or the OTP. For payments and signing baskets K&H accepts only a PSU identification
// token here: name that consent with UseConsent.
func (a *Authorisations) Update(ctx context.Context, parentID, authorisationID string, req AuthorisationRequest, opts ...RequestOption) (*AuthorisationUpdate, error) {
	if err := needID(strings.Trim(a.param, "{}"), parentID); err != nil {
		return nil, err
	}
	if err := needID(strings.Trim(a.idParam, "{}"), authorisationID); err != nil {
		return nil, err
	}
	if err := req.validate(true); err != nil {
		return nil, err
	}
	return do[AuthorisationUpdate](ctx, a.client, &call{method: "PUT", pattern: a.pattern(true),
		path: a.path(parentID, authorisationID), body: req}, opts)
}

// Status returns an authorisation's SCA status.
func (a *Authorisations) Status(ctx context.Context, parentID, authorisationID string, opts ...RequestOption) (*ScaStatusResult, error) {
	if err := needID(strings.Trim(a.param, "{}"), parentID); err != nil {
		return nil, err
	}
	if err := needID(strings.Trim(a.idParam, "{}"), authorisationID); err != nil {
		return nil, err
	}
	return do[ScaStatusResult](ctx, a.client, &call{method: "GET", pattern: a.pattern(true),
		path: a.path(parentID, authorisationID)}, opts)
}

// BasketAuthorisations are a signing basket's authorisation sub-resources. K&H lists
// no endpoint to start one: the basket's single authorisation starts with the basket
// (find its id with SigningBasketCreated.Links.AuthorisationID or List).
type BasketAuthorisations struct{ a *Authorisations }

// List returns the ids of the basket's authorisations.
func (b *BasketAuthorisations) List(ctx context.Context, basketID string, opts ...RequestOption) (*AuthorisationList, error) {
	return b.a.List(ctx, basketID, opts...)
}

// Update continues the basket's authorisation. K&H accepts only a PSU identification
// token here: name that consent with UseConsent.
func (b *BasketAuthorisations) Update(ctx context.Context, basketID, authorisationID string, req AuthorisationRequest, opts ...RequestOption) (*AuthorisationUpdate, error) {
	return b.a.Update(ctx, basketID, authorisationID, req, opts...)
}

// Status returns the SCA status of the basket's authorisation.
func (b *BasketAuthorisations) Status(ctx context.Context, basketID, authorisationID string, opts ...RequestOption) (*ScaStatusResult, error) {
	return b.a.Status(ctx, basketID, authorisationID, opts...)
}

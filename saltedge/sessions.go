package saltedge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/banksdk/banksdk/internal/rest"
)

// SessionsService sends the callbacks of the token flow (tokens/create, confirm,
// reconnect; accounts refresh and confirm).
type SessionsService service

// SessionStatus is the status of a sessions/update callback.
type SessionStatus string

// Session update statuses.
const (
	// SessionRedirect sends the PSU to Extra["redirect_url"] (OAuth flow).
	SessionRedirect SessionStatus = "redirect"
	// SessionWaitingConfirmationCode asks for an interactive step (embedded flow);
	// Salt Edge answers with tokens/confirm.
	SessionWaitingConfirmationCode SessionStatus = "waiting_confirmation_code"
)

// InteractiveStep asks the PSU for one more input in an embedded flow.
type InteractiveStep struct {
	Instruction      string `json:"instruction,omitempty"`
	InteractiveField string `json:"interactive_field,omitempty"`
}

// SessionUpdate is the payload of sessions/update: a step of the authorisation (a
// redirect to the bank's page, a request for a confirmation code, other news). It may
// be sent several times for one session.
type SessionUpdate struct {
	SessionSecret string        `json:"session_secret"`
	Status        SessionStatus `json:"status,omitempty"`
	// Extra carries "redirect_url" for SessionRedirect.
	Extra                      map[string]any   `json:"extra,omitzero"`
	SessionExpiresAt           time.Time        `json:"session_expires_at,omitzero"`
	UserID                     string           `json:"user_id,omitempty"`
	ProviderCode               string           `json:"provider_code,omitempty"`
	ConfirmationCode           string           `json:"confirmation_code,omitempty"`
	InteractiveStepInstruction *InteractiveStep `json:"interactive_step_instruction,omitempty"`
}

// RedirectUpdate is a sessions/update that sends the PSU to redirectURL (the seed's
// sample).
func RedirectUpdate(sessionSecret, redirectURL string) SessionUpdate {
	return SessionUpdate{SessionSecret: sessionSecret, Status: SessionRedirect,
		Extra: map[string]any{"redirect_url": redirectURL}}
}

func (u *SessionUpdate) validate() error {
	if u.SessionSecret == "" {
		return errors.New("session_secret: required")
	}
	if u.Status == SessionRedirect {
		if s, _ := u.Extra["redirect_url"].(string); s == "" {
			return errors.New(`extra.redirect_url: required when status is "redirect"`)
		}
	}
	return nil
}

// SessionSuccess is the payload of sessions/success: access granted. Token is the
// access token the connector issued (Salt Edge sends it back in Access-Token). The
// seed's sample carries only session_secret, beneficiary_id and identifiers; the
// other fields are those of Salt Edge's connector SDK. A SessionSuccess shows its
// tokens as [REDACTED] under fmt, slog and json.Marshal (the client encodes the
// callback itself, with the tokens: Sessions.Success, and Do given a SessionSuccess).
type SessionSuccess struct {
	SessionSecret  string          `json:"session_secret"`
	Token          string          `json:"token,omitempty"`
	TokenExpiresAt time.Time       `json:"token_expires_at,omitzero"`
	RefreshToken   string          `json:"refresh_token,omitempty"`
	UserID         string          `json:"user_id,omitempty"`
	ProviderCode   string          `json:"provider_code,omitempty"`
	Scopes         []string        `json:"scopes,omitempty"`
	Consent        []ConsentAccess `json:"consent,omitempty"`
	BeneficiaryID  string          `json:"beneficiary_id,omitempty"`
	Identifiers    map[string]any  `json:"identifiers,omitzero"`
	Extra          map[string]any  `json:"extra,omitzero"`
}

func (s *SessionSuccess) validate() error {
	if s.SessionSecret == "" {
		return errors.New("session_secret: required")
	}
	return nil
}

// String redacts the tokens.
func (s SessionSuccess) String() string {
	return fmt.Sprintf("SessionSuccess{session_secret: %s, token: %s, user_id: %s, token_expires_at: %v}",
		s.SessionSecret, redacted(s.Token), s.UserID, s.TokenExpiresAt)
}

// GoString redacts the tokens.
func (s SessionSuccess) GoString() string { return s.String() }

// Format redacts the tokens whatever the verb (%d or %x would otherwise print the
// fields).
func (s SessionSuccess) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.String())) }

// LogValue redacts the tokens.
func (s SessionSuccess) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON encodes the payload with token and refresh_token as "[REDACTED]", so a
// SessionSuccess logged or stored as JSON never carries them.
func (s SessionSuccess) MarshalJSON() ([]byte, error) {
	w := sessionSuccessWire(s)
	if w.Token != "" {
		w.Token = rest.Redacted
	}
	if w.RefreshToken != "" {
		w.RefreshToken = rest.Redacted
	}
	return json.Marshal(w)
}

// sessionSuccessWire is SessionSuccess without its methods: the callback's data
// claim, tokens included.
type sessionSuccessWire SessionSuccess

func redacted(s string) string {
	if s == "" {
		return `""`
	}
	return rest.Redacted
}

// SessionFail is the payload of sessions/fail: the authorisation failed (broken
// request, invalid credentials, PSU denied, ...). ErrorClass is required
// (ClassInvalidCredentials, ClassAccessDenied, ClassInternalProviderError, ...).
type SessionFail struct {
	SessionSecret string         `json:"session_secret"`
	ErrorClass    string         `json:"error_class"`
	ErrorMessage  string         `json:"error_message"`
	UserID        string         `json:"user_id,omitempty"`
	ProviderCode  string         `json:"provider_code,omitempty"`
	Extra         map[string]any `json:"extra,omitzero"`
}

func (f *SessionFail) validate() error {
	if f.SessionSecret == "" {
		return errors.New("session_secret: required")
	}
	if f.ErrorClass == "" {
		return errors.New("error_class: required")
	}
	return nil
}

// Update sends sessions/update. It is sent once: if the answer is lost, the error
// matches ErrOutcomeUnknown.
func (s *SessionsService) Update(ctx context.Context, u SessionUpdate) (*CallbackResult, error) {
	if err := u.validate(); err != nil {
		return nil, fmt.Errorf("saltedge: sessions/update: %w", err)
	}
	return s.client.post(ctx, []string{"sessions", "update"}, u)
}

// Success sends sessions/success.
func (s *SessionsService) Success(ctx context.Context, p SessionSuccess) (*CallbackResult, error) {
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("saltedge: sessions/success: %w", err)
	}
	return s.client.post(ctx, []string{"sessions", "success"}, sessionSuccessWire(p))
}

// Fail sends sessions/fail.
func (s *SessionsService) Fail(ctx context.Context, p SessionFail) (*CallbackResult, error) {
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("saltedge: sessions/fail: %w", err)
	}
	return s.client.post(ctx, []string{"sessions", "fail"}, p)
}

func (c *Client) post(ctx context.Context, segs []string, payload any) (*CallbackResult, error) {
	env, resp, err := send[json.RawMessage](ctx, c, http.MethodPost, segs, payload, nil, nil)
	if err != nil {
		return nil, err
	}
	return result(env, resp), nil
}

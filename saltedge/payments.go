package saltedge

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// PaymentsService sends the payment callbacks (after payments/create and confirm).
type PaymentsService service

// PaymentUpdate is the payload of payments/update: a redirect or an interactive step
// of a payment (fields from Salt Edge's connector SDK).
type PaymentUpdate struct {
	SessionSecret   string        `json:"session_secret"`
	PaymentID       string        `json:"payment_id,omitempty"`
	PrioraPaymentID int64         `json:"priora_payment_id"`
	Status          PaymentStatus `json:"status,omitempty"`
	ExpiresAt       time.Time     `json:"expires_at,omitzero"`
	// Extra carries "redirect_url" for PaymentRedirect.
	Extra                      map[string]any   `json:"extra,omitzero"`
	ConfirmationCode           string           `json:"confirmation_code,omitempty"`
	ProviderCode               string           `json:"provider_code,omitempty"`
	InteractiveStepInstruction *InteractiveStep `json:"interactive_step_instruction,omitempty"`
}

// PaymentSuccess is the payload of payments/success.
type PaymentSuccess struct {
	SessionSecret   string `json:"session_secret"`
	PaymentID       string `json:"payment_id,omitempty"`
	PrioraPaymentID int64  `json:"priora_payment_id"`
}

// PaymentFail is the payload of payments/fail (ErrorClass e.g.
// ClassPaymentNotCreated, ClassInvalidPaymentAccount, ClassSessionClosed).
type PaymentFail struct {
	SessionSecret   string `json:"session_secret"`
	PaymentID       string `json:"payment_id,omitempty"`
	PrioraPaymentID int64  `json:"priora_payment_id"`
	ErrorClass      string `json:"error_class"`
	ErrorMessage    string `json:"error_message"`
}

func checkPayment(secret string, prioraID int64) error {
	if secret == "" {
		return errors.New("session_secret: required")
	}
	if prioraID <= 0 {
		return errors.New("priora_payment_id: required (positive)")
	}
	return nil
}

// Update sends payments/update.
func (s *PaymentsService) Update(ctx context.Context, p PaymentUpdate) (*CallbackResult, error) {
	err := checkPayment(p.SessionSecret, p.PrioraPaymentID)
	if err == nil && p.Status == PaymentRedirect {
		if u, _ := p.Extra["redirect_url"].(string); u == "" {
			err = errors.New(`extra.redirect_url: required when status is "redirect"`)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("saltedge: payments/update: %w", err)
	}
	return s.client.post(ctx, []string{"payments", "update"}, p)
}

// Success sends payments/success.
func (s *PaymentsService) Success(ctx context.Context, p PaymentSuccess) (*CallbackResult, error) {
	if err := checkPayment(p.SessionSecret, p.PrioraPaymentID); err != nil {
		return nil, fmt.Errorf("saltedge: payments/success: %w", err)
	}
	return s.client.post(ctx, []string{"payments", "success"}, p)
}

// Fail sends payments/fail.
func (s *PaymentsService) Fail(ctx context.Context, p PaymentFail) (*CallbackResult, error) {
	err := checkPayment(p.SessionSecret, p.PrioraPaymentID)
	if err == nil && p.ErrorClass == "" {
		err = errors.New("error_class: required")
	}
	if err != nil {
		return nil, fmt.Errorf("saltedge: payments/fail: %w", err)
	}
	return s.client.post(ctx, []string{"payments", "fail"}, p)
}

// FundsAvailabilityService sends the answers to payments/check_funds.
type FundsAvailabilityService service

// FundsSuccess is the payload of funds_availability/success.
type FundsSuccess struct {
	SessionSecret  string `json:"session_secret"`
	FundsAvailable bool   `json:"funds_available"`
}

// FundsFail is the payload of funds_availability/fail.
type FundsFail struct {
	SessionSecret string `json:"session_secret"`
	ErrorClass    string `json:"error_class"`
	ErrorMessage  string `json:"error_message"`
}

// Success sends funds_availability/success.
func (s *FundsAvailabilityService) Success(ctx context.Context, p FundsSuccess) (*CallbackResult, error) {
	if p.SessionSecret == "" {
		return nil, errors.New("saltedge: funds_availability/success: session_secret: required")
	}
	return s.client.post(ctx, []string{"funds_availability", "success"}, p)
}

// Fail sends funds_availability/fail.
func (s *FundsAvailabilityService) Fail(ctx context.Context, p FundsFail) (*CallbackResult, error) {
	switch {
	case p.SessionSecret == "":
		return nil, errors.New("saltedge: funds_availability/fail: session_secret: required")
	case p.ErrorClass == "":
		return nil, errors.New("saltedge: funds_availability/fail: error_class: required")
	}
	return s.client.post(ctx, []string{"funds_availability", "fail"}, p)
}

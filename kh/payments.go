package kh

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/banksdk/banksdk/internal/rest"
)

// Transfer is the creditor side of a credit transfer, shared by single, periodic and
// bulk payments (a bulk payment's entries are Transfers).
type Transfer struct {
	EndToEndIdentification    string           `json:"endToEndIdentification,omitempty"`
	InstructionIdentification string           `json:"instructionIdentification,omitempty"`
	InstructedAmount          Amount           `json:"instructedAmount"`
	CreditorAccount           AccountReference `json:"creditorAccount"`
	// CreditorAgent is the creditor bank's BIC.
	CreditorAgent     string   `json:"creditorAgent,omitempty"`
	CreditorAgentName string   `json:"creditorAgentName,omitempty"`
	CreditorName      string   `json:"creditorName"`
	CreditorAddress   *Address `json:"creditorAddress,omitempty"`
	UltimateCreditor  string   `json:"ultimateCreditor,omitempty"`
	// PurposeCode is an ISO 20022 ExternalPurpose1Code.
	PurposeCode                       string                `json:"purposeCode,omitempty"`
	ChargeBearer                      ChargeBearer          `json:"chargeBearer,omitempty"`
	RemittanceInformationUnstructured string                `json:"remittanceInformationUnstructured,omitempty"`
	RemittanceInformationStructured   *RemittanceStructured `json:"remittanceInformationStructured,omitempty"`
}

// MarshalJSON writes a structured remittance with only a reference as the string of
// Berlin Group 1.3.8+, and as the object of 1.3.6 otherwise.
func (r RemittanceStructured) MarshalJSON() ([]byte, error) {
	if r.ReferenceType == "" && r.ReferenceIssuer == "" {
		return json.Marshal(r.Reference)
	}
	type plain RemittanceStructured
	return json.Marshal(plain(r))
}

// SinglePayment is the body of a single payment (payments/payment-order).
type SinglePayment struct {
	DebtorAccount  AccountReference `json:"debtorAccount"`
	DebtorName     string           `json:"debtorName,omitempty"`
	UltimateDebtor string           `json:"ultimateDebtor,omitempty"`
	Transfer
	// RequestedExecutionDate is a date YYYY-MM-DD.
	RequestedExecutionDate string `json:"requestedExecutionDate,omitempty"`
}

// PeriodicPayment is the body of a standing order (periodic-payments/standing-order).
type PeriodicPayment struct {
	DebtorAccount  AccountReference `json:"debtorAccount"`
	DebtorName     string           `json:"debtorName,omitempty"`
	UltimateDebtor string           `json:"ultimateDebtor,omitempty"`
	Transfer
	// StartDate and EndDate are dates YYYY-MM-DD; StartDate is required.
	StartDate     string        `json:"startDate"`
	EndDate       string        `json:"endDate,omitempty"`
	ExecutionRule ExecutionRule `json:"executionRule,omitempty"`
	Frequency     Frequency     `json:"frequency"`
	// DayOfExecution is the day of the month, "1" to "31".
	DayOfExecution string `json:"dayOfExecution,omitempty"`
}

// BulkPayment is the body of a bulk payment (bulk-payments/payment-order).
type BulkPayment struct {
	BatchBookingPreferred *bool            `json:"batchBookingPreferred,omitempty"`
	DebtorAccount         AccountReference `json:"debtorAccount"`
	DebtorName            string           `json:"debtorName,omitempty"`
	// RequestedExecutionDate is a date YYYY-MM-DD; RequestedExecutionTime a date-time.
	RequestedExecutionDate string     `json:"requestedExecutionDate,omitempty"`
	RequestedExecutionTime string     `json:"requestedExecutionTime,omitempty"`
	Payments               []Transfer `json:"payments"`
}

// PaymentBody is the body of one of the three payment services.
type PaymentBody interface {
	SinglePayment | BulkPayment | PeriodicPayment
	validate() error
}

// PaymentInitiation is the answer to a payment initiation (201).
type PaymentInitiation struct {
	TransactionStatus                  TransactionStatus `json:"transactionStatus"`
	PaymentID                          string            `json:"paymentId"`
	TransactionFees                    *Amount           `json:"transactionFees,omitempty"`
	TransactionFeeIndicator            *Bool             `json:"transactionFeeIndicator,omitempty"`
	CurrencyConversionFee              *Amount           `json:"currencyConversionFee,omitempty"`
	EstimatedTotalAmount               *Amount           `json:"estimatedTotalAmount,omitempty"`
	EstimatedInterbankSettlementAmount *Amount           `json:"estimatedInterbankSettlementAmount,omitempty"`
	SCAData
	TPPMessages []TPPMessage `json:"-"`
	Location    string       `json:"-"`
	SCAApproach SCAApproach  `json:"-"`
	Meta        `json:"-"`
}

func (p *PaymentInitiation) setMeta(r *rest.Response, body []byte) {
	p.Meta, p.TPPMessages = metaOf(r), extraMessages(body)
	p.Location, p.SCAApproach = r.Header.Get("Location"), SCAApproach(r.Header.Get("ASPSP-SCA-Approach"))
}

// PaymentDetails is a payment as GET .../{paymentId} returns it: the initiation body
// and its status. Raw keeps the answer.
type PaymentDetails[B PaymentBody] struct {
	Payment           B
	TransactionStatus TransactionStatus
	// PaymentInformationID and AcceptorTransactionDateTime come with bulk payments.
	PaymentInformationID        string
	AcceptorTransactionDateTime string
	TPPMessages                 []TPPMessage
	Raw                         json.RawMessage
	Meta
}

// UnmarshalJSON reads the body fields into Payment and the status fields beside it.
func (d *PaymentDetails[B]) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, &d.Payment); err != nil {
		return err
	}
	var st struct {
		TransactionStatus           TransactionStatus `json:"transactionStatus"`
		PaymentInformationID        json.RawMessage   `json:"paymentInformationId"`
		AcceptorTransactionDateTime json.RawMessage   `json:"acceptorTransactionDateTime"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return err
	}
	d.TransactionStatus = st.TransactionStatus
	d.PaymentInformationID = looseString(st.PaymentInformationID)
	d.AcceptorTransactionDateTime = looseString(st.AcceptorTransactionDateTime)
	d.Raw = append(json.RawMessage(nil), b...)
	return nil
}

func (d *PaymentDetails[B]) setMeta(r *rest.Response, body []byte) {
	d.Meta, d.TPPMessages = metaOf(r), extraMessages(body)
}

// PaymentStatus is a payment's transaction status.
type PaymentStatus struct {
	TransactionStatus TransactionStatus `json:"transactionStatus"`
	FundsAvailable    *Bool             `json:"fundsAvailable,omitempty"`
	PSUMessage        string            `json:"psuMessage,omitempty"`
	Links             Links             `json:"_links,omitempty"`
	// TPPMessages holds tppMessage (e.g. FUNDS_NOT_AVAILABLE).
	TPPMessages []TPPMessage `json:"-"`
	Meta        `json:"-"`
}

func (p *PaymentStatus) setMeta(r *rest.Response, body []byte) {
	p.Meta, p.TPPMessages = metaOf(r), extraMessages(body)
}

// PaymentCancellation is the answer to DELETE .../{paymentId}: 204 when the payment was
// cancelled at once, or 202 when the cancellation needs SCA (AuthorisationRequired;
// start it with the service's CancellationAuthorisations).
type PaymentCancellation struct {
	AuthorisationRequired bool              `json:"-"`
	TransactionStatus     TransactionStatus `json:"transactionStatus,omitempty"`
	SCAData
	TPPMessages []TPPMessage `json:"-"`
	Meta        `json:"-"`
}

func (p *PaymentCancellation) setMeta(r *rest.Response, body []byte) {
	p.Meta, p.TPPMessages = metaOf(r), extraMessages(body)
	p.AuthorisationRequired = r.StatusCode == 202
}

// PaymentService is one of the three K&H payment services (single, bulk, periodic).
// They differ only by path and body; one implementation serves all three.
type PaymentService[B PaymentBody] struct {
	client *Client
	prefix string // e.g. "/v1/payments/payment-order"
	// Authorisations are the payments' SCA sub-resources.
	Authorisations *Authorisations
	// CancellationAuthorisations are the SCA sub-resources of payment cancellations.
	CancellationAuthorisations *Authorisations
}

func (s *PaymentService[B]) init() {
	s.Authorisations = &Authorisations{client: s.client, prefix: s.prefix, param: "{paymentId}",
		sub: "authorisations", idParam: "{authorisationId}"}
	s.CancellationAuthorisations = &Authorisations{client: s.client, prefix: s.prefix, param: "{paymentId}",
		sub: "cancellation-authorisations", idParam: "{cancellationId}"}
}

func (s *PaymentService[B]) path(ids ...string) []string {
	return append(strings.Split(strings.Trim(s.prefix, "/"), "/"), ids...)
}

// Initiate initiates a payment (PSU-IP-Address required). The body is validated before
// sending. A payment initiation is never sent twice: when its answer is lost the error
// matches ErrOutcomeUnknown and carries the X-Request-ID (RequestIDOf) to look it up.
func (s *PaymentService[B]) Initiate(ctx context.Context, payment B, opts ...RequestOption) (*PaymentInitiation, error) {
	if err := payment.validate(); err != nil {
		return nil, err
	}
	return do[PaymentInitiation](ctx, s.client, &call{method: "POST", pattern: s.prefix, path: s.path(),
		body: payment, requireHeaders: []string{"PSU-IP-Address"}}, opts)
}

// Get returns a payment. K&H accepts only a PSU identification token here: name that
// consent with UseConsent.
func (s *PaymentService[B]) Get(ctx context.Context, paymentID string, opts ...RequestOption) (*PaymentDetails[B], error) {
	if err := needID("paymentId", paymentID); err != nil {
		return nil, err
	}
	return do[PaymentDetails[B]](ctx, s.client, &call{method: "GET", pattern: s.prefix + "/{paymentId}",
		path: s.path(paymentID)}, opts)
}

// Status returns a payment's transaction status.
func (s *PaymentService[B]) Status(ctx context.Context, paymentID string, opts ...RequestOption) (*PaymentStatus, error) {
	if err := needID("paymentId", paymentID); err != nil {
		return nil, err
	}
	return do[PaymentStatus](ctx, s.client, &call{method: "GET", pattern: s.prefix + "/{paymentId}/status",
		path: s.path(paymentID, "status")}, opts)
}

// Cancel asks to cancel a payment. K&H accepts only a PSU identification token here:
// name that consent with UseConsent.
func (s *PaymentService[B]) Cancel(ctx context.Context, paymentID string, opts ...RequestOption) (*PaymentCancellation, error) {
	if err := needID("paymentId", paymentID); err != nil {
		return nil, err
	}
	return do[PaymentCancellation](ctx, s.client, &call{method: "DELETE", pattern: s.prefix + "/{paymentId}",
		path: s.path(paymentID)}, opts)
}

package saltedge

import "context"

// Connector is the bank's side of the connector API: the handler (NewHandler) verifies
// each request of Salt Edge, decodes its payload and calls the matching method.
//
// Methods that start an asynchronous flow (CreateToken, ConfirmToken, ReconnectToken,
// RefreshAccounts, ConfirmAccounts, CreatePayment, ConfirmPayment, CheckFunds) should
// return quickly; the handler answers 200 {} and the bank delivers the outcome later
// with a Client callback (Sessions, Payments, FundsAvailability). Work started in the
// background must not use ctx after the method returns: derive from
// context.WithoutCancel(ctx).
//
// Return a *ConnectorError to answer with a documented error class and status; any
// other error answers 500 InternalServerError without revealing it.
//
// Every implementation embeds UnimplementedConnector, which answers
// ClassActionNotAllowed for the methods it does not override: new endpoints added to
// this interface then do not break an existing bank.
type Connector interface {
	// CreateToken serves POST tokens/create.
	CreateToken(ctx context.Context, req *CreateTokenRequest) error
	// ConfirmToken serves POST tokens/confirm.
	ConfirmToken(ctx context.Context, req *ConfirmTokenRequest) error
	// ReconnectToken serves POST tokens/reconnect (deprecated by Salt Edge).
	ReconnectToken(ctx context.Context, req *ReconnectTokenRequest) error
	// RevokeToken serves POST tokens/revoke.
	RevokeToken(ctx context.Context, req *RevokeTokenRequest) error
	// CancelToken serves POST tokens/cancel.
	CancelToken(ctx context.Context, req *CancelTokenRequest) error
	// Accounts serves GET accounts.
	Accounts(ctx context.Context, req *AccountsRequest) ([]Account, error)
	// RefreshAccounts serves PUT accounts.
	RefreshAccounts(ctx context.Context, req *RefreshAccountsRequest) error
	// ConfirmAccounts serves POST accounts/confirm.
	ConfirmAccounts(ctx context.Context, req *ConfirmAccountsRequest) error
	// Transactions serves GET transactions.
	Transactions(ctx context.Context, req *TransactionsRequest) ([]Transaction, error)
	// KYC serves GET kyc.
	KYC(ctx context.Context, req *KYCRequest) (*KYC, error)
	// ReportError serves POST errors.
	ReportError(ctx context.Context, req *ErrorReport) error
	// CreatePayment serves POST payments/create.
	CreatePayment(ctx context.Context, req *CreatePaymentRequest) error
	// ConfirmPayment serves POST payments/confirm.
	ConfirmPayment(ctx context.Context, req *ConfirmPaymentRequest) error
	// CancelPayment serves POST payments/cancel.
	CancelPayment(ctx context.Context, req *CancelPaymentRequest) error
	// ShowPayment serves GET payments/show.
	ShowPayment(ctx context.Context, req *ShowPaymentRequest) (*Payment, error)
	// CheckFunds serves POST payments/check_funds.
	CheckFunds(ctx context.Context, req *CheckFundsRequest) error

	mustEmbedUnimplementedConnector()
}

// UnimplementedConnector answers every endpoint with 406 ActionNotAllowed ("... is
// not supported by this connector"), except ReportError, which accepts the report
// (the handler logs it). Embed it by value in every Connector.
type UnimplementedConnector struct{}

func (UnimplementedConnector) mustEmbedUnimplementedConnector() {}

// CreateToken answers ActionNotAllowed.
func (UnimplementedConnector) CreateToken(context.Context, *CreateTokenRequest) error {
	return errNotImplemented("tokens/create")
}

// ConfirmToken answers ActionNotAllowed.
func (UnimplementedConnector) ConfirmToken(context.Context, *ConfirmTokenRequest) error {
	return errNotImplemented("tokens/confirm")
}

// ReconnectToken answers ActionNotAllowed.
func (UnimplementedConnector) ReconnectToken(context.Context, *ReconnectTokenRequest) error {
	return errNotImplemented("tokens/reconnect")
}

// RevokeToken answers ActionNotAllowed.
func (UnimplementedConnector) RevokeToken(context.Context, *RevokeTokenRequest) error {
	return errNotImplemented("tokens/revoke")
}

// CancelToken answers ActionNotAllowed.
func (UnimplementedConnector) CancelToken(context.Context, *CancelTokenRequest) error {
	return errNotImplemented("tokens/cancel")
}

// Accounts answers ActionNotAllowed.
func (UnimplementedConnector) Accounts(context.Context, *AccountsRequest) ([]Account, error) {
	return nil, errNotImplemented("accounts")
}

// RefreshAccounts answers ActionNotAllowed.
func (UnimplementedConnector) RefreshAccounts(context.Context, *RefreshAccountsRequest) error {
	return errNotImplemented("accounts refresh")
}

// ConfirmAccounts answers ActionNotAllowed.
func (UnimplementedConnector) ConfirmAccounts(context.Context, *ConfirmAccountsRequest) error {
	return errNotImplemented("accounts/confirm")
}

// Transactions answers ActionNotAllowed.
func (UnimplementedConnector) Transactions(context.Context, *TransactionsRequest) ([]Transaction, error) {
	return nil, errNotImplemented("transactions")
}

// KYC answers ActionNotAllowed.
func (UnimplementedConnector) KYC(context.Context, *KYCRequest) (*KYC, error) {
	return nil, errNotImplemented("kyc")
}

// ReportError accepts the report.
func (UnimplementedConnector) ReportError(context.Context, *ErrorReport) error { return nil }

// CreatePayment answers ActionNotAllowed.
func (UnimplementedConnector) CreatePayment(context.Context, *CreatePaymentRequest) error {
	return errNotImplemented("payments/create")
}

// ConfirmPayment answers ActionNotAllowed.
func (UnimplementedConnector) ConfirmPayment(context.Context, *ConfirmPaymentRequest) error {
	return errNotImplemented("payments/confirm")
}

// CancelPayment answers ActionNotAllowed.
func (UnimplementedConnector) CancelPayment(context.Context, *CancelPaymentRequest) error {
	return errNotImplemented("payments/cancel")
}

// ShowPayment answers ActionNotAllowed.
func (UnimplementedConnector) ShowPayment(context.Context, *ShowPaymentRequest) (*Payment, error) {
	return nil, errNotImplemented("payments/show")
}

// CheckFunds answers ActionNotAllowed.
func (UnimplementedConnector) CheckFunds(context.Context, *CheckFundsRequest) error {
	return errNotImplemented("payments/check_funds")
}

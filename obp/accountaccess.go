package obp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/banksdk/banksdk/internal/rest"
)

// AccountAccessService holds OBP v4.0.0's account-access calls. Each names the target
// view in the body, never in the URL. OBP answers 201 to all of them.
//
// Permissions: the caller must hold a view on the account whose
// can_grant_access_to_views lists the target system view (or, for a custom view, whose
// can_grant_access_to_custom_views is true); revoking uses the revoke counterparts.
// The owner view usually has them all.
type AccountAccessService service

// ViewSelector names a view: a system view (IsSystem true, e.g. "owner",
// "ReadAccountsBasic") or a custom view of the account (IsSystem false, id starting
// with "_").
type ViewSelector struct {
	ViewID   string `json:"view_id"`
	IsSystem bool   `json:"is_system"`
}

// AccountAccessRequest is OBP's PostAccountAccessJsonV400: a user and a view.
type AccountAccessRequest struct {
	UserID string       `json:"user_id"`
	View   ViewSelector `json:"view"`
}

// CreateUserAccountAccessRequest is OBP's PostCreateUserAccountAccessJsonV400.
type CreateUserAccountAccessRequest struct {
	// Username: for a DAuth user, the smart contract address.
	Username string `json:"username"`
	// Provider must start with "dauth."; see DAuthProvider.
	Provider string         `json:"provider"`
	Views    []ViewSelector `json:"views"`
}

func checkView(field string, v ViewSelector) error {
	if strings.TrimSpace(v.ViewID) == "" {
		return fmt.Errorf("obp: %s.ViewID: required", field)
	}
	return nil
}

func (r AccountAccessRequest) validate() error {
	if strings.TrimSpace(r.UserID) == "" {
		return errors.New("obp: AccountAccessRequest.UserID: required")
	}
	return checkView("AccountAccessRequest.View", r.View)
}

func (r CreateUserAccountAccessRequest) validate() error {
	if strings.TrimSpace(r.Username) == "" {
		return errors.New("obp: CreateUserAccountAccessRequest.Username: required")
	}
	if !strings.HasPrefix(r.Provider, dauthProviderPrefix) {
		return fmt.Errorf("obp: CreateUserAccountAccessRequest.Provider: must start with %q (use obp.DAuthProvider(network))", dauthProviderPrefix)
	}
	for i, v := range r.Views {
		if err := checkView(fmt.Sprintf("CreateUserAccountAccessRequest.Views[%d]", i), v); err != nil {
			return err
		}
	}
	return nil
}

func (s *AccountAccessService) accountPath(bankID, accountID string, tail ...string) (string, error) {
	if err := requireID("bankID", bankID); err != nil {
		return "", err
	}
	if err := requireID("accountID", accountID); err != nil {
		return "", err
	}
	return s.client.apiPath(s.client.accessVersion(), append([]string{"banks", bankID, "accounts", accountID}, tail...)...)
}

type revokedAnswer struct {
	Revoked bool `json:"revoked"`
}

// CreateUserWithAccountAccess gets or creates the DAuth user (Username, Provider) and
// grants it the views on the account (POST
// /banks/BANK_ID/accounts/ACCOUNT_ID/user-account-access, OBP's "Create (DAuth) User
// with Account Access"). The caller must be allowed to grant every view. It returns
// the views granted.
func (s *AccountAccessService) CreateUserWithAccountAccess(ctx context.Context, bankID, accountID string, req CreateUserAccountAccessRequest) ([]View, error) {
	if err := req.validate(); err != nil {
		return nil, err
	}
	if req.Views == nil {
		req.Views = []ViewSelector{}
	}
	p, err := s.accountPath(bankID, accountID, "user-account-access")
	if err != nil {
		return nil, err
	}
	var out []View
	if _, err := s.client.rest.Do(ctx, &rest.Request{Method: http.MethodPost, Path: p, Body: req}, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Grant gives the user req.UserID the view req.View on the account (POST
// /banks/BANK_ID/accounts/ACCOUNT_ID/account-access/grant) and returns that view.
func (s *AccountAccessService) Grant(ctx context.Context, bankID, accountID string, req AccountAccessRequest) (*View, error) {
	if err := req.validate(); err != nil {
		return nil, err
	}
	p, err := s.accountPath(bankID, accountID, "account-access", "grant")
	if err != nil {
		return nil, err
	}
	var out View
	if _, err := s.client.rest.Do(ctx, &rest.Request{Method: http.MethodPost, Path: p, Body: req}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Revoke takes the view req.View on the account away from the user req.UserID (POST
// /banks/BANK_ID/accounts/ACCOUNT_ID/account-access/revoke) and reports OBP's
// "revoked" answer.
func (s *AccountAccessService) Revoke(ctx context.Context, bankID, accountID string, req AccountAccessRequest) (bool, error) {
	if err := req.validate(); err != nil {
		return false, err
	}
	p, err := s.accountPath(bankID, accountID, "account-access", "revoke")
	if err != nil {
		return false, err
	}
	var out revokedAnswer
	if _, err := s.client.rest.Do(ctx, &rest.Request{Method: http.MethodPost, Path: p, Body: req}, &out); err != nil {
		return false, err
	}
	return out.Revoked, nil
}

// RevokeGrant replaces the CALLING user's own access to the account (PUT
// /banks/BANK_ID/accounts/ACCOUNT_ID/account-access): OBP revokes all of the caller's
// views on the account, then grants the caller the views listed by id. It does not act
// on another user; use Grant and Revoke for that. An empty list leaves the caller with
// no access to the account. The caller needs permission to revoke every view it holds
// there and to grant the listed ones. OBP always answers revoked: true.
func (s *AccountAccessService) RevokeGrant(ctx context.Context, bankID, accountID string, viewIDs []string) (bool, error) {
	for i, id := range viewIDs {
		if strings.TrimSpace(id) == "" {
			return false, fmt.Errorf("obp: viewIDs[%d]: required", i)
		}
	}
	if viewIDs == nil {
		viewIDs = []string{}
	}
	p, err := s.accountPath(bankID, accountID, "account-access")
	if err != nil {
		return false, err
	}
	var out revokedAnswer
	body := struct {
		Views []string `json:"views"`
	}{viewIDs}
	if _, err := s.client.rest.Do(ctx, &rest.Request{Method: http.MethodPut, Path: p, Body: body}, &out); err != nil {
		return false, err
	}
	return out.Revoked, nil
}

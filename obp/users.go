package obp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/banksdk/banksdk/internal/rest"
)

// UsersService reads the current user and creates DAuth users with roles.
type UsersService service

// User is OBP's UserJsonV300, the answer of GET /users/current.
type User struct {
	UserID     string
	Email      string
	ProviderID string
	// Provider is e.g. "dauth.<network>" for a DAuth user; OBP may send null.
	Provider *string
	// Username is the smart contract address for a DAuth user; OBP may send null.
	Username *string
	// Entitlements are the user's roles.
	Entitlements []Entitlement
	// Views are the views the user holds (absent from some answers).
	Views []ViewRef
}

// Entitlement is a role held by a user (BankID "" for a system-wide role).
type Entitlement struct {
	EntitlementID string `json:"entitlement_id"`
	RoleName      string `json:"role_name"`
	BankID        string `json:"bank_id"`
	// UserID is sent by the v4.0.0 entitlement lists.
	UserID string `json:"user_id,omitempty"`
}

// ViewRef names a view the user holds on an account.
type ViewRef struct {
	BankID    string `json:"bank_id"`
	AccountID string `json:"account_id"`
	ViewID    string `json:"view_id"`
}

type entitlementList struct {
	List []Entitlement `json:"list"`
}

type userWire struct {
	UserID       string           `json:"user_id"`
	Email        string           `json:"email"`
	ProviderID   string           `json:"provider_id"`
	Provider     *string          `json:"provider"`
	Username     *string          `json:"username"`
	Entitlements *entitlementList `json:"entitlements"`
	Views        *struct {
		List []ViewRef `json:"list"`
	} `json:"views,omitempty"`
}

// UnmarshalJSON reads OBP's {"entitlements": {"list": [...]}, "views": {"list": [...]}}.
func (u *User) UnmarshalJSON(data []byte) error {
	var w userWire
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*u = User{UserID: w.UserID, Email: w.Email, ProviderID: w.ProviderID, Provider: w.Provider, Username: w.Username}
	if w.Entitlements != nil {
		u.Entitlements = w.Entitlements.List
	}
	if w.Views != nil {
		u.Views = w.Views.List
	}
	return nil
}

// MarshalJSON writes OBP's shape back.
func (u User) MarshalJSON() ([]byte, error) {
	w := userWire{UserID: u.UserID, Email: u.Email, ProviderID: u.ProviderID, Provider: u.Provider, Username: u.Username,
		Entitlements: &entitlementList{List: u.Entitlements}}
	if w.Entitlements.List == nil {
		w.Entitlements.List = []Entitlement{}
	}
	if u.Views != nil {
		w.Views = &struct {
			List []ViewRef `json:"list"`
		}{List: u.Views}
	}
	return json.Marshal(w)
}

// Current returns the user the client authenticates as (GET /users/current). With
// DAuth, OBP gets or creates the user (smart contract address, DAuthProvider(network)).
func (s *UsersService) Current(ctx context.Context) (*User, error) {
	p, err := s.client.apiPath(s.client.version, "users", "current")
	if err != nil {
		return nil, err
	}
	var u User
	if _, err := s.client.rest.Do(ctx, &rest.Request{Method: http.MethodGet, Path: p}, &u); err != nil {
		return nil, err
	}
	return &u, nil
}

// CurrentID returns the current user's id (GET /users/current/user_id, v4.0.0 and
// later).
func (s *UsersService) CurrentID(ctx context.Context) (string, error) {
	p, err := s.client.apiPath(s.client.version, "users", "current", "user_id")
	if err != nil {
		return "", err
	}
	var out struct {
		UserID string `json:"user_id"`
	}
	if _, err := s.client.rest.Do(ctx, &rest.Request{Method: http.MethodGet, Path: p}, &out); err != nil {
		return "", err
	}
	if out.UserID == "" {
		return "", errors.New("obp: users/current/user_id: the answer has no user_id")
	}
	return out.UserID, nil
}

// Role is a role to give: BankID "" for a system-wide role.
type Role struct {
	BankID   string `json:"bank_id"`
	RoleName string `json:"role_name"`
}

// CreateUserWithRolesRequest is OBP's PostCreateUserWithRolesJsonV400.
type CreateUserWithRolesRequest struct {
	// Username: for a DAuth user, the smart contract address.
	Username string `json:"username"`
	// Provider must start with "dauth."; see DAuthProvider.
	Provider string `json:"provider"`
	Roles    []Role `json:"roles"`
}

func (r CreateUserWithRolesRequest) validate() error {
	if strings.TrimSpace(r.Username) == "" {
		return errors.New("obp: CreateUserWithRolesRequest.Username: required")
	}
	if !strings.HasPrefix(r.Provider, dauthProviderPrefix) {
		return fmt.Errorf("obp: CreateUserWithRolesRequest.Provider: must start with %q (use obp.DAuthProvider(network))", dauthProviderPrefix)
	}
	for i, role := range r.Roles {
		if strings.TrimSpace(role.RoleName) == "" {
			return fmt.Errorf("obp: CreateUserWithRolesRequest.Roles[%d].RoleName: required", i)
		}
	}
	return nil
}

// CreateWithRoles gets or creates the DAuth user (Username, Provider) and gives it
// the roles (POST /user-entitlements, OBP's "Create (DAuth) User with Roles"). The
// caller needs each role itself, or CanCreateEntitlementAtAnyBank. It returns the
// user's new entitlements. OBP answers 201.
func (s *UsersService) CreateWithRoles(ctx context.Context, req CreateUserWithRolesRequest) ([]Entitlement, error) {
	if err := req.validate(); err != nil {
		return nil, err
	}
	if req.Roles == nil {
		req.Roles = []Role{}
	}
	p, err := s.client.apiPath(s.client.accessVersion(), "user-entitlements")
	if err != nil {
		return nil, err
	}
	var out entitlementList
	if _, err := s.client.rest.Do(ctx, &rest.Request{Method: http.MethodPost, Path: p, Body: req}, &out); err != nil {
		return nil, err
	}
	return out.List, nil
}

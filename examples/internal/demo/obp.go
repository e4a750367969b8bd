package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/banksdk/banksdk/obp"
)

// OBPOptions says where the OBP flow acts.
type OBPOptions struct {
	// BankID and AccountID name an account on which the caller holds the owner view;
	// empty skips the account-access steps.
	BankID, AccountID string
	// DAuth, when the client uses DAuth, lets the flow act as the user it creates
	// (the same key signs for any smart contract address).
	DAuth *obp.DAuthConfig
	// ClientOptions are the options the client was built with (base URL, version),
	// reused for the new user's client.
	ClientOptions []obp.Option
	// GrantUserID is the user to grant a view to when not using DAuth.
	GrantUserID string
}

// OBP reads the current user, creates a DAuth user with account access, grants it a
// view, revokes it, and shows the typed error of revoking it again.
func OBP(ctx context.Context, s Stepper, c *obp.Client, o OBPOptions) error {
	if err := s.Step("current user", func() (string, error) {
		me, err := c.Users.Current(ctx)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("user %s, provider %s, %d entitlement(s)", me.UserID, deref(me.Provider), len(me.Entitlements)), nil
	}); err != nil {
		return err
	}
	if o.BankID == "" || o.AccountID == "" {
		return nil
	}
	contract := "0x" + randomHex(20)
	network := "ETHEREUM"
	if o.DAuth != nil {
		network = o.DAuth.NetworkName
	}
	if err := s.Step("create a DAuth user with account access", func() (string, error) {
		views, err := c.AccountAccess.CreateUserWithAccountAccess(ctx, o.BankID, o.AccountID, obp.CreateUserAccountAccessRequest{
			Username: contract,
			Provider: obp.DAuthProvider(network),
			Views:    []obp.ViewSelector{{ViewID: "ReadAccountsBasic", IsSystem: true}},
		})
		if err != nil {
			return "", err
		}
		ids := make([]string, 0, len(views))
		for _, v := range views {
			ids = append(ids, v.ID)
		}
		return fmt.Sprintf("%s with view(s) %s", Shorten(contract, 12), strings.Join(ids, ", ")), nil
	}); err != nil {
		return err
	}
	userID := o.GrantUserID
	if o.DAuth != nil {
		if err := s.Step("read the new user's id as that user", func() (string, error) {
			as := *o.DAuth
			as.SmartContractAddress = contract
			nc, err := obp.NewClient(append(o.ClientOptions, obp.WithDAuth(as))...)
			if err != nil {
				return "", err
			}
			userID, err = nc.Users.CurrentID(ctx)
			return userID, err
		}); err != nil {
			return err
		}
	}
	if userID == "" {
		return nil
	}
	req := obp.AccountAccessRequest{UserID: userID, View: obp.ViewSelector{ViewID: "ReadBalances", IsSystem: true}}
	if err := s.Step("grant a view", func() (string, error) {
		v, err := c.AccountAccess.Grant(ctx, o.BankID, o.AccountID, req)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s (can see balance: %v)", v.ID, v.CanSeeBankAccountBalance), nil
	}); err != nil {
		return err
	}
	if err := s.Step("revoke the view", func() (string, error) {
		revoked, err := c.AccountAccess.Revoke(ctx, o.BankID, o.AccountID, req)
		return fmt.Sprintf("revoked: %v", revoked), err
	}); err != nil {
		return err
	}
	return s.Step("revoke it again: a typed OBP error", func() (string, error) {
		_, err := c.AccountAccess.Revoke(ctx, o.BankID, o.AccountID, req)
		var apiErr *obp.APIError
		if !errors.As(err, &apiErr) {
			return "", fmt.Errorf("expected an *obp.APIError, got %v", err)
		}
		return fmt.Sprintf("HTTP %d %s", apiErr.StatusCode, apiErr.OBPCode), nil
	})
}

func deref(s *string) string {
	if s == nil {
		return "(null)"
	}
	return *s
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

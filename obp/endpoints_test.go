package obp_test

import (
	"encoding/json"
	"errors"
	"github.com/banksdk/banksdk/fake"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/obp"
	"github.com/banksdk/banksdk/obp/obptest"
)

func accessPrefix() string {
	return "/obp/v4.0.0/banks/" + bankID + "/accounts/" + accountID + "/"
}

func TestUsersCurrent(t *testing.T) {
	s := setup(t)
	me, _ := s.UserID(obptest.DefaultUsername, s.LocalProvider())
	c := loginClient(t, s)
	u, err := c.Users.Current(ctx(t))
	require.NoError(t, err)
	assert.Equal(t, me, u.UserID)
	assert.Equal(t, obptest.DefaultUsername+"@example.com", u.Email)
	assert.Equal(t, obptest.DefaultUsername, u.ProviderID)
	assert.Equal(t, s.LocalProvider(), *u.Provider)
	require.Len(t, u.Entitlements, 1)
	assert.Equal(t, obptest.RoleCanCreateEntitlementAtAnyBank, u.Entitlements[0].RoleName)
	assert.Equal(t, "", u.Entitlements[0].BankID)
	assert.Equal(t, []obp.ViewRef{{BankID: bankID, AccountID: accountID, ViewID: "owner"}}, u.Views)

	id, err := c.Users.CurrentID(ctx(t))
	require.NoError(t, err)
	assert.Equal(t, me, id)

	// Not logged in (a bearer token the instance does not know).
	anon := newClient(t, s, obp.WithAccessTokenSource(auth.StaticSource(auth.Token{Value: "unknown"})))
	_, err = anon.Users.Current(ctx(t))
	var apiErr *obp.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 401, apiErr.StatusCode)
	assert.Equal(t, 401, apiErr.Code)
	assert.True(t, errors.Is(err, obp.ErrUserNotLoggedIn))
	_, err = anon.Users.CurrentID(ctx(t))
	assert.True(t, errors.Is(err, obp.ErrUserNotLoggedIn))
}

func TestUserJSONNulls(t *testing.T) {
	var u obp.User
	require.NoError(t, json.Unmarshal([]byte(`{"user_id":"u","email":"","provider_id":"p","provider":null,"username":null,"entitlements":{"list":[]}}`), &u))
	assert.Nil(t, u.Username)
	assert.Nil(t, u.Provider)
	assert.Nil(t, u.Views)
	b, err := json.Marshal(u)
	require.NoError(t, err)
	assert.JSONEq(t, `{"user_id":"u","email":"","provider_id":"p","provider":null,"username":null,"entitlements":{"list":[]}}`, string(b))
}

// apiCase is one expected error answer of an endpoint.
type apiCase struct {
	name   string
	prep   func(t *testing.T, s *obptest.Server) // inject a fault, change state
	anon   bool                                  // call without a valid login
	status int
	code   obp.Code
}

// inject answers the next matching call with an OBP error body: for the errors a
// correct client cannot provoke from the fake (bad JSON, unknown errors).
func inject(method, path string, status int, msg string) func(*testing.T, *obptest.Server) {
	return func(_ *testing.T, s *obptest.Server) {
		s.Inject(1, fake.Status(status, obptest.ErrorBody(status, msg)).On(method, path))
	}
}

func runCases(t *testing.T, cases []apiCase, call func(t *testing.T, s *obptest.Server, c *obp.Client) error) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := setup(t)
			c := loginClient(t, s)
			if tc.anon {
				c = newClient(t, s, obp.WithAccessTokenSource(auth.StaticSource(auth.Token{Value: "unknown"})))
			}
			if tc.prep != nil {
				tc.prep(t, s)
			}
			err := call(t, s, c)
			var apiErr *obp.APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tc.status, apiErr.StatusCode)
			assert.Equal(t, string(tc.code), apiErr.OBPCode, apiErr.Message)
			assert.True(t, errors.Is(err, tc.code))
			assert.Contains(t, err.Error(), string(tc.code))
			if tc.prep == nil {
				assert.NotEmpty(t, apiErr.CorrelationID)
			}
		})
	}
}

func TestCreateUserWithAccountAccess(t *testing.T) {
	s := setup(t)
	c := loginClient(t, s)
	req := obp.CreateUserAccountAccessRequest{
		Username: "0xfeed",
		Provider: obp.DAuthProvider("ETHEREUM"),
		Views:    []obp.ViewSelector{{ViewID: "ReadAccountsBasic", IsSystem: true}, {ViewID: "ReadBalances", IsSystem: true}},
	}
	views, err := c.AccountAccess.CreateUserWithAccountAccess(ctx(t), bankID, accountID, req)
	require.NoError(t, err)
	require.Len(t, views, 2)
	assert.Equal(t, "ReadAccountsBasic", views[0].ID)
	assert.True(t, views[1].CanSeeBankAccountBalance)
	assert.True(t, views[1].IsSystem)
	uid, ok := s.UserID("0xfeed", "dauth.ETHEREUM")
	require.True(t, ok)
	assert.Equal(t, []string{"ReadAccountsBasic", "ReadBalances"}, s.Access(bankID, accountID, uid))

	reqs := s.Requests()
	last := reqs[len(reqs)-1]
	assert.Equal(t, accessPrefix()+"user-account-access", last.Path)
	assert.JSONEq(t, `{"username":"0xfeed","provider":"dauth.ETHEREUM","views":[{"view_id":"ReadAccountsBasic","is_system":true},{"view_id":"ReadBalances","is_system":true}]}`, string(last.Body))

	path := accessPrefix() + "user-account-access"
	runCases(t, []apiCase{
		{name: "not logged in", anon: true, status: 401, code: obp.ErrUserNotLoggedIn},
		{name: "no permission", prep: func(t *testing.T, s *obptest.Server) {
			// The caller holds only a view that cannot grant.
			me, _ := s.UserID(obptest.DefaultUsername, s.LocalProvider())
			require.NoError(t, s.GrantAccess(bankID, accountID, me, "auditor"))
			_, err := loginClient(t, s).AccountAccess.RevokeGrant(ctx(t), bankID, accountID, []string{"owner"})
			require.NoError(t, err)
			other := s.EnsureUser("0xowner", "dauth.x")
			require.NoError(t, s.GrantAccess(bankID, accountID, other, "owner"))
			_, err = loginClient(t, s).AccountAccess.RevokeGrant(ctx(t), bankID, accountID, []string{"auditor"})
			require.NoError(t, err)
		}, status: 403, code: obp.ErrCannotGrantAccessToView},
		{name: "bad json", prep: inject("POST", path, 400, obptest.MsgInvalidJSONFormat+" The Json body should be the PostCreateUserAccountAccessJsonV400"), status: 400, code: obp.ErrInvalidJSONFormat},
		{name: "system view not found", prep: nil, status: 400, code: obp.ErrSystemViewNotFound},
		{name: "custom view not found", status: 400, code: obp.ErrViewNotFound},
		{name: "cannot grant", prep: inject("POST", path, 400, obptest.MsgCannotGrantAccountAccess), status: 400, code: obp.ErrCannotGrantAccountAccess},
		{name: "unknown error", prep: inject("POST", path, 500, obptest.MsgUnknownError), status: 500, code: obp.ErrUnknownError},
	}, func(t *testing.T, s *obptest.Server, c *obp.Client) error {
		views := []obp.ViewSelector{{ViewID: "ReadBalances", IsSystem: true}}
		switch t.Name() {
		case "TestCreateUserWithAccountAccess/system_view_not_found":
			views = []obp.ViewSelector{{ViewID: "_nope", IsSystem: true}}
		case "TestCreateUserWithAccountAccess/custom_view_not_found":
			views = []obp.ViewSelector{{ViewID: "_nope", IsSystem: false}}
		}
		_, err := c.AccountAccess.CreateUserWithAccountAccess(ctx(t), bankID, accountID, obp.CreateUserAccountAccessRequest{Username: "0xabc", Provider: "dauth.ETH", Views: views})
		return err
	})
}

func TestAccountAccessValidationBeforeSending(t *testing.T) {
	s := setup(t)
	c := loginClient(t, s)
	v := obp.ViewSelector{ViewID: "owner", IsSystem: true}
	_, err := c.AccountAccess.CreateUserWithAccountAccess(ctx(t), bankID, accountID, obp.CreateUserAccountAccessRequest{Username: "0xabc", Provider: "ETHEREUM", Views: []obp.ViewSelector{v}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Provider")
	assert.Contains(t, err.Error(), `"dauth."`)
	_, err = c.AccountAccess.CreateUserWithAccountAccess(ctx(t), bankID, accountID, obp.CreateUserAccountAccessRequest{Provider: "dauth.x"})
	assert.ErrorContains(t, err, "Username: required")
	_, err = c.AccountAccess.CreateUserWithAccountAccess(ctx(t), bankID, accountID, obp.CreateUserAccountAccessRequest{Username: "u", Provider: "dauth.x", Views: []obp.ViewSelector{{}}})
	assert.ErrorContains(t, err, "Views[0].ViewID: required")
	_, err = c.AccountAccess.Grant(ctx(t), "", accountID, obp.AccountAccessRequest{UserID: "u", View: v})
	assert.ErrorContains(t, err, "bankID: required")
	_, err = c.AccountAccess.Grant(ctx(t), bankID, "..", obp.AccountAccessRequest{UserID: "u", View: v})
	assert.ErrorContains(t, err, "accountID")
	_, err = c.AccountAccess.Grant(ctx(t), bankID, accountID, obp.AccountAccessRequest{View: v})
	assert.ErrorContains(t, err, "UserID: required")
	_, err = c.AccountAccess.Revoke(ctx(t), bankID, accountID, obp.AccountAccessRequest{UserID: "u"})
	assert.ErrorContains(t, err, "View.ViewID: required")
	_, err = c.AccountAccess.RevokeGrant(ctx(t), bankID, accountID, []string{"owner", " "})
	assert.ErrorContains(t, err, "viewIDs[1]: required")
	_, err = c.Users.CreateWithRoles(ctx(t), obp.CreateUserWithRolesRequest{Username: "u", Provider: "x"})
	assert.ErrorContains(t, err, "Provider: must start with")
	_, err = c.Users.CreateWithRoles(ctx(t), obp.CreateUserWithRolesRequest{Username: "u", Provider: "dauth.x", Roles: []obp.Role{{BankID: bankID}}})
	assert.ErrorContains(t, err, "Roles[0].RoleName: required")
	assert.Empty(t, s.Requests(), "nothing was sent")
}

func TestIDsAreEscaped(t *testing.T) {
	s := setup(t)
	c := loginClient(t, s)
	_, err := c.AccountAccess.Grant(ctx(t), "gh.29.uk/../x", "a?b#c", obp.AccountAccessRequest{UserID: "u", View: obp.ViewSelector{ViewID: "owner", IsSystem: true}})
	require.True(t, errors.Is(err, obp.ErrBankNotFound), "%v", err)
	reqs := s.Requests()
	last := reqs[len(reqs)-1]
	assert.Equal(t, "/obp/v4.0.0/banks/gh.29.uk%2F..%2Fx/accounts/a%3Fb%23c/account-access/grant", last.RawPath)
	assert.Empty(t, last.RawQuery)
}

func grantReq(userID, viewID string, system bool) obp.AccountAccessRequest {
	return obp.AccountAccessRequest{UserID: userID, View: obp.ViewSelector{ViewID: viewID, IsSystem: system}}
}

func TestGrantAndRevoke(t *testing.T) {
	s := setup(t)
	require.NoError(t, s.AddCustomView(bankID, accountID, obptest.View{ID: "_partner", Flags: map[string]bool{"can_see_bank_account_balance": true}}))
	c := loginClient(t, s)
	bob := s.EnsureUser("0xb0b", "dauth.ETH")

	v, err := c.AccountAccess.Grant(ctx(t), bankID, accountID, grantReq(bob, "_partner", false))
	require.NoError(t, err)
	assert.Equal(t, "_partner", v.ID)
	assert.False(t, v.IsSystem)
	assert.Nil(t, v.ShortName, "null short_name")
	assert.True(t, v.CanSeeBankAccountBalance)
	assert.False(t, v.CanAddComment)
	assert.Equal(t, []string{"_partner"}, s.Access(bankID, accountID, bob))
	reqs := s.Requests()
	last := reqs[len(reqs)-1]
	assert.Equal(t, accessPrefix()+"account-access/grant", last.Path)
	assert.JSONEq(t, `{"user_id":"`+bob+`","view":{"view_id":"_partner","is_system":false}}`, string(last.Body))

	ok, err := c.AccountAccess.Revoke(ctx(t), bankID, accountID, grantReq(bob, "_partner", false))
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Empty(t, s.Access(bankID, accountID, bob))
	reqs = s.Requests()
	assert.Equal(t, accessPrefix()+"account-access/revoke", reqs[len(reqs)-1].Path)
}

func TestGrantErrors(t *testing.T) {
	path := accessPrefix() + "account-access/grant"
	target := func(s *obptest.Server) string { return s.EnsureUser("0xb0b", "dauth.ETH") }
	runCases(t, []apiCase{
		{name: "not logged in", anon: true, status: 401, code: obp.ErrUserNotLoggedIn},
		{name: "no permission", status: 400, code: obp.ErrCannotGrantAccessToView},
		{name: "bad json", prep: inject("POST", path, 400, obptest.MsgInvalidJSONFormat+" The Json body should be the PostAccountAccessJsonV400"), status: 400, code: obp.ErrInvalidJSONFormat},
		{name: "user not found", status: 404, code: obp.ErrUserNotFoundByID},
		{name: "system view not found", status: 400, code: obp.ErrSystemViewNotFound},
		{name: "custom view not found", status: 400, code: obp.ErrViewNotFound},
		{name: "cannot grant", prep: inject("POST", path, 400, obptest.MsgCannotGrantAccountAccess), status: 400, code: obp.ErrCannotGrantAccountAccess},
		{name: "unknown error", prep: inject("POST", path, 500, obptest.MsgUnknownError), status: 500, code: obp.ErrUnknownError},
		{name: "bank not found", status: 404, code: obp.ErrBankNotFound},
		{name: "account not found", status: 404, code: obp.ErrBankAccountNotFound},
	}, func(t *testing.T, s *obptest.Server, c *obp.Client) error {
		bank, acct, req := bankID, accountID, grantReq(target(s), "ReadBalances", true)
		switch t.Name()[len("TestGrantErrors/"):] {
		case "no_permission":
			// A caller that only holds the auditor view may not grant.
			c = dauthClient(t, s)
			me := s.EnsureUser(contract, obp.DAuthProvider(network))
			require.NoError(t, s.GrantAccess(bankID, accountID, me, "auditor"))
		case "user_not_found":
			req.UserID = "no-such-user"
		case "system_view_not_found":
			req.View = obp.ViewSelector{ViewID: "_nope", IsSystem: true}
		case "custom_view_not_found":
			req.View = obp.ViewSelector{ViewID: "_nope", IsSystem: false}
		case "bank_not_found":
			bank = "no-bank"
		case "account_not_found":
			acct = "no-account"
		}
		_, err := c.AccountAccess.Grant(ctx(t), bank, acct, req)
		return err
	})
}

func TestRevokeErrors(t *testing.T) {
	path := accessPrefix() + "account-access/revoke"
	runCases(t, []apiCase{
		{name: "not logged in", anon: true, status: 401, code: obp.ErrUserNotLoggedIn},
		{name: "no permission", status: 400, code: obp.ErrCannotRevokeAccessToView},
		{name: "bad json", prep: inject("POST", path, 400, obptest.MsgInvalidJSONFormat+" The Json body should be the PostAccountAccessJsonV400"), status: 400, code: obp.ErrInvalidJSONFormat},
		{name: "user not found", status: 404, code: obp.ErrUserNotFoundByID},
		{name: "system view not found", status: 400, code: obp.ErrSystemViewNotFound},
		{name: "custom view not found", status: 400, code: obp.ErrViewNotFound},
		{name: "cannot revoke", status: 400, code: obp.ErrCannotRevokeAccountAccess},
		{name: "cannot find access", status: 400, code: obp.ErrCannotFindAccountAccess},
		{name: "unknown error", prep: inject("POST", path, 500, obptest.MsgUnknownError), status: 500, code: obp.ErrUnknownError},
	}, func(t *testing.T, s *obptest.Server, c *obp.Client) error {
		bob := s.EnsureUser("0xb0b", "dauth.ETH")
		require.NoError(t, s.GrantAccess(bankID, accountID, bob, "ReadBalances"))
		req := grantReq(bob, "ReadBalances", true)
		switch t.Name()[len("TestRevokeErrors/"):] {
		case "no_permission":
			c = dauthClient(t, s)
			me := s.EnsureUser(contract, obp.DAuthProvider(network))
			require.NoError(t, s.GrantAccess(bankID, accountID, me, "auditor"))
		case "user_not_found":
			req.UserID = "no-such-user"
		case "system_view_not_found":
			req.View = obp.ViewSelector{ViewID: "_nope", IsSystem: true}
		case "custom_view_not_found":
			req.View = obp.ViewSelector{ViewID: "_nope", IsSystem: false}
		case "cannot_revoke":
			// The caller is the account's only owner.
			req.UserID, _ = s.UserID(obptest.DefaultUsername, s.LocalProvider())
			req.View.ViewID = "owner"
		case "cannot_find_access":
			req.View.ViewID = "auditor"
		}
		_, err := c.AccountAccess.Revoke(ctx(t), bankID, accountID, req)
		return err
	})
}

func TestRevokeGrantActsOnTheCaller(t *testing.T) {
	s := setup(t)
	c := loginClient(t, s)
	me, _ := s.UserID(obptest.DefaultUsername, s.LocalProvider())
	bob := s.EnsureUser("0xb0b", "dauth.ETH")
	require.NoError(t, s.GrantAccess(bankID, accountID, bob, "owner")) // a second owner
	require.NoError(t, s.GrantAccess(bankID, accountID, bob, "auditor"))

	ok, err := c.AccountAccess.RevokeGrant(ctx(t), bankID, accountID, []string{"auditor", "ReadBalances"})
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, []string{"ReadBalances", "auditor"}, s.Access(bankID, accountID, me), "the caller's views were replaced")
	assert.Equal(t, []string{"auditor", "owner"}, s.Access(bankID, accountID, bob), "another user is untouched")
	reqs := s.Requests()
	last := reqs[len(reqs)-1]
	assert.Equal(t, http.MethodPut, last.Method)
	assert.Equal(t, accessPrefix()+"account-access", last.Path)
	assert.JSONEq(t, `{"views":["auditor","ReadBalances"]}`, string(last.Body))
}

func TestRevokeGrantErrors(t *testing.T) {
	path := accessPrefix() + "account-access"
	runCases(t, []apiCase{
		{name: "not logged in", anon: true, status: 401, code: obp.ErrUserNotLoggedIn},
		{name: "no permission", status: 400, code: obp.ErrCannotGrantAccessToView},
		{name: "bad json", prep: inject("PUT", path, 400, obptest.MsgInvalidJSONFormat+" The Json body should be the PostRevokeGrantAccountAccessJsonV400"), status: 400, code: obp.ErrInvalidJSONFormat},
		{name: "user not found", prep: inject("PUT", path, 404, obptest.MsgUserNotFoundByID), status: 404, code: obp.ErrUserNotFoundByID},
		{name: "system view not found", status: 400, code: obp.ErrSystemViewNotFound},
		{name: "custom view not found", status: 400, code: obp.ErrViewNotFound},
		{name: "cannot revoke", status: 400, code: obp.ErrCannotRevokeAccountAccess},
		{name: "cannot find access", status: 400, code: obp.ErrCannotFindAccountAccess},
		{name: "unknown error", prep: inject("PUT", path, 500, obptest.MsgUnknownError), status: 500, code: obp.ErrUnknownError},
	}, func(t *testing.T, s *obptest.Server, c *obp.Client) error {
		views := []string{"owner", "auditor"}
		switch t.Name()[len("TestRevokeGrantErrors/"):] {
		case "no_permission":
			c = dauthClient(t, s)
			me := s.EnsureUser(contract, obp.DAuthProvider(network))
			require.NoError(t, s.GrantAccess(bankID, accountID, me, "auditor"))
		case "system_view_not_found":
			views = []string{"owner", "NoSuchView"}
		case "custom_view_not_found":
			views = []string{"owner", "_nope"}
		case "cannot_revoke":
			views = []string{"auditor"} // would leave the account without an owner
		case "cannot_find_access":
			c = dauthClient(t, s) // a user without any view on the account
			views = []string{}
		}
		_, err := c.AccountAccess.RevokeGrant(ctx(t), bankID, accountID, views)
		return err
	})
}

func TestCreateWithRoles(t *testing.T) {
	s := setup(t)
	c := loginClient(t, s)
	ents, err := c.Users.CreateWithRoles(ctx(t), obp.CreateUserWithRolesRequest{
		Username: contract,
		Provider: obp.DAuthProvider(network),
		Roles:    []obp.Role{{BankID: "", RoleName: "CanGetAnyUser"}, {BankID: bankID, RoleName: "CanGetAccountsHeldAtOneBank"}},
	})
	require.NoError(t, err)
	require.Len(t, ents, 2)
	uid, ok := s.UserID(contract, "dauth."+network)
	require.True(t, ok)
	assert.Equal(t, "CanGetAnyUser", ents[0].RoleName)
	assert.Equal(t, bankID, ents[1].BankID)
	assert.Equal(t, uid, ents[0].UserID)
	assert.NotEmpty(t, ents[0].EntitlementID)
	reqs := s.Requests()
	last := reqs[len(reqs)-1]
	assert.Equal(t, "/obp/v4.0.0/user-entitlements", last.Path)
	assert.JSONEq(t, `{"username":"`+contract+`","provider":"dauth.`+network+`","roles":[{"bank_id":"","role_name":"CanGetAnyUser"},{"bank_id":"`+bankID+`","role_name":"CanGetAccountsHeldAtOneBank"}]}`, string(last.Body))

	// The DAuth user now logs in with those roles.
	u, err := dauthClient(t, s).Users.Current(ctx(t))
	require.NoError(t, err)
	assert.Equal(t, uid, u.UserID)
	assert.Len(t, u.Entitlements, 2)

	runCases(t, []apiCase{
		{name: "not logged in", anon: true, status: 401, code: obp.ErrUserNotLoggedIn},
		{name: "missing roles", status: 403, code: obp.ErrUserHasMissingRoles},
		{name: "bank not found", status: 404, code: obp.ErrBankNotFound},
	}, func(t *testing.T, s *obptest.Server, c *obp.Client) error {
		req := obp.CreateUserWithRolesRequest{Username: "0xabc", Provider: "dauth.ETH", Roles: []obp.Role{{RoleName: "CanGetAnyUser"}}}
		switch t.Name()[len("TestCreateWithRoles/"):] {
		case "missing_roles":
			c = dauthClient(t, s)
		case "bank_not_found":
			req.Roles[0].BankID = "no-bank"
		}
		_, err := c.Users.CreateWithRoles(ctx(t), req)
		return err
	})
}

func TestAccountAccessVersion(t *testing.T) {
	s := setup(t)
	c := loginClient(t, s, obp.WithVersion("v5.1.0"))
	bob := s.EnsureUser("0xb0b", "dauth.ETH")
	_, err := c.AccountAccess.Grant(ctx(t), bankID, accountID, grantReq(bob, "ReadBalances", true))
	require.NoError(t, err, "v5.1.0 has no v4 grant endpoint, so the client uses v4.0.0's")
	_, err = c.Users.Current(ctx(t))
	require.NoError(t, err)
	reqs := s.Requests()
	assert.Equal(t, accessPrefix()+"account-access/grant", reqs[1].Path)
	assert.Equal(t, "/obp/v5.1.0/users/current", reqs[2].Path)

	c = loginClient(t, s, obp.WithVersion("v5.0.0"))
	_, err = c.AccountAccess.Revoke(ctx(t), bankID, accountID, grantReq(bob, "ReadBalances", true))
	require.NoError(t, err)
	reqs = s.Requests()
	assert.Equal(t, "/obp/v5.0.0/banks/"+bankID+"/accounts/"+accountID+"/account-access/revoke", reqs[len(reqs)-1].Path)
}

func TestDo(t *testing.T) {
	s := setup(t)
	c := loginClient(t, s)
	raw, err := obp.Do[json.RawMessage](ctx(t), c, "GET", "users/current", nil)
	require.NoError(t, err)
	assert.Contains(t, string(raw), obptest.DefaultUsername)

	type idOnly struct {
		UserID string `json:"user_id"`
	}
	id, err := obp.Do[idOnly](ctx(t), c, "get", "/users/current/user_id?x=1", nil)
	require.NoError(t, err)
	assert.NotEmpty(t, id.UserID)
	reqs := s.Requests()
	assert.Equal(t, "x=1", reqs[len(reqs)-1].RawQuery)

	bob := s.EnsureUser("0xb0b", "dauth.ETH")
	v, err := obp.Do[obp.View](ctx(t), c, "POST", "banks/"+bankID+"/accounts/"+accountID+"/account-access/grant", grantReq(bob, "auditor", true))
	require.NoError(t, err)
	assert.Equal(t, "auditor", v.ID)

	_, err = obp.Do[json.RawMessage](ctx(t), c, "GET", "banks/nope/accounts/x/nothing-here", nil)
	var apiErr *obp.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 404, apiErr.StatusCode)
	assert.Equal(t, "OBP-10404", apiErr.OBPCode)

	_, err = obp.Do[json.RawMessage](ctx(t), c, "GET", "../../my/logins/direct", nil)
	assert.Error(t, err)
	_, err = obp.Do[json.RawMessage](ctx(t), c, "GET", "https://evil.example/x", nil)
	assert.Error(t, err)
	_, err = obp.Do[json.RawMessage](ctx(t), nil, "GET", "x", nil)
	assert.Error(t, err)
}

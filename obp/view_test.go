package obp_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/obp"
	"github.com/banksdk/banksdk/obp/obptest"
)

// seedView is the typical answer of OBP's grant endpoint as documented.
const seedView = `{ "id":"1234", "short_name":"short_name", "description":"description", "metadata_view":"owner", "is_public":true, "is_system":true, "alias":"No", "hide_metadata_if_alias_used":true, "can_add_comment":true, "can_add_corporate_location":true, "can_add_image":true, "can_add_image_url":true, "can_add_more_info":true, "can_add_open_corporates_url":true, "can_add_physical_location":true, "can_add_private_alias":true, "can_add_public_alias":true, "can_add_tag":true, "can_add_url":true, "can_add_where_tag":true, "can_delete_comment":true, "can_add_counterparty":true, "can_delete_corporate_location":true, "can_delete_image":true, "can_delete_physical_location":true, "can_delete_tag":true, "can_delete_where_tag":true, "can_edit_owner_comment":true, "can_see_bank_account_balance":true, "can_query_available_funds":true, "can_see_bank_account_bank_name":true, "can_see_bank_account_currency":true, "can_see_bank_account_iban":true, "can_see_bank_account_label":true, "can_see_bank_account_national_identifier":true, "can_see_bank_account_number":true, "can_see_bank_account_owners":true, "can_see_bank_account_swift_bic":true, "can_see_bank_account_type":true, "can_see_comments":true, "can_see_corporate_location":true, "can_see_image_url":true, "can_see_images":true, "can_see_more_info":true, "can_see_open_corporates_url":true, "can_see_other_account_bank_name":true, "can_see_other_account_iban":true, "can_see_other_account_kind":true, "can_see_other_account_metadata":true, "can_see_other_account_national_identifier":true, "can_see_other_account_number":true, "can_see_other_account_swift_bic":true, "can_see_owner_comment":true, "can_see_physical_location":true, "can_see_private_alias":true, "can_see_public_alias":true, "can_see_tags":true, "can_see_transaction_amount":true, "can_see_transaction_balance":true, "can_see_transaction_currency":true, "can_see_transaction_description":true, "can_see_transaction_finish_date":true, "can_see_transaction_metadata":true, "can_see_transaction_other_bank_account":true, "can_see_transaction_start_date":true, "can_see_transaction_this_bank_account":true, "can_see_transaction_type":true, "can_see_url":true, "can_see_where_tag":true, "can_see_bank_routing_scheme":true, "can_see_bank_routing_address":true, "can_see_bank_account_routing_scheme":true, "can_see_bank_account_routing_address":true, "can_see_other_bank_routing_scheme":true, "can_see_other_bank_routing_address":true, "can_see_other_account_routing_scheme":true, "can_see_other_account_routing_address":true, "can_add_transaction_request_to_own_account":true, "can_add_transaction_request_to_any_account":true, "can_see_bank_account_credit_limit":true, "can_create_direct_debit":true, "can_create_standing_order":true }`

func TestViewDecodesEveryDocumentedField(t *testing.T) {
	var v obp.View
	require.NoError(t, json.Unmarshal([]byte(seedView), &v))
	assert.Equal(t, "1234", v.ID)
	assert.Equal(t, "short_name", *v.ShortName)
	assert.Equal(t, "description", *v.Description)
	assert.Equal(t, "owner", v.MetadataView)
	assert.True(t, v.IsPublic)
	assert.True(t, v.IsSystem)
	assert.Equal(t, "No", v.Alias)
	assert.True(t, v.HideMetadataIfAliasUsed)
	assert.Nil(t, v.IsFirehose)
	assert.Empty(t, v.Extra, "every documented field is modelled")
	perms := v.Permissions()
	assert.Len(t, perms, 74)
	for _, flag := range obptest.ViewFlags() {
		assert.True(t, perms[flag], flag)
		assert.True(t, v.Can(flag), flag)
	}
	assert.True(t, v.CanSeeBankAccountIBAN)
	assert.True(t, v.CanCreateStandingOrder)

	b, err := json.Marshal(v)
	require.NoError(t, err)
	var back map[string]any
	require.NoError(t, json.Unmarshal(b, &back))
	assert.NotContains(t, back, "is_firehose", "is_firehose stays omitted")
	assert.JSONEq(t, seedView, string(b))
}

func TestViewKeepsUnknownFlags(t *testing.T) {
	in := `{"id":"owner","short_name":null,"description":null,"metadata_view":"owner","is_public":false,"is_system":true,"alias":"","hide_metadata_if_alias_used":false,"is_firehose":false,
		"can_add_comment":true,"can_see_transaction_status":true,"can_grant_access_to_views":["owner","auditor"],"new_field":{"a":1}}`
	var v obp.View
	require.NoError(t, json.Unmarshal([]byte(in), &v))
	assert.Nil(t, v.ShortName)
	assert.Nil(t, v.Description)
	require.NotNil(t, v.IsFirehose)
	assert.False(t, *v.IsFirehose)
	assert.True(t, v.CanAddComment)
	assert.False(t, v.CanSeeURL, "absent flags are false")
	require.Len(t, v.Extra, 3)
	assert.True(t, v.Can("can_see_transaction_status"))
	assert.False(t, v.Can("can_grant_access_to_views"), "not a boolean")
	assert.False(t, v.Can("can_fly"))
	perms := v.Permissions()
	assert.True(t, perms["can_see_transaction_status"])
	assert.Len(t, perms, 75)

	b, err := json.Marshal(v)
	require.NoError(t, err)
	var back map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(b, &back))
	assert.JSONEq(t, `true`, string(back["can_see_transaction_status"]))
	assert.JSONEq(t, `["owner","auditor"]`, string(back["can_grant_access_to_views"]))
	assert.JSONEq(t, `{"a":1}`, string(back["new_field"]))
	assert.JSONEq(t, `null`, string(back["short_name"]))
	assert.JSONEq(t, `false`, string(back["is_firehose"]))

	// Decode, re-encode, decode: nothing lost.
	var again obp.View
	require.NoError(t, json.Unmarshal(b, &again))
	assert.Equal(t, v, again)

	// Extra never overrides a documented field.
	v.Extra["can_add_comment"] = json.RawMessage(`false`)
	b, err = json.Marshal(v)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &again))
	assert.True(t, again.CanAddComment)
}

func TestViewExtraFlagsFromServer(t *testing.T) {
	s := setup(t, obptest.WithExtraViewFields(map[string]any{"can_see_transaction_status": true, "is_firehose": true}))
	c := loginClient(t, s)
	bob := s.EnsureUser("0xb0b", "dauth.ETH")
	v, err := c.AccountAccess.Grant(ctx(t), bankID, accountID, grantReq(bob, "ReadBalances", true))
	require.NoError(t, err)
	assert.True(t, v.Can("can_see_transaction_status"))
	require.NotNil(t, v.IsFirehose)
	assert.True(t, *v.IsFirehose)
	b, err := json.Marshal(v)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"can_see_transaction_status":true`)
}

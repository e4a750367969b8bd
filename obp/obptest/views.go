package obptest

import (
	"encoding/json"
	"sort"
	"strings"
)

// viewFlags lists the 74 boolean permission flags of an OBP view (ViewJsonV300), in
// the order the OBP API Explorer shows them.
var viewFlags = []string{
	"can_add_comment", "can_add_corporate_location", "can_add_image", "can_add_image_url",
	"can_add_more_info", "can_add_open_corporates_url", "can_add_physical_location",
	"can_add_private_alias", "can_add_public_alias", "can_add_tag", "can_add_url",
	"can_add_where_tag", "can_delete_comment", "can_add_counterparty",
	"can_delete_corporate_location", "can_delete_image", "can_delete_physical_location",
	"can_delete_tag", "can_delete_where_tag", "can_edit_owner_comment",
	"can_see_bank_account_balance", "can_query_available_funds",
	"can_see_bank_account_bank_name", "can_see_bank_account_currency",
	"can_see_bank_account_iban", "can_see_bank_account_label",
	"can_see_bank_account_national_identifier", "can_see_bank_account_number",
	"can_see_bank_account_owners", "can_see_bank_account_swift_bic",
	"can_see_bank_account_type", "can_see_comments", "can_see_corporate_location",
	"can_see_image_url", "can_see_images", "can_see_more_info",
	"can_see_open_corporates_url", "can_see_other_account_bank_name",
	"can_see_other_account_iban", "can_see_other_account_kind",
	"can_see_other_account_metadata", "can_see_other_account_national_identifier",
	"can_see_other_account_number", "can_see_other_account_swift_bic",
	"can_see_owner_comment", "can_see_physical_location", "can_see_private_alias",
	"can_see_public_alias", "can_see_tags", "can_see_transaction_amount",
	"can_see_transaction_balance", "can_see_transaction_currency",
	"can_see_transaction_description", "can_see_transaction_finish_date",
	"can_see_transaction_metadata", "can_see_transaction_other_bank_account",
	"can_see_transaction_start_date", "can_see_transaction_this_bank_account",
	"can_see_transaction_type", "can_see_url", "can_see_where_tag",
	"can_see_bank_routing_scheme", "can_see_bank_routing_address",
	"can_see_bank_account_routing_scheme", "can_see_bank_account_routing_address",
	"can_see_other_bank_routing_scheme", "can_see_other_bank_routing_address",
	"can_see_other_account_routing_scheme", "can_see_other_account_routing_address",
	"can_add_transaction_request_to_own_account",
	"can_add_transaction_request_to_any_account", "can_see_bank_account_credit_limit",
	"can_create_direct_debit", "can_create_standing_order",
}

// The system views every account of the fake has. "owner" can grant and revoke every
// system view and every custom view; the others carry read permissions only.
const (
	ViewOwner                  = "owner"
	ViewAuditor                = "auditor"
	ViewAccountant             = "accountant"
	ViewReadAccountsBasic      = "ReadAccountsBasic"
	ViewReadAccountsDetail     = "ReadAccountsDetail"
	ViewReadBalances           = "ReadBalances"
	ViewReadTransactionsBasic  = "ReadTransactionsBasic"
	ViewReadTransactionsDetail = "ReadTransactionsDetail"
)

// systemViewIDs lists the ids of the fake's system views.
var systemViewIDs = []string{
	ViewOwner, ViewAuditor, ViewAccountant, ViewReadAccountsBasic, ViewReadAccountsDetail,
	ViewReadBalances, ViewReadTransactionsBasic, ViewReadTransactionsDetail,
}

// View is a view definition held by the fake. System views are shared by every
// account; custom views (ids starting with "_") belong to one account.
type View struct {
	ID          string
	ShortName   *string // nil is sent as JSON null
	Description *string // nil is sent as JSON null
	// MetadataView is the view whose metadata this view shows ("owner" by default).
	MetadataView            string
	IsPublic                bool
	Alias                   string // "public", "private" or ""
	HideMetadataIfAliasUsed bool
	// Flags holds the can_* permissions that are true; the rest are sent as false.
	Flags map[string]bool

	// CanGrantAccessToViews and CanRevokeAccessToViews list the system views a holder
	// of this view may grant to or revoke from other users; CanGrantAccessToCustomViews
	// and CanRevokeAccessToCustomViews cover every custom view of the account.
	CanGrantAccessToViews        []string
	CanGrantAccessToCustomViews  bool
	CanRevokeAccessToViews       []string
	CanRevokeAccessToCustomViews bool
}

// IsSystemViewID reports whether id names a system view: OBP's custom view ids start
// with an underscore.
func IsSystemViewID(id string) bool { return !strings.HasPrefix(id, "_") }

func strPtr(s string) *string { return &s }

func flagSet(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

func allFlags() map[string]bool { return flagSet(viewFlags...) }

func systemViews() map[string]*View {
	accountFlags := []string{
		"can_see_bank_account_bank_name", "can_see_bank_account_currency",
		"can_see_bank_account_iban", "can_see_bank_account_label",
		"can_see_bank_account_number", "can_see_bank_account_owners",
		"can_see_bank_account_swift_bic", "can_see_bank_account_type",
		"can_see_bank_routing_scheme", "can_see_bank_routing_address",
		"can_see_bank_account_routing_scheme", "can_see_bank_account_routing_address",
	}
	txFlags := []string{
		"can_see_transaction_amount", "can_see_transaction_currency",
		"can_see_transaction_start_date", "can_see_transaction_finish_date",
		"can_see_transaction_type", "can_see_transaction_this_bank_account",
		"can_see_transaction_other_bank_account",
	}
	txDetail := append(append([]string{}, txFlags...),
		"can_see_transaction_description", "can_see_transaction_balance",
		"can_see_transaction_metadata", "can_see_other_account_bank_name",
		"can_see_other_account_iban", "can_see_other_account_number",
		"can_see_other_account_kind", "can_see_other_account_swift_bic")
	mk := func(id, short, desc string, flags ...string) *View {
		return &View{ID: id, ShortName: strPtr(short), Description: strPtr(desc),
			MetadataView: ViewOwner, Flags: flagSet(flags...)}
	}
	views := map[string]*View{
		ViewOwner: {
			ID: ViewOwner, ShortName: strPtr("Owner"), Description: strPtr("The owner of the account"),
			MetadataView: ViewOwner, Flags: allFlags(),
			CanGrantAccessToViews: append([]string{}, systemViewIDs...), CanGrantAccessToCustomViews: true,
			CanRevokeAccessToViews: append([]string{}, systemViewIDs...), CanRevokeAccessToCustomViews: true,
		},
		ViewAuditor:                mk(ViewAuditor, "Auditor", "Read access for auditors", append(append([]string{"can_see_bank_account_balance", "can_see_comments", "can_see_tags"}, accountFlags...), txDetail...)...),
		ViewAccountant:             mk(ViewAccountant, "Accountant", "Read access for accountants", append(append([]string{"can_see_bank_account_balance"}, accountFlags...), txDetail...)...),
		ViewReadAccountsBasic:      mk(ViewReadAccountsBasic, "Read Accounts Basic", "Basic account information", "can_see_bank_account_label", "can_see_bank_account_currency", "can_see_bank_account_type"),
		ViewReadAccountsDetail:     mk(ViewReadAccountsDetail, "Read Accounts Detail", "Detailed account information", accountFlags...),
		ViewReadBalances:           mk(ViewReadBalances, "Read Balances", "Account balances", "can_see_bank_account_balance", "can_query_available_funds", "can_see_bank_account_credit_limit"),
		ViewReadTransactionsBasic:  mk(ViewReadTransactionsBasic, "Read Transactions Basic", "Basic transaction information", txFlags...),
		ViewReadTransactionsDetail: mk(ViewReadTransactionsDetail, "Read Transactions Detail", "Detailed transaction information", txDetail...),
	}
	return views
}

// viewJSON renders v as OBP's ViewJsonV300 with the server's extra fields.
func viewJSON(v *View, isSystem bool, extra map[string]any) json.RawMessage {
	m := make(map[string]any, len(viewFlags)+16)
	m["id"] = v.ID
	m["short_name"] = v.ShortName
	m["description"] = v.Description
	m["metadata_view"] = v.MetadataView
	m["is_public"] = v.IsPublic
	m["is_system"] = isSystem
	m["alias"] = v.Alias
	m["hide_metadata_if_alias_used"] = v.HideMetadataIfAliasUsed
	for _, f := range viewFlags {
		m[f] = v.Flags[f]
	}
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		m[k] = extra[k]
	}
	b, _ := json.Marshal(m)
	return b
}

func cloneView(v *View) *View {
	c := *v
	c.Flags = make(map[string]bool, len(v.Flags))
	for k, val := range v.Flags {
		c.Flags[k] = val
	}
	c.CanGrantAccessToViews = append([]string(nil), v.CanGrantAccessToViews...)
	c.CanRevokeAccessToViews = append([]string(nil), v.CanRevokeAccessToViews...)
	if v.ShortName != nil {
		c.ShortName = strPtr(*v.ShortName)
	}
	if v.Description != nil {
		c.Description = strPtr(*v.Description)
	}
	return &c
}

// ViewFlags returns the 74 boolean permission flags of an OBP view (ViewJsonV300), in
// the order of the documentation.
func ViewFlags() []string { return append([]string(nil), viewFlags...) }

// SystemViews returns the ids of the fake's system views.
func SystemViews() []string { return append([]string(nil), systemViewIDs...) }

package obp

import (
	"bytes"
	"encoding/json"
	"reflect"
	"sort"
	"strings"
)

// View is an OBP view on an account (OBP's ViewJsonV300): who sees what, and who may
// do what. It carries every field OBP v4.0.0 documents, including all 74 can_*
// permission flags.
//
// Fields a newer server adds (for example further can_* flags) are kept in Extra and
// written back by MarshalJSON, so decoding and re-encoding a View loses nothing.
// Can and Permissions read documented and extra flags alike.
type View struct {
	ID string `json:"id"`
	// ShortName and Description may be JSON null.
	ShortName    *string `json:"short_name"`
	Description  *string `json:"description"`
	MetadataView string  `json:"metadata_view"`
	IsPublic     bool    `json:"is_public"`
	IsSystem     bool    `json:"is_system"`
	// Alias is "public", "private" or "".
	Alias                   string `json:"alias"`
	HideMetadataIfAliasUsed bool   `json:"hide_metadata_if_alias_used"`
	// IsFirehose is optional: OBP omits it unless set.
	IsFirehose *bool `json:"is_firehose,omitempty"`

	// The permission flags OBP v4.0.0 documents (Can and Permissions read them by
	// their JSON names).
	CanAddComment                        bool `json:"can_add_comment"`
	CanAddCorporateLocation              bool `json:"can_add_corporate_location"`
	CanAddImage                          bool `json:"can_add_image"`
	CanAddImageURL                       bool `json:"can_add_image_url"`
	CanAddMoreInfo                       bool `json:"can_add_more_info"`
	CanAddOpenCorporatesURL              bool `json:"can_add_open_corporates_url"`
	CanAddPhysicalLocation               bool `json:"can_add_physical_location"`
	CanAddPrivateAlias                   bool `json:"can_add_private_alias"`
	CanAddPublicAlias                    bool `json:"can_add_public_alias"`
	CanAddTag                            bool `json:"can_add_tag"`
	CanAddURL                            bool `json:"can_add_url"`
	CanAddWhereTag                       bool `json:"can_add_where_tag"`
	CanDeleteComment                     bool `json:"can_delete_comment"`
	CanAddCounterparty                   bool `json:"can_add_counterparty"`
	CanDeleteCorporateLocation           bool `json:"can_delete_corporate_location"`
	CanDeleteImage                       bool `json:"can_delete_image"`
	CanDeletePhysicalLocation            bool `json:"can_delete_physical_location"`
	CanDeleteTag                         bool `json:"can_delete_tag"`
	CanDeleteWhereTag                    bool `json:"can_delete_where_tag"`
	CanEditOwnerComment                  bool `json:"can_edit_owner_comment"`
	CanSeeBankAccountBalance             bool `json:"can_see_bank_account_balance"`
	CanQueryAvailableFunds               bool `json:"can_query_available_funds"`
	CanSeeBankAccountBankName            bool `json:"can_see_bank_account_bank_name"`
	CanSeeBankAccountCurrency            bool `json:"can_see_bank_account_currency"`
	CanSeeBankAccountIBAN                bool `json:"can_see_bank_account_iban"`
	CanSeeBankAccountLabel               bool `json:"can_see_bank_account_label"`
	CanSeeBankAccountNationalIdentifier  bool `json:"can_see_bank_account_national_identifier"`
	CanSeeBankAccountNumber              bool `json:"can_see_bank_account_number"`
	CanSeeBankAccountOwners              bool `json:"can_see_bank_account_owners"`
	CanSeeBankAccountSwiftBIC            bool `json:"can_see_bank_account_swift_bic"`
	CanSeeBankAccountType                bool `json:"can_see_bank_account_type"`
	CanSeeComments                       bool `json:"can_see_comments"`
	CanSeeCorporateLocation              bool `json:"can_see_corporate_location"`
	CanSeeImageURL                       bool `json:"can_see_image_url"`
	CanSeeImages                         bool `json:"can_see_images"`
	CanSeeMoreInfo                       bool `json:"can_see_more_info"`
	CanSeeOpenCorporatesURL              bool `json:"can_see_open_corporates_url"`
	CanSeeOtherAccountBankName           bool `json:"can_see_other_account_bank_name"`
	CanSeeOtherAccountIBAN               bool `json:"can_see_other_account_iban"`
	CanSeeOtherAccountKind               bool `json:"can_see_other_account_kind"`
	CanSeeOtherAccountMetadata           bool `json:"can_see_other_account_metadata"`
	CanSeeOtherAccountNationalIdentifier bool `json:"can_see_other_account_national_identifier"`
	CanSeeOtherAccountNumber             bool `json:"can_see_other_account_number"`
	CanSeeOtherAccountSwiftBIC           bool `json:"can_see_other_account_swift_bic"`
	CanSeeOwnerComment                   bool `json:"can_see_owner_comment"`
	CanSeePhysicalLocation               bool `json:"can_see_physical_location"`
	CanSeePrivateAlias                   bool `json:"can_see_private_alias"`
	CanSeePublicAlias                    bool `json:"can_see_public_alias"`
	CanSeeTags                           bool `json:"can_see_tags"`
	CanSeeTransactionAmount              bool `json:"can_see_transaction_amount"`
	CanSeeTransactionBalance             bool `json:"can_see_transaction_balance"`
	CanSeeTransactionCurrency            bool `json:"can_see_transaction_currency"`
	CanSeeTransactionDescription         bool `json:"can_see_transaction_description"`
	CanSeeTransactionFinishDate          bool `json:"can_see_transaction_finish_date"`
	CanSeeTransactionMetadata            bool `json:"can_see_transaction_metadata"`
	CanSeeTransactionOtherBankAccount    bool `json:"can_see_transaction_other_bank_account"`
	CanSeeTransactionStartDate           bool `json:"can_see_transaction_start_date"`
	CanSeeTransactionThisBankAccount     bool `json:"can_see_transaction_this_bank_account"`
	CanSeeTransactionType                bool `json:"can_see_transaction_type"`
	CanSeeURL                            bool `json:"can_see_url"`
	CanSeeWhereTag                       bool `json:"can_see_where_tag"`
	CanSeeBankRoutingScheme              bool `json:"can_see_bank_routing_scheme"`
	CanSeeBankRoutingAddress             bool `json:"can_see_bank_routing_address"`
	CanSeeBankAccountRoutingScheme       bool `json:"can_see_bank_account_routing_scheme"`
	CanSeeBankAccountRoutingAddress      bool `json:"can_see_bank_account_routing_address"`
	CanSeeOtherBankRoutingScheme         bool `json:"can_see_other_bank_routing_scheme"`
	CanSeeOtherBankRoutingAddress        bool `json:"can_see_other_bank_routing_address"`
	CanSeeOtherAccountRoutingScheme      bool `json:"can_see_other_account_routing_scheme"`
	CanSeeOtherAccountRoutingAddress     bool `json:"can_see_other_account_routing_address"`
	CanAddTransactionRequestToOwnAccount bool `json:"can_add_transaction_request_to_own_account"`
	CanAddTransactionRequestToAnyAccount bool `json:"can_add_transaction_request_to_any_account"`
	CanSeeBankAccountCreditLimit         bool `json:"can_see_bank_account_credit_limit"`
	CanCreateDirectDebit                 bool `json:"can_create_direct_debit"`
	CanCreateStandingOrder               bool `json:"can_create_standing_order"`

	// Extra holds the fields of the answer that View does not model, as received.
	Extra map[string]json.RawMessage `json:"-"`
}

// viewWire has View's fields without its methods, for the default JSON codec.
type viewWire View

// viewFieldIndex maps each modelled JSON name to its field index.
var viewFieldIndex = func() map[string]int {
	t := reflect.TypeOf(View{})
	m := make(map[string]int, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			m[name] = i
		}
	}
	return m
}()

// UnmarshalJSON decodes a view, keeping unknown fields in Extra.
func (v *View) UnmarshalJSON(data []byte) error {
	var w viewWire
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil {
		return err
	}
	for k, raw := range all {
		if _, known := viewFieldIndex[k]; known {
			continue
		}
		if w.Extra == nil {
			w.Extra = make(map[string]json.RawMessage)
		}
		w.Extra[k] = append(json.RawMessage(nil), raw...)
	}
	*v = View(w)
	return nil
}

// MarshalJSON encodes the view with its Extra fields (sorted by name, after the
// documented ones). An Extra entry never overrides a documented field.
func (v View) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(viewWire(v))
	if err != nil {
		return nil, err
	}
	if len(v.Extra) == 0 {
		return b, nil
	}
	keys := make([]string, 0, len(v.Extra))
	for k := range v.Extra {
		if _, known := viewFieldIndex[k]; !known {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var buf bytes.Buffer
	buf.Write(b[:len(b)-1]) // without the closing brace
	for _, k := range keys {
		raw := v.Extra[k]
		if !json.Valid(raw) {
			raw = json.RawMessage("null")
		}
		name, _ := json.Marshal(k)
		buf.WriteByte(',')
		buf.Write(name)
		buf.WriteByte(':')
		buf.Write(raw)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// Can reports whether the view grants the permission flag, e.g. "can_see_bank_account_balance".
// It reads the documented flags and boolean flags in Extra.
func (v View) Can(flag string) bool {
	if i, ok := viewFieldIndex[flag]; ok && strings.HasPrefix(flag, "can_") {
		return reflect.ValueOf(v).Field(i).Bool()
	}
	var b bool
	if raw, ok := v.Extra[flag]; ok && json.Unmarshal(raw, &b) == nil {
		return b
	}
	return false
}

// Permissions returns every can_* flag of the view, documented and extra (boolean
// ones only), with its value.
func (v View) Permissions() map[string]bool {
	out := make(map[string]bool, len(viewFieldIndex))
	rv := reflect.ValueOf(v)
	for name, i := range viewFieldIndex {
		if strings.HasPrefix(name, "can_") {
			out[name] = rv.Field(i).Bool()
		}
	}
	for k, raw := range v.Extra {
		var b bool
		if strings.HasPrefix(k, "can_") && json.Unmarshal(raw, &b) == nil {
			out[k] = b
		}
	}
	return out
}

package kh_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/kh"
)

func roundTrip[T ~string](t *testing.T, values []T, unknown T) {
	t.Helper()
	for _, v := range append(values, unknown) {
		b, err := json.Marshal(struct {
			V T `json:"v"`
		}{v})
		require.NoError(t, err)
		assert.Equal(t, `{"v":"`+string(v)+`"}`, string(b))
		var back struct {
			V T `json:"v"`
		}
		require.NoError(t, json.Unmarshal(b, &back))
		assert.Equal(t, v, back.V)
	}
	seen := map[T]bool{}
	for _, v := range values {
		assert.False(t, seen[v], "duplicate %q", v)
		seen[v] = true
	}
}

func TestStatusEnumsRoundTrip(t *testing.T) {
	roundTrip(t, kh.TransactionStatuses(), "XXXX")
	roundTrip(t, kh.ConsentStatuses(), "suspendedByBank")
	roundTrip(t, kh.ScaStatuses(), "somethingNew")
	roundTrip(t, kh.SCAApproaches(), "OAUTH")
	roundTrip(t, kh.BalanceTypes(), "authorised")
	roundTrip(t, kh.BookingStatuses(), "future")
	roundTrip(t, kh.Frequencies(), "Fortnightly")
	assert.Len(t, kh.TransactionStatuses(), 14)
	assert.Len(t, kh.ConsentStatuses(), 7)
	assert.Len(t, kh.ScaStatuses(), 9)
	assert.Len(t, kh.BalanceTypes(), 7)

	// The constants are the documented values.
	assert.Equal(t, []kh.TransactionStatus{kh.TransactionSettlementCompleted, kh.TransactionAccepted,
		kh.TransactionSettlementCompletedDebtor, kh.TransactionSettlementInProcess, kh.TransactionTechnicalValidation,
		kh.TransactionAcceptedWithChange, kh.TransactionAcceptedWithoutPosting, kh.TransactionReceived, kh.TransactionPending,
		kh.TransactionRejected, kh.TransactionCancelled, kh.TransactionAcceptedFundsChecked,
		kh.TransactionPartiallyAcceptedTechnical, kh.TransactionPartiallyAccepted}, kh.TransactionStatuses())
	assert.Equal(t, []kh.ConsentStatus{kh.ConsentReceived, kh.ConsentRejected, kh.ConsentValid, kh.ConsentRevokedByPSU,
		kh.ConsentExpired, kh.ConsentTerminatedByTPP, kh.ConsentPartiallyAuthorised}, kh.ConsentStatuses())
	assert.Equal(t, []kh.ScaStatus{kh.ScaReceived, kh.ScaPSUIdentified, kh.ScaPSUAuthenticated, kh.ScaMethodSelected,
		kh.ScaStarted, kh.ScaUnconfirmed, kh.ScaFinalised, kh.ScaFailed, kh.ScaExempted}, kh.ScaStatuses())

	// In a response: an unknown value is kept.
	var st kh.PaymentStatus
	require.NoError(t, json.Unmarshal([]byte(`{"transactionStatus":"ACXX","fundsAvailable":"true"}`), &st))
	assert.Equal(t, kh.TransactionStatus("ACXX"), st.TransactionStatus)
	assert.False(t, st.TransactionStatus.Final())
	require.NotNil(t, st.FundsAvailable)
	assert.True(t, bool(*st.FundsAvailable))
}

func decode(t *testing.T, status int, body string, hdr ...string) *kh.APIError {
	t.Helper()
	resp := &http.Response{StatusCode: status, Header: http.Header{}}
	for i := 0; i+1 < len(hdr); i += 2 {
		resp.Header.Set(hdr[i], hdr[i+1])
	}
	err := kh.DecodeError(resp, []byte(body))
	var ae *kh.APIError
	require.True(t, errors.As(err, &ae))
	return ae
}

func TestErrorBodyWithSeveralMessages(t *testing.T) {
	body := `{
	  "tppMessages": [
	    {"category": "ERROR", "code": "FORMAT_ERROR", "path": "instructedAmount.amount", "text": "amount has a wrong format"},
	    {"category": "ERROR", "code": "PSU_CREDENTIALS_INVALID", "path": null, "text": "wrong password"},
	    {"category": "WARNING", "code": "KH_SPECIAL_CODE", "path": "null", "text": "bank's own code"}
	  ],
	  "_links": {"scaStatus": {"href": "/v1/payments/payment-order/p1/authorisations/a1"}, "self": "/v1/x", "broken": null}
	}`
	ae := decode(t, 400, body, "X-Request-ID", "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0")
	assert.Equal(t, 400, ae.StatusCode)
	assert.Equal(t, "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0", ae.RequestID)
	assert.Equal(t, []kh.TPPMessage{
		{Category: "ERROR", Code: "FORMAT_ERROR", Path: "instructedAmount.amount", Text: "amount has a wrong format"},
		{Category: "ERROR", Code: "PSU_CREDENTIALS_INVALID", Text: "wrong password"},
		{Category: "WARNING", Code: "KH_SPECIAL_CODE", Text: "bank's own code"},
	}, ae.Messages)
	assert.True(t, ae.Has(kh.CodeFormatError))
	assert.True(t, ae.Has(kh.CodePSUCredentialsInvalid))
	assert.True(t, ae.Has("KH_SPECIAL_CODE"), "an unknown code is kept")
	assert.False(t, ae.Has(kh.CodeTokenUnknown))
	assert.Equal(t, []string{"FORMAT_ERROR", "PSU_CREDENTIALS_INVALID", "KH_SPECIAL_CODE"}, ae.Codes())
	assert.Equal(t, kh.Links{"scaStatus": {Href: "/v1/payments/payment-order/p1/authorisations/a1"}, "self": {Href: "/v1/x"}}, ae.Links)
	assert.Equal(t, "a1", ae.Links.AuthorisationID())
	assert.Equal(t, body, string(ae.Raw))
	msg := ae.Error()
	assert.True(t, strings.HasPrefix(msg, "kh: 400 Bad Request: FORMAT_ERROR (instructedAmount.amount): amount has a wrong format; PSU_CREDENTIALS_INVALID"), msg)
	assert.Contains(t, msg, "[request id 0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0]")
}

func TestErrorBodyVariants(t *testing.T) {
	ae := decode(t, 401, `{"tppMessage":{"category":"ERROR","code":"TOKEN_UNKNOWN"}}`)
	assert.True(t, ae.Has(kh.CodeTokenUnknown), "singular tppMessage")

	ae = decode(t, 403, `{"type":"https://berlingroup.com/error-codes/CONSENT_UNKNOWN","title":"Consent unknown","detail":"no such consent","code":"CONSENT_UNKNOWN","additionalErrors":[{"title":"x","detail":"second","code":"RESOURCE_UNKNOWN"}],"_links":null}`)
	assert.Equal(t, []string{"CONSENT_UNKNOWN", "RESOURCE_UNKNOWN"}, ae.Codes(), "RFC 7807")
	assert.Equal(t, "Consent unknown", ae.Title)
	assert.Nil(t, ae.Links)

	ae = decode(t, 403, `{"timestamp":"2024-01-01T00:00:00Z","status":403,"error":"Forbidden","message":"Access denied","path":"/v1/accounts"}`)
	assert.Empty(t, ae.Messages)
	assert.Equal(t, "Forbidden", ae.Title)
	assert.Contains(t, ae.Error(), "Access denied")

	ae = decode(t, 502, `<html>Bad gateway</html>`)
	assert.Empty(t, ae.Messages)
	assert.Equal(t, "<html>Bad gateway</html>", string(ae.Raw))
	assert.Equal(t, "kh: 502 Bad Gateway", ae.Error())

	ae = decode(t, 400, `{"tppMessages":[{"category":"ERROR","code":"FORMAT_ERROR"}],"_links":[1,2]}`)
	assert.True(t, ae.Has(kh.CodeFormatError), "an odd _links does not lose the messages")

	ae = decode(t, 500, ``)
	assert.Equal(t, "kh: 500 Internal Server Error", ae.Error())

	many := `{"tppMessages":[` + strings.Repeat(`{"code":"FORMAT_ERROR","text":"`+strings.Repeat("x", 600)+`"},`, 9) + `{"code":"LAST"}]}`
	ae = decode(t, 400, many)
	assert.Len(t, ae.Messages, 10)
	assert.Less(t, len(ae.Error()), 1500, "Error() stays readable")
	assert.Contains(t, ae.Error(), "and 5 more")
}

func TestLenientDecoding(t *testing.T) {
	var c kh.Consent
	require.NoError(t, json.Unmarshal([]byte(`{"access":{"balances":[{"iban":"HU42117730161111101800000000"}]},
		"recurringIndicator":"true","validUntil":"2999-12-31","frequencyPerDay":"4","lastActionDate":"2024-05-01",
		"consentStatus":"valid","_links":{"account":{"href":"/v1/accounts"}}}`), &c))
	assert.True(t, bool(c.RecurringIndicator))
	assert.Equal(t, kh.Int(4), c.FrequencyPerDay)

	var tx kh.Transaction
	require.NoError(t, json.Unmarshal([]byte(`{"transactionAmount":{"currency":"HUF","amount":-1500.5},
		"remittanceInformationStructured":"RF18539007547034","batchIndicator":"false","batchNumberOfTransactions":"3"}`), &tx))
	assert.Equal(t, "-1500.5", tx.TransactionAmount.Amount, "a numeric amount kept as a string")
	assert.Equal(t, "RF18539007547034", tx.RemittanceInformationStructured.Reference)
	assert.Equal(t, kh.Int(3), *tx.BatchNumberOfTransactions)
	require.NoError(t, json.Unmarshal([]byte(`{"transactionAmount":{"currency":"HUF","amount":"1"},
		"remittanceInformationStructured":{"reference":"RF18","referenceType":"SCOR","referenceIssuer":"ISO"}}`), &tx))
	assert.Equal(t, kh.RemittanceStructured{Reference: "RF18", ReferenceType: "SCOR", ReferenceIssuer: "ISO"}, *tx.RemittanceInformationStructured)

	var a kh.Authorisation
	require.NoError(t, json.Unmarshal([]byte(`{"authorisationId":"a1","scaStatus":"psuAuthenticated",
		"challengeData":{"otpMaxLength":"6","data":"enter the code"},"_links":{"startAuthenticationWithPsuAuthentication":{"href":"/x"}}}`), &a))
	assert.Equal(t, 6, a.ChallengeData.OTPMaxLength)
	assert.Equal(t, []string{"enter the code"}, a.ChallengeData.Data)
	assert.Equal(t, "/x", a.Links.StartLink(), "the Berlin Group example's misspelt link name")

	// Sending: amounts stay strings, a structured remittance with only a reference is
	// the 1.3.8+ string.
	b, err := json.Marshal(kh.Transfer{InstructedAmount: kh.Amount{Currency: "HUF", Amount: "10.50"},
		RemittanceInformationStructured: &kh.RemittanceStructured{Reference: "RF18"}})
	require.NoError(t, err)
	assert.Contains(t, string(b), `"instructedAmount":{"currency":"HUF","amount":"10.50"}`)
	assert.Contains(t, string(b), `"remittanceInformationStructured":"RF18"`)

	var p kh.TransactionPage
	require.NoError(t, json.Unmarshal([]byte(`{"transactions":{"booked":[{"transactionAmount":{"currency":"EUR","amount":"1"}}],
		"information":[{"transactionAmount":{"currency":"EUR","amount":"2"}}],"_links":{"next":"/v1/accounts/a/transactions?page=2"}}}`), &p))
	require.Len(t, p.All(), 2)
	assert.Equal(t, kh.BookingInformation, p.All()[1].BookingStatus)
	assert.Equal(t, "/v1/accounts/a/transactions?page=2", p.ReportLinks.Get(kh.LinkNext))
}

func TestValidIBAN(t *testing.T) {
	for _, ok := range []string{"HU42117730161111101800000000", "DE89370400440532013000", "GB29NWBK60161331926819"} {
		assert.True(t, kh.ValidIBAN(ok), ok)
	}
	for _, bad := range []string{"", "HU4211773016", "HU43117730161111101800000000", "hu42117730161111101800000000", "HU42 1177 3016"} {
		assert.False(t, kh.ValidIBAN(bad), bad)
	}
}

func FuzzDecodeError(f *testing.F) {
	for _, s := range []string{
		`{"tppMessages":[{"category":"ERROR","code":"TOKEN_UNKNOWN","path":"a","text":"b"}],"_links":{"self":{"href":"/x"}}}`,
		`{"tppMessage":{"code":"FUNDS_NOT_AVAILABLE"}}`,
		`{"type":"t","title":"x","detail":"y","code":"CONSENT_UNKNOWN","additionalErrors":[{"code":"A"}]}`,
		`{"tppMessages":null,"_links":null}`, `{"tppMessages":[{"code":1,"path":false}]}`,
		`<html/>`, ``, `{`, `[]`, `{"tppMessages":"x"}`, `{"_links":{"a":1,"b":"c","d":{"href":null}}}`,
	} {
		f.Add(401, s)
	}
	f.Fuzz(func(t *testing.T, status int, body string) {
		err := kh.DecodeError(&http.Response{StatusCode: status, Header: http.Header{}}, []byte(body))
		var ae *kh.APIError
		if !errors.As(err, &ae) {
			t.Fatalf("DecodeError returned %T", err)
		}
		_ = ae.Error()
		_ = ae.Has(kh.CodeTokenUnknown)
		if string(ae.Raw) != body {
			t.Fatal("raw body not kept")
		}
	})
}

func FuzzDecodeAnswers(f *testing.F) {
	for _, s := range []string{
		`{"transactions":{"booked":[{"transactionAmount":{"currency":"HUF","amount":"1"},"remittanceInformationStructured":{"reference":"x"}}],"_links":{"next":{"href":"/n"}}},"_links":{"download":"/d"}}`,
		`{"transactionStatus":"RCVD","paymentId":"p","_links":{"scaRedirect":{"href":"https://x"}},"tppMessages":[{"code":"WARNING"}],"challengeData":{"otpMaxLength":"x"}}`,
		`{"consentStatus":"valid","consentId":"c","scaMethods":[{"authenticationType":"SMS_OTP","authenticationMethodId":"1"}]}`,
		`{"access":{},"recurringIndicator":"yes","frequencyPerDay":1.5}`, `{"authorisationIds":null,"cancellationIds":["a"]}`,
		`null`, `[]`, `{"transactionAmount":{"amount":{}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var page kh.TransactionPage
		_ = json.Unmarshal(b, &page)
		_ = page.All()
		var pi kh.PaymentInitiation
		_ = json.Unmarshal(b, &pi)
		_ = pi.Links.AuthorisationID()
		_ = pi.Links.StartLink()
		var cc kh.ConsentCreated
		_ = json.Unmarshal(b, &cc)
		var c kh.Consent
		_ = json.Unmarshal(b, &c)
		var l kh.AuthorisationList
		_ = json.Unmarshal(b, &l)
		var d kh.PaymentDetails[kh.BulkPayment]
		_ = json.Unmarshal(b, &d)
	})
}

package conformance

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FuzzAnswer feeds the connector's answer bytes to every check that reads them: none
// may panic, a verdict always comes with a printable detail, and a 2xx answer is
// never taken for a documented error.
func FuzzAnswer(f *testing.F) {
	for _, seed := range []string{
		`{"error_class":"JWTExpiredSignature","error_message":"JWT has expired"}`,
		`{"error_class":"","error_message":1}`,
		`{"error":{"class":"TokenNotFound"}}`,
		`{"data":[{"id":"724","name":"Example Name","iban":"FK54RAND61068421435452","currency_code":"USD","extra":{},"number":"619656558","sort_code":"82-78-66","swift_code":"TBNFFR23PAR","nature":"credit","payment_account":false,"balance":"5000.00","available_amount":"4995.00","credit_limit":"7000","status":"active"}]}`,
		`{"data":[{"id":"378","account_id":"241","amount":"38.85","currency_code":"GBP","description":"Test transaction","made_on":"2019-11-18T16:04:49.573Z","status":"posted","fees":[{}],"extra":{"mcc":"x"}}]}`,
		`{"data":{"name":"Example Name"}}`,
		`{"data":[1,null,"x",{"balance":1e400}]}`,
		`[]`, `null`, ``, "\x00\xff",
	} {
		f.Add(200, []byte(seed))
		f.Add(400, []byte(seed))
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		a := &answer{status: status, header: http.Header{"Content-Type": {"application/json"}}, body: body}
		for _, judge := range []func(*answer) (string, bool){
			func(a *answer) (string, bool) { return expectError(a, documentedClasses...) }, okAnswer, optionalAnswer,
		} {
			detail, _ := judge(a)
			assert.False(t, strings.ContainsAny(detail, "\n\r\x00"), "a detail is one printable line")
		}
		if status >= 200 && status < 300 {
			_, ok := expectError(a, documentedClasses...)
			assert.False(t, ok, "a 2xx answer is not an error")
		}
		data, _, ok := dataAnswer(a)
		if !ok {
			return
		}
		if list, err := objects(data); err == nil {
			_, problems := validateAccounts(list)
			_ = validateTransactions(list, "241")
			for _, p := range problems {
				assert.NotContains(t, p, "\n")
			}
		}
		if obj, err := object(data); err == nil {
			_ = validateKYC(obj)
		}
	})
}

// FuzzCallback feeds a callback's JWT and payload to the receiver's readers: no
// panic, and a problem never quotes the token.
func FuzzCallback(f *testing.F) {
	f.Add("eyJhbGciOiJSUzI1NiJ9.eyJkYXRhIjp7InNlc3Npb25fc2VjcmV0IjoiYWJjIn0sImV4cCI6MTc5OTk5OTk5OX0.c2ln",
		[]byte(`{"session_secret":"abc","status":"redirect","extra":{"redirect_url":"https://bank.example/authorize"}}`))
	f.Add("e30.e30.", []byte(`{"session_secret":"abc","token":"t","interactive_step_instruction":{"interactive_field":"sms_pincode"}}`))
	f.Add("a.b", []byte(`{"session_secret":1}`))
	f.Add("", []byte(`null`))
	f.Fuzz(func(t *testing.T, tok string, payload []byte) {
		rc := &receiver{sessions: map[string]bool{"abc": true}, changed: make(chan struct{})}
		rc.now = func() time.Time { return time.Unix(1700000000, 0) }
		data, err := rc.verify(tok)
		if err != nil {
			if len(tok) > 12 {
				assert.NotContains(t, err.Error(), tok)
			}
		} else {
			require.True(t, strings.HasPrefix(strings.TrimSpace(string(data)), "{"))
		}
		var cb callback
		if problem := rc.readSession(&cb, json.RawMessage(payload)); problem == "" {
			assert.Equal(t, "abc", cb.session)
		}
	})
}

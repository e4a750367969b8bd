package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/kh"
	"github.com/banksdk/banksdk/obp"
	"github.com/banksdk/banksdk/saltedge"
	"github.com/banksdk/banksdk/tkey7"
	"github.com/banksdk/banksdk/tpv"
	"github.com/banksdk/banksdk/tpv/tpvtest"
)

// fakebankProcess is the command started as a subprocess.
type fakebankProcess struct {
	cmd    *exec.Cmd
	info   startupInfo
	stderr *bytes.Buffer
	exited chan error
}

// startFakebank builds the command and starts it with -json and free ports, and
// reads its startup information.
func startFakebank(t *testing.T, args ...string) *fakebankProcess {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "fakebank")
	build := exec.Command("go", "build", "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)

	p := &fakebankProcess{stderr: &bytes.Buffer{}, exited: make(chan error, 1)}
	p.cmd = exec.Command(bin, append([]string{"-json"}, args...)...)
	p.cmd.Stderr = p.stderr
	stdout, err := p.cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, p.cmd.Start())
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- line
		_, _ = io.Copy(io.Discard, stdout)
		p.exited <- p.cmd.Wait()
	}()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			select {
			case <-p.exited:
			case <-time.After(10 * time.Second):
				t.Error("fakebank did not exit within 10s of being killed")
			}
		}
	})
	select {
	case line := <-lines:
		require.NoError(t, json.Unmarshal([]byte(line), &p.info), "the startup output is one JSON document: %q; stderr: %s", line, p.stderr)
	case <-time.After(60 * time.Second):
		t.Fatalf("no startup output within 60s; stderr: %s", p.stderr)
	}
	return p
}

// control sends a control request and decodes the JSON answer into out (when not nil).
func (p *fakebankProcess) control(t *testing.T, method, path, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, p.info.Control+path, strings.NewReader(body))
	require.NoError(t, err)
	hc := &http.Client{Timeout: 10 * time.Second}
	defer hc.CloseIdleConnections()
	resp, err := hc.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	if out != nil {
		require.NoError(t, json.Unmarshal(raw, out), "%s", raw)
	}
	return resp.StatusCode
}

func (p *fakebankProcess) requests(t *testing.T, provider string) []loggedRequest {
	t.Helper()
	var log struct {
		Requests []loggedRequest `json:"requests"`
	}
	require.Equal(t, http.StatusOK, p.control(t, http.MethodGet, "/"+provider+"/requests", "", &log))
	return log.Requests
}

func count(reqs []loggedRequest, method, path string) (n int, faults []string) {
	for _, r := range reqs {
		if r.Method == method && r.Path == path {
			n++
			faults = append(faults, r.Fault)
		}
	}
	return n, faults
}

var quiet = slog.New(slog.DiscardHandler)

func TestFakebankEndToEnd(t *testing.T) {
	certs := filepath.Join(t.TempDir(), "certs")
	p := startFakebank(t, "-seed", "e2e", "-certs-dir", certs)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	require.ElementsMatch(t, providerNames, keys(p.info.Providers))
	assert.Equal(t, certs, p.info.CertsDir)
	var root startupInfo
	require.Equal(t, http.StatusOK, p.control(t, http.MethodGet, "/", "", &root))
	assert.Equal(t, p.info, root, "GET / answers the startup information")

	t.Run("tkey7", func(t *testing.T) { e2eTKEY7(ctx, t, p) })
	t.Run("tpv", func(t *testing.T) { e2eTPV(ctx, t, p) })
	t.Run("kh", func(t *testing.T) { e2eKH(ctx, t, p) })
	t.Run("obp", func(t *testing.T) { e2eOBP(ctx, t, p) })
	t.Run("saltedge", func(t *testing.T) { e2eSaltEdge(ctx, t, p) })

	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-p.exited:
		require.NoError(t, err, "fakebank exits 0 on SIGTERM; stderr: %s", p.stderr)
		assert.Contains(t, p.stderr.String(), "fakebank: stopped")
	case <-time.After(10 * time.Second):
		// The control API gets 300 ms to finish and the providers' servers are closed;
		// this catches a stop that hangs, with room for a loaded machine.
		t.Fatalf("fakebank did not exit within 10s of SIGTERM; stderr: %s", p.stderr)
	}
	_, err := os.Stat(filepath.Join(certs, "kh-client-cert.pem"))
	assert.NoError(t, err, "files in a -certs-dir stay after exit")
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func e2eTKEY7(ctx context.Context, t *testing.T, p *fakebankProcess) {
	info := p.info.Providers["tkey7"]
	issuedAt, err := time.Parse(time.RFC3339Nano, info.Credentials.Get("issued_at"))
	require.NoError(t, err)
	c, err := tkey7.NewClient(tkey7.WithBaseURL(info.URL), tkey7.WithAccessToken(info.Credentials.Get("access_token"), issuedAt),
		tkey7.WithLogger(quiet))
	require.NoError(t, err)
	defer c.Close()
	list, err := c.DigitalAccounts.List(ctx)
	require.NoError(t, err)
	assert.Equal(t, 3, list.Len())

	var clk clockAnswer
	require.Equal(t, http.StatusOK, p.control(t, http.MethodPost, "/tkey7/clock", `{"advance_ms": 900001}`, &clk))
	assert.Equal(t, int64(900001), clk.OffsetMS)
	_, err = c.DigitalAccounts.List(ctx)
	require.Error(t, err)
	assert.True(t, errors.Is(err, tkey7.ErrTokenRevoked), "past the revoke window by the fake's clock the token is revoked: %v", err)

	// A reset issues the same token again, and the clock is back on the wall clock.
	var after providerInfo
	require.Equal(t, http.StatusOK, p.control(t, http.MethodPost, "/tkey7/reset", "", &after))
	assert.Equal(t, info.Credentials.Get("access_token"), after.Credentials.Get("access_token"))
	require.Equal(t, http.StatusOK, p.control(t, http.MethodGet, "/tkey7/clock", "", &clk))
	assert.Zero(t, clk.OffsetMS)
	fresh, err := tkey7.NewClient(tkey7.WithBaseURL(info.URL), tkey7.WithAccessToken(after.Credentials.Get("access_token"), time.Time{}),
		tkey7.WithLogger(quiet))
	require.NoError(t, err)
	defer fresh.Close()
	list, err = fresh.DigitalAccounts.List(ctx)
	require.NoError(t, err)
	assert.Equal(t, 3, list.Len())
}

func exampleSale() tpv.Enrollment {
	return tpv.Enrollment{
		DigitalDelivery: tpv.DigitalDeliveryEmail, Channel: tpv.ChannelDTD, Language: tpv.LanguageEnglish,
		Market: tpv.MarketResidential, AuthorizingFirstName: "Bill", AuthorizingLastName: "Jones",
		BillingFirstName: "Bill", BillingLastName: "Jones", BTN: "19181112222", EmailAddress: "bill@jones.com",
		ServiceAddress: "123 Main St.", ServiceCity: "New York", ServiceState: "NY", ServiceZip: "10001",
		BillingAddress: "123 Main St.", BillingCity: "New York", BillingState: "NY", BillingZip: "10001",
		Vendor: "TPV Test", SalesAgentID: "testest",
		Products: []tpv.Product{{ProgramCode: "555",
			AccountNumbers: []tpv.AccountNumber{{AccountNumber: "123123123123123", AccountNumberLabel: "Account Number"}}}},
	}
}

func e2eTPV(ctx context.Context, t *testing.T, p *fakebankProcess) {
	info := p.info.Providers["tpv"]
	c, err := tpv.NewClient(tpv.WithBaseURL(info.URL),
		tpv.WithCredentials(info.Credentials.Get("app_token"), info.Credentials.Get("app_secret")), tpv.WithLogger(quiet))
	require.NoError(t, err)
	conf, err := c.SubmitTPV(ctx, exampleSale())
	require.NoError(t, err)
	assert.Equal(t, tpvtest.FirstConfirmationCode, conf.Code)

	var spec faultSpec
	require.Equal(t, http.StatusCreated, p.control(t, http.MethodPost, "/tpv/faults",
		`{"kind":"act-then","status":504,"method":"POST","path":"/api/v1/tpv"}`, &spec))
	assert.Equal(t, 1, spec.Count)
	require.Equal(t, http.StatusOK, p.control(t, http.MethodDelete, "/tpv/requests", "", nil))
	_, err = c.SubmitTPV(ctx, exampleSale())
	require.Error(t, err)
	assert.True(t, errors.Is(err, tpv.ErrOutcomeUnknown), "a 504 after the portal acted is an unknown outcome: %v", err)
	n, faults := count(p.requests(t, "tpv"), http.MethodPost, tpvtest.PathTPV)
	assert.Equal(t, 1, n, "the client sent the sale once and did not resend it")
	assert.Equal(t, []string{"act-then-status"}, faults)

	// The fault was taken: the next sale goes through, as the third the portal stored.
	conf, err = c.SubmitTPV(ctx, exampleSale())
	require.NoError(t, err)
	assert.Equal(t, "00090894409", conf.Code)
}

func e2eKH(ctx context.Context, t *testing.T, p *fakebankProcess) {
	info := p.info.Providers["kh"]
	caPEM, err := os.ReadFile(info.Credentials.Get("root_ca_file"))
	require.NoError(t, err)
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(caPEM), "root_ca_file holds a PEM certificate")
	c, err := kh.NewClient(kh.WithBaseURL(info.URL),
		kh.WithClientCertificateFiles(info.Credentials.Get("client_certificate_file"), info.Credentials.Get("client_key_file")),
		kh.WithRootCAs(roots), kh.WithAppToken(info.Credentials.Get("app_token")),
		kh.WithApplicationID(info.Credentials.Get("application_id")), kh.WithLogger(quiet))
	require.NoError(t, err)
	defer c.Close()
	psu := []kh.RequestOption{kh.PSUIPAddress("192.0.2.10"), kh.RedirectPreferred(false), kh.PSUID(info.Credentials.Get("psu_id"))}
	created, err := c.Consents.Create(ctx, kh.PSUIdentificationConsent(time.Now().AddDate(0, 3, 0).Format("2006-01-02")), psu...)
	require.NoError(t, err)
	a, err := c.Consents.Authorisations.Start(ctx, created.ConsentID, kh.AuthorisationRequest{}, psu...)
	require.NoError(t, err)
	up, err := c.Consents.Authorisations.Update(ctx, created.ConsentID, a.AuthorisationID, kh.PSUPassword(info.Credentials.Get("psu_password")))
	require.NoError(t, err)
	require.NotEmpty(t, up.ScaMethods)
	up, err = c.Consents.Authorisations.Update(ctx, created.ConsentID, a.AuthorisationID, kh.SelectMethod(up.ScaMethods[0].AuthenticationMethodID))
	require.NoError(t, err)
	require.Equal(t, kh.ScaMethodSelected, up.ScaStatus)
	up, err = c.Consents.Authorisations.Update(ctx, created.ConsentID, a.AuthorisationID, kh.OTP(info.Credentials.Get("psu_otp")))
	require.NoError(t, err)
	assert.Equal(t, kh.ScaFinalised, up.ScaStatus)
	st, err := c.Consents.Status(ctx, created.ConsentID)
	require.NoError(t, err)
	assert.Equal(t, kh.ConsentValid, st.ConsentStatus)
	list, err := c.Accounts.List(ctx, created.ConsentID)
	require.NoError(t, err)
	assert.NotEmpty(t, list.Accounts)

	n, _ := count(p.requests(t, "kh"), http.MethodPost, "/v1/consents")
	assert.Equal(t, 1, n)
	for _, r := range p.requests(t, "kh") {
		assert.Contains(t, r.HeaderNames, "X-Request-Id", "over TLS the log names the parsed headers: %+v", r)
	}
}

func e2eOBP(ctx context.Context, t *testing.T, p *fakebankProcess) {
	info := p.info.Providers["obp"]
	cr := info.Credentials
	c, err := obp.NewClient(obp.WithBaseURL(info.URL), obp.WithDirectLogin(cr.Get("username"), cr.Get("password"), cr.Get("consumer_key")),
		obp.WithLogger(quiet))
	require.NoError(t, err)
	me, err := c.Users.Current(ctx)
	require.NoError(t, err)
	require.NotNil(t, me.Username)
	assert.Equal(t, cr.Get("username"), *me.Username)

	keyPEM, err := os.ReadFile(cr.Get("dauth_private_key_file"))
	require.NoError(t, err)
	key, err := auth.LoadRSAPrivateKey(keyPEM)
	require.NoError(t, err)
	dc, err := obp.NewClient(obp.WithBaseURL(info.URL), obp.WithLogger(quiet), obp.WithDAuth(obp.DAuthConfig{
		PrivateKey: key, SmartContractAddress: cr.Get("dauth_smart_contract_address"),
		NetworkName: cr.Get("dauth_network_name"), MsgSender: cr.Get("dauth_msg_sender"), ConsumerKey: cr.Get("consumer_key"),
	}))
	require.NoError(t, err)
	dme, err := dc.Users.Current(ctx)
	require.NoError(t, err)
	require.NotNil(t, dme.Username)
	assert.Equal(t, cr.Get("dauth_smart_contract_address"), *dme.Username)
	// The DAuth identity holds the owner view of the default account: it may grant.
	_, err = dc.AccountAccess.Grant(ctx, cr.Get("bank_id"), cr.Get("account_id"),
		obp.AccountAccessRequest{UserID: me.UserID, View: obp.ViewSelector{ViewID: "ReadBalances", IsSystem: true}})
	require.NoError(t, err)

	reqs := p.requests(t, "obp")
	require.NotEmpty(t, reqs)
	var dauth bool
	for _, r := range reqs {
		for _, h := range r.HeaderNames {
			dauth = dauth || h == "DAuth"
		}
	}
	assert.True(t, dauth, "the log keeps header names as sent: %+v", reqs)
}

func e2eSaltEdge(ctx context.Context, t *testing.T, p *fakebankProcess) {
	info := p.info.Providers["saltedge"]
	cr := info.Credentials
	var opened struct {
		SessionSecret string `json:"session_secret"`
	}
	require.Equal(t, http.StatusCreated, p.control(t, http.MethodPost, "/saltedge/sessions", `{"session_secret":"sess-e2e"}`, &opened))
	assert.Equal(t, "sess-e2e", opened.SessionSecret)
	keyPEM, err := os.ReadFile(cr.Get("private_key_file"))
	require.NoError(t, err)
	c, err := saltedge.NewClient(saltedge.WithBaseURL(info.URL), saltedge.WithAppID(cr.Get("app_id")),
		saltedge.WithAppSecret(cr.Get("app_secret")), saltedge.WithPrivateKeyPEM(keyPEM), saltedge.WithLogger(quiet))
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Sessions.Update(ctx, saltedge.RedirectUpdate("sess-e2e", "https://bank.example/authorize"))
	require.NoError(t, err)
	_, err = c.Sessions.Success(ctx, saltedge.SessionSuccess{SessionSecret: "sess-e2e", Token: "tok-e2e", UserID: "customer-1"})
	require.NoError(t, err)
	page, err := c.Tokens.Index(ctx, saltedge.TokensQuery{})
	require.NoError(t, err)
	require.Len(t, page.Tokens, 1)
	assert.Contains(t, string(page.Tokens[0]), `"tok-e2e"`)

	// A session the control API did not open is refused with the documented class.
	_, err = c.Sessions.Success(ctx, saltedge.SessionSuccess{SessionSecret: "never-opened"})
	var apiErr *saltedge.APIError
	require.True(t, errors.As(err, &apiErr), "%v", err)
	assert.True(t, apiErr.Has("SessionNotFound"), "%v", err)
	n, _ := count(p.requests(t, "saltedge"), http.MethodPost, "/api/connectors/v1/sessions/success")
	assert.Equal(t, 2, n)
}

package browsertest

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/kh"
	"github.com/banksdk/banksdk/kh/khtest"
)

// browserTimeout bounds everything one test asks of the browser.
const browserTimeout = 60 * time.Second

// chromium returns the path of a Chromium on PATH. Without one the test skips, or
// fails in CI (CI=true), where the browser must be installed.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const how = "no Chromium on PATH (chromium, chromium-browser, google-chrome); on Debian install it with: apt-get update && apt-get install -y chromium"
	if os.Getenv("CI") == "true" {
		t.Fatal(how)
	}
	t.Skip(how)
	return ""
}

// spki is the base64 SHA-256 of a certificate's public key, as Chromium's
// --ignore-certificate-errors-spki-list takes it.
func spki(t *testing.T, der []byte) string {
	t.Helper()
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// newBrowser starts a headless Chromium that trusts the given certificates (by their
// public keys) and returns a context of one of its tabs, bounded by browserTimeout.
// The browser stops when the test ends.
func newBrowser(t *testing.T, trusted ...[]byte) context.Context {
	t.Helper()
	exe := chromium(t)
	var keys []string
	for _, der := range trusted {
		keys = append(keys, spki(t, der))
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(t.TempDir()), // the SPKI list works only with a user data dir
		chromedp.Flag("ignore-certificate-errors-spki-list", strings.Join(keys, ",")),
		chromedp.NoSandbox, // CI runs as root, where Chromium's sandbox cannot start
		chromedp.WindowSize(800, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
	})
	// The first Run starts the browser and lives as long as its context: no deadline
	// on that one. Starting is bounded by a watchdog instead.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		require.NoError(t, err, "start Chromium")
	case <-time.After(browserTimeout):
		cancelBrowser()
		t.Fatalf("Chromium did not start within %v", browserTimeout)
	}
	tctx, cancel := context.WithTimeout(ctx, browserTimeout)
	t.Cleanup(cancel)
	return tctx
}

// tpp is the TPP's site the screen redirects the browser back to.
type tpp struct {
	srv  *httptest.Server
	hits chan *http.Request
}

func newTPP(t *testing.T) *tpp {
	t.Helper()
	p := &tpp{hits: make(chan *http.Request, 4)}
	p.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/favicon.ico" {
			http.NotFound(w, r)
			return
		}
		select {
		case p.hits <- r.Clone(context.Background()):
		default:
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<!doctype html><title>TPP</title><h1 id=\"tpp\">Back at the TPP: " + r.URL.Path + "</h1>"))
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// wait returns the next request the TPP's site received.
func (p *tpp) wait(t *testing.T) *http.Request {
	t.Helper()
	select {
	case r := <-p.hits:
		return r
	case <-time.After(browserTimeout):
		t.Fatal("the browser did not come back to the TPP")
		return nil
	}
}

// env is one test's bank, TPP site, kh client and browser.
type env struct {
	t       *testing.T
	bank    *khtest.Server
	tpp     *tpp
	client  *kh.Client
	browser context.Context
	shots   string // screenshot directory
	n       int    // screenshots taken
}

func setup(t *testing.T) *env {
	t.Helper()
	chromium(t) // skip before starting anything
	p := newTPP(t)
	bank := khtest.NewServer(khtest.WithRedirectHost("127.0.0.1"))
	t.Cleanup(bank.Close)
	client, err := kh.NewClient(
		kh.WithBaseURL(bank.URL()),
		kh.WithClientCertificate(bank.ClientCertificate()),
		kh.WithRootCAs(bank.RootCAs()),
		kh.WithAppToken(bank.AppToken()),
	)
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Close() })

	bankCert := bank.PKI().ServerTLSConfig().Certificates[0].Certificate[0]
	e := &env{t: t, bank: bank, tpp: p, client: client,
		browser: newBrowser(t, bankCert, p.srv.Certificate().Raw), shots: t.TempDir()}
	if dir := os.Getenv("BANKSDK_SCREENSHOTS"); dir != "" {
		e.shots = filepath.Join(dir, t.Name())
		require.NoError(t, os.MkdirAll(e.shots, 0o755))
	}
	return e
}

// consent creates a PSU identification consent for redirect SCA and returns it with
// the URL to send the PSU to (the scaRedirect link with the token parameter).
func (e *env) consent(ctx context.Context) (*kh.ConsentCreated, string) {
	e.t.Helper()
	c, err := e.client.Consents.Create(ctx, kh.PSUIdentificationConsent("2999-12-31"),
		kh.PSUIPAddress("192.0.2.1"), kh.RedirectPreferred(true),
		kh.RedirectURI(e.tpp.srv.URL+"/sca/ok?state=s1"), kh.NokRedirectURI(e.tpp.srv.URL+"/sca/nok?state=s1"))
	require.NoError(e.t, err)
	require.Equal(e.t, kh.ConsentReceived, c.ConsentStatus)
	link := c.Links.Get(kh.LinkSCARedirect)
	require.True(e.t, strings.HasPrefix(link, e.bank.SCAURL()+"/"), link)
	u, err := e.client.SCARedirectURL(ctx, link)
	require.NoError(e.t, err)
	return c, u
}

// shot saves a screenshot of the page the browser shows.
func (e *env) shot(name string) {
	e.t.Helper()
	png, err := chromedp.Run(e.browser, chromedp.FullScreenshot(100))
	require.NoError(e.t, err, "screenshot %s", name)
	e.n++
	path := filepath.Join(e.shots, fmt.Sprintf("%02d-%s.png", e.n, name))
	require.NoError(e.t, os.WriteFile(path, png, 0o644))
	e.t.Logf("screenshot: %s", path)
}

// at waits for the element of a page step, checks the page runs no script, and takes
// a screenshot of it.
func (e *env) at(sel, name string) {
	e.t.Helper()
	require.NoError(e.t, chromedp.Do(e.browser, chromedp.WaitVisible(chromedp.CSS(sel))), "waiting for %s", sel)
	scripts, err := chromedp.Run(e.browser, chromedp.Evaluate[int](`document.scripts.length`))
	require.NoError(e.t, err)
	assert.Zero(e.t, scripts, "the screen needs no JavaScript")
	e.shot(name)
}

// toOTP opens the screen and goes through the login and method steps.
func (e *env) toOTP(u string) {
	e.t.Helper()
	psuID, password, _ := e.bank.PSU()
	require.NoError(e.t, chromedp.Do(e.browser, chromedp.Navigate(u)))
	e.at("form#login", "login")
	require.NoError(e.t, chromedp.Do(e.browser,
		chromedp.SendKeys(chromedp.CSS("#psu-id"), psuID),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS("#login-submit")),
	))
	e.at("form#method", "method")
	require.NoError(e.t, chromedp.Do(e.browser,
		chromedp.Click(chromedp.CSS("#method-mtoken")),
		chromedp.Click(chromedp.CSS("#method-submit")),
	))
	e.at("form#otp-form", "otp")
	challenge, err := chromedp.Run(e.browser, chromedp.Text(chromedp.CSS("#challenge")))
	require.NoError(e.t, err)
	assert.Equal(e.t, "Enter the code sent by Mobile token.", challenge)
}

func TestKHRedirectSCAApprove(t *testing.T) {
	e := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	defer cancel()
	consent, u := e.consent(ctx)
	_, _, otp := e.bank.PSU()

	e.toOTP(u)
	require.NoError(t, chromedp.Do(e.browser,
		chromedp.SendKeys(chromedp.CSS("#otp"), otp),
		chromedp.Click(chromedp.CSS("#approve")),
	))
	hit := e.tpp.wait(t)
	assert.Equal(t, "/sca/ok", hit.URL.Path)
	assert.Equal(t, "s1", hit.URL.Query().Get("state"))
	assert.Empty(t, hit.Header.Get("Referer"), "the screen's URL (with the token) is not sent on")
	e.at("#tpp", "tpp")
	loc, err := chromedp.Run(e.browser, chromedp.Location())
	require.NoError(t, err)
	assert.Equal(t, e.tpp.srv.URL+"/sca/ok?state=s1", loc)

	st, err := e.client.Consents.Status(ctx, consent.ConsentID)
	require.NoError(t, err)
	assert.Equal(t, kh.ConsentValid, st.ConsentStatus)
	assert.True(t, st.TokenIssued, "a valid consent's status call issues its token")
	assert.Len(t, e.bank.ConsentTokens(consent.ConsentID), 1)
	accounts, err := e.client.Accounts.List(ctx, consent.ConsentID)
	require.NoError(t, err)
	assert.NotEmpty(t, accounts.Accounts)
}

func TestKHRedirectSCADeny(t *testing.T) {
	e := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	defer cancel()
	consent, u := e.consent(ctx)

	e.toOTP(u)
	require.NoError(t, chromedp.Do(e.browser, chromedp.Click(chromedp.CSS("#deny"))))
	hit := e.tpp.wait(t)
	assert.Equal(t, "/sca/nok", hit.URL.Path)
	e.at("#tpp", "tpp")

	st, err := e.client.Consents.Status(ctx, consent.ConsentID)
	require.NoError(t, err)
	assert.Equal(t, kh.ConsentRejected, st.ConsentStatus)
	assert.False(t, st.TokenIssued)
	assert.Empty(t, e.bank.ConsentTokens(consent.ConsentID))
}

func TestKHRedirectSCAWrongOTP(t *testing.T) {
	e := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	defer cancel()
	consent, u := e.consent(ctx)
	authID := consent.Links.AuthorisationID()
	require.NotEmpty(t, authID)

	e.toOTP(u)
	require.NoError(t, chromedp.Do(e.browser,
		chromedp.SendKeys(chromedp.CSS("#otp"), "000000"),
		chromedp.Click(chromedp.CSS("#approve")),
	))
	e.at("#error", "wrong-otp")
	msg, err := chromedp.Run(e.browser, chromedp.Text(chromedp.CSS("#error")))
	require.NoError(t, err)
	assert.Equal(t, "Wrong code. 2 attempt(s) left.", msg)
	_, err = chromedp.Run(e.browser, chromedp.Text(chromedp.CSS("#challenge")))
	require.NoError(t, err, "the OTP step is shown again")

	select {
	case r := <-e.tpp.hits:
		t.Fatalf("the browser went back to the TPP (%s) after a wrong OTP", r.URL.Path)
	default:
	}
	st, err := e.client.Consents.Status(ctx, consent.ConsentID)
	require.NoError(t, err)
	assert.Equal(t, kh.ConsentReceived, st.ConsentStatus)
	assert.False(t, st.TokenIssued)
	sca, err := e.client.Consents.Authorisations.Status(ctx, consent.ConsentID, authID)
	require.NoError(t, err)
	assert.Equal(t, kh.ScaMethodSelected, sca.ScaStatus)
}

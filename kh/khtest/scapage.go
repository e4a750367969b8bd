package khtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	_ "embed"
	"errors"
	"fmt"
	"html"
	"html/template"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/banksdk/banksdk/fake"
)

// The redirect SCA screen: the pages the scaRedirect link points to, served to the
// PSU's browser on a listener of its own (HTTPS with the bank's server certificate and
// no client certificate: the PSU has none). Plain HTML forms, no JavaScript:
//
//	GET  /sca/redirect/{id}?token=T  checks the TPP's token, starts a page session
//	                                 (cookie + nonce) and shows the login form
//	POST step=login                  PSU id and password -> psuAuthenticated
//	POST step=method                 SCA method (skipped with one) -> scaMethodSelected
//	POST step=otp action=approve     OTP -> finalised, 303 to TPP-Redirect-URI
//	POST step=otp action=deny        failed, 303 to TPP-Nok-Redirect-URI (else
//	                                 TPP-Redirect-URI)

//go:embed scapage.html
var scaPageHTML string

var scaPageTmpl = template.Must(template.New("sca").Parse(scaPageHTML))

// The page steps, also the value of the forms' "step" field and of data-step.
const (
	stepLogin  = "login"
	stepMethod = "method"
	stepOTP    = "otp"
	stepDone   = "done"  // the authorisation ended and there is nowhere to redirect
	stepError  = "error" // a page with an error and no form
)

// scaCookie names the cookie of a page session.
const scaCookie = "khtest_sca"

// maxOTPFails is how many wrong OTPs fail an authorisation, on the screen as in the
// embedded approach.
const maxOTPFails = 3

// pageSession is the redirect screen's state for one authorisation: the browser that
// opened the link holds the cookie, each form carries the nonce.
type pageSession struct {
	cookie  string
	nonce   string
	step    string
	appName string
	psuID   string // as the PSU typed it last, shown again after a wrong password
}

type pageData struct {
	Step       string
	Title      string
	Subject    string
	Error      string
	Action     string
	Nonce      string
	PSUID      string
	Methods    []ScaMethod
	MethodName string
	OTPLength  int
}

// startPage serves the redirect screen for s on a listener of its own.
func (s *Server) startPage() *fake.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/sca/redirect/{id}", s.scaPage)
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writePage(w, http.StatusNotFound, pageData{Step: stepError, Title: "Not found", Error: "There is no such page."})
	})
	cfg := s.pki.ServerTLSConfig()
	cfg.ClientAuth, cfg.ClientCAs = tls.NoClientCert, nil
	opts := []fake.Option{fake.WithTLS(cfg)}
	if s.cfg.scaListener != nil {
		opts = append(opts, fake.WithListener(s.cfg.scaListener))
	}
	return fake.Start(mux, opts...)
}

// SCAURL is the base URL of the redirect SCA screen, the PSU-facing server the
// scaRedirect links point to (e.g. https://127.0.0.1:41235). It serves HTTPS with the
// bank's server certificate (trusted through RootCAs) and, unlike URL, asks for no
// client certificate.
func (s *Server) SCAURL() string { return s.page.URL() }

func (s *Server) scaRedirectLink(authorisationID string) string {
	return s.page.URL() + "/sca/redirect/" + authorisationID
}

func (s *Server) scaPage(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		s.openPage(w, r)
	case http.MethodPost:
		s.submitPage(w, r)
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		writePage(w, http.StatusMethodNotAllowed, pageData{Step: stepError, Title: "Method not allowed",
			Error: "This page is opened with GET and its forms are sent with POST."})
	}
}

// pageAuth finds the authorisation a page addresses, or writes the error page. It
// runs with s.mu held.
func (s *Server) pageAuth(w http.ResponseWriter, r *http.Request) *authorisation {
	a, ok := s.auths[r.PathValue("id")]
	if !ok || a.approach != "REDIRECT" {
		writePage(w, http.StatusNotFound, pageData{Step: stepError, Title: "Unknown authorisation",
			Error: "There is no authorisation to approve here."})
		return nil
	}
	if final(a.scaStatus) {
		writePage(w, http.StatusConflict, pageData{Step: stepError, Title: "Authorisation ended",
			Error: "This authorisation is already " + a.scaStatus + ". Go back to the application."})
		return nil
	}
	return a
}

// openPage checks the TPP's token and shows the current step: the step a browser
// holding the session's cookie left off at, or the login form of a new session (which
// replaces any earlier one).
func (s *Server) openPage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.pageAuth(w, r)
	if a == nil {
		return
	}
	ti, ok := s.tokens[r.URL.Query().Get("token")]
	if !ok || ti.revoked || !s.cfg.now().Before(ti.expires) || ti.tpp != s.ownerTPP(a) {
		writePage(w, http.StatusUnauthorized, pageData{Step: stepError, Title: "Link not valid",
			Error: "The link misses the token parameter, or its token is unknown or expired. Go back to the application."})
		return
	}
	if c, err := r.Cookie(scaCookie); err == nil && a.page != nil && same(c.Value, a.page.cookie) {
		s.renderStep(w, http.StatusOK, a, "")
		return
	}
	appName := ""
	if ap := s.apps[ti.appID]; ap != nil {
		appName = ap.name
	}
	a.page = &pageSession{cookie: rand.Text(), nonce: rand.Text(), step: stepLogin, appName: appName}
	http.SetCookie(w, &http.Cookie{Name: scaCookie, Value: a.page.cookie, Path: "/sca/redirect/" + a.id,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	s.renderStep(w, http.StatusOK, a, "")
}

// submitPage takes one step's form. A wrong password, an unknown method or a wrong OTP
// shows the step again with the error (the third wrong OTP fails the authorisation);
// Deny fails it at once.
func (s *Server) submitPage(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		writePage(w, http.StatusBadRequest, pageData{Step: stepError, Title: "Bad request", Error: "The form could not be read."})
		return
	}
	f := r.PostForm
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.pageAuth(w, r)
	if a == nil {
		return
	}
	c, err := r.Cookie(scaCookie)
	if a.page == nil || err != nil || !same(c.Value, a.page.cookie) || !same(f.Get("nonce"), a.page.nonce) {
		writePage(w, http.StatusForbidden, pageData{Step: stepError, Title: "Session not valid",
			Error: "This page is no longer valid. Go back to the application and open the link again."})
		return
	}
	if f.Get("step") != a.page.step {
		s.renderStep(w, http.StatusConflict, a, "This page was out of date: continue here.")
		return
	}
	switch a.page.step {
	case stepLogin:
		a.page.psuID = f.Get("psuId")
		if !same(f.Get("psuId"), s.cfg.psuID) || !same(f.Get("password"), s.cfg.password) {
			s.renderStep(w, http.StatusOK, a, "Wrong PSU ID or password.")
			return
		}
		a.scaStatus = "psuAuthenticated"
		a.page.step = stepMethod
		if len(s.cfg.methods) == 1 {
			a.method, a.scaStatus, a.page.step = &s.cfg.methods[0], "scaMethodSelected", stepOTP
		}
		s.renderStep(w, http.StatusOK, a, "")
	case stepMethod:
		var m *ScaMethod
		for i := range s.cfg.methods {
			if s.cfg.methods[i].ID == f.Get("method") {
				m = &s.cfg.methods[i]
			}
		}
		if m == nil {
			s.renderStep(w, http.StatusOK, a, "Choose one of the methods offered.")
			return
		}
		a.method, a.scaStatus, a.page.step = m, "scaMethodSelected", stepOTP
		s.renderStep(w, http.StatusOK, a, "")
	case stepOTP:
		switch f.Get("action") {
		case "deny":
			s.failAuth(a)
			s.endPage(w, r, a)
		case "approve":
			if !same(f.Get("otp"), s.cfg.otp) {
				a.otpFails++
				if a.otpFails >= maxOTPFails {
					s.failAuth(a)
					s.endPage(w, r, a)
					return
				}
				left := maxOTPFails - a.otpFails
				s.renderStep(w, http.StatusOK, a, "Wrong code. "+strconv.Itoa(left)+" attempt(s) left.")
				return
			}
			s.finalise(a)
			s.endPage(w, r, a)
		default:
			s.renderStep(w, http.StatusBadRequest, a, "Press Approve or Deny.")
		}
	}
}

// endPage ends the page session of a finalised or failed authorisation and sends the
// browser back to the TPP: TPP-Redirect-URI, or TPP-Nok-Redirect-URI when the
// authorisation failed and the TPP gave one (the Berlin Group's rule; no error
// parameter is added: the TPP reads the outcome from the SCA status).
func (s *Server) endPage(w http.ResponseWriter, r *http.Request, a *authorisation) {
	a.page = nil
	target := a.redirectURI
	if a.scaStatus != "finalised" && a.nokURI != "" {
		target = a.nokURI
	}
	if target == "" {
		writePage(w, http.StatusOK, pageData{Step: stepDone, Title: "Authorisation " + a.scaStatus,
			Subject: "You can close this window."})
		return
	}
	noStore(w.Header())
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// renderStep shows the form of the session's current step, with errText if not empty.
func (s *Server) renderStep(w http.ResponseWriter, status int, a *authorisation, errText string) {
	d := pageData{Step: a.page.step, Error: errText, Action: "/sca/redirect/" + a.id, Nonce: a.page.nonce}
	d.Subject = a.kind + " " + a.parentID
	if a.page.appName != "" {
		d.Subject = a.page.appName + " asks you to approve " + d.Subject + "."
	}
	switch a.page.step {
	case stepLogin:
		d.Title, d.PSUID = "Log in", a.page.psuID
	case stepMethod:
		d.Title, d.Methods = "Choose how to confirm", s.cfg.methods
	case stepOTP:
		d.Title, d.OTPLength = "Confirm", len(s.cfg.otp)
		if a.method != nil {
			d.MethodName = a.method.Name
		}
	}
	writePage(w, status, d)
}

func noStore(h http.Header) {
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
}

// writePage renders a page with headers that forbid scripts, framing, caching and
// referrers (the page's URL holds the TPP's token).
func writePage(w http.ResponseWriter, status int, d pageData) {
	var buf bytes.Buffer
	if err := scaPageTmpl.Execute(&buf, d); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	noStore(h)
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func same(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// ---------------------------------------------------------------------------
// walking the screen from Go

// ApproveRedirect goes through the redirect SCA screen as the PSU's browser would and
// approves: it opens redirectURL (an scaRedirect link with the token parameter, as
// kh.SCARedirectURL builds it), logs in with the PSU's id and password (PSU), chooses
// the first SCA method offered, enters the OTP and presses Approve. It returns the URL
// the screen redirected the browser to (TPP-Redirect-URI), or "" when the TPP gave
// none. An error reports a step the screen refused; it never holds the URL's token.
func (s *Server) ApproveRedirect(ctx context.Context, redirectURL string) (string, error) {
	return s.walkPage(ctx, redirectURL, "approve")
}

// DenyRedirect goes through the redirect SCA screen like ApproveRedirect but presses
// Deny at the last step. It returns the URL the screen redirected the browser to
// (TPP-Nok-Redirect-URI, or TPP-Redirect-URI when the TPP gave no Nok URI).
func (s *Server) DenyRedirect(ctx context.Context, redirectURL string) (string, error) {
	return s.walkPage(ctx, redirectURL, "deny")
}

func (s *Server) walkPage(ctx context.Context, redirectURL, action string) (string, error) {
	base, err := url.Parse(redirectURL)
	if err != nil || base.Scheme != "https" || base.Host == "" {
		return "", errors.New("khtest: the redirect URL is not an absolute https URL")
	}
	hc := s.psuBrowser()
	defer hc.CloseIdleConnections()
	psuID, password, otp := s.PSU()

	resp, err := browse(ctx, hc, http.MethodGet, base, nil)
	for range 4 {
		if err != nil {
			return "", err
		}
		if resp.location != "" {
			return resp.location, nil
		}
		p := readPage(resp.body)
		if p.step == stepDone {
			return "", nil
		}
		if resp.status != http.StatusOK || p.err != "" || p.nonce == "" {
			return "", fmt.Errorf("khtest: the redirect screen answered %d at step %q: %s", resp.status, p.step, p.err)
		}
		form := url.Values{"nonce": {p.nonce}, "step": {p.step}}
		switch p.step {
		case stepLogin:
			form.Set("psuId", psuID)
			form.Set("password", password)
		case stepMethod:
			if len(p.methods) == 0 {
				return "", errors.New("khtest: the redirect screen offered no SCA method")
			}
			form.Set("method", p.methods[0])
		case stepOTP:
			form.Set("otp", otp)
			form.Set("action", action)
		default:
			return "", fmt.Errorf("khtest: the redirect screen shows an unknown step %q", p.step)
		}
		next, perr := base.Parse(p.action)
		if perr != nil {
			return "", errors.New("khtest: the redirect screen's form has an invalid action")
		}
		resp, err = browse(ctx, hc, http.MethodPost, next, form)
	}
	return "", errors.New("khtest: the redirect screen did not redirect after its steps")
}

// psuBrowser returns an HTTP client that stands for the PSU's browser on the screen:
// a cookie jar, the bank's roots, no client certificate, and redirects not followed
// (the caller reads where the screen sends it).
func (s *Server) psuBrowser() *http.Client {
	jar, _ := cookiejar.New(nil) // never fails without options
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.pki.RootCAs(), MinVersion: tls.VersionTLS12}}
	return &http.Client{Transport: tr, Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type pageResponse struct {
	status   int
	location string
	body     []byte
}

// browse sends one request of the PSU's browser. Its errors leave the URL out: it
// holds the TPP's token.
func browse(ctx context.Context, hc *http.Client, method string, u *url.URL, form url.Values) (pageResponse, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return pageResponse{}, errors.New("khtest: cannot build the redirect screen request")
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return pageResponse{}, fmt.Errorf("khtest: %s the redirect screen: %w", method, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return pageResponse{}, fmt.Errorf("khtest: read the redirect screen: %w", err)
	}
	pr := pageResponse{status: resp.StatusCode, body: b}
	if resp.StatusCode == http.StatusSeeOther {
		pr.location = resp.Header.Get("Location")
	}
	return pr, nil
}

// page holds what walkPage reads from one page of the screen.
type page struct {
	step    string
	action  string
	nonce   string
	methods []string
	err     string
}

var (
	stepRE   = regexp.MustCompile(`<main data-step="([^"]*)">`)
	actionRE = regexp.MustCompile(`<form id="[^"]*" method="post" action="([^"]*)">`)
	nonceRE  = regexp.MustCompile(`<input type="hidden" name="nonce" value="([^"]*)">`)
	methodRE = regexp.MustCompile(`<input type="radio" id="[^"]*" name="method" value="([^"]*)"`)
	errorRE  = regexp.MustCompile(`<p id="error" class="error" role="alert">([^<]*)</p>`)
)

// readPage reads the fields of a page of the screen (the markup of scapage.html).
func readPage(b []byte) page {
	first := func(re *regexp.Regexp) string {
		if m := re.FindSubmatch(b); m != nil {
			return html.UnescapeString(string(m[1]))
		}
		return ""
	}
	p := page{step: first(stepRE), action: first(actionRE), nonce: first(nonceRE), err: first(errorRE)}
	for _, m := range methodRE.FindAllSubmatch(b, -1) {
		p.methods = append(p.methods, html.UnescapeString(string(m[1])))
	}
	return p
}

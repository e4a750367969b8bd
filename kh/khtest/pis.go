package khtest

import (
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strings"
)

type tpp struct {
	name    string
	roles   []string
	contact *contactBody
}

type app struct {
	id           string
	tpp          string
	name         string
	roles        []string
	redirectHost string
}

func (a *app) hasRole(r string) bool {
	for _, x := range a.roles {
		if x == r {
			return true
		}
	}
	return false
}

type payment struct {
	id, service, product string
	tpp, appID           string
	status               string
	body                 json.RawMessage
	auths, cancels       []string
	approach             string
	redirectURI, nokURI  string
	basketID             string
	cancelPending        bool
}

func (p *payment) path() string { return "/v1/" + p.service + "/" + p.product + "/" + p.id }

type basket struct {
	id, tpp  string
	payments []string
	consents []string
	status   string
	auths    []string
	approach string
}

// scaPrefs reads the SCA headers: the approach, the redirect URIs (their host must be
// the application's registered redirect host) and the explicit-start preference.
type scaPrefs struct {
	approach    string
	set         bool
	redirectURI string
	nokURI      string
	explicit    bool
}

func (s *Server) readPrefs(c *call, a *app) (scaPrefs, bool) {
	var p scaPrefs
	h := c.r.Header
	switch v := h.Get("TPP-Redirect-Preferred"); v {
	case "":
		p.approach = strings.ToUpper(s.cfg.defaultApproach)
	case "true":
		p.approach, p.set = "REDIRECT", true
	case "false":
		p.approach, p.set = "EMBEDDED", true
	default:
		c.fail(http.StatusBadRequest, "FORMAT_ERROR", "TPP-Redirect-Preferred", "must be true or false")
		return p, false
	}
	switch v := h.Get("TPP-Explicit-Authorisation-Preferred"); v {
	case "", "false":
	case "true":
		p.explicit = true
	default:
		c.fail(http.StatusBadRequest, "FORMAT_ERROR", "TPP-Explicit-Authorisation-Preferred", "must be true or false")
		return p, false
	}
	for _, hd := range []struct {
		name string
		dst  *string
	}{{"TPP-Redirect-URI", &p.redirectURI}, {"TPP-Nok-Redirect-URI", &p.nokURI}} {
		v := h.Get(hd.name)
		if v == "" {
			continue
		}
		u, err := url.Parse(v)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			c.fail(http.StatusBadRequest, "FORMAT_ERROR", hd.name, "must be an absolute https URL")
			return p, false
		}
		if a != nil && u.Hostname() != a.redirectHost {
			c.fail(http.StatusBadRequest, "FORMAT_ERROR", hd.name,
				"the host must be the redirect host registered for the application")
			return p, false
		}
		*hd.dst = v
	}
	if p.approach == "REDIRECT" && p.set && p.redirectURI == "" {
		c.fail(http.StatusBadRequest, "FORMAT_ERROR", "TPP-Redirect-URI",
			"TPP-Redirect-URI is required when TPP-Redirect-Preferred is true")
		return p, false
	}
	return p, true
}

func needPSUIP(c *call) bool {
	v := c.r.Header.Get("PSU-IP-Address")
	if v == "" || net.ParseIP(v) == nil {
		c.fail(http.StatusBadRequest, "FORMAT_ERROR", "PSU-IP-Address", "PSU-IP-Address is required (an IP address)")
		return false
	}
	return true
}

func (s *Server) initiatePayment(c *call) {
	segs := splitPath(c.r.URL.Path)
	service, product := segs[1], segs[2]
	a := c.app(s)
	if !a.hasRole("PISP") {
		c.fail(http.StatusUnauthorized, "ROLE_INVALID", "", "the application has no PISP role")
		return
	}
	if !needPSUIP(c) {
		return
	}
	prefs, ok := s.readPrefs(c, a)
	if !ok {
		return
	}
	var body paymentBody
	if !c.decode(&body) {
		return
	}
	if e := checkPayment(service, &body); e != nil {
		c.fail(http.StatusBadRequest, "FORMAT_ERROR", e.path, e.text)
		return
	}
	if s.accountByRef(body.DebtorAccount) == nil {
		c.fail(http.StatusBadRequest, "FORMAT_ERROR", "debtorAccount", "not an account of the PSU")
		return
	}
	p := &payment{id: s.nextID("pay"), service: service, product: product, tpp: c.tpp,
		appID: a.id, status: "RCVD", body: json.RawMessage(append([]byte(nil), c.body...)),
		approach: prefs.approach, redirectURI: prefs.redirectURI, nokURI: prefs.nokURI}
	s.payments[p.id] = p
	s.byRequestID[c.reqID] = p.id
	lk := links{"self": {p.path()}, "status": {p.path() + "/status"}}
	resp := map[string]any{"transactionStatus": p.status, "paymentId": p.id}
	s.startLinks(lk, prefs, "payment", p.id, p.path(), &p.auths, p.redirectURI, p.nokURI)
	resp["_links"] = lk
	c.w.Header().Set("Location", p.path())
	c.w.Header().Set("ASPSP-SCA-Approach", prefs.approach)
	c.json(http.StatusCreated, resp)
}

// startLinks adds the links that start (or, for an implicit start, continue) SCA.
// For the redirect approach without an explicit-start preference the authorisation is
// created at once and the scaRedirect link returned.
func (s *Server) startLinks(lk links, prefs scaPrefs, kind, parentID, parentPath string, list *[]string, redirectURI, nokURI string) {
	switch {
	case prefs.approach == "REDIRECT" && !prefs.explicit:
		a := s.newAuth(kind, parentID, parentPath+"/authorisations", "REDIRECT", redirectURI, nokURI)
		*list = append(*list, a.id)
		lk["scaRedirect"] = href{s.scaRedirectLink(a.id)}
		lk["scaStatus"] = href{a.path}
	case prefs.approach == "REDIRECT":
		lk["startAuthorisation"] = href{parentPath + "/authorisations"}
	default:
		lk["startAuthorisationWithPsuAuthentication"] = href{parentPath + "/authorisations"}
	}
}

// payment finds the payment of a payment route's path, answering 404 when it is
// unknown, belongs to another TPP, or is of another service or product.
func (s *Server) payment(c *call) *payment {
	segs := splitPath(c.r.URL.Path)
	p, ok := s.payments[c.params["paymentId"]]
	if !ok || p.tpp != c.tpp || p.service != segs[1] || p.product != segs[2] {
		c.fail(http.StatusNotFound, "RESOURCE_UNKNOWN", "paymentId", "no such payment")
		return nil
	}
	return p
}

func (s *Server) getPayment(c *call) {
	p := s.payment(c)
	if p == nil {
		return
	}
	var m map[string]any
	_ = json.Unmarshal(p.body, &m)
	if m == nil {
		m = map[string]any{}
	}
	m["transactionStatus"] = p.status
	c.json(http.StatusOK, m)
}

// paymentStatus answers the status and then moves an authorised single or bulk
// payment on towards settlement: ACTC, then ACSP, then ACSC.
func (s *Server) paymentStatus(c *call) {
	p := s.payment(c)
	if p == nil {
		return
	}
	c.json(http.StatusOK, map[string]any{"transactionStatus": p.status,
		"_links": links{"self": {p.path()}}})
	if p.cancelPending || p.service == "periodic-payments" {
		return
	}
	switch p.status {
	case "ACTC":
		p.status = "ACSP"
	case "ACSP":
		p.status = "ACSC"
	}
}

// cancelPayment deletes an unauthorised payment at once (204). An authorised payment
// not yet settled needs a cancellation authorisation (202 with a startAuthorisation
// link). Anything else cannot be cancelled (405 CANCELLATION_INVALID).
func (s *Server) cancelPayment(c *call) {
	p := s.payment(c)
	if p == nil {
		return
	}
	switch p.status {
	case "RCVD":
		if p.basketID != "" {
			c.fail(http.StatusConflict, "STATUS_INVALID", "", "the payment is in signing basket "+p.basketID)
			return
		}
		p.status = "CANC"
		c.w.WriteHeader(http.StatusNoContent)
	case "ACTC", "ACSP", "ACCP", "ACFC", "PATC":
		p.cancelPending = true
		c.json(http.StatusAccepted, map[string]any{"transactionStatus": p.status,
			"_links": links{"startAuthorisation": {p.path() + "/cancellation-authorisations"}}})
	default:
		c.fail(http.StatusMethodNotAllowed, "CANCELLATION_INVALID", "", "a payment in status "+p.status+" cannot be cancelled")
	}
}

func (s *Server) createBasket(c *call) {
	if !needPSUIP(c) {
		return
	}
	a := c.app(s)
	prefs, ok := s.readPrefs(c, a)
	if !ok {
		return
	}
	var body basketBody
	if !c.decode(&body) {
		return
	}
	if len(body.PaymentIDs)+len(body.ConsentIDs) == 0 {
		c.fail(http.StatusBadRequest, "FORMAT_ERROR", "paymentIds", "a basket needs at least one payment or consent")
		return
	}
	seen := map[string]bool{}
	for _, id := range append(append([]string(nil), body.PaymentIDs...), body.ConsentIDs...) {
		if seen[id] {
			c.fail(http.StatusBadRequest, "FORMAT_ERROR", "", "id "+id+" listed twice")
			return
		}
		seen[id] = true
	}
	for _, id := range body.PaymentIDs {
		p, ok := s.payments[id]
		if !ok || p.tpp != c.tpp {
			c.fail(http.StatusBadRequest, "RESOURCE_UNKNOWN", "paymentIds", "unknown payment "+id)
			return
		}
		if p.status != "RCVD" || p.basketID != "" {
			c.fail(http.StatusConflict, "REFERENCE_STATUS_INVALID", "paymentIds", "payment "+id+" cannot be added to a basket")
			return
		}
	}
	for _, id := range body.ConsentIDs {
		cs, ok := s.consents[id]
		if !ok || cs.tpp != c.tpp {
			c.fail(http.StatusBadRequest, "RESOURCE_UNKNOWN", "consentIds", "unknown consent "+id)
			return
		}
		if cs.status != "received" || cs.basketID != "" {
			c.fail(http.StatusConflict, "REFERENCE_STATUS_INVALID", "consentIds", "consent "+id+" cannot be added to a basket")
			return
		}
	}
	b := &basket{id: s.nextID("basket"), tpp: c.tpp, payments: body.PaymentIDs, consents: body.ConsentIDs,
		status: "RCVD", approach: prefs.approach}
	for _, id := range b.payments {
		s.payments[id].basketID = b.id
	}
	for _, id := range b.consents {
		s.consents[id].basketID = b.id
	}
	s.baskets[b.id] = b
	s.byRequestID[c.reqID] = b.id
	path := "/v1/signing-baskets/" + b.id
	// K&H allows one authorisation per basket and lists no endpoint to start one: the
	// basket's authorisation starts with the basket.
	au := s.newAuth("basket", b.id, path+"/authorisations", prefs.approach, prefs.redirectURI, prefs.nokURI)
	b.auths = append(b.auths, au.id)
	lk := links{"self": {path}, "scaStatus": {au.path}}
	if prefs.approach == "REDIRECT" {
		lk["scaRedirect"] = href{s.scaRedirectLink(au.id)}
	} else {
		lk["updatePsuAuthentication"] = href{au.path}
	}
	c.w.Header().Set("Location", path)
	c.w.Header().Set("ASPSP-SCA-Approach", prefs.approach)
	c.json(http.StatusCreated, map[string]any{"transactionStatus": b.status, "basketId": b.id, "_links": lk})
}

func (s *Server) basket(c *call) *basket {
	b, ok := s.baskets[c.params["basketId"]]
	if !ok || b.tpp != c.tpp {
		c.fail(http.StatusNotFound, "RESOURCE_UNKNOWN", "basketId", "no such signing basket")
		return nil
	}
	return b
}

func (s *Server) getBasket(c *call) {
	b := s.basket(c)
	if b == nil {
		return
	}
	resp := map[string]any{"transactionStatus": b.status,
		"_links": links{"self": {"/v1/signing-baskets/" + b.id}}}
	if len(b.payments) > 0 {
		resp["payments"] = b.payments
	}
	if len(b.consents) > 0 {
		resp["consents"] = b.consents
	}
	c.json(http.StatusOK, resp)
}

func (s *Server) deleteBasket(c *call) {
	b := s.basket(c)
	if b == nil {
		return
	}
	if b.status != "RCVD" {
		c.fail(http.StatusConflict, "STATUS_INVALID", "", "a basket in status "+b.status+" cannot be deleted")
		return
	}
	b.status = "CANC"
	for _, id := range b.payments {
		s.payments[id].basketID = ""
	}
	for _, id := range b.consents {
		s.consents[id].basketID = ""
	}
	c.w.WriteHeader(http.StatusNoContent)
}

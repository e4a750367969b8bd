package khtest

import (
	"bytes"
	"net/http"
)

// authorisation is an SCA sub-resource of a payment ("payment"), of a payment's
// cancellation ("cancellation"), of a consent ("consent") or of a signing basket
// ("basket").
type authorisation struct {
	id          string
	kind        string
	parentID    string
	path        string
	approach    string
	scaStatus   string
	method      *ScaMethod
	otpFails    int
	redirectURI string
	nokURI      string
	page        *pageSession // the redirect screen's session, nil when none is open
}

func final(st string) bool { return st == "finalised" || st == "failed" || st == "exempted" }

func (s *Server) newAuth(kind, parentID, listPath, approach, redirectURI, nokURI string) *authorisation {
	a := &authorisation{id: s.nextID("auth"), kind: kind, parentID: parentID, approach: approach,
		scaStatus: "received", redirectURI: redirectURI, nokURI: nokURI}
	a.path = listPath + "/" + a.id
	s.auths[a.id] = a
	return a
}

// parent resolves the resource an authorisation route addresses and the list of
// authorisations it holds. It answers 404 itself when the resource is unknown.
type parentRef struct {
	kind     string
	id       string
	listPath string
	list     *[]string
	approach string
	redirect string
	nok      string
}

func (s *Server) parent(c *call) (parentRef, bool) {
	segs := splitPath(c.r.URL.Path)
	switch {
	case segs[1] == "consents":
		cs := s.consent(c)
		if cs == nil {
			return parentRef{}, false
		}
		return parentRef{kind: "consent", id: cs.id, listPath: "/v1/consents/" + cs.id + "/authorisations",
			list: &cs.auths, approach: cs.approach, redirect: cs.redirectURI, nok: cs.nokURI}, true
	case segs[1] == "signing-baskets":
		b := s.basket(c)
		if b == nil {
			return parentRef{}, false
		}
		return parentRef{kind: "basket", id: b.id, listPath: "/v1/signing-baskets/" + b.id + "/authorisations",
			list: &b.auths, approach: b.approach}, true
	default:
		p := s.payment(c)
		if p == nil {
			return parentRef{}, false
		}
		if segs[4] == "cancellation-authorisations" {
			return parentRef{kind: "cancellation", id: p.id, listPath: p.path() + "/cancellation-authorisations",
				list: &p.cancels, approach: p.approach, redirect: p.redirectURI, nok: p.nokURI}, true
		}
		return parentRef{kind: "payment", id: p.id, listPath: p.path() + "/authorisations",
			list: &p.auths, approach: p.approach, redirect: p.redirectURI, nok: p.nokURI}, true
	}
}

// startable reports whether a new authorisation may start on the parent.
func (s *Server) startable(pr parentRef) (string, bool) {
	switch pr.kind {
	case "payment":
		if st := s.payments[pr.id].status; st != "RCVD" {
			return "the payment is " + st, false
		}
	case "cancellation":
		p := s.payments[pr.id]
		if !p.cancelPending {
			return "no cancellation of the payment is pending (DELETE it first)", false
		}
	case "consent":
		if st := s.consents[pr.id].status; st != "received" {
			return "the consent is " + st, false
		}
	}
	for _, id := range *pr.list {
		if st := s.auths[id].scaStatus; !final(st) {
			return "authorisation " + id + " is still " + st, false
		}
	}
	return "", true
}

func (s *Server) startAuthorisation(c *call) {
	pr, ok := s.parent(c)
	if !ok {
		return
	}
	if why, ok := s.startable(pr); !ok {
		c.fail(http.StatusConflict, "STATUS_INVALID", "", why)
		return
	}
	var body authBody
	if len(bytes.TrimSpace(c.body)) > 0 && !c.decode(&body) {
		return
	}
	if body.AuthenticationMethodID != "" || body.ScaAuthenticationData != "" || body.ConfirmationCode != "" {
		c.fail(http.StatusBadRequest, "FORMAT_ERROR", "", "only psuData may start an authorisation")
		return
	}
	prefs, ok := s.readPrefs(c, c.app(s))
	if !ok {
		return
	}
	approach, redirect, nok := pr.approach, pr.redirect, pr.nok
	if prefs.set {
		approach = prefs.approach
	}
	if prefs.redirectURI != "" {
		redirect, nok = prefs.redirectURI, prefs.nokURI
	}
	if approach == "REDIRECT" && body.PSUData != nil {
		c.fail(http.StatusForbidden, "SERVICE_BLOCKED", "psuData", "PSU credentials are not accepted for the redirect approach")
		return
	}
	if body.PSUData != nil && !s.passwordOK(c, body.PSUData) {
		return
	}
	a := s.newAuth(pr.kind, pr.id, pr.listPath, approach, redirect, nok)
	*pr.list = append(*pr.list, a.id)
	s.byRequestID[c.reqID] = a.id
	resp := map[string]any{"authorisationId": a.id}
	lk := links{"scaStatus": {a.path}}
	if approach == "REDIRECT" {
		lk["scaRedirect"] = href{s.scaRedirectLink(a.id)}
	} else if body.PSUData != nil {
		s.afterPassword(a, resp, lk)
	} else {
		lk["updatePsuAuthentication"] = href{a.path}
	}
	resp["scaStatus"] = a.scaStatus
	resp["_links"] = lk
	c.w.Header().Set("Location", a.path)
	c.w.Header().Set("ASPSP-SCA-Approach", approach)
	c.json(http.StatusCreated, resp)
}

func (s *Server) passwordOK(c *call, d *psuData) bool {
	if id := c.r.Header.Get("PSU-ID"); id != "" && id != s.cfg.psuID {
		c.fail(http.StatusUnauthorized, "PSU_CREDENTIALS_INVALID", "PSU-ID", "unknown PSU")
		return false
	}
	if d.Password != s.cfg.password {
		c.fail(http.StatusUnauthorized, "PSU_CREDENTIALS_INVALID", "psuData.password", "wrong PSU credentials")
		return false
	}
	return true
}

// afterPassword moves an authorisation to psuAuthenticated and offers the SCA methods,
// or, with one method only, selects it and sends its challenge.
func (s *Server) afterPassword(a *authorisation, resp map[string]any, lk links) {
	a.scaStatus = "psuAuthenticated"
	if len(s.cfg.methods) == 1 {
		s.selectMethod(a, &s.cfg.methods[0], resp, lk)
		return
	}
	var ms []map[string]any
	for _, m := range s.cfg.methods {
		ms = append(ms, map[string]any{"authenticationType": m.Type, "authenticationMethodId": m.ID, "name": m.Name})
	}
	resp["scaMethods"] = ms
	lk["selectAuthenticationMethod"] = href{a.path}
}

func (s *Server) selectMethod(a *authorisation, m *ScaMethod, resp map[string]any, lk links) {
	a.method = m
	a.scaStatus = "scaMethodSelected"
	resp["chosenScaMethod"] = map[string]any{"authenticationType": m.Type, "authenticationMethodId": m.ID, "name": m.Name}
	resp["challengeData"] = map[string]any{"otpMaxLength": len(s.cfg.otp), "otpFormat": "integer",
		"additionalInformation": "Enter the code sent by " + m.Name}
	lk["authoriseTransaction"] = href{a.path}
}

// auth finds the authorisation of an authorisation route and checks it belongs to the
// addressed parent.
func (s *Server) auth(c *call, pr parentRef) *authorisation {
	id := c.params["authorisationId"]
	if id == "" {
		id = c.params["cancellationId"]
	}
	a, ok := s.auths[id]
	if !ok || a.kind != pr.kind || a.parentID != pr.id {
		c.fail(http.StatusNotFound, "RESOURCE_UNKNOWN", "authorisationId", "no such authorisation")
		return nil
	}
	return a
}

func (s *Server) updateAuthorisation(c *call) {
	pr, ok := s.parent(c)
	if !ok {
		return
	}
	a := s.auth(c, pr)
	if a == nil {
		return
	}
	var body authBody
	if !c.decode(&body) {
		return
	}
	if a.approach == "REDIRECT" {
		c.fail(http.StatusForbidden, "SERVICE_BLOCKED", "", "this authorisation uses the redirect approach")
		return
	}
	if final(a.scaStatus) {
		c.fail(http.StatusConflict, "STATUS_INVALID", "", "the authorisation is "+a.scaStatus)
		return
	}
	resp := map[string]any{}
	lk := links{"scaStatus": {a.path}}
	n := 0
	for _, set := range []bool{body.PSUData != nil, body.AuthenticationMethodID != "", body.ScaAuthenticationData != "", body.ConfirmationCode != ""} {
		if set {
			n++
		}
	}
	switch {
	case n != 1:
		c.fail(http.StatusBadRequest, "FORMAT_ERROR", "", "send exactly one of psuData, authenticationMethodId, scaAuthenticationData")
		return
	case body.PSUData != nil:
		if a.scaStatus != "received" && a.scaStatus != "psuIdentified" {
			c.fail(http.StatusConflict, "STATUS_INVALID", "psuData", "the PSU is already authenticated")
			return
		}
		if !s.passwordOK(c, body.PSUData) {
			return
		}
		s.afterPassword(a, resp, lk)
	case body.AuthenticationMethodID != "":
		if a.scaStatus != "psuAuthenticated" {
			c.fail(http.StatusConflict, "STATUS_INVALID", "authenticationMethodId", "authenticate the PSU first")
			return
		}
		var m *ScaMethod
		for i := range s.cfg.methods {
			if s.cfg.methods[i].ID == body.AuthenticationMethodID {
				m = &s.cfg.methods[i]
			}
		}
		if m == nil {
			c.fail(http.StatusBadRequest, "SCA_METHOD_UNKNOWN", "authenticationMethodId", "unknown SCA method")
			return
		}
		s.selectMethod(a, m, resp, lk)
	case body.ScaAuthenticationData != "":
		if a.scaStatus != "scaMethodSelected" {
			c.fail(http.StatusConflict, "STATUS_INVALID", "scaAuthenticationData", "select an SCA method first")
			return
		}
		if body.ScaAuthenticationData != s.cfg.otp {
			a.otpFails++
			if a.otpFails >= 3 {
				s.failAuth(a)
			}
			c.fail(http.StatusUnauthorized, "PSU_CREDENTIALS_INVALID", "scaAuthenticationData", "wrong OTP")
			return
		}
		s.finalise(a)
	default:
		c.fail(http.StatusBadRequest, "FORMAT_ERROR", "confirmationCode", "authorisation confirmation is not supported")
		return
	}
	resp["scaStatus"] = a.scaStatus
	resp["_links"] = lk
	c.json(http.StatusOK, resp)
}

func (s *Server) authorisationStatus(c *call) {
	pr, ok := s.parent(c)
	if !ok {
		return
	}
	a := s.auth(c, pr)
	if a == nil {
		return
	}
	c.json(http.StatusOK, map[string]any{"scaStatus": a.scaStatus})
}

func (s *Server) listAuthorisations(c *call) {
	pr, ok := s.parent(c)
	if !ok {
		return
	}
	ids := append([]string{}, *pr.list...)
	if pr.kind == "cancellation" {
		c.json(http.StatusOK, map[string]any{"cancellationIds": ids})
		return
	}
	c.json(http.StatusOK, map[string]any{"authorisationIds": ids})
}

// finalise completes an authorisation and authorises what it belongs to.
func (s *Server) finalise(a *authorisation) {
	a.scaStatus = "finalised"
	today := s.cfg.now().Format("2006-01-02")
	switch a.kind {
	case "payment":
		s.payments[a.parentID].status = "ACTC"
	case "cancellation":
		p := s.payments[a.parentID]
		p.status, p.cancelPending = "CANC", false
	case "consent":
		cs := s.consents[a.parentID]
		cs.status, cs.lastAction = "valid", today
	case "basket":
		b := s.baskets[a.parentID]
		b.status = "ACTC"
		for _, id := range b.payments {
			if p := s.payments[id]; p.status == "RCVD" {
				p.status = "ACTC"
			}
		}
		for _, id := range b.consents {
			if cs := s.consents[id]; cs.status == "received" {
				cs.status, cs.lastAction = "valid", today
			}
		}
	}
}

func (s *Server) failAuth(a *authorisation) {
	a.scaStatus = "failed"
	switch a.kind {
	case "payment":
		s.payments[a.parentID].status = "RJCT"
	case "cancellation":
		s.payments[a.parentID].cancelPending = false
	case "consent":
		s.consents[a.parentID].status = "rejected"
	case "basket":
		b := s.baskets[a.parentID]
		b.status = "RJCT"
		for _, id := range b.payments {
			s.payments[id].status = "RJCT"
		}
		for _, id := range b.consents {
			s.consents[id].status = "rejected"
		}
	}
}

func (s *Server) ownerTPP(a *authorisation) string {
	switch a.kind {
	case "consent":
		return s.consents[a.parentID].tpp
	case "basket":
		return s.baskets[a.parentID].tpp
	default:
		return s.payments[a.parentID].tpp
	}
}

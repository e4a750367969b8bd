package khtest

import (
	"encoding/base64"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

type consent struct {
	id, tpp, appID      string
	kind                TokenKind
	body                consentBody
	status              string
	validUntil          time.Time
	lastAction          string
	auths               []string
	basketID            string
	approach            string
	redirectURI, nokURI string
	accounts            map[string]bool // resource ids the consent covers
}

func (cs *consent) expired(now time.Time) bool {
	return !now.Before(cs.validUntil.AddDate(0, 0, 1))
}

// Account is an account of the fake's PSU.
type Account struct {
	ResourceID string
	IBAN       string
	BBAN       string
	Currency   string
	Name       string
	Product    string
	// Balance is the closing booked balance, e.g. "1250000.00".
	Balance string
}

// Accounts returns the PSU's accounts.
func (s *Server) Accounts() []Account { return s.accountList() }

func (s *Server) accountList() []Account {
	as := []Account{
		{ResourceID: "acc-huf-1", BBAN: "104000000000000000000017", Currency: "HUF",
			Name: "Main HUF account", Product: "Current account", Balance: "1250000.00"},
		{ResourceID: "acc-eur-1", BBAN: "104000000000000000000024", Currency: "EUR",
			Name: "EUR account", Product: "Foreign currency account", Balance: "3200.50"},
	}
	for i := range as {
		as[i].IBAN = ibanFor("HU", as[i].BBAN)
	}
	return as
}

func (s *Server) accountByRef(r *accountRef) *Account {
	if r == nil {
		return nil
	}
	for _, a := range s.accountList() {
		if (r.IBAN != "" && r.IBAN == a.IBAN) || (r.BBAN != "" && r.BBAN == a.BBAN) {
			if r.Currency != "" && r.Currency != a.Currency {
				return nil
			}
			a := a
			return &a
		}
	}
	return nil
}

func (s *Server) accountByID(id string) *Account {
	for _, a := range s.accountList() {
		if a.ResourceID == id {
			a := a
			return &a
		}
	}
	return nil
}

// consentKind derives a consent's purpose (and so its token kind) from its access:
// available accounts only -> PSU identification; balances -> account balance;
// transactions -> transaction history; accounts only -> funds confirmation.
func consentKind(acc *consentAccess) (TokenKind, *fieldError) {
	avail := acc.AvailableAccounts != "" || acc.AvailableAccountsWithBalance != ""
	for _, v := range []string{acc.AvailableAccounts, acc.AvailableAccountsWithBalance} {
		if v != "" && v != "allAccounts" && v != "allAccountsWithOwnerName" {
			return "", ferr("access.availableAccounts", "must be allAccounts or allAccountsWithOwnerName")
		}
	}
	if acc.AllPsd2 != "" {
		return "", ferr("access.allPsd2", "not supported: create one consent per purpose")
	}
	nb, nt, na := len(acc.Balances), len(acc.Transactions), len(acc.Accounts)
	switch {
	case avail && na+nb+nt == 0:
		return KindPSUIdentification, nil
	case !avail && nb > 0 && nt == 0:
		return KindAccountBalance, nil
	case !avail && nt > 0 && nb == 0:
		return KindTransactionHistory, nil
	case !avail && na > 0 && nb+nt == 0:
		return KindFundsConfirmation, nil
	}
	return "", ferr("access", "a consent serves exactly one purpose: available accounts, balances, transactions or accounts (funds confirmation)")
}

func (s *Server) createConsent(c *call) {
	if !needPSUIP(c) {
		return
	}
	a := c.app(s)
	prefs, ok := s.readPrefs(c, a)
	if !ok {
		return
	}
	var body consentBody
	if !c.decode(&body) {
		return
	}
	switch {
	case body.Access == nil:
		c.fail(http.StatusBadRequest, "FORMAT_ERROR", "access", "required")
		return
	case body.RecurringIndicator == nil:
		c.fail(http.StatusBadRequest, "FORMAT_ERROR", "recurringIndicator", "required")
		return
	case body.FrequencyPerDay == nil || *body.FrequencyPerDay < 1:
		c.fail(http.StatusBadRequest, "FORMAT_ERROR", "frequencyPerDay", "required, at least 1")
		return
	case !*body.RecurringIndicator && *body.FrequencyPerDay != 1:
		c.fail(http.StatusBadRequest, "FORMAT_ERROR", "frequencyPerDay", "must be 1 for a one-off consent")
		return
	case body.CombinedServiceIndicator == nil:
		c.fail(http.StatusBadRequest, "FORMAT_ERROR", "combinedServiceIndicator", "required")
		return
	}
	vu, err := time.Parse("2006-01-02", body.ValidUntil)
	if err != nil {
		c.fail(http.StatusBadRequest, "FORMAT_ERROR", "validUntil", "required, a date YYYY-MM-DD")
		return
	}
	today, _ := time.Parse("2006-01-02", s.cfg.now().Format("2006-01-02"))
	if vu.Before(today) {
		c.fail(http.StatusBadRequest, "PERIOD_INVALID", "validUntil", "lies in the past")
		return
	}
	kind, fe := consentKind(body.Access)
	if fe != nil {
		c.fail(http.StatusBadRequest, "FORMAT_ERROR", fe.path, fe.text)
		return
	}
	role := "AISP"
	if kind == KindFundsConfirmation {
		role = "PIISP"
	}
	if !a.hasRole(role) {
		c.fail(http.StatusUnauthorized, "ROLE_INVALID", "", "the application has no "+role+" role")
		return
	}
	covered := map[string]bool{}
	for _, l := range []struct {
		name string
		refs []accountRef
	}{{"accounts", body.Access.Accounts}, {"balances", body.Access.Balances}, {"transactions", body.Access.Transactions}} {
		for i := range l.refs {
			path := fmt.Sprintf("access.%s[%d]", l.name, i)
			if e := checkAccount(path, &l.refs[i]); e != nil {
				c.fail(http.StatusBadRequest, "FORMAT_ERROR", e.path, e.text)
				return
			}
			acc := s.accountByRef(&l.refs[i])
			if acc == nil {
				c.fail(http.StatusBadRequest, "FORMAT_ERROR", path, "not an account of the PSU")
				return
			}
			covered[acc.ResourceID] = true
		}
	}
	cs := &consent{id: s.nextID("consent"), tpp: c.tpp, appID: a.id, kind: kind, body: body,
		status: "received", validUntil: vu, lastAction: s.cfg.now().Format("2006-01-02"),
		approach: prefs.approach, redirectURI: prefs.redirectURI, nokURI: prefs.nokURI, accounts: covered}
	s.consents[cs.id] = cs
	s.byRequestID[c.reqID] = cs.id
	path := "/v1/consents/" + cs.id
	lk := links{"self": {path}, "status": {path + "/status"}}
	s.startLinks(lk, prefs, "consent", cs.id, path, &cs.auths, cs.redirectURI, cs.nokURI)
	c.w.Header().Set("Location", path)
	c.w.Header().Set("ASPSP-SCA-Approach", prefs.approach)
	c.json(http.StatusCreated, map[string]any{"consentStatus": cs.status, "consentId": cs.id, "_links": lk})
}

func (s *Server) consent(c *call) *consent {
	cs, ok := s.consents[c.params["consentId"]]
	if !ok || cs.tpp != c.tpp {
		c.fail(http.StatusForbidden, "CONSENT_UNKNOWN", "consentId", "no such consent")
		return nil
	}
	if cs.status == "valid" && cs.expired(s.cfg.now()) {
		cs.status = "expired"
	}
	return cs
}

// consentStatus answers the status; for a valid consent it issues a new consent token
// in the "token" response header, on every call.
func (s *Server) consentStatus(c *call) {
	cs := s.consent(c)
	if cs == nil {
		return
	}
	s.statusCalls[cs.id]++
	if cs.status == "valid" {
		tok := s.issueLocked(cs.kind, s.apps[cs.appID], cs.id)
		c.w.Header()["token"] = []string{tok} // as K&H names it, lower case on the wire
	}
	c.json(http.StatusOK, map[string]any{"consentStatus": cs.status})
}

func (s *Server) getConsent(c *call) {
	cs := s.consent(c)
	if cs == nil {
		return
	}
	c.json(http.StatusOK, map[string]any{
		"access":             cs.body.Access,
		"recurringIndicator": *cs.body.RecurringIndicator,
		"validUntil":         cs.body.ValidUntil,
		"frequencyPerDay":    *cs.body.FrequencyPerDay,
		"lastActionDate":     cs.lastAction,
		"consentStatus":      cs.status,
		"_links":             links{"self": {"/v1/consents/" + cs.id}},
	})
}

func (s *Server) deleteConsent(c *call) {
	cs := s.consent(c)
	if cs == nil {
		return
	}
	cs.status = "terminatedByTpp"
	c.w.WriteHeader(http.StatusNoContent)
}

// ---------------------------------------------------------------------------
// accounts

func accountDetails(a *Account) map[string]any {
	base := "/v1/accounts/" + a.ResourceID
	return map[string]any{
		"resourceId": a.ResourceID, "iban": a.IBAN, "bban": a.BBAN, "currency": a.Currency,
		"name": a.Name, "product": a.Product, "cashAccountType": "CACC", "status": "enabled", "usage": "PRIV",
		"_links": links{"balances": {base + "/balances"}, "transactions": {base + "/transactions"}},
	}
}

// onlyQuery answers 400 PARAMETER_NOT_SUPPORTED for a query parameter not in allowed.
func onlyQuery(c *call, allowed ...string) bool {
	for k := range c.r.URL.Query() {
		ok := false
		for _, a := range allowed {
			ok = ok || k == a
		}
		if !ok {
			c.fail(http.StatusBadRequest, "PARAMETER_NOT_SUPPORTED", k, "query parameter not supported")
			return false
		}
	}
	return true
}

// consentHeader checks the Consent-ID header against the consent of the token.
func (s *Server) consentHeader(c *call) bool {
	v := c.r.Header.Get("Consent-ID")
	if v == "" {
		if s.cfg.requireConsentID {
			c.fail(http.StatusBadRequest, "FORMAT_ERROR", "Consent-ID", "Consent-ID is required")
			return false
		}
		return true
	}
	if v != c.tok.consentID {
		c.fail(http.StatusForbidden, "CONSENT_UNKNOWN", "Consent-ID", "Consent-ID does not match the consent of the token")
		return false
	}
	return true
}

func (s *Server) listAccounts(c *call) {
	if !onlyQuery(c, "withBalance") || !s.consentHeader(c) {
		return
	}
	var out []map[string]any
	for _, a := range s.accountList() {
		out = append(out, accountDetails(&a))
	}
	c.json(http.StatusOK, map[string]any{"accounts": out})
}

// coveredAccount resolves {account-id} and checks the token's consent covers it.
func (s *Server) coveredAccount(c *call) *Account {
	if !s.consentHeader(c) {
		return nil
	}
	a := s.accountByID(c.params["account-id"])
	if a == nil {
		c.fail(http.StatusNotFound, "RESOURCE_UNKNOWN", "account-id", "no such account")
		return nil
	}
	if !s.consents[c.tok.consentID].accounts[a.ResourceID] {
		c.fail(http.StatusUnauthorized, "CONSENT_INVALID", "account-id", "the consent does not cover this account")
		return nil
	}
	return a
}

func (s *Server) getAccount(c *call) {
	if !onlyQuery(c, "withBalance") {
		return
	}
	a := s.coveredAccount(c)
	if a == nil {
		return
	}
	c.json(http.StatusOK, map[string]any{"account": accountDetails(a)})
}

func (s *Server) balancesOf(a *Account) []map[string]any {
	now := s.cfg.now()
	return []map[string]any{
		{"balanceAmount": amount{a.Currency, a.Balance}, "balanceType": "closingBooked",
			"referenceDate": now.AddDate(0, 0, -1).Format("2006-01-02")},
		{"balanceAmount": amount{a.Currency, a.Balance}, "balanceType": "interimAvailable",
			"lastChangeDateTime": now.UTC().Format(time.RFC3339)},
	}
}

func (s *Server) getBalances(c *call) {
	if !onlyQuery(c) {
		return
	}
	a := s.coveredAccount(c)
	if a == nil {
		return
	}
	c.json(http.StatusOK, map[string]any{
		"account":  map[string]any{"iban": a.IBAN, "currency": a.Currency},
		"balances": s.balancesOf(a),
	})
}

// txn is one generated transaction.
type txn struct {
	booked bool
	date   time.Time
	body   map[string]any
}

// transactions returns the account's transactions in the order the fake serves them:
// booked (newest first), then pending.
func (s *Server) transactions(a *Account) []txn {
	n := s.cfg.txCount
	pending := 0
	if n >= 5 {
		pending = 2
	}
	today, _ := time.Parse("2006-01-02", s.cfg.now().Format("2006-01-02"))
	var out []txn
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("%s-tx-%03d", a.ResourceID, i+1)
		cents := int64(1500+i*731) % 500000
		amt := new(big.Rat).SetFrac64(cents, 100).FloatString(2)
		m := map[string]any{"transactionId": id, "entryReference": fmt.Sprintf("ER%06d", i+1)}
		cp := map[string]any{"iban": ibanFor("HU", fmt.Sprintf("11700000%016d", i+1))}
		if i%3 == 0 {
			m["transactionAmount"] = amount{a.Currency, amt}
			m["debtorName"] = fmt.Sprintf("Payer %d", i+1)
			m["debtorAccount"] = cp
		} else {
			m["transactionAmount"] = amount{a.Currency, "-" + amt}
			m["creditorName"] = fmt.Sprintf("Shop %d", i+1)
			m["creditorAccount"] = cp
		}
		m["remittanceInformationUnstructured"] = fmt.Sprintf("Invoice %d", 1000+i)
		switch i % 7 {
		case 3: // Berlin Group 1.3.6 shape
			m["remittanceInformationStructured"] = map[string]any{"reference": fmt.Sprintf("RF%02d%d", i, 7000+i), "referenceType": "SCOR"}
		case 5: // 1.3.8+ shape
			m["remittanceInformationStructured"] = fmt.Sprintf("RF%02d%d", i, 7000+i)
		}
		t := txn{body: m}
		if i < n-pending {
			t.booked = true
			t.date = today.AddDate(0, 0, -i)
			m["bookingDate"] = t.date.Format("2006-01-02")
			m["valueDate"] = t.date.Format("2006-01-02")
			m["bankTransactionCode"] = "PMNT-ICDT-STDO"
		} else {
			t.date = today
			m["valueDate"] = today.Format("2006-01-02")
		}
		out = append(out, t)
	}
	return out
}

// TransactionIDs returns the ids of an account's transactions in the order the fake
// pages them (booked newest first, then pending), for bookingStatus=both.
func (s *Server) TransactionIDs(accountID string) []string {
	a := s.accountByID(accountID)
	if a == nil {
		return nil
	}
	var ids []string
	for _, t := range s.transactions(a) {
		ids = append(ids, t.body["transactionId"].(string))
	}
	return ids
}

func (s *Server) getTransactions(c *call) {
	if !onlyQuery(c, "bookingStatus", "dateFrom", "dateTo", "withBalance", "pageIndex", "itemsPerPage",
		"entryReferenceFrom", "deltaList") {
		return
	}
	a := s.coveredAccount(c)
	if a == nil {
		return
	}
	q := c.r.URL.Query()
	for _, k := range []string{"entryReferenceFrom", "deltaList"} {
		if q.Has(k) {
			c.fail(http.StatusBadRequest, "PARAMETER_NOT_SUPPORTED", k, "delta access is not supported")
			return
		}
	}
	status := q.Get("bookingStatus")
	switch status {
	case "booked", "pending", "both", "all":
	case "":
		c.fail(http.StatusBadRequest, "FORMAT_ERROR", "bookingStatus", "required")
		return
	default:
		c.fail(http.StatusBadRequest, "PARAMETER_NOT_SUPPORTED", "bookingStatus", "supported: booked, pending, both, all")
		return
	}
	from, err := time.Parse("2006-01-02", q.Get("dateFrom"))
	if err != nil {
		c.fail(http.StatusBadRequest, "FORMAT_ERROR", "dateFrom", "required, a date YYYY-MM-DD")
		return
	}
	to := s.cfg.now()
	if v := q.Get("dateTo"); v != "" {
		if to, err = time.Parse("2006-01-02", v); err != nil {
			c.fail(http.StatusBadRequest, "FORMAT_ERROR", "dateTo", "a date YYYY-MM-DD")
			return
		}
	}
	if to.Before(from) {
		c.fail(http.StatusBadRequest, "PERIOD_INVALID", "dateTo", "dateTo lies before dateFrom")
		return
	}
	size := s.cfg.pageSize
	if v := q.Get("itemsPerPage"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			c.fail(http.StatusBadRequest, "FORMAT_ERROR", "itemsPerPage", "a positive integer")
			return
		}
		size = n
	}
	page := 0
	if v := q.Get("pageIndex"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			c.fail(http.StatusBadRequest, "FORMAT_ERROR", "pageIndex", "a non-negative integer")
			return
		}
		page = n
	}
	var all []txn
	for _, t := range s.transactions(a) {
		if t.booked && (status == "pending" || t.date.Before(from) || t.date.After(to)) {
			continue
		}
		if !t.booked && status == "booked" {
			continue
		}
		all = append(all, t)
	}
	pages := (len(all) + size - 1) / size
	if pages == 0 {
		pages = 1
	}
	if page >= pages {
		c.fail(http.StatusBadRequest, "FORMAT_ERROR", "pageIndex", "beyond the last page")
		return
	}
	lo, hi := page*size, min((page+1)*size, len(all))
	booked, pending := []map[string]any{}, []map[string]any{}
	for _, t := range all[lo:hi] {
		if t.booked {
			booked = append(booked, t.body)
		} else {
			pending = append(pending, t.body)
		}
	}
	base := "/v1/accounts/" + a.ResourceID
	pageLink := func(i int) href {
		qq := url.Values{}
		for k, v := range q {
			qq[k] = v
		}
		qq.Set("pageIndex", strconv.Itoa(i))
		return href{base + "/transactions?" + qq.Encode()}
	}
	lk := links{"account": {base}, "first": pageLink(0), "last": pageLink(pages - 1)}
	if page > 0 {
		lk["previous"] = pageLink(page - 1)
	}
	if page+1 < pages {
		lk["next"] = pageLink(page + 1)
	}
	if page == s.cfg.loopFrom {
		lk["next"] = pageLink(s.cfg.loopTo)
	}
	report := map[string]any{"_links": lk}
	if status != "pending" {
		report["booked"] = booked
	}
	if status != "booked" {
		report["pending"] = pending
	}
	dl := s.downloadID(a)
	resp := map[string]any{
		"account":      map[string]any{"iban": a.IBAN, "currency": a.Currency},
		"transactions": report,
		"_links":       links{"download": {base + "/transactions/download/" + dl}},
	}
	if q.Get("withBalance") == "true" {
		resp["balances"] = s.balancesOf(a)
	}
	c.json(http.StatusOK, resp)
}

func (s *Server) downloadID(a *Account) string {
	id := base64.RawURLEncoding.EncodeToString([]byte("camt053:" + a.ResourceID))
	s.downloads[id] = a.ResourceID
	return id
}

// DownloadContent returns the bytes the transaction download of an account serves.
func (s *Server) DownloadContent(accountID string) []byte {
	a := s.accountByID(accountID)
	if a == nil {
		return nil
	}
	return s.camt(a)
}

func (s *Server) camt(a *Account) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt>`)
	fmt.Fprintf(&b, "<Acct><Id><IBAN>%s</IBAN></Id><Ccy>%s</Ccy></Acct>\n", a.IBAN, a.Currency)
	for _, t := range s.transactions(a) {
		if !t.booked {
			continue
		}
		amt := t.body["transactionAmount"].(amount)
		ind, v := "CRDT", amt.Amount
		if strings.HasPrefix(v, "-") {
			ind, v = "DBIT", v[1:]
		}
		fmt.Fprintf(&b, "<Ntry><NtryRef>%s</NtryRef><Amt Ccy=\"%s\">%s</Amt><CdtDbtInd>%s</CdtDbtInd><BookgDt><Dt>%s</Dt></BookgDt></Ntry>\n",
			t.body["transactionId"], amt.Currency, v, ind, t.date.Format("2006-01-02"))
	}
	if pad := s.cfg.downloadBytes - b.Len() - 40; pad > 0 {
		b.WriteString("<!--")
		b.WriteString(strings.Repeat("x", pad))
		b.WriteString("-->")
	}
	b.WriteString("</Stmt></BkToCstmrStmt></Document>\n")
	return []byte(b.String())
}

func (s *Server) download(c *call) {
	if !onlyQuery(c) {
		return
	}
	a := s.coveredAccount(c)
	if a == nil {
		return
	}
	if acc, ok := s.downloads[c.params["downloadid"]]; !ok || acc != a.ResourceID {
		c.fail(http.StatusNotFound, "RESOURCE_UNKNOWN", "downloadid", "no such download")
		return
	}
	body := s.camt(a)
	c.w.Header().Set("Content-Type", "application/xml")
	c.w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write(body)
}

func (s *Server) fundsConfirmation(c *call) {
	if !c.app(s).hasRole("PIISP") {
		c.fail(http.StatusUnauthorized, "ROLE_INVALID", "", "the application has no PIISP role")
		return
	}
	var body fundsBody
	if !c.decode(&body) {
		return
	}
	if e := checkAccount("account", body.Account); e != nil {
		c.fail(http.StatusBadRequest, "FORMAT_ERROR", e.path, e.text)
		return
	}
	if e := checkAmount("instructedAmount", body.InstructedAmount, true); e != nil {
		c.fail(http.StatusBadRequest, "FORMAT_ERROR", e.path, e.text)
		return
	}
	if e := checkLen("cardNumber", body.CardNumber, 35); e != nil {
		c.fail(http.StatusBadRequest, "FORMAT_ERROR", e.path, e.text)
		return
	}
	if e := checkLen("payee", body.Payee, 70); e != nil {
		c.fail(http.StatusBadRequest, "FORMAT_ERROR", e.path, e.text)
		return
	}
	if !s.consentHeader(c) {
		return
	}
	a := s.accountByRef(body.Account)
	if a == nil || !s.consents[c.tok.consentID].accounts[a.ResourceID] {
		c.fail(http.StatusUnauthorized, "CONSENT_INVALID", "account", "the consent does not cover this account")
		return
	}
	want, _ := new(big.Rat).SetString(body.InstructedAmount.Amount)
	have, _ := new(big.Rat).SetString(a.Balance)
	ok := body.InstructedAmount.Currency == a.Currency && want.Cmp(have) <= 0
	c.json(http.StatusOK, map[string]any{"fundsAvailable": ok})
}

// ---------------------------------------------------------------------------
// TPP onboarding. K&H documents what these calls carry (contact name, phone and
// e-mail; application name, roles and redirect URL host; the application id), not
// the JSON names: the fake uses the names below.

type contactBody struct {
	Name  string `json:"name"`
	Phone string `json:"phone"`
	Email string `json:"email"`
}

type appBody struct {
	Name         string   `json:"name"`
	Roles        []string `json:"roles"`
	RedirectHost string   `json:"redirectHost"`
}

type appTokenBody struct {
	ApplicationID string `json:"applicationId"`
}

func (s *Server) tppOf(c *call) *tpp {
	t, ok := s.tpps[c.tpp]
	if !ok {
		t = &tpp{name: c.tpp, roles: []string{"AISP", "PISP", "PIISP"}}
		s.tpps[c.tpp] = t
	}
	return t
}

func (s *Server) putContact(c *call) {
	var body contactBody
	if !c.decode(&body) {
		return
	}
	switch {
	case strings.TrimSpace(body.Name) == "":
		c.fail(http.StatusBadRequest, "FORMAT_ERROR", "name", "required")
		return
	case strings.TrimSpace(body.Phone) == "":
		c.fail(http.StatusBadRequest, "FORMAT_ERROR", "phone", "required")
		return
	case !strings.Contains(body.Email, "@"):
		c.fail(http.StatusBadRequest, "FORMAT_ERROR", "email", "required, an e-mail address")
		return
	}
	s.tppOf(c).contact = &body
	c.json(http.StatusOK, body)
}

func (s *Server) registerApp(c *call) {
	t := s.tppOf(c)
	if t.contact == nil {
		c.fail(http.StatusForbidden, "SERVICE_BLOCKED", "", "record the TPP's contact data first (PUT /v1/tpp/contact)")
		return
	}
	var body appBody
	if !c.decode(&body) {
		return
	}
	if strings.TrimSpace(body.Name) == "" {
		c.fail(http.StatusBadRequest, "FORMAT_ERROR", "name", "required")
		return
	}
	if len(body.Roles) == 0 {
		c.fail(http.StatusBadRequest, "FORMAT_ERROR", "roles", "at least one role")
		return
	}
	for _, r := range body.Roles {
		ok := false
		for _, x := range t.roles {
			ok = ok || r == x
		}
		if !ok {
			c.fail(http.StatusBadRequest, "FORMAT_ERROR", "roles", "the TPP has no role "+r)
			return
		}
	}
	if body.RedirectHost == "" || strings.ContainsAny(body.RedirectHost, "/:?#@ ") {
		c.fail(http.StatusBadRequest, "FORMAT_ERROR", "redirectHost", "required, a host name")
		return
	}
	a := &app{id: s.nextID("app"), tpp: c.tpp, name: body.Name, roles: body.Roles, redirectHost: body.RedirectHost}
	s.apps[a.id] = a
	s.byRequestID[c.reqID] = a.id
	tok := s.issueLocked(KindApp, a, "")
	c.json(http.StatusCreated, map[string]any{"applicationId": a.id, "token": tok})
}

func (s *Server) appToken(c *call) {
	var body appTokenBody
	if !c.decode(&body) {
		return
	}
	a, ok := s.apps[body.ApplicationID]
	if !ok || a.tpp != c.tpp {
		c.fail(http.StatusNotFound, "RESOURCE_UNKNOWN", "applicationId", "no such application")
		return
	}
	c.json(http.StatusOK, map[string]any{"token": s.issueLocked(KindApp, a, "")})
}

package kh

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"net/url"
	"strconv"
	"strings"

	"github.com/banksdk/banksdk/internal/rest"
)

// AccountDetails describes an account (Berlin Group accountDetails).
type AccountDetails struct {
	// ResourceID is the id to use as {account-id}.
	ResourceID      string        `json:"resourceId,omitempty"`
	IBAN            string        `json:"iban,omitempty"`
	BBAN            string        `json:"bban,omitempty"`
	MSISDN          string        `json:"msisdn,omitempty"`
	Currency        string        `json:"currency"`
	OwnerName       string        `json:"ownerName,omitempty"`
	Name            string        `json:"name,omitempty"`
	DisplayName     string        `json:"displayName,omitempty"`
	Product         string        `json:"product,omitempty"`
	CashAccountType string        `json:"cashAccountType,omitempty"`
	Status          AccountStatus `json:"status,omitempty"`
	BIC             string        `json:"bic,omitempty"`
	LinkedAccounts  string        `json:"linkedAccounts,omitempty"`
	// Usage is PRIV or ORGA.
	Usage    string    `json:"usage,omitempty"`
	Details  string    `json:"details,omitempty"`
	Balances []Balance `json:"balances,omitempty"`
	Links    Links     `json:"_links,omitempty"`
}

// Reference returns a reference to the account by IBAN (else BBAN), for consents and
// payments.
func (a AccountDetails) Reference() AccountReference {
	if a.IBAN != "" {
		return AccountReference{IBAN: a.IBAN}
	}
	return AccountReference{BBAN: a.BBAN}
}

// AccountList is the PSU's account list.
type AccountList struct {
	Accounts []AccountDetails `json:"accounts"`
	Meta     `json:"-"`
}

func (l *AccountList) setMeta(r *rest.Response, _ []byte) { l.Meta = metaOf(r) }

// Account is one account's details.
type Account struct {
	Account AccountDetails `json:"account"`
	Meta    `json:"-"`
}

func (a *Account) setMeta(r *rest.Response, _ []byte) { a.Meta = metaOf(r) }

// Balance is one balance of an account.
type Balance struct {
	BalanceAmount       Amount      `json:"balanceAmount"`
	BalanceType         BalanceType `json:"balanceType"`
	CreditLimitIncluded *Bool       `json:"creditLimitIncluded,omitempty"`
	// LastChangeDateTime is a date-time (offset formats vary between banks).
	LastChangeDateTime       string `json:"lastChangeDateTime,omitempty"`
	ReferenceDate            string `json:"referenceDate,omitempty"`
	LastCommittedTransaction string `json:"lastCommittedTransaction,omitempty"`
}

// Balances are an account's balances.
type Balances struct {
	Account  *AccountReference `json:"account,omitempty"`
	Balances []Balance         `json:"balances"`
	Meta     `json:"-"`
}

func (b *Balances) setMeta(r *rest.Response, _ []byte) { b.Meta = metaOf(r) }

// Transaction is one entry of an account report.
type Transaction struct {
	TransactionID             string            `json:"transactionId,omitempty"`
	EntryReference            string            `json:"entryReference,omitempty"`
	EndToEndID                string            `json:"endToEndId,omitempty"`
	BatchIndicator            *Bool             `json:"batchIndicator,omitempty"`
	BatchNumberOfTransactions *Int              `json:"batchNumberOfTransactions,omitempty"`
	MandateID                 string            `json:"mandateId,omitempty"`
	CheckID                   string            `json:"checkId,omitempty"`
	CreditorID                string            `json:"creditorId,omitempty"`
	BookingDate               string            `json:"bookingDate,omitempty"`
	ValueDate                 string            `json:"valueDate,omitempty"`
	TransactionAmount         Amount            `json:"transactionAmount"`
	CurrencyExchange          json.RawMessage   `json:"currencyExchange,omitempty"`
	CreditorName              string            `json:"creditorName,omitempty"`
	CreditorAccount           *AccountReference `json:"creditorAccount,omitempty"`
	CreditorAgent             string            `json:"creditorAgent,omitempty"`
	UltimateCreditor          string            `json:"ultimateCreditor,omitempty"`
	DebtorName                string            `json:"debtorName,omitempty"`
	DebtorAccount             *AccountReference `json:"debtorAccount,omitempty"`
	DebtorAgent               string            `json:"debtorAgent,omitempty"`
	UltimateDebtor            string            `json:"ultimateDebtor,omitempty"`

	RemittanceInformationUnstructured      string                `json:"remittanceInformationUnstructured,omitempty"`
	RemittanceInformationUnstructuredArray []string              `json:"remittanceInformationUnstructuredArray,omitempty"`
	RemittanceInformationStructured        *RemittanceStructured `json:"remittanceInformationStructured,omitempty"`
	RemittanceInformationStructuredArray   json.RawMessage       `json:"remittanceInformationStructuredArray,omitempty"`

	EntryDetails                    json.RawMessage `json:"entryDetails,omitempty"`
	AdditionalInformation           string          `json:"additionalInformation,omitempty"`
	AdditionalInformationStructured json.RawMessage `json:"additionalInformationStructured,omitempty"`
	PurposeCode                     string          `json:"purposeCode,omitempty"`
	BankTransactionCode             string          `json:"bankTransactionCode,omitempty"`
	ProprietaryBankTransactionCode  string          `json:"proprietaryBankTransactionCode,omitempty"`
	BalanceAfterTransaction         *Balance        `json:"balanceAfterTransaction,omitempty"`
	Links                           Links           `json:"_links,omitempty"`

	// BookingStatus says which list of the report the entry came from (booked,
	// pending or information).
	BookingStatus BookingStatus `json:"-"`
}

// TransactionPage is one page of an account's transactions.
type TransactionPage struct {
	Account     *AccountReference
	Booked      []Transaction
	Pending     []Transaction
	Information []Transaction
	// ReportLinks are the account report's links (first, next, previous, last).
	ReportLinks Links
	// Links are the answer's links (download).
	Links    Links
	Balances []Balance
	Meta
}

// UnmarshalJSON reads the Berlin Group transactionsResponse.
func (p *TransactionPage) UnmarshalJSON(b []byte) error {
	var raw struct {
		Account      *AccountReference `json:"account"`
		Transactions *struct {
			Booked      []Transaction `json:"booked"`
			Pending     []Transaction `json:"pending"`
			Information []Transaction `json:"information"`
			Links       Links         `json:"_links"`
		} `json:"transactions"`
		Balances []Balance `json:"balances"`
		Links    Links     `json:"_links"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	p.Account, p.Balances, p.Links = raw.Account, raw.Balances, raw.Links
	if t := raw.Transactions; t != nil {
		p.Booked, p.Pending, p.Information, p.ReportLinks = t.Booked, t.Pending, t.Information, t.Links
	}
	for i := range p.Booked {
		p.Booked[i].BookingStatus = BookingBooked
	}
	for i := range p.Pending {
		p.Pending[i].BookingStatus = BookingPending
	}
	for i := range p.Information {
		p.Information[i].BookingStatus = BookingInformation
	}
	return nil
}

func (p *TransactionPage) setMeta(r *rest.Response, _ []byte) { p.Meta = metaOf(r) }

// All returns the page's entries in report order: booked, pending, information.
func (p *TransactionPage) All() []Transaction {
	out := make([]Transaction, 0, len(p.Booked)+len(p.Pending)+len(p.Information))
	out = append(append(append(out, p.Booked...), p.Pending...), p.Information...)
	return out
}

// TransactionQuery selects transactions.
type TransactionQuery struct {
	// BookingStatus is required by the API; empty means booked (the only status every
	// bank must support).
	BookingStatus BookingStatus
	// DateFrom and DateTo are dates YYYY-MM-DD. DateFrom is required unless
	// BookingStatus is information; DateTo defaults to today at the bank.
	DateFrom, DateTo string
	WithBalance      bool
	// ItemsPerPage asks for a page size (only if the bank supports it); 0 leaves it out.
	ItemsPerPage int
}

func (q TransactionQuery) values() (url.Values, error) {
	bs := q.BookingStatus
	if bs == "" {
		bs = BookingBooked
	}
	v := url.Values{"bookingStatus": {string(bs)}}
	if q.DateFrom == "" && bs != BookingInformation {
		return nil, invalid("dateFrom", "required unless bookingStatus is information")
	}
	for _, d := range []struct{ name, v string }{{"dateFrom", q.DateFrom}, {"dateTo", q.DateTo}} {
		if d.v == "" {
			continue
		}
		if err := checkDate(d.name, d.v); err != nil {
			return nil, err
		}
		v.Set(d.name, d.v)
	}
	if q.DateFrom != "" && q.DateTo != "" && q.DateTo < q.DateFrom {
		return nil, invalid("dateTo", "before dateFrom")
	}
	if q.WithBalance {
		v.Set("withBalance", "true")
	}
	if q.ItemsPerPage < 0 {
		return nil, invalid("itemsPerPage", "must not be negative")
	}
	if q.ItemsPerPage > 0 {
		v.Set("itemsPerPage", strconv.Itoa(q.ItemsPerPage))
	}
	return v, nil
}

// AccountsService reads accounts, balances and transactions. Every call takes the id of
// the consent whose token it uses (sent as Consent-ID as well).
type AccountsService service

func (s *AccountsService) call(method, pattern, consentID string, path ...string) *call {
	return &call{method: method, pattern: pattern, path: path, consent: consentID, consentHeader: true}
}

// List returns the PSU's accounts (GET /v1/accounts) under a valid PSU identification
// consent. The K&H endpoint-token table lacks this endpoint; its SCA page says the
// account list answers with a PSU identification consent.
func (s *AccountsService) List(ctx context.Context, consentID string, opts ...RequestOption) (*AccountList, error) {
	if err := needID("consentId", consentID); err != nil {
		return nil, err
	}
	return do[AccountList](ctx, s.client, s.call("GET", "/v1/accounts", consentID, "v1", "accounts"), opts)
}

// Get returns an account's details (account balance or transaction history consent).
func (s *AccountsService) Get(ctx context.Context, consentID, accountID string, opts ...RequestOption) (*Account, error) {
	if err := needIDs("consentId", consentID, "account-id", accountID); err != nil {
		return nil, err
	}
	return do[Account](ctx, s.client, s.call("GET", "/v1/accounts/{account-id}", consentID, "v1", "accounts", accountID), opts)
}

// Balances returns an account's balances (account balance consent).
func (s *AccountsService) Balances(ctx context.Context, consentID, accountID string, opts ...RequestOption) (*Balances, error) {
	if err := needIDs("consentId", consentID, "account-id", accountID); err != nil {
		return nil, err
	}
	return do[Balances](ctx, s.client, s.call("GET", "/v1/accounts/{account-id}/balances", consentID,
		"v1", "accounts", accountID, "balances"), opts)
}

const transactionsPattern = "/v1/accounts/{account-id}/transactions"

// maxTransactionPages bounds a listing, in case a bank hands out ever new next links.
const maxTransactionPages = 10_000

// TransactionsPage returns the first page of an account's transactions (transaction
// history consent). Follow its ReportLinks with NextPage, or use Transactions.
func (s *AccountsService) TransactionsPage(ctx context.Context, consentID, accountID string, q TransactionQuery, opts ...RequestOption) (*TransactionPage, error) {
	if err := needIDs("consentId", consentID, "account-id", accountID); err != nil {
		return nil, err
	}
	vals, err := q.values()
	if err != nil {
		return nil, err
	}
	cl := s.call("GET", transactionsPattern, consentID, "v1", "accounts", accountID, "transactions")
	cl.query = vals
	return do[TransactionPage](ctx, s.client, cl, opts)
}

// NextPage follows a page's next link (resolved against the base URL; it must stay on
// the bank's host and address the transactions of an account). It returns nil, nil on
// the last page.
func (s *AccountsService) NextPage(ctx context.Context, consentID string, page *TransactionPage, opts ...RequestOption) (*TransactionPage, error) {
	if page == nil || page.ReportLinks.Get(LinkNext) == "" {
		return nil, nil
	}
	u, err := s.link(page.ReportLinks.Get(LinkNext), transactionsPattern)
	if err != nil {
		return nil, err
	}
	return s.follow(ctx, consentID, u, opts)
}

func (s *AccountsService) follow(ctx context.Context, consentID string, u *url.URL, opts []RequestOption) (*TransactionPage, error) {
	return do[TransactionPage](ctx, s.client, &call{method: "GET", pattern: transactionsPattern, url: u,
		consent: consentID, consentHeader: true}, opts)
}

// link resolves an href from an answer against the base URL and checks it addresses
// the endpoint pattern (below the base URL's path).
func (s *AccountsService) link(href, pattern string) (*url.URL, error) {
	u, err := s.client.rc.ResolveLink(href)
	if err != nil {
		return nil, fmt.Errorf("kh: %w", err)
	}
	if _, ok := s.client.relativeMatch(u, pattern); !ok {
		return nil, fmt.Errorf("kh: link %q does not address %s", rest.RedactURL(u), pattern)
	}
	return u, nil
}

// relativeMatch matches a resolved URL's path, below the base URL's path, against a
// table pattern.
func (c *Client) relativeMatch(u *url.URL, pattern string) (map[string]string, bool) {
	base := strings.TrimSuffix(c.rc.BaseURL().Path, "/")
	p := u.Path
	if !strings.HasPrefix(p, base+"/") {
		return nil, false
	}
	segs := strings.Split(strings.Trim(strings.TrimPrefix(p, base), "/"), "/")
	return matchPattern(pattern, segs)
}

// Transactions returns every transaction of an account, page after page, following
// each page's next link (resolved against the base URL). Entries arrive in the bank's
// order (per page: booked, pending, information). A next link that points back to a
// page already read (or a listing of more than 10,000 pages) ends the sequence with an
// error matching ErrPageLoop; any other error also ends it. Each page is its own call with its own X-Request-ID (a
// RequestID option applies to the first page only).
func (s *AccountsService) Transactions(ctx context.Context, consentID, accountID string, q TransactionQuery, opts ...RequestOption) iter.Seq2[Transaction, error] {
	return func(yield func(Transaction, error) bool) {
		page, err := s.TransactionsPage(ctx, consentID, accountID, q, opts...)
		if err != nil {
			yield(Transaction{}, err)
			return
		}
		later := withoutRequestID(opts)
		seen := map[string]bool{}
		if u, err := s.client.rc.ResolveLink(page.ReportLinks.Get(LinkFirst)); err == nil && page.ReportLinks.Get(LinkFirst) != "" {
			seen[pageKey(u)] = true
		}
		seen[pageKey(s.firstURL(accountID, q))] = true
		for n := 1; ; n++ {
			for _, t := range page.All() {
				if !yield(t, nil) {
					return
				}
			}
			next := page.ReportLinks.Get(LinkNext)
			if next == "" {
				return
			}
			u, err := s.link(next, transactionsPattern)
			if err != nil {
				yield(Transaction{}, err)
				return
			}
			key := pageKey(u)
			if n >= maxTransactionPages {
				yield(Transaction{}, fmt.Errorf("kh: transactions of account %q: more than %d pages: %w", rest.Clip(accountID, 64), maxTransactionPages, ErrPageLoop))
				return
			}
			if seen[key] {
				yield(Transaction{}, fmt.Errorf("kh: transactions of account %q: page %d: %w (%s)", rest.Clip(accountID, 64), n, ErrPageLoop, rest.RedactURL(u)))
				return
			}
			seen[key] = true
			if page, err = s.follow(ctx, consentID, u, later); err != nil {
				yield(Transaction{}, err)
				return
			}
		}
	}
}

func (s *AccountsService) firstURL(accountID string, q TransactionQuery) *url.URL {
	base := s.client.rc.BaseURL()
	p, _ := rest.Path("v1", "accounts", accountID, "transactions")
	u, err := url.Parse(strings.TrimSuffix(base.EscapedPath(), "/") + "/" + p)
	if err != nil {
		return base
	}
	u.Scheme, u.Host = base.Scheme, base.Host
	if v, err := q.values(); err == nil {
		u.RawQuery = v.Encode()
	}
	return u
}

// pageKey identifies a page by path and normalised query.
func pageKey(u *url.URL) string {
	return u.EscapedPath() + "?" + u.Query().Encode()
}

func withoutRequestID(opts []RequestOption) []RequestOption {
	out := make([]RequestOption, 0, len(opts)+1)
	out = append(out, opts...)
	return append(out, func(r *reqOpts) { r.requestID = "" })
}

// Download is a streamed transaction download. Close Body when done.
type Download struct {
	Body          io.ReadCloser
	ContentType   string
	ContentLength int64
	Meta
}

// Download streams an account's transaction download (GET
// /v1/accounts/{account-id}/transactions/download/{downloadid}; transaction history
// consent). The body is not size-limited; the per-attempt timeout bounds reading it.
func (s *AccountsService) Download(ctx context.Context, consentID, accountID, downloadID string, opts ...RequestOption) (*Download, error) {
	if err := needIDs("consentId", consentID, "account-id", accountID); err != nil {
		return nil, err
	}
	if err := needID("downloadid", downloadID); err != nil {
		return nil, err
	}
	cl := s.call("GET", "/v1/accounts/{account-id}/transactions/download/{downloadid}", consentID,
		"v1", "accounts", accountID, "transactions", "download", downloadID)
	return s.stream(ctx, cl, opts)
}

// DownloadLink streams the download a transactions answer links to (its Links
// "download" href).
func (s *AccountsService) DownloadLink(ctx context.Context, consentID, href string, opts ...RequestOption) (*Download, error) {
	if err := needID("consentId", consentID); err != nil {
		return nil, err
	}
	const pattern = "/v1/accounts/{account-id}/transactions/download/{downloadid}"
	u, err := s.link(href, pattern)
	if err != nil {
		return nil, err
	}
	return s.stream(ctx, &call{method: "GET", pattern: pattern, url: u, consent: consentID, consentHeader: true}, opts)
}

func (s *AccountsService) stream(ctx context.Context, cl *call, opts []RequestOption) (*Download, error) {
	cl.stream = true
	resp, err := s.client.send(ctx, cl, append([]RequestOption{Header("Accept", "*/*")}, opts...), nil)
	if err != nil {
		return nil, err
	}
	d := &Download{Body: resp.Body, ContentType: resp.Header.Get("Content-Type"), ContentLength: -1, Meta: metaOf(resp)}
	if n, err := strconv.ParseInt(resp.Header.Get("Content-Length"), 10, 64); err == nil {
		d.ContentLength = n
	}
	return d, nil
}

func needIDs(kv ...string) error {
	for i := 0; i+1 < len(kv); i += 2 {
		if err := needID(kv[i], kv[i+1]); err != nil {
			return err
		}
	}
	return nil
}

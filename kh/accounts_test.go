package kh_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/kh"
	"github.com/banksdk/banksdk/kh/khtest"
)

const txPath = "/v1/accounts/acc-huf-1/transactions"

func TestTransactionsAcrossPagesArriveInOrderOnce(t *testing.T) {
	e := setup(t, []khtest.Option{khtest.WithTransactionCount(25), khtest.WithPageSize(10)})
	id := e.validConsent(kh.TransactionConsent("2999-12-31", e.ref(0)))
	e.srv.ResetRequests()
	var got []string
	statuses := map[kh.BookingStatus]int{}
	for tx, err := range e.c.Accounts.Transactions(e.ctx, id, "acc-huf-1", kh.TransactionQuery{BookingStatus: kh.BookingBoth, DateFrom: "2000-01-01"}) {
		require.NoError(t, err)
		got = append(got, tx.TransactionID)
		statuses[tx.BookingStatus]++
	}
	want := e.srv.TransactionIDs("acc-huf-1")
	require.Len(t, want, 25)
	assert.Equal(t, want, got, "every transaction, in order, once")
	assert.Equal(t, map[kh.BookingStatus]int{kh.BookingBooked: 23, kh.BookingPending: 2}, statuses)
	reqs := e.srv.Requests()
	require.Len(t, reqs, 3, "three pages")
	ids := map[string]bool{}
	for i, r := range reqs {
		assert.Equal(t, txPath, r.Path)
		assert.Equal(t, id, r.Header.Get("Consent-ID"))
		ids[r.Header.Get("X-Request-ID")] = true
		if i > 0 {
			assert.Contains(t, r.RawQuery, "pageIndex=")
		}
	}
	assert.Len(t, ids, 3, "one X-Request-ID per page")

	// Lenient decoding of both remittanceInformationStructured shapes.
	var objs, strs int
	for tx, err := range e.c.Accounts.Transactions(e.ctx, id, "acc-huf-1", kh.TransactionQuery{DateFrom: "2000-01-01"}) {
		require.NoError(t, err)
		if s := tx.RemittanceInformationStructured; s != nil {
			require.NotEmpty(t, s.Reference)
			if s.ReferenceType != "" {
				objs++
			} else {
				strs++
			}
		}
	}
	assert.Positive(t, objs)
	assert.Positive(t, strs)
}

func TestTransactionsNextLinkLoopEndsWithAnError(t *testing.T) {
	for _, loop := range []struct{ from, to, pages int }{{1, 0, 2}, {2, 1, 3}, {2, 2, 3}} {
		e := setup(t, []khtest.Option{khtest.WithTransactionLinkLoop(loop.from, loop.to), khtest.WithPageSize(10)})
		id := e.validConsent(kh.TransactionConsent("2999-12-31", e.ref(0)))
		e.srv.ResetRequests()
		var got []string
		var last error
		n := 0
		for tx, err := range e.c.Accounts.Transactions(e.ctx, id, "acc-huf-1", kh.TransactionQuery{BookingStatus: kh.BookingBoth, DateFrom: "2000-01-01"}) {
			n++
			require.Less(t, n, 100, "looping")
			if err != nil {
				last = err
				continue
			}
			got = append(got, tx.TransactionID)
		}
		require.ErrorIs(t, last, kh.ErrPageLoop, "loop %+v", loop)
		assert.Contains(t, last.Error(), "acc-huf-1")
		assert.Equal(t, loop.pages, e.srv.Count("GET", txPath), "loop %+v: each page read once", loop)
		assert.Equal(t, e.srv.TransactionIDs("acc-huf-1")[:min(25, loop.pages*10)], got, "each transaction once")
	}
}

func TestTransactionsStopWhenTheCallerStops(t *testing.T) {
	e := setup(t, nil)
	id := e.validConsent(kh.TransactionConsent("2999-12-31", e.ref(0)))
	e.srv.ResetRequests()
	n := 0
	for _, err := range e.c.Accounts.Transactions(e.ctx, id, "acc-huf-1", kh.TransactionQuery{DateFrom: "2000-01-01"}) {
		require.NoError(t, err)
		n++
		if n == 12 {
			break
		}
	}
	assert.Equal(t, 2, e.srv.Count("GET", txPath), "no page beyond the one being read")

	// An error on the first page is yielded once.
	n = 0
	for _, err := range e.c.Accounts.Transactions(e.ctx, id, "acc-eur-1", kh.TransactionQuery{DateFrom: "2000-01-01"}) {
		n++
		var ae *kh.APIError
		require.ErrorAs(t, err, &ae)
		assert.True(t, ae.Has(kh.CodeConsentInvalid))
	}
	assert.Equal(t, 1, n)
}

func TestNextPageRefusesForeignLinks(t *testing.T) {
	e := setup(t, nil)
	id := e.validConsent(kh.TransactionConsent("2999-12-31", e.ref(0)))
	page, err := e.c.Accounts.TransactionsPage(e.ctx, id, "acc-huf-1", kh.TransactionQuery{DateFrom: "2000-01-01"})
	require.NoError(t, err)
	next, err := e.c.Accounts.NextPage(e.ctx, id, page)
	require.NoError(t, err)
	require.NotNil(t, next)
	assert.NotEqual(t, page.Booked[0].TransactionID, next.Booked[0].TransactionID)

	before := len(e.srv.Requests())
	for _, href := range []string{"https://evil.example/v1/accounts/acc-huf-1/transactions?pageIndex=1",
		"/v1/consents/x/status", "//evil.example/v1/accounts/acc-huf-1/transactions"} {
		page.ReportLinks["next"] = kh.Href{Href: href}
		_, err = e.c.Accounts.NextPage(e.ctx, id, page)
		require.Error(t, err, href)
		assert.False(t, strings.Contains(err.Error(), "?pageIndex"), "no query in errors")
	}
	assert.Len(t, e.srv.Requests(), before, "nothing sent")
	delete(page.ReportLinks, "next")
	last, err := e.c.Accounts.NextPage(e.ctx, id, page)
	assert.NoError(t, err)
	assert.Nil(t, last)
}

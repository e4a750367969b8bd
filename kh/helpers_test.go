package kh_test

import (
	"context"
	"github.com/banksdk/banksdk/fake"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/kh"
	"github.com/banksdk/banksdk/kh/khtest"
)

const psuIP = "192.0.2.10"

// env is one fake bank and a client with its certificate, roots and app token.
type env struct {
	t   *testing.T
	ctx context.Context
	srv *khtest.Server
	c   *kh.Client
	log *fake.LogBuffer
}

// fastRetry keeps retries short in tests.
var fastRetry = kh.WithRetry(2, time.Millisecond, 5*time.Millisecond)

func setup(t *testing.T, fakeOpts []khtest.Option, opts ...kh.Option) *env {
	t.Helper()
	srv := khtest.NewServer(fakeOpts...)
	t.Cleanup(srv.Close)
	e := &env{t: t, ctx: context.Background(), srv: srv, log: &fake.LogBuffer{}}
	logger := slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	base := []kh.Option{
		kh.WithBaseURL(srv.URL()),
		kh.WithClientCertificate(srv.ClientCertificate()),
		kh.WithRootCAs(srv.RootCAs()),
		kh.WithAppToken(srv.AppToken()),
		kh.WithApplicationID(srv.ApplicationID()),
		kh.WithLogger(logger),
		fastRetry,
	}
	c, err := kh.NewClient(append(base, opts...)...)
	require.NoError(t, err)
	e.c = c
	return e
}

func (e *env) iban(i int) string { return e.srv.Accounts()[i].IBAN }

func (e *env) ref(i int) kh.AccountReference { return kh.AccountReference{IBAN: e.iban(i)} }

// embedded runs embedded SCA on an authorisations resource: start, password, method,
// OTP. updateOpts go to the PUT calls (e.g. UseConsent for payments).
func (e *env) embedded(auths *kh.Authorisations, parentID string, updateOpts ...kh.RequestOption) {
	e.t.Helper()
	_, pw, otp := e.srv.PSU()
	a, err := auths.Start(e.ctx, parentID, kh.AuthorisationRequest{})
	require.NoError(e.t, err)
	require.Equal(e.t, kh.ScaReceived, a.ScaStatus)
	up, err := auths.Update(e.ctx, parentID, a.AuthorisationID, kh.PSUPassword(pw), updateOpts...)
	require.NoError(e.t, err)
	require.Equal(e.t, kh.ScaPSUAuthenticated, up.ScaStatus)
	require.NotEmpty(e.t, up.ScaMethods)
	up, err = auths.Update(e.ctx, parentID, a.AuthorisationID, kh.SelectMethod(up.ScaMethods[0].AuthenticationMethodID), updateOpts...)
	require.NoError(e.t, err)
	require.Equal(e.t, kh.ScaMethodSelected, up.ScaStatus)
	require.NotNil(e.t, up.ChallengeData)
	up, err = auths.Update(e.ctx, parentID, a.AuthorisationID, kh.OTP(otp), updateOpts...)
	require.NoError(e.t, err)
	require.Equal(e.t, kh.ScaFinalised, up.ScaStatus)
}

// validConsent creates a consent, authorises it (embedded SCA) and fetches its token.
func (e *env) validConsent(req kh.ConsentRequest) string {
	e.t.Helper()
	cr, err := e.c.Consents.Create(e.ctx, req, kh.PSUIPAddress(psuIP))
	require.NoError(e.t, err)
	e.embedded(e.c.Consents.Authorisations, cr.ConsentID)
	st, err := e.c.Consents.Status(e.ctx, cr.ConsentID)
	require.NoError(e.t, err)
	require.Equal(e.t, kh.ConsentValid, st.ConsentStatus)
	require.True(e.t, st.TokenIssued)
	return cr.ConsentID
}

func (e *env) psuConsent() string {
	return e.validConsent(kh.PSUIdentificationConsent("2999-12-31"))
}

func (e *env) single() kh.SinglePayment {
	return kh.SinglePayment{
		DebtorAccount: e.ref(0),
		Transfer: kh.Transfer{
			InstructedAmount:                  kh.Amount{Currency: "HUF", Amount: "15000.00"},
			CreditorAccount:                   kh.AccountReference{IBAN: "HU42117730161111101800000000"},
			CreditorName:                      "Szolgáltató Kft.",
			RemittanceInformationUnstructured: "Invoice 2024/118",
		},
	}
}

package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/banksdk/banksdk/fake"
	"github.com/banksdk/banksdk/kh"
	"github.com/banksdk/banksdk/obp"
	"github.com/banksdk/banksdk/saltedge"
	"github.com/banksdk/banksdk/tkey7"
	"github.com/banksdk/banksdk/tpv"
	"github.com/banksdk/banksdk/tpv/tpvtest"
)

// readme:begin errors
func describe(err error) string {
	var (
		tk *tkey7.APIError    // ShortMessage, Code (Has), TroubleshootingID, Time(), ... all nine fields
		tp *tpv.APIError      // Message from {"error": "..."}
		k  *kh.APIError       // RequestID, Messages []TPPMessage (Has("TOKEN_UNKNOWN")), Links
		o  *obp.APIError      // OBPCode ("OBP-20001"), every code in the chain (Has)
		se *saltedge.APIError // Class (Has(saltedge.ClassTokenNotFound)), Message
	)
	switch {
	case errors.As(err, &tk):
		return fmt.Sprintf("tkey7 %d %s (troubleshooting id %s)", tk.StatusCode, tk.Code, tk.TroubleshootingID)
	case errors.As(err, &tp):
		return fmt.Sprintf("tpv %d: %s", tp.StatusCode, tp.Message)
	case errors.As(err, &k):
		return fmt.Sprintf("kh %d, request id %s, token unknown: %v", k.StatusCode, k.RequestID, k.Has("TOKEN_UNKNOWN"))
	case errors.As(err, &o):
		return fmt.Sprintf("obp %d %s, not logged in: %v", o.StatusCode, o.OBPCode, errors.Is(err, obp.ErrUserNotLoggedIn))
	case errors.As(err, &se):
		return fmt.Sprintf("saltedge %d %s", se.StatusCode, se.Class)
	}
	return err.Error() // no answer: a *banksdk.TransportError (errors.Is(err, context.DeadlineExceeded), ...)
}

// readme:end errors

func runErrors(ctx context.Context) error {
	portal := tpvtest.NewServer()
	defer portal.Close()
	c, err := tpv.NewClient(tpv.WithBaseURL(portal.URL()), tpv.WithCredentials(portal.AppToken(), portal.AppSecret()))
	if err != nil {
		return err
	}
	defer c.Close()
	portal.Inject(1, fake.Status(http.StatusBadRequest, `{"error":"invalid program code."}`).On(http.MethodPost, "/api/v1/tpv"))
	_, err = c.SubmitTPV(ctx, sale())
	if got, want := describe(err), "tpv 400: invalid program code."; got != want {
		return fmt.Errorf("describe: %q, want %q", got, want)
	}
	return nil
}

// Package banksdk holds what the banksdk provider clients share with their users: the
// error types of the common request pipeline.
//
// The clients themselves are in the provider packages: tkey7 (TKEY7 digital
// accounts), tpv (TPV third-party sales verification), kh (K&H Bank PSD2), obp (Open
// Bank Project) and saltedge (Salt Edge PSD2 Compliance connector kit); credentials are
// in auth; each provider's fake server is in <provider>/<provider>test, and the fault
// injection they share in fake.
//
// Every client retries what is safe to retry and nothing else. A request that changes
// state and may have reached the server is never sent again; its error matches
// ErrOutcomeUnknown (each provider package re-exports the same value):
//
//	_, err := client.SubmitTPV(ctx, sale)
//	if errors.Is(err, tpv.ErrOutcomeUnknown) {
//		// The sale may be recorded: look it up before submitting again.
//	}
//	var ra *banksdk.RetryAfterError
//	if errors.As(err, &ra) {
//		// The server asked to wait ra.RetryAfter, longer than the client's maximum wait.
//	}
package banksdk

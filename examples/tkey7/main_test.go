package main

import "testing"

// The example runs against the fake and succeeds.
func TestRunAgainstFake(t *testing.T) {
	t.Setenv("TKEY7_BASE_URL", "")
	t.Setenv("TKEY7_ACCESS_TOKEN", "")
	t.Setenv("TKEY7_ACCESS_TOKEN_FILE", "")
	if err := run(); err != nil {
		t.Fatal(err)
	}
}

func TestRunNeedsBothVariables(t *testing.T) {
	t.Setenv("TKEY7_BASE_URL", "https://us.bankname.payments.tkey7.com/client/v1/api")
	t.Setenv("TKEY7_ACCESS_TOKEN", "")
	t.Setenv("TKEY7_ACCESS_TOKEN_FILE", "")
	if err := run(); err == nil {
		t.Fatal("expected an error")
	}
	// A token and a token file: one or the other.
	t.Setenv("TKEY7_ACCESS_TOKEN", "tok")
	t.Setenv("TKEY7_ACCESS_TOKEN_FILE", "/nonexistent")
	if err := run(); err == nil {
		t.Fatal("expected an error")
	}
}

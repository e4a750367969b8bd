package tpv

import "time"

// WithClock replaces the client's clock (login timestamps and token expiry), for
// tests.
func WithClock(now func() time.Time) Option {
	return func(o *options) error { o.clock = now; return nil }
}

package rest

import (
	"errors"
	"net/url"
	"strings"

	"github.com/banksdk/banksdk"
)

// The error types are declared in package banksdk, so that users can name them in
// errors.As; these aliases keep the pipeline's code short.
type (
	TransportError      = banksdk.TransportError
	OutcomeUnknownError = banksdk.OutcomeUnknownError
	RetryAfterError     = banksdk.RetryAfterError
	HTTPError           = banksdk.HTTPError
	AuthorizeError      = banksdk.AuthorizeError
)

// Sentinels, from package banksdk.
var (
	ErrOutcomeUnknown   = banksdk.ErrOutcomeUnknown
	ErrResponseTooLarge = banksdk.ErrResponseTooLarge
)

// redactURL renders u without query, fragment or user information.
func redactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	r := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	return r.String()
}

// RedactURL renders u as scheme://host/path: no query (which may carry tokens and
// signatures), fragment or user information.
func RedactURL(u *url.URL) string { return redactURL(u) }

// unwrapURLError strips *url.Error layers, whose message repeats the full URL with its
// query string.
func unwrapURLError(err error) error {
	for {
		var ue *url.Error
		if !errors.As(err, &ue) {
			return err
		}
		if ue == err {
			err = ue.Err
			continue
		}
		// A url.Error deeper in a chain: rebuild the message without it.
		return &scrubbed{msg: strings.ReplaceAll(err.Error(), ue.URL, "<url>"), err: ue.Err}
	}
}

// scrubbed is an error whose message had secrets removed; it unwraps to the cause.
type scrubbed struct {
	msg string
	err error
}

func (e *scrubbed) Error() string { return e.msg }
func (e *scrubbed) Unwrap() error { return e.err }

// scrub removes every occurrence of the given strings from err's message.
func scrub(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	changed := false
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			msg = strings.ReplaceAll(msg, s, "[REDACTED]")
			changed = true
		}
	}
	if !changed {
		return err
	}
	return &scrubbed{msg: msg, err: err}
}

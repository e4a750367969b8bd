package rest

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Idempotent returns a pointer for Request.Idempotent: true lets the pipeline retry a
// POST/PUT/PATCH whose outcome is unknown (only for calls the API makes safe to
// repeat); false gives a GET/DELETE the rules of a POST: retried only when the server
// provably did not act, and outcome-unknown errors otherwise.
func Idempotent(b bool) *bool { return &b }

// idempotentMethod is the default classification by HTTP method.
func idempotentMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodDelete:
		return true
	}
	return false
}

// roundTrips runs the attempts of one call under the retry policy (checkRetry) and
// the backoff, and returns the last answer, whatever its status, with its body open,
// or the error that ended the call. An answer the loop lets go to try again is read
// (up to drainLimit) and closed, so that its connection can be reused.
func (c *Client) roundTrips(st *callState) (*http.Response, error) {
	for retry := 0; ; retry++ {
		if err := st.ctx.Err(); err != nil {
			// Nothing is sent for a call whose context is already done.
			return nil, err
		}
		resp, err := c.at.roundTrip(st)
		again, stopErr := c.checkRetry(st, resp, err)
		if !again || retry >= c.cfg.RetryMax {
			if resp != nil {
				// The provider's answer, even after the last retry or with the
				// caller's context done: its body becomes the provider's error.
				return resp, nil
			}
			if stopErr == nil {
				stopErr = err
			}
			// A failed connection may have left others of the same kind idle; a
			// caller's transport, which others may share, is left alone.
			c.CloseIdleConnections()
			return nil, stopErr
		}
		if resp != nil {
			drain(resp.Body)
		}
		if err := c.wait(st.ctx, c.backoff(c.cfg.RetryWaitMin, c.cfg.RetryWaitMax, retry, resp)); err != nil {
			c.CloseIdleConnections()
			return nil, err
		}
	}
}

// sleepCtx waits d, or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// drainLimit is how much of an answer that is let go is read so that its connection
// can be reused; a longer one closes its connection.
const drainLimit = 4096

func drain(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, drainLimit))
	_ = body.Close()
}

// checkRetry is the retry policy (DESIGN.md 3.4) for the attempt that ended with resp
// or err: whether to try again, and otherwise the error that ends the call, if any.
func (c *Client) checkRetry(st *callState, resp *http.Response, err error) (bool, error) {
	if ctxErr := st.ctx.Err(); ctxErr != nil {
		if err != nil && !st.idempotent && st.gotConn.Load() {
			st.outcomeUnknown = true
		}
		return false, ctxErr
	}
	if err != nil {
		if !retryableTransportError(err) {
			if !st.idempotent && st.gotConn.Load() {
				st.outcomeUnknown = true
			}
			return false, err
		}
		if st.idempotent || !st.gotConn.Load() {
			// Idempotent, or the connection was never established: the server cannot
			// have seen the request.
			return true, nil
		}
		st.outcomeUnknown = true
		return false, err
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		if ok && d > c.cfg.RetryWaitMax {
			st.retryAfter = d
			return false, nil
		}
		// A 429, or a 503 with Retry-After ("come back later"), says the server did not
		// process the request: safe for any method. A gateway may send a bare 503 after
		// the backend acted, so only idempotent requests are retried on it.
		return resp.StatusCode == http.StatusTooManyRequests || ok || st.idempotent, nil
	case http.StatusBadGateway, http.StatusGatewayTimeout:
		return st.idempotent, nil
	}
	return false, nil
}

// outcomeUnknownStatus reports an error status that does not say whether the server
// acted on the request: a 5xx, except 501 and 505 (refusals before processing) and 503
// with Retry-After (an explicit "not processed, come back later").
func outcomeUnknownStatus(resp *http.Response) bool {
	switch {
	case resp.StatusCode < 500 || resp.StatusCode > 599:
		return false
	case resp.StatusCode == http.StatusNotImplemented, resp.StatusCode == http.StatusHTTPVersionNotSupported:
		return false
	case resp.StatusCode == http.StatusServiceUnavailable:
		_, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		return !ok
	}
	return true
}

// retryableTransportError rejects errors that another attempt cannot fix.
func retryableTransportError(err error) bool {
	var ae *AuthorizeError
	if errors.As(err, &ae) {
		return false
	}
	var uae x509.UnknownAuthorityError
	var hne x509.HostnameError
	var cie x509.CertificateInvalidError
	if errors.As(err, &uae) || errors.As(err, &hne) || errors.As(err, &cie) {
		return false
	}
	msg := err.Error()
	for _, s := range []string{"unsupported protocol scheme", "stopped after", "invalid header", "certificate is not trusted", "tls: failed to verify", "no such host"} {
		if strings.Contains(msg, s) {
			return false
		}
	}
	return true
}

// backoff waits a Retry-After hint (already known to be within RetryWaitMax) on 429
// and 503, and otherwise an exponential delay with full jitter between waitMin and
// min(waitMax, waitMin*2^attempt).
func (c *Client) backoff(waitMin, waitMax time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			return min(d, waitMax)
		}
	}
	return Backoff(waitMin, waitMax, attempt)
}

// Backoff returns a full-jitter exponential delay for the given zero-based retry.
func Backoff(waitMin, waitMax time.Duration, attempt int) time.Duration {
	ceiling := waitMax
	if attempt < 30 {
		if d := waitMin << uint(attempt); d > 0 && d < waitMax {
			ceiling = d
		}
	}
	if ceiling <= waitMin {
		return waitMin
	}
	return waitMin + rand.N(ceiling-waitMin+1)
}

// ParseRetryAfter reads a Retry-After value: delay-seconds or an HTTP date. A date in
// the past gives 0. It reports false for an empty, negative or malformed value.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if v[0] >= '0' && v[0] <= '9' {
		secs, err := strconv.ParseInt(v, 10, 64)
		if err != nil || secs < 0 {
			return 0, false
		}
		const maxSecs = int64(1<<63-1) / int64(time.Second)
		if secs > maxSecs {
			secs = maxSecs
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now)
	if d < 0 {
		d = 0
	}
	return d, true
}

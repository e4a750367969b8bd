package tpv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/banksdk/banksdk/internal/rest"
)

// Result is an answer whose shape the documentation does not describe, with the
// portal's {"success": ...} convention decoded where present.
type Result struct {
	// Method is the HTTP method that got the answer (the other one after a 405).
	Method string
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// Success is the "success" member of the answer, when it is a JSON object that
	// has one; nil otherwise. It is a part of Raw (it shares Raw's memory).
	Success json.RawMessage
	// Raw is the whole answer body (JSON), nil when it was empty.
	Raw json.RawMessage
}

// SuccessText returns Success as text when it is a JSON string, and whether it was.
func (r Result) SuccessText() (string, bool) {
	var s string
	if len(r.Success) == 0 || json.Unmarshal(r.Success, &s) != nil {
		return "", false
	}
	return s, true
}

// Products lists the brand's products (/api/v1/products). The documentation does
// not describe the answer: Result.Success holds the "success" member, Result.Raw the
// whole body. The call reads only, so it is retried like a GET whichever method is
// used.
func (c *Client) Products(ctx context.Context) (Result, error) {
	return c.callEndpoint(ctx, "Products", EndpointProducts, pathProducts, true)
}

// SendDigital asks the portal to send the customer the digital verification link
// of the sale with this confirmation code (/api/v1/digital/send/{code}). The
// customer is contacted, so the call is never re-sent once it may have reached the
// portal (the error then wraps ErrOutcomeUnknown). An unknown code is an *APIError
// (400).
func (c *Client) SendDigital(ctx context.Context, confirmationCode string) (Result, error) {
	p, err := codePath(pathDigitalSend, confirmationCode)
	if err != nil {
		return Result{}, fmt.Errorf("tpv: SendDigital: %w", err)
	}
	return c.callEndpoint(ctx, "SendDigital", EndpointDigitalSend, p, false)
}

// QueueCall queues an outbound verification call to the customer of the sale with
// this confirmation code (/api/v1/queue/call/{code}); the call itself is placed
// later. Like SendDigital it is never re-sent once it may have reached the portal.
func (c *Client) QueueCall(ctx context.Context, confirmationCode string) (Result, error) {
	p, err := codePath(pathQueueCall, confirmationCode)
	if err != nil {
		return Result{}, fmt.Errorf("tpv: QueueCall: %w", err)
	}
	return c.callEndpoint(ctx, "QueueCall", EndpointQueueCall, p, false)
}

func codePath(prefix, code string) (string, error) {
	if strings.TrimSpace(code) == "" {
		return "", errors.New("confirmationCode: is required")
	}
	if strings.TrimSpace(code) != code {
		return "", errors.New("confirmationCode: must not have surrounding spaces")
	}
	seg, err := rest.Path(code)
	if err != nil {
		return "", fmt.Errorf("confirmationCode: %w", err)
	}
	return prefix + "/" + seg, nil
}

// callEndpoint sends an endpoint with an ambiguous method: the configured (or last
// working) method first and, after a 405, the other one once.
func (c *Client) callEndpoint(ctx context.Context, op string, e Endpoint, path string, readOnly bool) (Result, error) {
	method := c.methods.get(e)
	res, err := c.send(ctx, op, method, path, readOnly)
	if ae, ok := asAPIError(err); ok && ae.StatusCode == http.StatusMethodNotAllowed {
		other := http.MethodGet
		if method == http.MethodGet {
			other = http.MethodPost
		}
		c.rc.Logger().Debug("tpv: method not allowed; trying the other method once",
			"endpoint", string(e), "method", method, "other", other)
		res, err = c.send(ctx, op, other, path, readOnly)
		if err == nil {
			c.methods.set(e, other)
		}
	}
	return res, err
}

func (c *Client) send(ctx context.Context, op, method, path string, readOnly bool) (Result, error) {
	var raw []byte
	resp, err := c.rc.Do(ctx, &rest.Request{Method: method, Path: path, Idempotent: rest.Idempotent(readOnly)}, &raw)
	if err != nil {
		if !readOnly && errors.Is(err, ErrOutcomeUnknown) {
			return Result{}, fmt.Errorf("tpv: %s: the portal may have acted on the request; check before sending it again: %w", op, err)
		}
		return Result{}, c.clean(err)
	}
	res, err := decodeResult(method, resp.StatusCode, raw)
	if err != nil {
		if _, ok := asAPIError(err); ok {
			return Result{}, err
		}
		// A call that changes state was probably carried out: outcome unknown.
		return Result{}, rest.UndecodableSuccess(resp, fmt.Errorf("tpv: %s: %w", op, err))
	}
	return res, nil
}

// decodeResult reads a 2xx answer of an undocumented shape, in one pass after
// json.Valid (see readAnswer).
func decodeResult(method string, status int, raw []byte) (Result, error) {
	res := Result{Method: method, StatusCode: status}
	if len(bytes.TrimSpace(raw)) == 0 {
		return res, nil
	}
	a, ok := readAnswer(raw)
	if !ok {
		return Result{}, fmt.Errorf("the portal answered %d with a body that is not JSON", status)
	}
	if msg, ok := a.errorOnly(); ok {
		return Result{}, &APIError{StatusCode: status, Message: msg, Raw: raw}
	}
	res.Raw = raw
	res.Success = a.success
	return res, nil
}

func asAPIError(err error) (*APIError, bool) {
	var ae *APIError
	ok := errors.As(err, &ae)
	return ae, ok
}

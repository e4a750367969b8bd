package tkey7

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/banksdk/banksdk/internal/rest"
)

// DigitalAccountsService reads digital accounts. The TKEY7 documentation does not give
// their schema, so documents are returned as raw JSON for the caller to decode.
type DigitalAccountsService service

// DigitalAccountList is the answer of GET digital-accounts.
type DigitalAccountList struct {
	// Accounts holds each digital account document when the answer is a JSON array
	// (a "list of objects", as the documentation says); nil otherwise. The documents
	// are parts of Raw, sharing its memory rather than copying it: change neither
	// in place if the other is used.
	Accounts []json.RawMessage
	// Raw is the whole answer, whatever its shape.
	Raw json.RawMessage
}

// List returns the digital accounts the token may see (GET digital-accounts).
func (s *DigitalAccountsService) List(ctx context.Context) (*DigitalAccountList, error) {
	var raw json.RawMessage
	if _, err := s.client.do(ctx, &rest.Request{Method: http.MethodGet, Path: "digital-accounts"}, &raw); err != nil {
		return nil, err
	}
	list := &DigitalAccountList{Raw: raw}
	if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '[' {
		accounts, ok := arrayElements(t)
		if !ok {
			return nil, errors.New("tkey7: digital accounts: decoding list: the answer is not a well-formed JSON array")
		}
		list.Accounts = accounts
	}
	return list, nil
}

// arrayElements returns the elements of the JSON array raw, without the white space
// around them, as parts of raw (each capped at its end, so that appending to one
// cannot overwrite the next). ok is false when raw is not an array. raw must be
// valid JSON (the pipeline checked it): the scan finds the elements' boundaries
// and does not check the elements themselves.
func arrayElements(raw []byte) (elems []json.RawMessage, ok bool) {
	n := 0
	if !scanArray(raw, func(int, int) { n++ }) {
		return nil, false
	}
	elems = make([]json.RawMessage, 0, n)
	scanArray(raw, func(start, end int) { elems = append(elems, raw[start:end:end]) })
	return elems, true
}

// scanArray calls emit with the bounds of each top-level element of the JSON array
// raw, and reports whether raw is an array with well-placed brackets, commas and
// strings.
func scanArray(raw []byte, emit func(start, end int)) bool {
	i := skipSpace(raw, 0)
	if i == len(raw) || raw[i] != '[' {
		return false
	}
	depth := 0
	start, end := -1, 0 // the element under way, and the end of its last non-space byte
	comma := false      // a comma came after the last element
	for i++; i < len(raw); i++ {
		switch c := raw[i]; c {
		case ' ', '\t', '\n', '\r':
			continue
		case '"':
			if start < 0 {
				start = i
			}
			for i++; i < len(raw) && raw[i] != '"'; i++ {
				if raw[i] == '\\' {
					i++
				}
			}
			if i >= len(raw) {
				return false
			}
		case '[', '{':
			if start < 0 {
				start = i
			}
			depth++
		case ']', '}':
			if depth > 0 {
				depth--
				break
			}
			switch {
			case c != ']':
				return false
			case start >= 0:
				emit(start, end)
			case comma:
				return false // [1,]
			}
			return skipSpace(raw, i+1) == len(raw)
		case ',':
			if depth > 0 {
				break
			}
			if start < 0 {
				return false // [,1] or [1,,2]
			}
			emit(start, end)
			start, comma = -1, true
			continue
		default:
			if start < 0 {
				start = i
			}
		}
		end = i + 1
	}
	return false
}

func skipSpace(raw []byte, i int) int {
	for i < len(raw) && (raw[i] == ' ' || raw[i] == '\t' || raw[i] == '\n' || raw[i] == '\r') {
		i++
	}
	return i
}

// Get returns one digital account document (GET digital-accounts/{id}). The path is
// the REST convention for one object of the list; the documentation does not spell
// it out. id is escaped, so it cannot change the path.
func (s *DigitalAccountsService) Get(ctx context.Context, id string) (json.RawMessage, error) {
	if id == "" {
		return nil, errors.New("tkey7: digital account id: must not be empty")
	}
	p, err := rest.Path("digital-accounts", id)
	if err != nil {
		return nil, fmt.Errorf("tkey7: digital account id %q: %w", id, err)
	}
	var raw json.RawMessage
	if _, err := s.client.do(ctx, &rest.Request{Method: http.MethodGet, Path: p}, &raw); err != nil {
		return nil, err
	}
	return raw, nil
}

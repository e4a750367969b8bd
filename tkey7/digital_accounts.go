package tkey7

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"

	"github.com/banksdk/banksdk/internal/rest"
)

// DigitalAccountsService reads digital accounts. The TKEY7 documentation does not give
// their schema, so documents are returned as raw JSON for the caller to decode.
type DigitalAccountsService service

// DigitalAccountList is the answer of GET digital-accounts. It keeps the answer's
// bytes only: the account documents are read from Raw when they are walked, so a list
// of any size costs its body and a few words.
//
// When the answer is a JSON array (a "list of objects", as the documentation says),
// Len counts its documents and All walks them. To decode every account into a type of
// your own, unmarshal Raw into a slice of it: json.Unmarshal(list.Raw, &accounts).
//
// Len, IsArray and All report what List found: a DigitalAccountList that List did not
// make holds no accounts, and Raw must not be changed while they are used.
type DigitalAccountList struct {
	// Raw is the whole answer, whatever its shape.
	Raw json.RawMessage

	n     int  // the number of documents in Raw
	array bool // Raw is a JSON array
}

// Len returns the number of account documents: the length of the JSON array, or 0
// when the answer is not an array.
func (l *DigitalAccountList) Len() int { return l.n }

// IsArray reports whether the answer is a JSON array of account documents. The
// documentation describes a list; another shape is kept whole in Raw.
func (l *DigitalAccountList) IsArray() bool { return l.array }

// All walks the account documents in the answer's order, with their index. Each
// document is a part of Raw, without the white space around it, sharing Raw's memory
// rather than copying it (and capped at its end, so appending to one copies it): keep
// or change one only after copying it. Every call walks Raw again; nothing is
// yielded when the answer is not an array.
func (l *DigitalAccountList) All() iter.Seq2[int, json.RawMessage] {
	return func(yield func(int, json.RawMessage) bool) {
		if !l.array {
			return
		}
		raw, i := l.Raw, 0
		scanArray(raw, func(start, end int) bool {
			ok := yield(i, raw[start:end:end])
			i++
			return ok
		})
	}
}

// List returns the digital accounts the token may see (GET digital-accounts). An
// answer that starts as a JSON array but is not a well-formed one is an error.
func (s *DigitalAccountsService) List(ctx context.Context) (*DigitalAccountList, error) {
	var raw json.RawMessage
	if _, err := s.client.do(ctx, &rest.Request{Method: http.MethodGet, Path: "digital-accounts"}, &raw); err != nil {
		return nil, err
	}
	return newDigitalAccountList(raw)
}

// newDigitalAccountList checks the answer raw and counts its documents when it is an
// array. raw must be valid JSON (the pipeline checked it): the scan finds the
// elements' boundaries and does not check the elements themselves.
func newDigitalAccountList(raw json.RawMessage) (*DigitalAccountList, error) {
	list := &DigitalAccountList{Raw: raw}
	if i := skipSpace(raw, 0); i == len(raw) || raw[i] != '[' {
		return list, nil
	}
	n := 0
	if !scanArray(raw, func(int, int) bool { n++; return true }) {
		return nil, errors.New("tkey7: digital accounts: decoding list: the answer is not a well-formed JSON array")
	}
	list.n, list.array = n, true
	return list, nil
}

// scanArray calls emit with the bounds of each top-level element of the JSON array
// raw, and reports whether raw is an array with well-placed brackets, commas and
// strings. When emit returns false the scan stops there and reports true: the rest
// of raw is not checked.
func scanArray(raw []byte, emit func(start, end int) bool) bool {
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
				if !emit(start, end) {
					return true
				}
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
			if !emit(start, end) {
				return true
			}
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

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
	// (a "list of objects", as the documentation says); nil otherwise.
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
		if err := json.Unmarshal(t, &list.Accounts); err != nil {
			return nil, fmt.Errorf("tkey7: digital accounts: decoding list: %w", err)
		}
	}
	return list, nil
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

package saltedge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/banksdk/banksdk/internal/rest"
)

// TokensService lists and revokes the access tokens the connector issued.
type TokensService service

// TokenKindRevoked is TokensQuery.Kind for revoked tokens (the seed's sample; other
// kinds pass through unchanged).
const TokenKindRevoked = "revoked"

// TokensQuery filters tokens/index. Zero fields are left out.
type TokensQuery struct {
	Kind       string
	FromID     int64
	FromDate   time.Time
	PerPage    int
	CustomerID int64
}

// tokensPayload is tokens/index's data claim, zero members left out. Its members are
// in alphabetical order, the order they had when the claim was encoded from a map.
type tokensPayload struct {
	CustomerID int64  `json:"customer_id,omitempty"`
	FromDate   string `json:"from_date,omitempty"`
	FromID     int64  `json:"from_id,omitempty"`
	Kind       string `json:"kind,omitempty"`
	PerPage    int    `json:"per_page,omitempty"`
}

func (q TokensQuery) payload() (*tokensPayload, error) {
	switch {
	case q.FromID < 0:
		return nil, errors.New("from_id: must not be negative")
	case q.PerPage < 0:
		return nil, errors.New("per_page: must not be negative")
	case q.CustomerID < 0:
		return nil, errors.New("customer_id: must not be negative")
	}
	p := &tokensPayload{Kind: q.Kind, FromID: q.FromID, PerPage: q.PerPage, CustomerID: q.CustomerID}
	if !q.FromDate.IsZero() {
		p.FromDate = q.FromDate.UTC().Format(dateTimeLayout)
	}
	return p, nil
}

// TokensPage is one page of tokens/index. The seed does not document a token's
// fields, so each is kept as raw JSON. The entries carry access tokens: a TokensPage
// shows only how many it holds under fmt, slog and json.Marshal; read Tokens
// explicitly.
type TokensPage struct {
	Tokens []json.RawMessage
	// NextID is meta.next_id: the FromID of the next page; 0 when there is none.
	NextID int64
	Time   time.Time
}

// String describes the page without its tokens.
func (p TokensPage) String() string {
	return fmt.Sprintf("saltedge.TokensPage{Tokens: %d %s, NextID: %d, Time: %s}",
		len(p.Tokens), rest.Redacted, p.NextID, p.Time.UTC().Format(time.RFC3339))
}

// GoString describes the page without its tokens.
func (p TokensPage) GoString() string { return p.String() }

// Format describes the page without its tokens, whatever the verb.
func (p TokensPage) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(p.String())) }

// LogValue describes the page without its tokens.
func (p TokensPage) LogValue() slog.Value {
	return slog.GroupValue(slog.Int("tokens", len(p.Tokens)), slog.Int64("next_id", p.NextID),
		slog.Time("time", p.Time))
}

// MarshalJSON encodes the page with "Tokens": "[REDACTED]" and a "Count".
func (p TokensPage) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Tokens string
		Count  int
		NextID int64
		Time   time.Time
	}{rest.Redacted, len(p.Tokens), p.NextID, p.Time})
}

// tokensData is the data member of tokens/index's answer.
type tokensData struct {
	Tokens []json.RawMessage `json:"tokens"`
}

// Index sends tokens/index (GET) with the query in the JWT's data claim.
func (s *TokensService) Index(ctx context.Context, q TokensQuery) (*TokensPage, error) {
	p, err := q.payload()
	if err != nil {
		return nil, fmt.Errorf("saltedge: tokens/index: %w", err)
	}
	env, _, err := send[tokensData](ctx, s.client, http.MethodGet, []string{"tokens", "index"}, p, nil, nil)
	if err != nil {
		return nil, err
	}
	return &TokensPage{Tokens: env.Data.Tokens, NextID: env.Meta.NextID, Time: env.Meta.Time}, nil
}

// All iterates over every token matching q, page after page (FromID = the previous
// page's NextID). It stops after an empty page, when NextID is absent, or when NextID
// does not move forward (so a misbehaving answer cannot loop). An error ends the
// iteration.
func (s *TokensService) All(ctx context.Context, q TokensQuery) iter.Seq2[json.RawMessage, error] {
	return func(yield func(json.RawMessage, error) bool) {
		for {
			page, err := s.Index(ctx, q)
			if err != nil {
				yield(nil, err)
				return
			}
			for _, t := range page.Tokens {
				if !yield(t, nil) {
					return
				}
			}
			if len(page.Tokens) == 0 || page.NextID == 0 || page.NextID <= q.FromID {
				return
			}
			q.FromID = page.NextID
		}
	}
}

// RevokeResult is Salt Edge's answer to tokens/revoke.
type RevokeResult struct {
	Revoked bool
	Time    time.Time
}

// revokeData is the data member of tokens/revoke's answer.
type revokeData struct {
	Revoked bool `json:"revoked"`
}

// Revoke tells Salt Edge that the connector revoked token (DELETE tokens/revoke with
// the Token header and an empty data claim). DELETE is retried on transport errors;
// a retry after a revoke that did go through answers ClassTokenRevoked, which means
// the token is revoked.
func (s *TokensService) Revoke(ctx context.Context, token string) (*RevokeResult, error) {
	if token == "" {
		return nil, errors.New("saltedge: tokens/revoke: token: required")
	}
	if strings.ContainsAny(token, "\r\n\x00") {
		return nil, errors.New("saltedge: tokens/revoke: token: must not contain control characters")
	}
	env, _, err := send[revokeData](ctx, s.client, http.MethodDelete, []string{"tokens", "revoke"}, nil,
		http.Header{"Token": {token}}, nil)
	if err != nil {
		return nil, err
	}
	return &RevokeResult{Revoked: env.Data.Revoked, Time: env.Meta.Time}, nil
}

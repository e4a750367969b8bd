package saltedge

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/banksdk/banksdk/auth"
)

// ClientsService reads the TPP client applications Salt Edge relays requests from.
type ClientsService service

// ClientInfo is Salt Edge's answer to clients/info.
type ClientInfo struct {
	Name   string
	Scopes []string
	// PublicKeyPEM is the TPP's public key as Salt Edge sent it; PublicKey is it parsed.
	PublicKeyPEM string
	PublicKey    *rsa.PublicKey
	Time         time.Time
}

// clientInfoData is the data member of clients/info's answer.
type clientInfoData struct {
	Name      string   `json:"name"`
	Scopes    []string `json:"scopes"`
	PublicKey string   `json:"public_key"`
}

// Info sends clients/info (GET) for the client application clientID (the Client-Id
// header of Salt Edge's requests) and parses its public key.
func (s *ClientsService) Info(ctx context.Context, clientID int64) (*ClientInfo, error) {
	if clientID <= 0 {
		return nil, fmt.Errorf("saltedge: clients/info: client_id: must be positive, got %d", clientID)
	}
	env, _, err := send[clientInfoData](ctx, s.client, http.MethodGet, []string{"clients", "info"},
		map[string]any{"client_id": clientID}, nil, nil)
	if err != nil {
		return nil, err
	}
	d := env.Data
	info := &ClientInfo{Name: d.Name, Scopes: d.Scopes, PublicKeyPEM: d.PublicKey, Time: env.Meta.Time}
	if d.PublicKey == "" {
		return nil, errors.New("saltedge: clients/info: the answer has no public_key")
	}
	if info.PublicKey, err = auth.LoadRSAPublicKey([]byte(d.PublicKey)); err != nil {
		return nil, fmt.Errorf("saltedge: clients/info: public_key: %w", err)
	}
	return info, nil
}

// DefaultClientKeyTTL is how long ClientJWTVerifier keeps a TPP's public key.
const DefaultClientKeyTTL = time.Hour

// ClientJWTVerifier verifies the client_jwt of original requests: the TPP's own
// RS256-signed request that Salt Edge relays. It fetches each TPP's public key with
// clients/info and caches it by client id (one fetch in flight per id, however many
// goroutines ask). When a signature fails with a key fetched more than a minute ago,
// the key is fetched again once, in case the TPP rotated it. It is safe for
// concurrent use.
type ClientJWTVerifier struct {
	fetch  func(ctx context.Context, clientID int64) (*rsa.PublicKey, error)
	ttl    time.Duration
	leeway time.Duration
	now    func() time.Time

	mu      sync.Mutex
	entries map[int64]*keyEntry
}

type keyEntry struct {
	done     chan struct{}
	verifier *auth.JWTVerifier
	err      error
	fetched  time.Time
}

// ClientJWTOption configures a ClientJWTVerifier.
type ClientJWTOption func(*ClientJWTVerifier) error

// WithClientKeyTTL sets how long a fetched key is kept (default DefaultClientKeyTTL).
func WithClientKeyTTL(d time.Duration) ClientJWTOption {
	return func(v *ClientJWTVerifier) error {
		if d <= 0 {
			return fmt.Errorf("client key TTL: must be positive, got %v", d)
		}
		v.ttl = d
		return nil
	}
}

// WithClientJWTLeeway sets the clock skew allowed on a client_jwt's exp (default 10 s).
func WithClientJWTLeeway(d time.Duration) ClientJWTOption {
	return func(v *ClientJWTVerifier) error {
		if d < 0 || d > 5*time.Minute {
			return fmt.Errorf("client JWT leeway: must be between 0 and 5m, got %v", d)
		}
		v.leeway = d
		return nil
	}
}

// NewClientJWTVerifier returns a verifier that fetches keys with c.Clients.Info.
func NewClientJWTVerifier(c *Client, opts ...ClientJWTOption) (*ClientJWTVerifier, error) {
	if c == nil {
		return nil, errors.New("saltedge: client JWT verifier: client is required")
	}
	v := &ClientJWTVerifier{
		fetch: func(ctx context.Context, id int64) (*rsa.PublicKey, error) {
			info, err := c.Clients.Info(ctx, id)
			if err != nil {
				return nil, err
			}
			return info.PublicKey, nil
		},
		ttl: DefaultClientKeyTTL, leeway: 10 * time.Second, now: time.Now,
		entries: map[int64]*keyEntry{},
	}
	for _, o := range opts {
		if err := o(v); err != nil {
			return nil, fmt.Errorf("saltedge: %w", err)
		}
	}
	return v, nil
}

// ErrInvalidClientJWT is matched by every verification failure of a client_jwt
// (errors.Is); failures to fetch the key are returned as they are.
var ErrInvalidClientJWT = errors.New("saltedge: invalid client_jwt")

// Verify checks clientJWT ("Bearer <JWT>" or the bare JWT) against the public key of
// client application clientID and returns its data claim.
func (v *ClientJWTVerifier) Verify(ctx context.Context, clientID int64, clientJWT string) (json.RawMessage, error) {
	tok := strings.TrimSpace(clientJWT)
	if t, ok := cutBearer(tok); ok {
		tok = t
	}
	if tok == "" {
		return nil, fmt.Errorf("%w: empty", ErrInvalidClientJWT)
	}
	e, err := v.entry(ctx, clientID, false)
	if err != nil {
		return nil, err
	}
	data, err := verifyData(e.verifier, tok)
	if err != nil && errors.Is(err, jwt.ErrTokenSignatureInvalid) && v.now().Sub(e.fetched) > time.Minute {
		if e, err2 := v.entry(ctx, clientID, true); err2 == nil {
			data, err = verifyData(e.verifier, tok)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidClientJWT, err)
	}
	return data, nil
}

// VerifyInto is Verify followed by decoding the data claim into dst.
func (v *ClientJWTVerifier) VerifyInto(ctx context.Context, clientID int64, clientJWT string, dst any) error {
	data, err := v.Verify(ctx, clientID, clientJWT)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, dst); err != nil {
		return fmt.Errorf("%w: data: %w", ErrInvalidClientJWT, err)
	}
	return nil
}

// Forget drops the cached key of clientID.
func (v *ClientJWTVerifier) Forget(clientID int64) {
	v.mu.Lock()
	delete(v.entries, clientID)
	v.mu.Unlock()
}

// Verify checks o.ClientJWT with v for client application clientID (the request's
// Call.ClientID) and returns its data claim decoded as T: the TPP's request exactly as
// the TPP signed it.
func (o OriginalRequest[T]) Verify(ctx context.Context, v *ClientJWTVerifier, clientID int64) (T, error) {
	var out T
	if v == nil {
		return out, errors.New("saltedge: nil ClientJWTVerifier")
	}
	err := v.VerifyInto(ctx, clientID, o.ClientJWT, &out)
	return out, err
}

type dataClaims struct {
	Data json.RawMessage `json:"data"`
	jwt.RegisteredClaims
}

func verifyData(ver *auth.JWTVerifier, tok string) (json.RawMessage, error) {
	var c dataClaims
	if err := ver.VerifyInto(tok, &c); err != nil {
		return nil, err
	}
	if len(c.Data) == 0 || string(c.Data) == "null" {
		return nil, errors.New("no data claim")
	}
	return c.Data, nil
}

// entry returns the cached key of clientID, fetching it when absent, expired or
// refresh is set. Concurrent callers share one fetch; each waits with its own ctx.
func (v *ClientJWTVerifier) entry(ctx context.Context, clientID int64, refresh bool) (*keyEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	v.mu.Lock()
	e, ok := v.entries[clientID]
	if ok {
		select {
		case <-e.done:
			if refresh || e.err != nil || v.now().Sub(e.fetched) > v.ttl {
				ok = false
			}
		default: // a fetch is in flight: wait for it
		}
	}
	if !ok {
		e = &keyEntry{done: make(chan struct{})}
		v.entries[clientID] = e
		go v.load(ctx, clientID, e)
	}
	v.mu.Unlock()
	select {
	case <-e.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if e.err != nil {
		return nil, e.err
	}
	return e, nil
}

// load fetches a key without the caller's cancellation (other callers may be
// waiting), bounded by a timeout.
func (v *ClientJWTVerifier) load(ctx context.Context, clientID int64, e *keyEntry) {
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	key, err := v.fetch(fctx, clientID)
	if err == nil {
		e.verifier, err = auth.NewJWTVerifier(key, auth.WithLeeway(v.leeway))
	}
	e.err, e.fetched = err, v.now()
	if err != nil {
		v.mu.Lock()
		if v.entries[clientID] == e {
			delete(v.entries, clientID)
		}
		v.mu.Unlock()
	}
	close(e.done)
}

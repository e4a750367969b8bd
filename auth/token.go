package auth

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

const redacted = "[REDACTED]"

// Token is a credential with an optional expiry. A zero Expiry never expires.
// A Token prints as [REDACTED] with fmt's %v, %+v, %#v and %s, and in slog; read
// Value explicitly where it must be sent.
type Token struct {
	Value  string
	Expiry time.Time
}

// Valid reports whether t has a value and is not expired at now.
func (t Token) Valid(now time.Time) bool {
	return t.Value != "" && (t.Expiry.IsZero() || now.Before(t.Expiry))
}

// String redacts the token.
func (t Token) String() string {
	if t.Expiry.IsZero() {
		return "Token(" + redacted + ")"
	}
	return "Token(" + redacted + ", expires " + t.Expiry.UTC().Format(time.RFC3339) + ")"
}

// GoString redacts the token for %#v.
func (t Token) GoString() string { return "auth.Token{Value:" + redacted + "}" }

// Format redacts the token for every verb.
func (t Token) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(t.GoString()))
		return
	}
	_, _ = f.Write([]byte(t.String()))
}

// LogValue redacts the token in slog output.
func (t Token) LogValue() slog.Value {
	if t.Expiry.IsZero() {
		return slog.StringValue(redacted)
	}
	return slog.GroupValue(slog.String("value", redacted), slog.Time("expiry", t.Expiry))
}

// MarshalJSON redacts the value: a Token is never serialised with its secret by
// accident (in a log line, an error body, a debug dump). Stores encode Value
// explicitly.
func (t Token) MarshalJSON() ([]byte, error) {
	if t.Expiry.IsZero() {
		return []byte(`{"value":"` + redacted + `"}`), nil
	}
	return []byte(`{"value":"` + redacted + `","expiry":"` + t.Expiry.UTC().Format(time.RFC3339Nano) + `"}`), nil
}

// Source supplies tokens. Implementations must be safe for concurrent use.
type Source interface {
	Token(ctx context.Context) (Token, error)
}

// SourceFunc adapts a function to Source.
type SourceFunc func(ctx context.Context) (Token, error)

// Token calls f.
func (f SourceFunc) Token(ctx context.Context) (Token, error) { return f(ctx) }

// KeyedSource supplies tokens by key: one credential per key, such as a PSD2 consent
// token per consent id. K&H's consent-token renewer (a status call per consent) is
// one; a KeyedCache over it is another, which caches and coalesces renewals per key.
// Implementations must be safe for concurrent use.
type KeyedSource interface {
	Token(ctx context.Context, key string) (Token, error)
}

// KeyedSourceFunc adapts a function to KeyedSource.
type KeyedSourceFunc func(ctx context.Context, key string) (Token, error)

// Token calls f.
func (f KeyedSourceFunc) Token(ctx context.Context, key string) (Token, error) { return f(ctx, key) }

// StaticSource always returns the same token.
func StaticSource(t Token) Source {
	return SourceFunc(func(context.Context) (Token, error) { return t, nil })
}

// Secret holds a sensitive string (an application secret, a password). It prints as
// [REDACTED] everywhere, including as a field of a struct printed with %v: the value
// sits behind a pointer, which fmt does not follow inside structs.
type Secret struct{ p *string }

// NewSecret wraps s.
func NewSecret(s string) Secret { return Secret{p: &s} }

// Reveal returns the secret's value.
func (s Secret) Reveal() string {
	if s.p == nil {
		return ""
	}
	return *s.p
}

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.Reveal() == "" }

// String redacts the secret.
func (s Secret) String() string { return redacted }

// GoString redacts the secret.
func (s Secret) GoString() string { return "auth.Secret{" + redacted + "}" }

// Format redacts the secret for every verb.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(s.GoString()))
		return
	}
	_, _ = f.Write([]byte(redacted))
}

// LogValue redacts the secret in slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalText redacts the secret in encoders (JSON, YAML, ...).
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

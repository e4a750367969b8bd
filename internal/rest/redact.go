package rest

import (
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// Redacted replaces a secret in text that leaves the SDK (errors, logs).
const Redacted = "[REDACTED]"

// MinSecretLen is the shortest value a Redactor removes: shorter ones would blank out
// ordinary words.
const MinSecretLen = 4

// maxRecent bounds how many obtained credentials a Redactor remembers.
const maxRecent = 64

var (
	jwtShape   = regexp.MustCompile(`eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*`)
	tokenParam = regexp.MustCompile(`(?i)(token\s*=\s*)("?)[^\s,&"]+`)
)

// Redactor removes credentials from text that came back from a server or goes into an
// error: the exact secrets a client holds (fixed at construction, or obtained since
// and remembered with Add), the ones one request carried (passed to Redact), and
// anything shaped like a JWT or a "token=" parameter. Each secret is removed as is, in
// its JSON-escaped and URL-query-escaped forms, and, for a JWT, its signature alone
// (as secret as the whole). A nil *Redactor still removes the extra secrets and the
// shapes. It is safe for concurrent use.
type Redactor struct {
	fixed []string

	mu     sync.Mutex
	recent []string // newest last
}

// NewRedactor returns a Redactor that always removes secrets.
func NewRedactor(secrets ...string) *Redactor {
	r := &Redactor{}
	for _, s := range secrets {
		if len(s) >= MinSecretLen {
			r.fixed = append(r.fixed, s)
		}
	}
	return r
}

// Add remembers a credential the client obtained (a token from a login or a refresh);
// the most recent 64 are kept.
func (r *Redactor) Add(secret string) {
	if r == nil || len(secret) < MinSecretLen {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if slices.Contains(r.recent, secret) {
		return
	}
	if len(r.recent) >= maxRecent {
		r.recent = r.recent[1:]
	}
	r.recent = append(r.recent, secret)
}

// Redact returns s without the secrets r knows, the extra ones, and anything shaped
// like a JWT or a "token=" parameter. Longer secrets go first, so that one containing
// another is removed whole.
func (r *Redactor) Redact(s string, extra ...string) string {
	if s == "" {
		return s
	}
	for _, sec := range r.forms(extra) {
		s = strings.ReplaceAll(s, sec, Redacted)
	}
	s = jwtShape.ReplaceAllString(s, Redacted)
	return tokenParam.ReplaceAllString(s, "${1}${2}"+Redacted)
}

// RedactBytes is Redact for a body; it returns b itself when nothing changed.
func (r *Redactor) RedactBytes(b []byte, extra ...string) []byte {
	if len(b) == 0 {
		return b
	}
	s := string(b)
	if clean := r.Redact(s, extra...); clean != s {
		return []byte(clean)
	}
	return b
}

// forms lists every form of every secret to remove, longest first.
func (r *Redactor) forms(extra []string) []string {
	secrets := append([]string(nil), extra...)
	if r != nil {
		secrets = append(secrets, r.fixed...)
		r.mu.Lock()
		secrets = append(secrets, r.recent...)
		r.mu.Unlock()
	}
	var out []string
	for _, sec := range secrets {
		if len(sec) < MinSecretLen {
			continue
		}
		out = append(out, sec)
		if q, err := json.Marshal(sec); err == nil {
			if esc := string(q[1 : len(q)-1]); esc != sec {
				out = append(out, esc)
			}
		}
		if esc := url.QueryEscape(sec); esc != sec {
			out = append(out, esc)
		}
		if strings.Count(sec, ".") == 2 {
			if i := strings.LastIndexByte(sec, '.'); len(sec)-i-1 >= MinSecretLen {
				out = append(out, sec[i+1:])
			}
		}
	}
	slices.SortFunc(out, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
	return slices.Compact(out)
}

// Clip makes server text safe to show in an error message: control characters become
// spaces, runs of white space fold into one, and text longer than n runes is cut at a
// rune boundary and ends with "…".
func Clip(s string, n int) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r < 0x20 || r == 0x7f
	}), " ")
	if n <= 0 || utf8.RuneCountInString(s) <= n {
		return s
	}
	i, count := 0, 0
	for i = range s {
		if count == n {
			break
		}
		count++
	}
	return s[:i] + "…"
}

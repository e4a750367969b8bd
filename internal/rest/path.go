package rest

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Path joins segments into an escaped relative path. Each segment is escaped with
// url.PathEscape, so a segment holding "/", "?", "#" or "%2F" stays one segment and
// cannot change the path or add a query. Empty, "." and ".." segments are rejected.
func Path(segments ...string) (string, error) {
	if len(segments) == 0 {
		return "", errors.New("path: no segments")
	}
	n := len(segments) - 1
	for _, s := range segments {
		n += len(s)
	}
	var b strings.Builder
	b.Grow(n) // enough unless a segment needs escaping
	for i, s := range segments {
		switch s {
		case "":
			return "", fmt.Errorf("path: segment %d is empty", i+1)
		case ".", "..":
			return "", fmt.Errorf("path: segment %d is %q, which is not allowed", i+1, s)
		}
		if i > 0 {
			b.WriteByte('/')
		}
		b.WriteString(url.PathEscape(s))
	}
	return b.String(), nil
}

// checkRelPath validates an escaped relative path (as built by Path): no query, no
// fragment, no dot segments, written or escaped ("%2e"), and no invalid escape. It
// allocates nothing for a valid path.
func checkRelPath(p string) error {
	if strings.ContainsAny(p, "?#") {
		return fmt.Errorf("path %q: must not contain '?' or '#' (escape segments with rest.Path; put queries in Request.Query)", p)
	}
	rest := strings.Trim(p, "/")
	for {
		seg, tail, more := strings.Cut(rest, "/")
		if !validEscapes(seg) {
			_, err := url.PathUnescape(seg)
			return fmt.Errorf("path %q: %w", p, err)
		}
		if isDotSegment(seg) {
			return fmt.Errorf("path %q: dot segments are not allowed", p)
		}
		if !more {
			return nil
		}
		rest = tail
	}
}

// validEscapes reports whether every '%' in seg starts an escape of two hex digits,
// as url.PathUnescape requires.
func validEscapes(seg string) bool {
	for i := strings.IndexByte(seg, '%'); i >= 0; {
		if i+2 >= len(seg) || !isHex(seg[i+1]) || !isHex(seg[i+2]) {
			return false
		}
		j := strings.IndexByte(seg[i+3:], '%')
		if j < 0 {
			break
		}
		i += 3 + j
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// isDotSegment reports whether the escaped segment seg (with valid escapes) is "." or
// "..", written or escaped.
func isDotSegment(seg string) bool {
	dots := 0
	for i := 0; i < len(seg); dots++ {
		switch {
		case seg[i] == '.':
			i++
		case seg[i] == '%' && seg[i+1] == '2' && (seg[i+2] == 'e' || seg[i+2] == 'E'):
			i += 3
		default:
			return false
		}
	}
	return dots == 1 || dots == 2
}

// joinPath resolves an escaped relative path against the base URL, whose escaped path
// without its trailing slash is basePath (computed once per client).
func joinPath(base *url.URL, basePath, p string) (*url.URL, error) {
	if err := checkRelPath(p); err != nil {
		return nil, err
	}
	escaped := basePath
	if p != "" {
		escaped = basePath + "/" + strings.TrimPrefix(p, "/")
	}
	unescaped, err := url.PathUnescape(escaped)
	if err != nil {
		return nil, fmt.Errorf("path %q: %w", p, err)
	}
	u := &url.URL{Scheme: base.Scheme, Host: base.Host, Path: unescaped, RawPath: escaped}
	return u, nil
}

// SplitRelative parses a caller-written relative reference such as
// "digital-accounts/42?expand=1" for the generic Do helpers: it must not be absolute,
// must not name a host and must not contain dot segments.
func SplitRelative(ref string) (path string, query url.Values, err error) {
	u, err := url.Parse(ref)
	if err != nil {
		return "", nil, fmt.Errorf("path %q: %w", ref, err)
	}
	if u.IsAbs() || u.Host != "" || u.User != nil {
		return "", nil, fmt.Errorf("path %q: must be relative to the client's base URL", ref)
	}
	if u.Fragment != "" {
		return "", nil, fmt.Errorf("path %q: must not contain a fragment", ref)
	}
	p := u.EscapedPath()
	if err := checkRelPath(p); err != nil {
		return "", nil, err
	}
	return p, u.Query(), nil
}

// NewRequestID returns a random UUID version 4, for headers such as X-Request-ID.
func NewRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hex[c>>4], hex[c&0x0f])
	}
	return string(out)
}

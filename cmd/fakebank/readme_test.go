package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/internal/mdcode"
)

// TestREADMEControlCommands runs the README's curl commands for the control API, as
// written, against the control API in process: every one is answered 2xx, and the
// clock reads back the advance the block made.
func TestREADMEControlCommands(t *testing.T) {
	_, ts := startInProcess(t)
	cmds := readmeCurlBlock(t, "CTL=http://127.0.0.1:8080")
	require.GreaterOrEqual(t, len(cmds), 10, "the README's control block")
	for _, line := range cmds {
		method, url, body := parseCurl(t, strings.ReplaceAll(line, "$CTL", ts.URL))
		a := send(t, method, url, body)
		assert.True(t, a.status >= 200 && a.status < 300, "%s: %d %s", line, a.status, a.raw)
		if method == http.MethodGet && strings.HasSuffix(url, "/tkey7/clock") {
			assert.EqualValues(t, 900001, a.body["offset_ms"], "%s: %s", line, a.raw)
		}
	}
}

// readmeCurlBlock returns the curl lines of the README's sh block whose first line is
// first.
func readmeCurlBlock(t *testing.T, first string) []string {
	t.Helper()
	blocks, err := mdcode.Blocks("../../README.md")
	require.NoError(t, err)
	for _, b := range blocks {
		if b.Lang != "sh" || len(b.Lines) == 0 || b.Lines[0] != first {
			continue
		}
		var out []string
		for _, line := range b.Lines {
			if strings.HasPrefix(line, "curl ") {
				out = append(out, line)
			}
		}
		return out
	}
	t.Fatalf("no sh block starting with %q in the README", first)
	return nil
}

// parseCurl reads the method, URL and body of a curl command line of the forms the
// README uses: [-X METHOD] URL [-d 'BODY'] [# comment].
func parseCurl(t *testing.T, line string) (method, url, body string) {
	t.Helper()
	var words []string
	for rest := strings.TrimPrefix(line, "curl "); ; {
		rest = strings.TrimLeft(rest, " ")
		if rest == "" || rest[0] == '#' {
			break
		}
		if rest[0] == '\'' {
			end := strings.IndexByte(rest[1:], '\'')
			require.GreaterOrEqual(t, end, 0, "unterminated quote in %q", line)
			words = append(words, rest[1:1+end])
			rest = rest[2+end:]
			continue
		}
		word, after, _ := strings.Cut(rest, " ")
		words, rest = append(words, word), after
	}
	method = http.MethodGet
	for i := 0; i < len(words); i++ {
		switch words[i] {
		case "-X":
			i++
			method = words[i]
		case "-d":
			i++
			body = words[i]
			if method == http.MethodGet {
				method = http.MethodPost
			}
		default:
			require.Empty(t, url, "two URLs in %q", line)
			url = words[i]
		}
	}
	require.NotEmpty(t, url, "no URL in %q", line)
	return method, url, body
}

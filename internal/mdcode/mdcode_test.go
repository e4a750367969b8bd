package mdcode

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func write(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "x.md")
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

func TestBlocks(t *testing.T) {
	p := write(t, "# T\n\n<!-- code: a.go#one -->\n```go\nx := 1\n\n_ = x\n```\ntext\n\n```\nplain\n```\n```sh\n```\n")
	blocks, err := Blocks(p)
	require.NoError(t, err)
	assert.Equal(t, []Block{
		{Lang: "go", Line: 4, Above: "<!-- code: a.go#one -->", Lines: []string{"x := 1", "", "_ = x"}},
		{Lang: "", Line: 11, Above: "text", Lines: []string{"plain"}},
		{Lang: "sh", Line: 14, Above: "```"},
	}, blocks)
}

func TestBlockLeftOpen(t *testing.T) {
	_, err := Blocks(write(t, "a\n\n```go\nx := 1\n"))
	assert.ErrorContains(t, err, "x.md:3: a ```go block is not closed")
}

package banksdk_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The README's Go code is code: every ```go block is preceded by a marker
//
//	<!-- code: examples/readme/<file>.go#<name> -->
//
// naming a region of a file that is built and run (the readme program, run against the
// fakes by its own test and, from outside the module, by .ci/run). The region lies
// between the lines "// readme:begin <name>" and "// readme:end <name>"; the block must
// be that region exactly, less the region's common indentation. A block without a
// marker, a marker without its region, or a block that drifted from its region fails.

var codeMarker = regexp.MustCompile(`^<!-- code: (\S+)#(\S+) -->$`)

type readmeBlock struct {
	line       int // of the opening fence
	file, name string
	code       string
}

func readmeGoBlocks(t *testing.T, readme string) []readmeBlock {
	t.Helper()
	f, err := os.Open(readme)
	require.NoError(t, err)
	defer f.Close()
	var (
		blocks      []readmeBlock
		in          bool
		cur         readmeBlock
		body        []string
		lineNo      int
		lastNonText string // the last non-blank line outside a code block
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		switch {
		case in && strings.HasPrefix(line, "```"):
			in = false
			cur.code = strings.Join(body, "\n")
			blocks = append(blocks, cur)
			lastNonText = line
		case in:
			body = append(body, line)
		case strings.HasPrefix(line, "```go"):
			in, body = true, nil
			cur = readmeBlock{line: lineNo}
			if m := codeMarker.FindStringSubmatch(lastNonText); m != nil {
				cur.file, cur.name = m[1], m[2]
			}
		case strings.TrimSpace(line) != "":
			lastNonText = strings.TrimSpace(line)
		}
	}
	require.NoError(t, sc.Err())
	require.False(t, in, "%s: a ```go block is not closed", readme)
	return blocks
}

// regions reads every "// readme:begin name" ... "// readme:end name" region of a file,
// less the region's common indentation.
func regions(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	var name string
	var lines []string
	for i, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trimmed, "// readme:begin "):
			if name != "" {
				return nil, fmt.Errorf("%s:%d: region %q begins inside %q", path, i+1, trimmed, name)
			}
			name, lines = strings.TrimPrefix(trimmed, "// readme:begin "), nil
		case strings.HasPrefix(trimmed, "// readme:end "):
			end := strings.TrimPrefix(trimmed, "// readme:end ")
			if end != name {
				return nil, fmt.Errorf("%s:%d: region end %q does not match %q", path, i+1, end, name)
			}
			if _, dup := out[name]; dup {
				return nil, fmt.Errorf("%s: region %q twice", path, name)
			}
			out[name] = strings.TrimRight(dedent(lines), "\n")
			name = ""
		case name != "":
			lines = append(lines, line)
		}
	}
	if name != "" {
		return nil, fmt.Errorf("%s: region %q is not closed", path, name)
	}
	return out, nil
}

func dedent(lines []string) string {
	prefix := ""
	first := true
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		ws := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
		if first {
			prefix, first = ws, false
			continue
		}
		for !strings.HasPrefix(ws, prefix) {
			prefix = prefix[:len(prefix)-1]
		}
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = strings.TrimRight(strings.TrimPrefix(l, prefix), " \t")
	}
	return strings.Join(out, "\n")
}

func TestReadmeGoBlocksAreCompiledCode(t *testing.T) {
	blocks := readmeGoBlocks(t, "README.md")
	require.NotEmpty(t, blocks, "the README has Go examples")
	used := map[string]bool{}
	cache := map[string]map[string]string{}
	for _, b := range blocks {
		if !assert.NotEmpty(t, b.file, "README.md:%d: a ```go block needs a <!-- code: file#name --> marker on the line above", b.line) {
			continue
		}
		regs, ok := cache[b.file]
		if !ok {
			var err error
			regs, err = regions(filepath.FromSlash(b.file))
			require.NoError(t, err, "README.md:%d", b.line)
			cache[b.file] = regs
		}
		want, ok := regs[b.name]
		if !assert.True(t, ok, "README.md:%d: %s has no region %q", b.line, b.file, b.name) {
			continue
		}
		used[b.file+"#"+b.name] = true
		assert.Equal(t, want, strings.TrimRight(b.code, "\n"),
			"README.md:%d: the block differs from %s#%s; copy the region into the README", b.line, b.file, b.name)
	}
	for file, regs := range cache {
		for name := range regs {
			assert.True(t, used[file+"#"+name], "%s#%s is not shown in the README", file, name)
		}
	}
}

func TestReadmeCheckCatchesDrift(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "snip.go")
	require.NoError(t, os.WriteFile(src, []byte("package x\n\nfunc f() {\n\t// readme:begin one\n\tx := 1\n\t_ = x\n\t// readme:end one\n}\n"), 0o600))
	regs, err := regions(src)
	require.NoError(t, err)
	assert.Equal(t, "x := 1\n_ = x", regs["one"])

	readme := filepath.Join(dir, "README.md")
	require.NoError(t, os.WriteFile(readme, []byte("text\n\n<!-- code: "+filepath.ToSlash(src)+"#one -->\n```go\nx := 2\n_ = x\n```\n\n```go\nunmarked()\n```\n"), 0o600))
	blocks := readmeGoBlocks(t, readme)
	require.Len(t, blocks, 2)
	assert.Equal(t, "one", blocks[0].name)
	assert.NotEqual(t, regs["one"], blocks[0].code, "an edited block no longer equals its region")
	assert.Empty(t, blocks[1].file, "a block without a marker is reported")

	_, err = regions(writeFile(t, dir, "bad.go", "// readme:begin a\n// readme:end b\n"))
	assert.ErrorContains(t, err, "does not match")
	_, err = regions(writeFile(t, dir, "open.go", "// readme:begin a\n"))
	assert.ErrorContains(t, err, "not closed")
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

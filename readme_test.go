package banksdk_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/internal/mdcode"
)

// The README's Go code is code: every ```go block is preceded by a marker
//
//	<!-- code: internal/readme/<file>.go#<name> -->
//
// naming a region of a file that is built and run (the readme program, run against the
// fakes by its own test and, from outside the module, by .ci/run; or a test of its own
// module, as auth/redisstore's). The region lies between the lines
// "// readme:begin <name>" and "// readme:end <name>"; the block must be that region
// exactly, less the region's common indentation. A block without a marker, a marker
// without its region, a block that drifted from its region, or a region of a named file
// that the README does not show fails.

var codeMarker = regexp.MustCompile(`^<!-- code: (\S+)#(\S+) -->$`)

type readmeBlock struct {
	line       int // of the opening fence
	file, name string
	code       string
}

// readmeGoBlocks reads every ```go block of the Markdown file readme, with the marker
// above it if there is one.
func readmeGoBlocks(readme string) ([]readmeBlock, error) {
	all, err := mdcode.Blocks(readme)
	if err != nil {
		return nil, err
	}
	var blocks []readmeBlock
	for _, b := range all {
		if b.Lang != "go" {
			continue
		}
		rb := readmeBlock{line: b.Line, code: strings.Join(b.Lines, "\n")}
		if m := codeMarker.FindStringSubmatch(b.Above); m != nil {
			rb.file, rb.name = m[1], m[2]
		}
		blocks = append(blocks, rb)
	}
	return blocks, nil
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

// checkReadme reports through t every ```go block of readme without a marker, whose
// marker names no region, or that differs from its region, and every region of a file
// a marker names that no block shows. It returns the number of blocks.
func checkReadme(t assert.TestingT, readme string) int {
	blocks, err := readmeGoBlocks(readme)
	if !assert.NoError(t, err) {
		return 0
	}
	used := map[string]bool{}
	cache := map[string]map[string]string{}
	for _, b := range blocks {
		if !assert.NotEmpty(t, b.file, "%s:%d: a ```go block needs a <!-- code: file#name --> marker on the line above", readme, b.line) {
			continue
		}
		regs, ok := cache[b.file]
		if !ok {
			var err error
			regs, err = regions(filepath.FromSlash(b.file))
			if !assert.NoError(t, err, "%s:%d", readme, b.line) {
				continue
			}
			cache[b.file] = regs
		}
		want, ok := regs[b.name]
		if !assert.True(t, ok, "%s:%d: %s has no region %q", readme, b.line, b.file, b.name) {
			continue
		}
		used[b.file+"#"+b.name] = true
		assert.Equal(t, want, strings.TrimRight(b.code, "\n"),
			"%s:%d: the block differs from %s#%s; copy the region into the README", readme, b.line, b.file, b.name)
	}
	for file, regs := range cache {
		for name := range regs {
			assert.True(t, used[file+"#"+name], "%s#%s is not shown in the README", file, name)
		}
	}
	return len(blocks)
}

func TestReadmeGoBlocksAreCompiledCode(t *testing.T) {
	require.NotZero(t, checkReadme(t, "README.md"), "the README has Go examples")
}

// failures collects what a check reports through assert.TestingT.
type failures []string

func (f *failures) Errorf(format string, args ...any) { *f = append(*f, fmt.Sprintf(format, args...)) }

func TestReadmeCheckCatchesDrift(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "snip.go")
	require.NoError(t, os.WriteFile(src, []byte("package x\n\nfunc f() {\n\t// readme:begin one\n\tx := 1\n\t_ = x\n\t// readme:end one\n\t// readme:begin two\n\ty := 2\n\t// readme:end two\n}\n"), 0o600))
	regs, err := regions(src)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"one": "x := 1\n_ = x", "two": "y := 2"}, regs)
	marker := func(name string) string { return "<!-- code: " + filepath.ToSlash(src) + "#" + name + " -->\n" }

	// A README that shows both regions as they are passes.
	var got failures
	good := writeFile(t, dir, "good.md", "text\n\n"+marker("one")+"```go\nx := 1\n_ = x\n```\n\n"+marker("two")+"```go\ny := 2\n```\n")
	assert.Equal(t, 2, checkReadme(&got, good))
	assert.Empty(t, got)

	// An edited block, a block without a marker, a marker naming no region, and a region
	// left unshown are each reported.
	got = nil
	bad := writeFile(t, dir, "bad.md", "text\n\n"+marker("one")+"```go\nx := 2\n_ = x\n```\n\n```go\nunmarked()\n```\n\n"+marker("three")+"```go\nz := 3\n```\n")
	assert.Equal(t, 3, checkReadme(&got, bad))
	report := strings.Join(got, "\n")
	assert.Len(t, got, 4, report)
	assert.Contains(t, report, "bad.md:4: the block differs from "+filepath.ToSlash(src)+"#one")
	assert.Contains(t, report, "bad.md:9: a ```go block needs a <!-- code: file#name --> marker")
	assert.Contains(t, report, `bad.md:14: `+filepath.ToSlash(src)+` has no region "three"`)
	assert.Contains(t, report, filepath.ToSlash(src)+"#two is not shown in the README")

	_, err = readmeGoBlocks(writeFile(t, dir, "open.md", "```go\nx := 1\n"))
	assert.ErrorContains(t, err, "not closed")
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

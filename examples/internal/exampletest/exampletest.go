// Package exampletest holds the checks the example programs' tests share: the usage
// names every environment variable a program reads, and a run prints the lines of
// its steps.
package exampletest

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Run is an example program's run function: it takes the arguments after the
// program's name and returns the exit code.
type Run func(args []string, stdout, stderr io.Writer) int

var getenv = regexp.MustCompile(`os\.Getenv\("([A-Z][A-Z0-9_]*)"\)`)

// EnvVars returns, sorted, the environment variables the program in dir (its Go files
// but its tests) reads with os.Getenv.
func EnvVars(t testing.TB, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	require.NoError(t, err)
	var names []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, m := range getenv.FindAllSubmatch(src, -1) {
			if n := string(m[1]); !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	slices.Sort(names)
	return names
}

// CheckUsage runs the program with -h and asserts that it exits 0 after printing to
// stderr a usage naming every environment variable the program in dir reads, and every
// flag given; and that an unknown flag and a stray argument exit 2.
func CheckUsage(t *testing.T, run Run, dir string, flags ...string) {
	t.Helper()
	vars := EnvVars(t, dir)
	require.NotEmpty(t, vars, "the program reads no environment variable")

	var out, errOut bytes.Buffer
	require.Equal(t, 0, run([]string{"-h"}, &out, &errOut), "-h")
	assert.Empty(t, out.String(), "-h prints nothing on stdout")
	usage := errOut.String()
	assert.Contains(t, usage, "Usage:")
	for _, v := range vars {
		assert.Regexp(t, `(?m)^\s+`+regexp.QuoteMeta(v)+`\s`, usage, "the usage describes %s on a line of its own", v)
	}
	for _, f := range flags {
		assert.Contains(t, usage, "\n  -"+f, "the usage lists -%s", f)
	}

	out.Reset()
	errOut.Reset()
	assert.Equal(t, 2, run([]string{"-no-such-flag"}, &out, &errOut), "an unknown flag")
	assert.Contains(t, errOut.String(), "flag provided but not defined")
	assert.Empty(t, out.String(), "an unknown flag runs nothing")

	out.Reset()
	errOut.Reset()
	assert.Equal(t, 2, run([]string{"stray"}, &out, &errOut), "a stray argument")
	assert.Contains(t, errOut.String(), `unexpected argument "stray"`)
	assert.Empty(t, out.String(), "a stray argument runs nothing")
}

// ClearEnv unsets, for the test, every environment variable the program in dir
// reads, so that it runs against its fake.
func ClearEnv(t *testing.T, dir string) {
	t.Helper()
	for _, v := range EnvVars(t, dir) {
		t.Setenv(v, "")
		require.NoError(t, os.Unsetenv(v))
	}
}

// AssertSteps asserts that out holds an "ok" line for each step, in this order, and
// no "FAIL" line; it returns each step's detail (what follows its duration).
func AssertSteps(t *testing.T, out string, steps ...string) []string {
	t.Helper()
	assert.NotContains(t, out, "FAIL")
	lines := strings.Split(out, "\n")
	var details []string
	i := 0
	for _, step := range steps {
		re := regexp.MustCompile(`^ok  \s*` + regexp.QuoteMeta(step) + `\s+\S+\s{2}(.*)$`)
		for ; i < len(lines); i++ {
			if m := re.FindStringSubmatch(lines[i]); m != nil {
				details = append(details, m[1])
				break
			}
		}
		if !assert.Less(t, i, len(lines), "no ok line for step %q after the previous step's; output:\n%s", step, out) {
			return details
		}
		i++
	}
	return details
}

// RunAgainstFake runs the program in dir (its run function) with none of its
// environment variables set and no argument, requires exit code 0 and a first line
// starting with "mode: fake", and returns what it printed on stdout and stderr.
func RunAgainstFake(t *testing.T, run Run, dir string) (stdout, stderr string) {
	t.Helper()
	ClearEnv(t, dir)
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(nil, &out, &errOut), "stdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
	assert.Regexp(t, `^mode: fake `, out.String())
	return out.String(), errOut.String()
}

package main

import (
	"archive/zip"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"
)

// repo creates a Git repository with a root module, a module in sub/, a committed
// file deleted from the work tree, an untracked file and an ignored one.
func repo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	write := func(name, data string) {
		t.Helper()
		p := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(data), 0o644))
	}
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "git %v: %s", args, out)
	}
	write("go.mod", "module example.com/root\n\ngo 1.24\n")
	write("LICENSE", "the licence\n")
	write("root.go", "package root\n")
	write("gone.go", "package root\n")
	write(".gitignore", "*.out\n")
	write("sub/go.mod", "module example.com/root/sub\n\ngo 1.24\n\nrequire example.com/root v0.1.0\n")
	write("sub/sub.go", "package sub\n")
	run("init", "-q")
	run("add", ".")
	run("commit", "-q", "-m", "init")
	require.NoError(t, os.Remove(filepath.Join(dir, "gone.go")))
	write("new.go", "package root\n")
	write("cover.out", "ignored\n")
	return dir
}

func zipNames(t *testing.T, path string) []string {
	t.Helper()
	r, err := zip.OpenReader(path)
	require.NoError(t, err)
	defer r.Close()
	var names []string
	for _, f := range r.File {
		names = append(names, f.Name)
	}
	slices.Sort(names)
	return names
}

func TestPublishLaysOutAModuleProxy(t *testing.T) {
	dir := repo(t)
	proxy := t.TempDir()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

	m, n, err := publish(proxy, dir, "v0.1.0", now)
	require.NoError(t, err)
	require.Equal(t, module.Version{Path: "example.com/root", Version: "v0.1.0"}, m)
	assert.Equal(t, 5, n, "files in the root zip")
	vdir := filepath.Join(proxy, "example.com", "root", "@v")
	wantRoot := []string{
		"example.com/root@v0.1.0/.gitignore",
		"example.com/root@v0.1.0/LICENSE",
		"example.com/root@v0.1.0/go.mod",
		"example.com/root@v0.1.0/new.go",
		"example.com/root@v0.1.0/root.go",
	}
	assert.Equal(t, wantRoot, zipNames(t, filepath.Join(vdir, "v0.1.0.zip")), "no sub/ module, no deleted or ignored file")
	_, err = modzip.CheckZip(m, filepath.Join(vdir, "v0.1.0.zip"))
	assert.NoError(t, err, "the go command's checks of a module zip")
	mod, err := os.ReadFile(filepath.Join(vdir, "v0.1.0.mod"))
	require.NoError(t, err)
	assert.Equal(t, "module example.com/root\n\ngo 1.24\n", string(mod))
	var info struct {
		Version string
		Time    time.Time
	}
	data, err := os.ReadFile(filepath.Join(vdir, "v0.1.0.info"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &info))
	assert.Equal(t, "v0.1.0", info.Version)
	assert.True(t, info.Time.Equal(now), "info time %v, want %v", info.Time, now)

	sm, _, err := publish(proxy, filepath.Join(dir, "sub"), "v0.2.0", now)
	require.NoError(t, err)
	wantSub := []string{
		"example.com/root/sub@v0.2.0/LICENSE",
		"example.com/root/sub@v0.2.0/go.mod",
		"example.com/root/sub@v0.2.0/sub.go",
	}
	subZip := filepath.Join(proxy, "example.com", "root", "sub", "@v", "v0.2.0.zip")
	assert.Equal(t, wantSub, zipNames(t, subZip), "with the repository's LICENSE")
	_, err = modzip.CheckZip(sm, subZip)
	assert.NoError(t, err, "the go command's checks of a module zip")

	for range 2 {
		_, _, err = publish(proxy, dir, "v0.1.1", now)
		require.NoError(t, err)
	}
	list, err := os.ReadFile(filepath.Join(vdir, "list"))
	require.NoError(t, err)
	assert.Equal(t, "v0.1.0\nv0.1.1\n", string(list), "each published version once")
}

func TestPublishRefusesWhatAProxyCannotServe(t *testing.T) {
	dir := repo(t)
	for _, version := range []string{"0.1.0", "v0.1", "v2.0.0", "latest"} {
		proxy := t.TempDir()
		_, _, err := publish(proxy, dir, version, time.Now())
		assert.Error(t, err, "publish at %q", version)
		entries, err := os.ReadDir(proxy)
		require.NoError(t, err)
		assert.Empty(t, entries, "publish at %q wrote to the proxy", version)
	}
	_, _, err := publish(t.TempDir(), t.TempDir(), "v0.1.0", time.Now())
	assert.ErrorIs(t, err, fs.ErrNotExist, "a directory without go.mod")
}

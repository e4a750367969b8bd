// Command publish lays out versions of this repository's modules in a directory that
// works as a module proxy (GOPROXY=file://DIR), the way a proxy serves them once their
// tags are pushed: DIR/<module path>/@v/list, <version>.info, <version>.mod and
// <version>.zip.
//
// CI uses it to check that the published modules resolve each other with neither a
// replace directive nor the repository's go.work: a consumer module fetches
// auth/redisstore from the directory, and with it the banksdk version it requires.
//
// Usage:
//
//	go run . -proxy DIR MODULEDIR@VERSION...
//
// A module's files are those of the Git work tree that Git does not ignore, committed
// or not, less what a module zip never holds (files of modules in subdirectories,
// vendor directories, symbolic links), as golang.org/x/mod/zip decides. A module in a
// subdirectory without a LICENSE of its own is given the repository's, as the go
// command does when it builds a module zip from a repository.
package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"
)

func main() {
	proxy := flag.String("proxy", "", "directory to lay the module proxy out in (created if missing)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: publish -proxy DIR MODULEDIR@VERSION...\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *proxy == "" || flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	now := time.Now().UTC().Truncate(time.Second)
	for _, arg := range flag.Args() {
		i := strings.LastIndex(arg, "@")
		if i < 0 {
			fmt.Fprintf(os.Stderr, "publish: %q is not MODULEDIR@VERSION\n", arg)
			os.Exit(2)
		}
		m, n, err := publish(*proxy, arg[:i], arg[i+1:], now)
		if err != nil {
			fmt.Fprintf(os.Stderr, "publish: %v\n", err)
			os.Exit(1)
		}
		fmt.Printf("published %s@%s (%d files)\n", m.Path, m.Version, n)
	}
}

// publish writes the module whose go.mod is in dir to the proxy directory at version,
// and returns the module and the number of files in its zip.
func publish(proxy, dir, version string, now time.Time) (module.Version, int, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return module.Version{}, 0, err
	}
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return module.Version{}, 0, err
	}
	m := module.Version{Path: modfile.ModulePath(gomod), Version: version}
	if m.Path == "" {
		return m, 0, fmt.Errorf("%s: go.mod has no module line", dir)
	}
	if err := module.Check(m.Path, m.Version); err != nil {
		return m, 0, err
	}
	if module.CanonicalVersion(m.Version) != m.Version {
		return m, 0, fmt.Errorf("%s: version %q is not canonical", m.Path, m.Version)
	}
	files, err := workTreeFiles(dir)
	if err != nil {
		return m, 0, err
	}
	var zipBuf bytes.Buffer
	if err := modzip.Create(&zipBuf, m, files); err != nil {
		return m, 0, err
	}
	n, err := zipFileCount(zipBuf.Bytes())
	if err != nil {
		return m, 0, err
	}

	escPath, err := module.EscapePath(m.Path)
	if err != nil {
		return m, 0, err
	}
	escVersion, err := module.EscapeVersion(m.Version)
	if err != nil {
		return m, 0, err
	}
	vdir := filepath.Join(proxy, filepath.FromSlash(escPath), "@v")
	if err := os.MkdirAll(vdir, 0o755); err != nil {
		return m, 0, err
	}
	info, err := json.Marshal(struct {
		Version string
		Time    time.Time
	}{m.Version, now})
	if err != nil {
		return m, 0, err
	}
	for ext, data := range map[string][]byte{".info": info, ".mod": gomod, ".zip": zipBuf.Bytes()} {
		if err := os.WriteFile(filepath.Join(vdir, escVersion+ext), data, 0o644); err != nil {
			return m, 0, err
		}
	}
	return m, n, addToList(filepath.Join(vdir, "list"), m.Version)
}

// addToList adds version to a proxy's list file, once.
func addToList(list, version string) error {
	data, err := os.ReadFile(list)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	versions := strings.Fields(string(data))
	if slices.Contains(versions, version) {
		return nil
	}
	versions = append(versions, version)
	return os.WriteFile(list, []byte(strings.Join(versions, "\n")+"\n"), 0o644)
}

// workTreeFiles lists the files under dir that Git tracks or would track (untracked
// and not ignored), as they are in the work tree. A module in a subdirectory of the
// repository without a LICENSE is given the repository's LICENSE.
func workTreeFiles(dir string) ([]modzip.File, error) {
	out, err := git(dir, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	if err != nil {
		return nil, err
	}
	var files []modzip.File
	seen := make(map[string]bool)
	for _, rel := range strings.Split(string(out), "\x00") {
		if rel == "" || seen[rel] {
			continue
		}
		seen[rel] = true
		abs := filepath.Join(dir, filepath.FromSlash(rel))
		info, err := os.Lstat(abs)
		if errors.Is(err, fs.ErrNotExist) {
			continue // tracked, but deleted in the work tree
		}
		if err != nil {
			return nil, err
		}
		files = append(files, diskFile{path: rel, abs: abs, info: info})
	}
	if seen["LICENSE"] {
		return files, nil
	}
	top, err := git(dir, "rev-parse", "--show-toplevel")
	if err != nil {
		return nil, err
	}
	root := strings.TrimSpace(string(top))
	if same, err := sameDir(root, dir); err != nil || same {
		return files, err
	}
	license := filepath.Join(root, "LICENSE")
	info, err := os.Lstat(license)
	if errors.Is(err, fs.ErrNotExist) {
		return files, nil
	}
	if err != nil {
		return nil, err
	}
	return append(files, diskFile{path: "LICENSE", abs: license, info: info}), nil
}

func sameDir(a, b string) (bool, error) {
	ai, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	bi, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(ai, bi), nil
}

func git(dir string, args ...string) ([]byte, error) {
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git %s in %s: %v: %s", strings.Join(args, " "), dir, err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// zipFileCount returns the number of files in a zip archive.
func zipFileCount(data []byte) (int, error) {
	r, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return 0, err
	}
	return len(r.File), nil
}

// diskFile is a modzip.File read from the work tree.
type diskFile struct {
	path string // slash-separated, relative to the module root
	abs  string
	info fs.FileInfo
}

func (f diskFile) Path() string                 { return f.path }
func (f diskFile) Lstat() (fs.FileInfo, error)  { return f.info, nil }
func (f diskFile) Open() (io.ReadCloser, error) { return os.Open(f.abs) }

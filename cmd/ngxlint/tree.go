package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// The checked tree is what ngxlint may read and --fix may write for one
// configuration (docs/security.md). The configuration comes from the
// repository under test, so its includes, *_by_lua_file paths and symlinks
// must not reach the rest of the machine (~/.git-credentials, /etc, the
// runner's tools): only a flag (--allow-path, --prefix) widens the tree.
//
// The tree is the first of:
//   - the directory of the .ngxlint.yaml that governs the configuration
//     (the repository's own statement of where it lives);
//   - the git work tree that holds the main file (the checkout CI lints);
//   - nginx's prefix for the main file (its directory, or the parent of a
//     directory named conf), which is where nginx resolves relative paths.
//
// plus --prefix when given. All are real paths (symlinks resolved), since
// the loader compares real paths.

// treeRoots returns the roots ngxlint may read for the main file at
// mainPath, and the subset --fix may write.
func treeRoots(mainPath, configDir, prefix string, allow []string) (read, write []string) {
	abs, err := filepath.Abs(mainPath)
	if err != nil {
		abs = mainPath
	}
	dir := filepath.Dir(abs)
	var root string
	switch {
	case configDir != "":
		root = configDir
	default:
		root = gitWorkTree(dir)
		if root == "" {
			root = dir
			if filepath.Base(dir) == "conf" {
				root = filepath.Dir(dir)
			}
		}
	}
	add := func(list []string, p string) []string {
		if p == "" {
			return list
		}
		if a, err := filepath.Abs(p); err == nil {
			p = a
		}
		// Both the path as reached and its real path: the loader compares
		// the paths it is about to read (a lua_package_path template under
		// a symlinked checkout) before resolving them, and --fix the real
		// path of what it writes.
		if !slices.Contains(list, p) {
			list = append(list, p)
		}
		if r, err := filepath.EvalSymlinks(p); err == nil && !slices.Contains(list, r) {
			list = append(list, r)
		}
		return list
	}
	write = add(write, root)
	// The main file given on the command line is the user's choice even
	// when it lies outside the default tree (ngxlint check /etc/nginx/...).
	if !within(realPath(abs), write) {
		write = add(write, dir)
	}
	write = add(write, prefix)
	read = slices.Clone(write)
	for _, p := range allow {
		read = add(read, p)
	}
	return read, write
}

// gitWorkTree returns the nearest ancestor of dir (or dir) holding a .git
// entry, or "".
func gitWorkTree(dir string) string {
	for d := dir; ; {
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			return d
		}
		parent := filepath.Dir(d)
		if parent == d {
			return ""
		}
		d = parent
	}
}

// realPath resolves symlinks in p; a path that does not resolve is kept.
func realPath(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	return p
}

// within reports whether the real path p lies in one of roots.
func within(p string, roots []string) bool {
	for _, r := range roots {
		if p == r || strings.HasPrefix(p, strings.TrimSuffix(r, string(filepath.Separator))+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

// allowFlag collects repeated --allow-path DIR.
type allowFlag []string

func (a *allowFlag) String() string { return strings.Join(*a, ",") }

func (a *allowFlag) Set(v string) error {
	if strings.TrimSpace(v) == "" {
		return fmt.Errorf("want a directory")
	}
	*a = append(*a, v)
	return nil
}

package nginxconf

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTreeFS: the sandbox's view of the file system opens the tree's
// ordinary files and nothing else: not outside the roots (directly, by
// "..", or through a symlink), not credentials, not directories.
func TestTreeFS(t *testing.T) {
	dir := t.TempDir()
	tree := filepath.Join(dir, "tree")
	outside := filepath.Join(dir, "outside")
	for p, data := range map[string]string{
		filepath.Join(tree, "data", "peers.json"): `{"a":1}`,
		filepath.Join(tree, ".env"):               "TOKEN=x",
		filepath.Join(tree, ".git", "config"):     "url = https://u:t@h",
		filepath.Join(outside, "secret.txt"):      "secret",
	} {
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(data), 0o644)
	}
	os.Symlink(filepath.Join(outside, "secret.txt"), filepath.Join(tree, "link.txt"))
	fsys := TreeFS([]string{tree}, 0)
	abs := func(p string) string { return strings.TrimPrefix(filepath.ToSlash(p), "/") }
	if b, err := fs.ReadFile(fsys, abs(filepath.Join(tree, "data", "peers.json"))); err != nil || string(b) != `{"a":1}` {
		t.Errorf("tree file: %q %v", b, err)
	}
	for _, p := range []string{
		filepath.Join(outside, "secret.txt"),
		filepath.Join(tree, "link.txt"),
		filepath.Join(tree, ".env"),
		filepath.Join(tree, ".git", "config"),
		filepath.Join(tree, "data"),
		"etc/passwd",
	} {
		if _, err := fs.ReadFile(fsys, abs(p)); err == nil {
			t.Errorf("%s opened", p)
		}
	}
	if _, err := fsys.Open("tree/../outside/secret.txt"); err == nil {
		t.Errorf("a path with .. opened")
	}
	if _, err := fs.ReadFile(TreeFS(nil, 0), abs(filepath.Join(tree, "data", "peers.json"))); err == nil {
		t.Errorf("no roots: opened")
	}
}

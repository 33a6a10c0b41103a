package nginxconf

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// TreeFS is the checked tree as an fs.FS for code that runs the
// configuration's Lua in a sandbox (the emulator's io.open): its root
// stands for "/" as nginx sees it, and it opens only regular files that
// lie inside roots once symlinks are resolved, are not named like
// credentials, and are not larger than maxSize - the rules Load reads
// files by (docs/security.md). Every other name fails as a missing file
// would. With no roots nothing opens.
func TreeFS(roots []string, maxSize int64) fs.FS {
	var clean []string
	for _, r := range roots {
		if a, err := filepath.Abs(r); err == nil {
			if real, err := filepath.EvalSymlinks(a); err == nil {
				a = real
			}
			clean = append(clean, a)
		}
	}
	if maxSize <= 0 {
		maxSize = DefaultMaxFileSize
	}
	return treeFS{roots: clean, maxSize: maxSize}
}

type treeFS struct {
	roots   []string
	maxSize int64
}

func (t treeFS) Open(name string) (fs.File, error) {
	notFound := &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	real, err := filepath.EvalSymlinks(filepath.FromSlash("/" + name))
	if err != nil {
		return nil, notFound
	}
	root := ""
	for _, r := range t.roots {
		if real == r || strings.HasPrefix(real, strings.TrimSuffix(r, string(filepath.Separator))+string(filepath.Separator)) {
			root = r
			break
		}
	}
	if root == "" {
		return nil, notFound
	}
	rel, err := filepath.Rel(root, real)
	if err != nil || credentialLike(filepath.ToSlash(rel)) {
		return nil, notFound
	}
	st, err := os.Stat(real)
	if err != nil || !st.Mode().IsRegular() || st.Size() > t.maxSize {
		return nil, notFound
	}
	f, err := os.Open(real)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
		}
		return nil, notFound
	}
	return f, nil
}

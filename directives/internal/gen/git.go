//go:build ngxlint_tools

package main

import (
	"strings"

	"github.com/ngxlint/ngxlint/internal/gitsrc"
)

// repo reads a source repository (gitsrc: ls-tree for a revision's
// files, one cat-file process for their content) and keeps the facts of
// each blob, so that hundreds of release tags cost one parse per distinct
// file version.
type repo struct {
	*gitsrc.Repo
	cache map[string]*fileFacts // by blob hash
}

func openRepo(dir string) (*repo, error) {
	return &repo{Repo: gitsrc.Open(dir), cache: map[string]*fileFacts{}}, nil
}

func (r *repo) close() { r.Close() }

func (r *repo) git(args ...string) (string, error) {
	out, err := r.Git(args...)
	return string(out), err
}

// tags lists the repository's tags.
func (r *repo) tags() ([]string, error) {
	out, err := r.git("tag")
	if err != nil {
		return nil, err
	}
	return strings.Fields(out), nil
}

// describe names a revision: its tag if it has one, else the commit.
func (r *repo) describe(rev string) string {
	if out, err := r.git("describe", "--tags", "--always", rev); err == nil {
		d := strings.TrimSpace(out)
		if c, err := r.git("rev-parse", "--short=12", rev+"^{commit}"); err == nil {
			return d + " (" + strings.TrimSpace(c) + ")"
		}
		return d
	}
	return rev
}

// sources returns the facts of every C file of rev, by path.
func (r *repo) sources(rev string) (map[string]*fileFacts, error) {
	out, err := r.git("ls-tree", "-r", rev)
	if err != nil {
		return nil, err
	}
	files := map[string]*fileFacts{}
	for _, line := range strings.Split(out, "\n") {
		meta, path, ok := strings.Cut(line, "\t")
		if !ok || !(strings.HasSuffix(path, ".c") || strings.HasSuffix(path, ".h")) {
			continue
		}
		if strings.HasPrefix(path, "t/") || strings.Contains(path, "/t/") || strings.HasPrefix(path, "examples/") {
			continue // test suites and example modules
		}
		f := strings.Fields(meta)
		if len(f) != 3 || f[1] != "blob" {
			continue
		}
		ff, err := r.facts(f[2])
		if err != nil {
			return nil, err
		}
		files[path] = ff
	}
	return files, nil
}

func (r *repo) facts(hash string) (*fileFacts, error) {
	if ff, ok := r.cache[hash]; ok {
		return ff, nil
	}
	data, err := r.Blob(hash)
	if err != nil {
		return nil, err
	}
	ff := parseC(string(data))
	r.cache[hash] = ff
	return ff, nil
}

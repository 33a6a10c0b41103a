//go:build ngxlint_tools

// Package gitsrc reads the fetched source repositories the generators
// derive facts from (directives/internal/gen and vargen, luacheck's
// phasefacts and streamfacts): tags, files at a revision, and many blobs
// through one long-running "git cat-file --batch", so that hundreds of
// release tags cost one read per distinct file version. It runs git
// itself; repositories may be bare clones or work trees.
package gitsrc

import (
	"archive/tar"
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
)

// Repo is one repository.
type Repo struct {
	Dir    string // as given
	gitDir string
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Reader
}

// Open opens the repository in dir (a bare clone or a work tree).
func Open(dir string) *Repo {
	g := dir
	if out, err := exec.Command("git", "-C", dir, "rev-parse", "--git-dir").Output(); err == nil {
		g = strings.TrimSpace(string(out))
		if !strings.HasPrefix(g, "/") {
			g = dir + "/" + g
		}
	}
	return &Repo{Dir: dir, gitDir: g}
}

// Git runs a git command in the repository and returns its output; the
// error carries git's stderr.
func (r *Repo) Git(args ...string) ([]byte, error) {
	cmd := exec.Command("git", append([]string{"--git-dir", r.gitDir}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git %s in %s: %v: %s", strings.Join(args, " "), r.Dir, err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// Tags lists the repository's tags.
func (r *Repo) Tags() ([]string, error) {
	out, err := r.Git("tag")
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(out)), nil
}

// Head is the commit HEAD names ("" when it cannot be read).
func (r *Repo) Head() string {
	out, _ := r.Git("rev-parse", "HEAD")
	return strings.TrimSpace(string(out))
}

// Show is the file at path in rev.
func (r *Repo) Show(rev, path string) (string, error) {
	out, err := r.Git("show", rev+":"+path)
	return string(out), err
}

// Tree reads the files under path at rev whose names end with one of
// exts, by their path in the repository.
func (r *Repo) Tree(rev, path string, exts ...string) (map[string]string, error) {
	b, err := r.Git("archive", rev, path)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if h.Typeflag != tar.TypeReg || !hasSuffix(h.Name, exts) {
			continue
		}
		c, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		out[h.Name] = string(c)
	}
}

func hasSuffix(name string, exts []string) bool {
	for _, e := range exts {
		if strings.HasSuffix(name, e) {
			return true
		}
	}
	return false
}

// Blob is the content of the blob id, read through the repository's
// cat-file process (started on first use).
func (r *Repo) Blob(id string) ([]byte, error) {
	if r.cmd == nil {
		cmd := exec.Command("git", "--git-dir", r.gitDir, "cat-file", "--batch")
		in, err := cmd.StdinPipe()
		if err != nil {
			return nil, err
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("git cat-file in %s: %w", r.Dir, err)
		}
		r.cmd, r.in, r.out = cmd, in, bufio.NewReaderSize(out, 1<<20)
	}
	if _, err := fmt.Fprintln(r.in, id); err != nil {
		return nil, err
	}
	header, err := r.out.ReadString('\n')
	if err != nil {
		return nil, err
	}
	f := strings.Fields(header)
	if len(f) != 3 {
		return nil, fmt.Errorf("cat-file %s: %q", id, header)
	}
	n, err := strconv.Atoi(f[2])
	if err != nil {
		return nil, err
	}
	data := make([]byte, n+1) // the content and the LF after it
	if _, err := io.ReadFull(r.out, data); err != nil {
		return nil, err
	}
	return data[:n], nil
}

// Close ends the cat-file process, if one was started.
func (r *Repo) Close() {
	if r.cmd != nil {
		r.in.Close()
		_ = r.cmd.Wait()
	}
}

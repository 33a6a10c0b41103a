//go:build ngxlint_tools

package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
)

// repo reads a git repository (bare or not) with git itself: ls-tree for a
// revision's files and one long-running cat-file --batch for their
// content, so that hundreds of release tags cost one read per distinct
// file version.
type repo struct {
	dir   string
	cmd   *exec.Cmd
	in    io.WriteCloser
	out   *bufio.Reader
	cache map[string]*fileFacts // by blob hash
}

func openRepo(dir string) (*repo, error) {
	cmd := exec.Command("git", "--git-dir", gitDir(dir), "cat-file", "--batch")
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("git cat-file in %s: %w", dir, err)
	}
	return &repo{dir: dir, cmd: cmd, in: in, out: bufio.NewReaderSize(out, 1<<20), cache: map[string]*fileFacts{}}, nil
}

// gitDir accepts a bare repository or a work tree.
func gitDir(dir string) string {
	out, err := exec.Command("git", "-C", dir, "rev-parse", "--git-dir").Output()
	if err != nil {
		return dir
	}
	g := strings.TrimSpace(string(out))
	if !strings.HasPrefix(g, "/") {
		g = dir + "/" + g
	}
	return g
}

func (r *repo) close() {
	r.in.Close()
	_ = r.cmd.Wait()
}

func (r *repo) git(args ...string) (string, error) {
	cmd := exec.Command("git", append([]string{"--git-dir", gitDir(r.dir)}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s in %s: %v: %s", strings.Join(args, " "), r.dir, err, stderr.String())
	}
	return string(out), nil
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
	if _, err := fmt.Fprintln(r.in, hash); err != nil {
		return nil, err
	}
	header, err := r.out.ReadString('\n')
	if err != nil {
		return nil, err
	}
	f := strings.Fields(header)
	if len(f) != 3 {
		return nil, fmt.Errorf("cat-file %s: %q", hash, header)
	}
	n, err := strconv.Atoi(f[2])
	if err != nil {
		return nil, err
	}
	buf := make([]byte, n+1) // content and a newline
	if _, err := io.ReadFull(r.out, buf); err != nil {
		return nil, err
	}
	ff := parseC(string(buf[:n]))
	r.cache[hash] = ff
	return ff, nil
}

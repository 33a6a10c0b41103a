package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// fixPlan is the set of fixes chosen for one run, per file.
type fixPlan struct {
	files map[string]*fileFix // by Pos.File
	order []string
	// skipped are fixes that overlap a fix already chosen; running --fix
	// again applies them on the new text.
	skipped []*analyzer.Diagnostic
	// roots are the directories --fix may write in (the checked trees,
	// tree.go); nil allows any (tests of the write itself).
	roots []string
}

type fileFix struct {
	file  *nginxconf.File
	edits []analyzer.TextEdit
	diags []*analyzer.Diagnostic
	out   []byte
}

// planFixes picks, for every diagnostic with a suggested fix, its first fix
// (go/analysis convention: fixes are alternatives), in file order, skipping
// a fix whose edits overlap one already chosen. Every edit is applied to a
// copy of the loaded bytes; nothing is written.
func planFixes(ds []*analyzer.Diagnostic, files map[string]*nginxconf.File) (*fixPlan, error) {
	p := &fixPlan{files: map[string]*fileFix{}}
	var chosen []analyzer.TextEdit
	for _, d := range ds {
		if len(d.Fixes) == 0 {
			continue
		}
		fx := d.Fixes[0]
		if len(fx.Edits) == 0 {
			continue
		}
		known := true
		for _, e := range fx.Edits {
			if files[e.Pos.File] == nil {
				known = false
			}
		}
		if !known || analyzer.EditsOverlap(chosen, fx.Edits) {
			p.skipped = append(p.skipped, d)
			continue
		}
		chosen = append(chosen, fx.Edits...)
		touched := map[string]bool{}
		for _, e := range fx.Edits {
			ff := p.files[e.Pos.File]
			if ff == nil {
				ff = &fileFix{file: files[e.Pos.File]}
				p.files[e.Pos.File] = ff
				p.order = append(p.order, e.Pos.File)
			}
			ff.edits = append(ff.edits, e)
			if !touched[e.Pos.File] {
				ff.diags = append(ff.diags, d)
				touched[e.Pos.File] = true
			}
		}
	}
	sort.Strings(p.order)
	for _, name := range p.order {
		ff := p.files[name]
		if crlfFile(ff.file.Data) {
			// Rules write "\n"; a CRLF file keeps its line endings.
			for i := range ff.edits {
				ff.edits[i].NewText = toCRLF(ff.edits[i].NewText)
			}
		}
		out, err := analyzer.ApplyEdits(ff.file.Data, ff.edits)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		ff.out = out
	}
	return p, nil
}

// fixed returns the diagnostics whose fix the plan applies.
func (p *fixPlan) fixed() map[*analyzer.Diagnostic]bool {
	m := map[*analyzer.Diagnostic]bool{}
	for _, ff := range p.files {
		for _, d := range ff.diags {
			m[d] = true
		}
	}
	return m
}

// osPath is where a loaded file lives on disk: LoadFile records the
// absolute path in nginx's (slash) form.
func osPath(f *nginxconf.File) string {
	if f.AbsPath != "" {
		return filepath.FromSlash(f.AbsPath)
	}
	return f.Path
}

// write applies the plan to disk, file by file. A file that changed on
// disk since it was loaded (content hash differs) is refused: the edits'
// byte offsets would land in the wrong place. beforeRename is a test hook
// (see writeFileAtomic).
func (p *fixPlan) write(beforeRename func(tmp string) error) (written []string, err error) {
	for _, name := range p.order {
		ff := p.files[name]
		path, err := p.target(osPath(ff.file))
		if err != nil {
			return written, fmt.Errorf("--fix %s: %w", name, err)
		}
		cur, err := os.ReadFile(path)
		if err != nil {
			return written, fmt.Errorf("--fix %s: %w", name, err)
		}
		if sha256.Sum256(cur) != sha256.Sum256(ff.file.Data) {
			return written, fmt.Errorf("--fix %s: the file changed on disk since it was read; not writing (run ngxlint again)", name)
		}
		st, err := os.Stat(path)
		if err != nil {
			return written, fmt.Errorf("--fix %s: %w", name, err)
		}
		if err := writable(st); err != nil {
			return written, fmt.Errorf("--fix %s: %w; not writing", name, err)
		}
		if err := writeFileAtomic(path, ff.out, st.Mode().Perm(), st, beforeRename); err != nil {
			return written, fmt.Errorf("--fix %s: %w", name, err)
		}
		written = append(written, name)
	}
	return written, nil
}

// writeFileAtomic replaces path with data so that a reader (or a crash)
// sees either the old or the new content, never a mix: the data goes to a
// temporary file in the same directory (rename is atomic only within one
// file system), is fsynced, gets the mode and like's owner, and is renamed over path; the
// directory is then fsynced so the rename itself is durable. beforeRename,
// when not nil, runs between the temp write and the rename; an error from
// it aborts (tests use it to simulate a crash at that point).
func writeFileAtomic(path string, data []byte, mode os.FileMode, like os.FileInfo, beforeRename func(tmp string) error) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".ngxlint-*")
	if err != nil {
		return err
	}
	tmpName := tmp.Name()
	defer func() {
		if err != nil {
			os.Remove(tmpName)
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err = tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Chmod(tmpName, mode); err != nil {
		return err
	}
	// The new file must belong to whoever owned the old one (like, when
	// set): a root CI job fixing a user's checkout must not hand the file
	// to root.
	if like != nil {
		if err = keepOwner(tmpName, like); err != nil {
			return fmt.Errorf("cannot keep the file's owner: %w", err)
		}
	}
	if beforeRename != nil {
		if err = beforeRename(tmpName); err != nil {
			return err
		}
	}
	if err = os.Rename(tmpName, path); err != nil {
		return err
	}
	if d, derr := os.Open(dir); derr == nil {
		d.Sync() // best effort: not every file system supports it
		d.Close()
	}
	return nil
}

// target is the file --fix writes for path: the file a symlink points to
// (the link stays a link), which must lie inside the checked tree.
func (p *fixPlan) target(path string) (string, error) {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", err
	}
	if p.roots != nil && !within(real, p.roots) {
		return "", fmt.Errorf("%s is outside the checked tree (%s); not writing", real, strings.Join(p.roots, ", "))
	}
	return real, nil
}

// writable refuses what an atomic replace would silently change: a
// read-only file (rename ignores the mode; the owner made it read-only on
// purpose) and a file with other hard links (they would keep the old text).
func writable(st os.FileInfo) error {
	if !st.Mode().IsRegular() {
		return fmt.Errorf("not a regular file")
	}
	if st.Mode().Perm()&0o200 == 0 {
		return fmt.Errorf("the file is read-only (mode %04o)", st.Mode().Perm())
	}
	if n := hardLinks(st); n > 1 {
		return fmt.Errorf("the file has %d hard links and replacing it would split them", n)
	}
	return nil
}

// crlfFile reports whether most line ends of data are CRLF.
func crlfFile(data []byte) bool {
	lf := bytes.Count(data, []byte{'\n'})
	crlf := bytes.Count(data, []byte("\r\n"))
	return crlf > 0 && crlf*2 >= lf
}

// toCRLF writes every bare "\n" of s as "\r\n".
func toCRLF(s string) string {
	if !strings.Contains(s, "\n") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' && (i == 0 || s[i-1] != '\r') {
			b.WriteByte('\r')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// writeDiff prints the plan as a unified diff (diff -u style, with a/ and
// b/ prefixes so `git apply` and `patch -p1` take it).
func (p *fixPlan) writeDiff(w io.Writer) {
	for _, name := range p.order {
		ff := p.files[name]
		writeUnifiedDiff(w, filepath.ToSlash(name), ff.file.Data, ff.out)
	}
}

// splitLines splits after each '\n', keeping it, so a last line without
// a newline is kept as it is.
func splitLines(b []byte) []string {
	var out []string
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			out = append(out, string(b))
			break
		}
		out = append(out, string(b[:i+1]))
		b = b[i+1:]
	}
	return out
}

// writeUnifiedDiff prints a unified diff with 3 lines of context. The
// edit script comes from a longest-common-subsequence over the lines that
// differ after trimming the common prefix and suffix, which for fixes (a
// few inserted or moved lines) is a small window of a large file.
func writeUnifiedDiff(w io.Writer, name string, a, b []byte) {
	if bytes.Equal(a, b) {
		return
	}
	al, bl := splitLines(a), splitLines(b)
	pre := 0
	for pre < len(al) && pre < len(bl) && al[pre] == bl[pre] {
		pre++
	}
	suf := 0
	for suf < len(al)-pre && suf < len(bl)-pre && al[len(al)-1-suf] == bl[len(bl)-1-suf] {
		suf++
	}
	ops := lcsOps(al[pre:len(al)-suf], bl[pre:len(bl)-suf])
	// Full op list over the whole file: equal prefix, middle, equal suffix.
	type op = lineOp
	var all []op
	for _, l := range al[:pre] {
		all = append(all, op{' ', l})
	}
	all = append(all, ops...)
	for _, l := range al[len(al)-suf:] {
		all = append(all, op{' ', l})
	}
	fmt.Fprintf(w, "--- a/%s\n+++ b/%s\n", name, name)
	const ctx = 3
	i := 0
	for i < len(all) {
		if all[i].kind == ' ' {
			i++
			continue
		}
		// A hunk starts ctx lines before the first change and extends while
		// changes are within 2*ctx lines of each other.
		start := max(i-ctx, 0)
		end := i
		for end < len(all) {
			if all[end].kind != ' ' {
				end++
				continue
			}
			j := end
			for j < len(all) && all[j].kind == ' ' {
				j++
			}
			if j < len(all) && j-end <= 2*ctx {
				end = j
				continue
			}
			end = min(end+ctx, len(all))
			break
		}
		// Line numbers of the hunk in a and b.
		aLine, bLine := 1, 1
		for _, o := range all[:start] {
			if o.kind != '+' {
				aLine++
			}
			if o.kind != '-' {
				bLine++
			}
		}
		var aN, bN int
		var body strings.Builder
		for _, o := range all[start:end] {
			if o.kind != '+' {
				aN++
			}
			if o.kind != '-' {
				bN++
			}
			body.WriteByte(o.kind)
			body.WriteString(o.text)
			if !strings.HasSuffix(o.text, "\n") {
				body.WriteString("\n\\ No newline at end of file\n")
			}
		}
		fmt.Fprintf(w, "@@ -%s +%s @@\n%s", hunkRange(aLine, aN), hunkRange(bLine, bN), body.String())
		i = end
	}
}

func hunkRange(start, n int) string {
	if n == 0 {
		return fmt.Sprintf("%d,0", start-1)
	}
	if n == 1 {
		return fmt.Sprintf("%d", start)
	}
	return fmt.Sprintf("%d,%d", start, n)
}

type lineOp struct {
	kind byte
	text string
}

// lcsOps is the classic O(n*m) longest-common-subsequence edit script. It
// only ever sees the differing middle of two files, which is small; a
// window larger than maxLCS lines is shown as a whole replacement instead.
func lcsOps(a, b []string) []lineOp {
	const maxLCS = 2000
	var out []lineOp
	if len(a) > maxLCS || len(b) > maxLCS {
		for _, l := range a {
			out = append(out, lineOp{'-', l})
		}
		for _, l := range b {
			out = append(out, lineOp{'+', l})
		}
		return out
	}
	n, m := len(a), len(b)
	dp := make([][]int, n+1)
	for i := range dp {
		dp[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				dp[i][j] = dp[i+1][j+1] + 1
			} else {
				dp[i][j] = max(dp[i+1][j], dp[i][j+1])
			}
		}
	}
	i, j := 0, 0
	for i < n && j < m {
		switch {
		case a[i] == b[j]:
			out = append(out, lineOp{' ', a[i]})
			i++
			j++
		case dp[i+1][j] >= dp[i][j+1]:
			out = append(out, lineOp{'-', a[i]})
			i++
		default:
			out = append(out, lineOp{'+', b[j]})
			j++
		}
	}
	for ; i < n; i++ {
		out = append(out, lineOp{'-', a[i]})
	}
	for ; j < m; j++ {
		out = append(out, lineOp{'+', b[j]})
	}
	return out
}

package format

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// textFormatter prints gcc-style lines: "file:line:col: severity:
// message [ID slug]", then the related positions and the confirmation,
// the load errors first and a summary line last.
type textFormatter struct{ o Options }

func (t textFormatter) Format(w io.Writer, r *Report) error {
	paint := t.o.Style
	var sources map[string][]byte
	if t.o.Snippets {
		sources = r.Sources()
	}
	for _, e := range r.Errors {
		// File names and messages may carry the repository's bytes:
		// AppendSafe (textsafe.go) keeps them from forging lines.
		eb := AppendSafe(nil, e.File)
		eb = fmt.Appendf(eb, ":%d:%d: %s: ", e.Line, e.Column, paint(RoleError, "error"))
		eb = AppendSafe(eb, e.Message)
		if _, err := w.Write(append(eb, '\n')); err != nil {
			return err
		}
	}
	// Findings are appended to one reused buffer, written out every
	// 64 KiB: fmt.Fprintf per line was a visible cost with tens of
	// thousands of findings, and building the whole report in memory
	// cost more memory than it saved time.
	var b []byte
	diags, groups := r.Diagnostics, []conditionalGroup(nil)
	if !t.o.Verbose {
		diags, groups = groupConditional(r.Diagnostics)
	}
	for _, d := range diags {
		b = t.appendFinding(b, d, sources[d.Pos.File], t.o.Verbose)
		if len(b) >= 64<<10 {
			if _, err := w.Write(b); err != nil {
				return err
			}
			b = b[:0]
		}
	}
	for _, g := range groups {
		b = t.appendFinding(b, g.summary(), nil, false)
	}
	if len(r.Diagnostics) > 0 || len(r.Errors) > 0 {
		b = append(b, summaryLine(r.Diagnostics, len(r.Errors))...)
		b = append(b, '\n')
	}
	_, err := w.Write(b)
	return err
}

// appendSafePos is Pos.AppendText with the file name escaped (textsafe.go).
func appendSafePos(b []byte, p nginxconf.Pos) []byte {
	if p.File != "" {
		b = AppendSafe(b, p.File)
		b = append(b, ':')
	}
	b = strconv.AppendInt(b, int64(p.Line), 10)
	b = append(b, ':')
	return strconv.AppendInt(b, int64(p.Column), 10)
}

// appendFinding appends one finding: its line, the source line and a
// caret when src is given, the related positions and the confirmation
// (with its trace when verbose).
func (t textFormatter) appendFinding(b []byte, d *analyzer.Diagnostic, src []byte, verbose bool) []byte {
	paint := t.o.Style
	sev := d.Severity.String()
	switch d.Severity {
	case analyzer.Error:
		sev = paint(RoleError, sev)
	case analyzer.Warning:
		sev = paint(RoleWarning, sev)
	default:
		sev = paint(RoleInfo, sev)
	}
	b = appendSafePos(b, d.Pos)
	b = append(b, ": "...)
	b = append(b, sev...)
	b = append(b, ": "...)
	b = AppendSafe(b, d.Message)
	b = append(b, " ["...)
	b = append(b, d.Rule.ID...)
	b = append(b, ' ')
	b = append(b, d.Rule.Slug...)
	b = append(b, "]\n"...)
	if src != nil {
		b = appendSnippet(b, src, d.Pos, paint)
	}
	if verbose && d.Details != "" {
		for _, l := range strings.Split(strings.TrimRight(d.Details, "\n"), "\n") {
			b = append(b, "    "...)
			b = AppendSafe(b, l)
			b = append(b, '\n')
		}
	}
	for _, rel := range d.Related {
		b = append(b, "    "...)
		b = appendSafePos(b, rel.Pos)
		b = append(b, ": "...)
		b = AppendSafe(b, rel.Message)
		b = append(b, '\n')
	}
	switch cf := d.Confirmation; cf.Status {
	case analyzer.Confirmed, analyzer.NotReproduced, analyzer.ConfirmError:
		label := cf.Status
		if cf.Status == analyzer.Confirmed {
			label = paint(RoleConfirmed, label)
		}
		line := cf.Summary
		if line == "" {
			line = cf.Reason
		}
		b = append(b, "    "...)
		b = append(b, label...)
		b = append(b, ": "...)
		b = AppendSafe(b, line)
		if cf.Profile != "" {
			b = append(b, " ("...)
			b = AppendSafe(b, cf.Profile)
			b = append(b, ')')
		}
		b = append(b, '\n')
		if verbose && cf.Trace != "" {
			// The trace holds what the user's Lua logged and raised.
			for _, l := range strings.Split(strings.TrimRight(cf.Trace, "\n"), "\n") {
				b = append(b, "      "...)
				b = AppendSafe(b, l)
				b = append(b, '\n')
			}
		}
	}
	return b
}

// appendSnippet appends the line holding pos and a caret under its
// column. It finds the line from the byte offset, so printing many
// findings of a large file stays linear.
func appendSnippet(b, src []byte, pos nginxconf.Pos, paint func(Role, string) string) []byte {
	if pos.Line <= 0 || pos.Offset < 0 || pos.Offset > len(src) {
		return b
	}
	start := bytes.LastIndexByte(src[:pos.Offset], '\n') + 1
	end := bytes.IndexByte(src[pos.Offset:], '\n')
	if end < 0 {
		end = len(src)
	} else {
		end += pos.Offset
	}
	line := strings.ReplaceAll(strings.TrimRight(string(src[start:end]), "\r"), "\t", " ")
	// The source line goes to a terminal: its escape sequences are shown,
	// not run. The caret is placed under the escaped text.
	b = append(b, "  "...)
	b = AppendSafe(b, line)
	b = append(b, '\n')
	col := len(AppendSafe([]byte("  "), line[:min(max(pos.Column-1, 0), len(line))])) - 2
	b = append(b, "  "...)
	b = append(b, strings.Repeat(" ", col)...)
	b = append(b, paint(RoleCaret, "^")...)
	return append(b, '\n')
}

// conditionalGroup is the findings of one rule that hold only on versions
// that were not declared (analyzer.Diagnostic.Conditional). On a large
// configuration with no version declared they were four in five lines of
// the report (issue 16 item 9), so the text and github formats print one
// line per rule unless verbose; JSON, SARIF and Code Quality keep each.
type conditionalGroup struct {
	first     *analyzer.Diagnostic
	n         int
	confirmed int
	versions  []string
}

// CountConditional counts the findings that hold only on versions that
// were not declared.
func CountConditional(ds []*analyzer.Diagnostic) int {
	n := 0
	for _, d := range ds {
		if d.Conditional != "" {
			n++
		}
	}
	return n
}

// groupConditional splits ds into the findings printed one by one and the
// conditional groups, in the order of each rule's first finding.
func groupConditional(ds []*analyzer.Diagnostic) ([]*analyzer.Diagnostic, []conditionalGroup) {
	if CountConditional(ds) == 0 {
		return ds, nil
	}
	var plain []*analyzer.Diagnostic
	var groups []conditionalGroup
	index := map[*analyzer.Rule]int{}
	for _, d := range ds {
		if d.Conditional == "" {
			plain = append(plain, d)
			continue
		}
		i, ok := index[d.Rule]
		if !ok {
			i = len(groups)
			index[d.Rule] = i
			groups = append(groups, conditionalGroup{first: d})
		}
		g := &groups[i]
		g.n++
		if d.Confirmation.Status == analyzer.Confirmed {
			g.confirmed++
		}
		if !slices.Contains(g.versions, d.Conditional) {
			g.versions = append(g.versions, d.Conditional)
		}
	}
	return plain, groups
}

// summary is the group as one finding at its first place: "if on
// VERSIONS: TITLE (N places, the first here; --verbose lists each)". The
// CLI's note says once how declaring the versions resolves them.
func (g conditionalGroup) summary() *analyzer.Diagnostic {
	var b strings.Builder
	b.WriteString("if on ")
	b.WriteString(strings.Join(g.versions, " or "))
	b.WriteString(": ")
	b.WriteString(g.first.Rule.Doc.Title)
	if g.n == 1 {
		b.WriteString(" (here")
	} else {
		fmt.Fprintf(&b, " (%d places, the first here", g.n)
	}
	if g.confirmed > 0 {
		fmt.Fprintf(&b, "; %d confirmed on those versions", g.confirmed)
	}
	b.WriteString(")")
	return &analyzer.Diagnostic{Rule: g.first.Rule, Pos: g.first.Pos, End: g.first.End, Severity: g.first.Severity, Message: b.String(),
		Conditional: g.first.Conditional}
}

// summaryLine counts findings by severity and the configuration errors
// apart: "8 findings (1 error, 2 warnings, 5 info); no configuration
// errors". "0 error(s)" under three "error:" findings read as a
// contradiction.
func summaryLine(ds []*analyzer.Diagnostic, loadErrors int) string {
	var n [analyzer.Error + 1]int
	for _, d := range ds {
		if d.Severity >= analyzer.Info && d.Severity <= analyzer.Error {
			n[d.Severity]++
		}
	}
	plural := func(k int, one, many string) string {
		if k == 1 {
			return "1 " + one
		}
		return strconv.Itoa(k) + " " + many
	}
	var parts []string
	if n[analyzer.Error] > 0 {
		parts = append(parts, plural(n[analyzer.Error], "error", "errors"))
	}
	if n[analyzer.Warning] > 0 {
		parts = append(parts, plural(n[analyzer.Warning], "warning", "warnings"))
	}
	if n[analyzer.Info] > 0 {
		parts = append(parts, strconv.Itoa(n[analyzer.Info])+" info")
	}
	s := plural(len(ds), "finding", "findings")
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, ", ") + ")"
	}
	switch loadErrors {
	case 0:
		return s + "; no configuration errors"
	case 1:
		return s + "; 1 configuration error"
	}
	return s + "; " + strconv.Itoa(loadErrors) + " configuration errors"
}

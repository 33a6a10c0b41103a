package analyzer

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/ngxlint/ngxlint/nginxconf"
)

// Built-in rules for the suppression comments themselves. They are not in
// any registry: the driver reports them whenever suppressions are applied.
var (
	InvalidIgnoreRule = &Rule{ID: "NGX0001", Slug: "invalid-ignore", Severity: Error,
		Doc: Doc{Title: "Malformed ngxlint:ignore comment",
			Text: "An `ngxlint:ignore` or `ngxlint:file-ignore` comment must name at least one rule (ID or slug) and give a reason: `# ngxlint:ignore NGX2002 reviewed: the backend closes idle connections itself`. A suppression without a reason hides a finding from the next reader with no record of why."},
		Run: func(*Pass) error { return nil }}
	UnusedIgnoreRule = &Rule{ID: "NGX0002", Slug: "unused-ignore", Severity: Warning,
		Doc: Doc{Title: "ngxlint:ignore comment that suppresses nothing",
			Text: "The comment names a rule that reported nothing where the comment applies. The problem was fixed or the comment is in the wrong place; remove it so it cannot hide a future finding."},
		Run: func(*Pass) error { return nil }}
)

type ignore struct {
	pos        nginxconf.Pos
	selectors  []string
	start, end int // byte range the ignore covers in pos.File
	used       bool
}

// applySuppressions implements staticcheck-style directives:
//
//	# ngxlint:ignore ID[,ID] reason       the next directive (the whole block if it has one)
//	# ngxlint:file-ignore ID[,ID] reason  the whole file
//	-- ngxlint:ignore ID[,ID] reason      inside Lua: the next line of code, or the same line when trailing
//
// A rule is named by ID, slug or prefix pattern. The reason is mandatory;
// an ignore that matches nothing is reported, but only when one of the
// rules it names ran.
func applySuppressions(cfg *nginxconf.Config, ran []*Rule, ds []*Diagnostic) []*Diagnostic {
	var ignores []*ignore
	var extra []*Diagnostic
	files := append(append([]*nginxconf.File(nil), cfg.Files...), cfg.LuaFiles...)
	for _, f := range files {
		ig, bad := fileIgnores(f)
		ignores = append(ignores, ig...)
		extra = append(extra, bad...)
	}
	if len(ignores) == 0 {
		return append(ds, extra...)
	}
	// Sweep each file's diagnostics in offset order against its ignores in
	// start order, keeping only the ignores whose range is still open:
	// linear in diagnostics plus ignores, where testing every ignore
	// against every diagnostic was quadratic on large configurations.
	byFile := map[string][]*ignore{}
	for _, ig := range ignores {
		byFile[ig.pos.File] = append(byFile[ig.pos.File], ig)
	}
	for _, igs := range byFile {
		slices.SortStableFunc(igs, func(a, b *ignore) int { return cmp.Compare(a.start, b.start) })
	}
	ds = SortDiagnostics(ds)
	kept := ds[:0]
	var (
		file   string
		igs    []*ignore
		next   int
		active []*ignore
	)
	for i, d := range ds {
		if i == 0 || d.Pos.File != file {
			file, igs, next, active = d.Pos.File, byFile[d.Pos.File], 0, active[:0]
		}
		off := d.Pos.Offset
		for next < len(igs) && igs[next].start <= off {
			active = append(active, igs[next])
			next++
		}
		active = slices.DeleteFunc(active, func(ig *ignore) bool { return ig.end <= off })
		suppressed := false
		for _, ig := range active {
			for _, s := range ig.selectors {
				if d.Rule.Matches(s) {
					ig.used, suppressed = true, true
				}
			}
		}
		if !suppressed {
			kept = append(kept, d)
		}
	}
	for _, ig := range ignores {
		if ig.used || !namesRanRule(ig.selectors, ran) {
			continue
		}
		extra = append(extra, &Diagnostic{Rule: UnusedIgnoreRule, Severity: UnusedIgnoreRule.Severity, Pos: ig.pos, End: ig.pos,
			Message:      fmt.Sprintf("this ngxlint:ignore for %s suppresses nothing", strings.Join(ig.selectors, ",")),
			Confirmation: Confirmation{Status: NotConfirmable, Reason: "not a behaviour finding"}})
	}
	return append(kept, extra...)
}

func namesRanRule(sels []string, ran []*Rule) bool {
	for _, r := range ran {
		for _, s := range sels {
			if r.Matches(s) {
				return true
			}
		}
	}
	return false
}

// fileIgnores finds the suppression comments of one file by scanning its
// lines: they may sit in nginx comments or in Lua comments inside a block,
// and both are plain lines of the file.
func fileIgnores(f *nginxconf.File) ([]*ignore, []*Diagnostic) {
	data := f.Data
	if !bytes.Contains(data, []byte("ngxlint:")) {
		return nil, nil
	}
	starts := directiveStartsByLine(f)
	var out []*ignore
	var bad []*Diagnostic
	lineStart, line := 0, 1
	for lineStart <= len(data) {
		lineEnd := bytes.IndexByte(data[lineStart:], '\n')
		if lineEnd < 0 {
			lineEnd = len(data)
		} else {
			lineEnd += lineStart
		}
		// Only lines with the marker become strings: a large file with one
		// ignore is scanned without an allocation per line.
		if i := bytes.Index(data[lineStart:lineEnd], []byte("ngxlint:")); i >= 0 {
			text := string(data[lineStart:lineEnd])
			if kind, rest, markerCol, ok := parseIgnoreComment(text, i); ok {
				pos := nginxconf.Pos{File: f.Path, Line: line, Column: markerCol + 1, Offset: lineStart + markerCol}
				sels, reason := splitSelectors(rest)
				switch {
				case len(sels) == 0:
					bad = append(bad, badIgnore(pos, "ngxlint:"+kind+" names no rule"))
				case reason == "":
					bad = append(bad, badIgnore(pos, fmt.Sprintf("ngxlint:%s %s has no reason; write why it is safe to ignore", kind, strings.Join(sels, ","))))
				default:
					ig := &ignore{pos: pos, selectors: sels}
					if kind == "file-ignore" {
						ig.start, ig.end = 0, len(data)+1
					} else if strings.TrimSpace(text[:markerCol]) != "" {
						ig.start, ig.end = lineStart, lineEnd+1 // trailing comment: this line
					} else {
						ig.start, ig.end = nextCodeRange(data, lineEnd, line, starts)
					}
					out = append(out, ig)
				}
			}
		}
		if lineEnd >= len(data) {
			break
		}
		lineStart, line = lineEnd+1, line+1
	}
	return out, bad
}

func badIgnore(pos nginxconf.Pos, msg string) *Diagnostic {
	return &Diagnostic{Rule: InvalidIgnoreRule, Severity: InvalidIgnoreRule.Severity, Pos: pos, End: pos, Message: msg,
		Confirmation: Confirmation{Status: NotConfirmable, Reason: "not a behaviour finding"}}
}

// parseIgnoreComment recognises "# ngxlint:ignore ..." and "-- ngxlint:ignore
// ..." with the marker directly before "ngxlint:" (spaces allowed).
func parseIgnoreComment(text string, at int) (kind, rest string, markerCol int, ok bool) {
	before := strings.TrimRight(text[:at], " \t")
	switch {
	case strings.HasSuffix(before, "#"):
		markerCol = len(before) - 1
	case strings.HasSuffix(before, "--"):
		markerCol = len(before) - 2
	default:
		return "", "", 0, false
	}
	after := text[at+len("ngxlint:"):]
	for _, k := range []string{"file-ignore", "ignore"} {
		if r, found := strings.CutPrefix(after, k); found && (r == "" || r[0] == ' ' || r[0] == '\t') {
			return k, strings.TrimSpace(r), markerCol, true
		}
	}
	return "", "", 0, false
}

// splitSelectors splits "NGX2001,lua-balancer-keepalive-loop reason words"
// into the rule names and the reason.
func splitSelectors(rest string) ([]string, string) {
	first, reason, _ := strings.Cut(rest, " ")
	var sels []string
	for _, s := range strings.Split(first, ",") {
		if s = strings.TrimSpace(s); s != "" {
			sels = append(sels, s)
		}
	}
	return sels, strings.TrimSpace(reason)
}

// directiveStartsByLine maps a line to the span of the first directive
// starting on it.
func directiveStartsByLine(f *nginxconf.File) map[int][2]int {
	m := map[int][2]int{}
	var walk func([]*nginxconf.Directive)
	walk = func(ds []*nginxconf.Directive) {
		for _, d := range ds {
			if _, ok := m[d.Pos.Line]; !ok {
				m[d.Pos.Line] = [2]int{d.Pos.Offset, d.End.Offset}
			}
			walk(d.Block)
		}
	}
	walk(f.Directives)
	return m
}

// nextCodeRange returns the range an own-line ignore covers: the next
// directive (with its block) when one starts on the next code line,
// otherwise that line alone (Lua code).
func nextCodeRange(data []byte, from, line int, starts map[int][2]int) (int, int) {
	pos := from + 1
	for l := line + 1; pos <= len(data); l++ {
		end := bytes.IndexByte(data[pos:], '\n')
		if end < 0 {
			end = len(data)
		} else {
			end += pos
		}
		t := strings.TrimSpace(string(data[pos:end]))
		if t != "" && !strings.HasPrefix(t, "#") && !strings.HasPrefix(t, "--") {
			if span, ok := starts[l]; ok {
				return span[0], span[1] + 1
			}
			return pos, end + 1
		}
		if end >= len(data) {
			break
		}
		pos = end + 1
	}
	return 0, 0
}

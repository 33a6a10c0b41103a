package format

import (
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/owenrumney/go-sarif/v2/sarif"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/rules"
)

// The SARIF writer uses github.com/owenrumney/go-sarif/v2: its sarif
// package is plain structs over the 2.1.0 schema with pointer fields and
// omitempty (so nothing we do not set is emitted) and imports only the
// standard library. The output is checked against the official schema in
// sarif_test.go.

const projectURL = "https://github.com/ngxlint/ngxlint"

// sarifLevel maps our severities to SARIF result levels.
func sarifLevel(s analyzer.Severity) string {
	switch s {
	case analyzer.Error:
		return "error"
	case analyzer.Warning:
		return "warning"
	}
	return "note"
}

// sarifURI turns a path as the loader names it into a SARIF artifact URI:
// a relative path stays relative (GitHub code scanning resolves it against
// the repository root, where the action runs), with forward slashes and
// percent-escaping; an absolute path becomes a file:// URI.
func sarifURI(p string) string {
	slash := filepath.ToSlash(p)
	if filepath.IsAbs(p) {
		return (&url.URL{Scheme: "file", Path: slash}).String()
	}
	return (&url.URL{Path: slash}).EscapedPath()
}

// codePointColumn converts a 1-based byte column on a line of data into a
// 1-based Unicode code point column (the run's columnKind), so a finding
// after a non-ASCII comment lands on the right character in viewers.
func codePointColumn(data []byte, lineStartOff, byteCol int) int {
	if data == nil || lineStartOff < 0 || lineStartOff > len(data) || byteCol < 1 {
		return byteCol
	}
	end := lineStartOff + byteCol - 1
	if end > len(data) {
		return byteCol
	}
	return utf8.RuneCount(data[lineStartOff:end]) + 1
}

type sarifWriter struct {
	sources map[string][]byte
}

// region builds a SARIF region from a start and end position: line and
// column (code points), and the byte offset and length, which are exact
// for both nginx and Lua positions because Lua positions point into the
// file that holds the code.
func (w sarifWriter) region(file string, startLine, startCol, startOff, endLine, endCol, endOff int) *sarif.Region {
	data := w.sources[file]
	r := sarif.NewRegion()
	if startLine > 0 {
		r.WithStartLine(startLine).WithStartColumn(codePointColumn(data, startOff-(startCol-1), startCol))
	}
	if endLine > 0 && (endLine > startLine || (endLine == startLine && endCol >= startCol)) {
		r.WithEndLine(endLine).WithEndColumn(codePointColumn(data, endOff-(endCol-1), endCol))
	}
	if startOff >= 0 {
		r.WithByteOffset(startOff)
		if endOff >= startOff {
			r.WithByteLength(endOff - startOff)
		}
	}
	return r
}

func (w sarifWriter) location(file string, reg *sarif.Region) *sarif.Location {
	pl := sarif.NewPhysicalLocation().WithArtifactLocation(sarif.NewSimpleArtifactLocation(sarifURI(file)))
	if reg != nil {
		pl.WithRegion(reg)
	}
	return sarif.NewLocationWithPhysicalLocation(pl)
}

// sarifRule describes one rule with its documentation.
func sarifRule(r *analyzer.Rule) *sarif.ReportingDescriptor {
	title := r.Doc.Title
	if title == "" {
		title = r.Slug
	}
	d := sarif.NewRule(r.ID).WithName(r.Slug).
		WithShortDescription(sarif.NewMultiformatMessageString(title)).
		WithFullDescription(sarif.NewMultiformatMessageString(strings.TrimSpace(r.Doc.Text))).
		WithHelpURI(r.URL()).
		WithHelp(sarif.NewMultiformatMessageString(rules.Explain(r)).WithMarkdown(rules.Markdown(r, 3))).
		WithDefaultConfiguration(sarif.NewReportingConfiguration().WithLevel(sarifLevel(r.Severity)))
	props := sarif.Properties{"tags": []string{"nginx", category(r.ID)}}
	// GitHub code scanning ranks alerts by this property (0.0 to 10.0).
	switch r.Severity {
	case analyzer.Error:
		props["problem.severity"] = "error"
	case analyzer.Warning:
		props["problem.severity"] = "warning"
	default:
		props["problem.severity"] = "recommendation"
	}
	d.Properties = props
	return d
}

func category(id string) string {
	switch {
	case strings.HasPrefix(id, "LUA"):
		return "lua"
	case strings.HasPrefix(id, "NGX0"):
		return "suppression"
	}
	return "upstream"
}

// resultMessage is the finding's headline, its details when asked (code
// scanning shows a result's whole message on its own page, so SARIF
// always carries them), and when the emulator ran its confirmation
// summary, so what was observed is shown too.
func resultMessage(d *analyzer.Diagnostic, details bool) string {
	msg := d.Message
	if details && d.Details != "" {
		msg += "\n\n" + d.Details
	}
	cf := d.Confirmation
	switch cf.Status {
	case analyzer.Confirmed, analyzer.NotReproduced, analyzer.ConfirmError:
		line := cf.Summary
		if line == "" {
			line = cf.Reason
		}
		msg += fmt.Sprintf("\n\n%s by the emulator: %s", confirmationLabel(cf.Status), line)
		if cf.Profile != "" {
			msg += " (" + cf.Profile + ")"
		}
	}
	return msg
}

func confirmationLabel(status string) string {
	switch status {
	case analyzer.Confirmed:
		return "Confirmed"
	case analyzer.NotReproduced:
		return "Not reproduced"
	}
	return "Confirmation failed"
}

// sarifFormatter writes one SARIF 2.1.0 log with one run.
type sarifFormatter struct{ o Options }

func (f sarifFormatter) Format(out io.Writer, r *Report) error {
	w := sarifWriter{sources: r.Sources()}
	fps := r.fingerprints()
	rep, err := sarif.New(sarif.Version210)
	if err != nil {
		return err
	}
	run := sarif.NewRunWithInformationURI("ngxlint", projectURL)
	if v := strings.TrimPrefix(f.o.ToolVersion, "v"); v != "" {
		run.Tool.Driver.WithSemanticVersion(v)
	}
	run.ColumnKind = "unicodeCodePoints"
	index := map[string]int{}
	all := append(append([]*analyzer.Rule(nil), r.Rules...), analyzer.InvalidIgnoreRule, analyzer.UnusedIgnoreRule)
	for _, rule := range all {
		if _, dup := index[rule.ID]; dup {
			continue
		}
		index[rule.ID] = len(run.Tool.Driver.Rules)
		run.Tool.Driver.AddRule(sarifRule(rule))
	}
	run.Results = []*sarif.Result{}
	for _, d := range r.Diagnostics {
		res := sarif.NewRuleResult(d.Rule.ID).WithLevel(sarifLevel(d.Severity)).
			WithMessage(sarif.NewTextMessage(resultMessage(d, true)))
		if i, ok := index[d.Rule.ID]; ok {
			res.WithRuleIndex(i)
		}
		res.AddLocation(w.location(d.Pos.File, w.region(d.Pos.File, d.Pos.Line, d.Pos.Column, d.Pos.Offset, d.End.Line, d.End.Column, d.End.Offset)))
		for i, rel := range d.Related {
			// A related position without an end is a point: no end, no length.
			end := rel.End
			if !end.IsValid() {
				end = nginxconf.Pos{Offset: -1}
			}
			loc := w.location(rel.Pos.File, w.region(rel.Pos.File, rel.Pos.Line, rel.Pos.Column, rel.Pos.Offset, end.Line, end.Column, end.Offset)).
				WithId(i + 1).WithMessage(sarif.NewTextMessage(rel.Message))
			res.AddRelatedLocation(loc)
		}
		for _, fx := range d.Fixes {
			byFile := map[string]*sarif.ArtifactChange{}
			var order []string
			for _, e := range fx.Edits {
				ch := byFile[e.Pos.File]
				if ch == nil {
					ch = sarif.NewArtifactChange(sarif.NewSimpleArtifactLocation(sarifURI(e.Pos.File)))
					byFile[e.Pos.File] = ch
					order = append(order, e.Pos.File)
				}
				// Replacement regions are byte ranges: exact, and what a
				// SARIF consumer applies without re-reading columns.
				del := sarif.NewRegion().WithByteOffset(e.Pos.Offset).WithByteLength(e.End.Offset - e.Pos.Offset)
				ch.WithReplacement(sarif.NewReplacement(del).WithInsertedContent(sarif.NewArtifactContent().WithText(e.NewText)))
			}
			fix := sarif.NewFix().WithDescriptionText(fx.Message)
			for _, f := range order {
				fix.AddArtifactChanges(byFile[f])
			}
			res.AddFix(fix)
		}
		if fp, ok := fps[d]; ok {
			// GitHub matches alerts across commits by partial fingerprints;
			// ours do not contain line numbers (see analyzer.Fingerprint).
			res.WithPartialFingerPrints(map[string]interface{}{"ngxlintFingerprint/v1": fp.String()})
		}
		res.Properties = sarif.Properties{"slug": d.Rule.Slug, "confirmation": d.Confirmation}
		run.AddResult(res)
	}
	inv := run.AddInvocation(len(r.Errors) == 0)
	for _, e := range r.Errors {
		n := sarif.NewNotification()
		n.Level = "error"
		n.Message = sarif.NewTextMessage(e.Message)
		if e.File != "" {
			var reg *sarif.Region
			if e.Line > 0 {
				reg = sarif.NewRegion().WithStartLine(e.Line).WithStartColumn(max(e.Column, 1))
			}
			n.Locations = append(n.Locations, w.location(e.File, reg))
		}
		inv.AddTToolExecutionNotification(n)
	}
	for _, note := range r.Notes {
		n := sarif.NewNotification()
		n.Level = "note"
		n.Message = sarif.NewTextMessage(note)
		inv.AddToolConfigurationNotification(n)
	}
	rep.AddRun(run)
	return rep.PrettyWrite(out)
}

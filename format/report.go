package format

import (
	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/versions"
)

// Report is what one check produced. Its exported JSON fields are the
// document of `ngxlint check --format json` (README "JSON output of
// check"), a stable contract; the fields without JSON names are what the
// formatters read to print it in the other formats.
type Report struct {
	Profile  map[string]string `json:"profile"`
	Notes    []string          `json:"notes,omitempty"`
	Findings []Finding         `json:"findings"`
	Errors   []Error           `json:"errors"`

	// Diagnostics are the findings as the rules made them, in report
	// order. When set, they are what every formatter prints (Findings is
	// rebuilt from them for JSON); a Report read back from JSON has only
	// Findings, which the JSON formatter prints as they are.
	Diagnostics []*analyzer.Diagnostic `json:"-"`
	// Configs are the configurations checked: the formatters read their
	// files for source lines, Unicode columns and fingerprints.
	Configs []*nginxconf.Config `json:"-"`
	// Rules are the rules that ran; SARIF describes them in the log.
	Rules []*analyzer.Rule `json:"-"`
	// Fingerprints identify findings across edits (SARIF
	// partialFingerprints, Code Quality fingerprints). Nil: computed with
	// file names as the report gives them.
	Fingerprints map[*analyzer.Diagnostic]analyzer.Fingerprint `json:"-"`
}

// Sources maps every file the configurations read, by the name positions
// give it, to its content.
func (r *Report) Sources() map[string][]byte {
	m := map[string][]byte{}
	for name, f := range r.Files() {
		m[name] = f.Data
	}
	return m
}

// Files maps every file the configurations read, by the name positions
// give it, to the file (the first configuration that read it wins).
func (r *Report) Files() map[string]*nginxconf.File {
	m := map[string]*nginxconf.File{}
	for _, cfg := range r.Configs {
		for _, f := range cfg.AllFiles() {
			if _, ok := m[f.Path]; !ok {
				m[f.Path] = f
			}
		}
	}
	return m
}

// fingerprints are r.Fingerprints, or computed with the file names as
// they are when the caller set none.
func (r *Report) fingerprints() map[*analyzer.Diagnostic]analyzer.Fingerprint {
	if r.Fingerprints != nil {
		return r.Fingerprints
	}
	src := r.Sources()
	fps := analyzer.Fingerprints(r.Diagnostics, func(f string) string { return f }, func(f string) []byte { return src[f] })
	m := make(map[*analyzer.Diagnostic]analyzer.Fingerprint, len(fps))
	for i, d := range r.Diagnostics {
		m[d] = fps[i]
	}
	return m
}

// Finding is one finding of the report.
type Finding struct {
	Rule     string `json:"rule"`
	Slug     string `json:"slug"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
	// Details explain the headline: why, what nginx does on which
	// versions, how to fix it (text prints them with --verbose).
	Details      string                `json:"details,omitempty"`
	File         string                `json:"file"`
	Line         int                   `json:"line"`
	Column       int                   `json:"column"`
	EndLine      int                   `json:"end_line"`
	EndColumn    int                   `json:"end_column"`
	Related      []Related             `json:"related"`
	Fixes        []Fix                 `json:"fixes,omitempty"`
	Confirmation analyzer.Confirmation `json:"confirmation"`
	// Conditional names the undeclared versions the finding depends on.
	Conditional string `json:"conditional,omitempty"`
}

// Related is a secondary position of a finding.
type Related struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
}

// Fix is a suggested fix: byte-offset edits.
type Fix struct {
	Message string `json:"message"`
	Edits   []Edit `json:"edits"`
}

// Edit replaces [StartOffset, EndOffset) of File with NewText.
type Edit struct {
	File        string `json:"file"`
	StartOffset int    `json:"start_offset"`
	EndOffset   int    `json:"end_offset"`
	NewText     string `json:"new_text"`
}

// Error is a configuration load error.
type Error struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
}

// ProfileOf is the report's profile: each version, or "unknown".
func ProfileOf(p versions.Profile) map[string]string {
	s := func(v versions.Version) string {
		if v.IsZero() {
			return "unknown"
		}
		return v.String()
	}
	m := map[string]string{"nginx": s(p.Nginx), "lua_nginx_module": s(p.LNM)}
	if p.IsOpenResty() {
		m["openresty"] = p.OpenResty.String()
	}
	return m
}

// FindingsOf turns diagnostics into the report's findings, in order.
func FindingsOf(ds []*analyzer.Diagnostic) []Finding {
	// Sized once: a Finding is large, and growing the slice by
	// appending copied it again and again (a visible share of a check
	// with tens of thousands of findings).
	out := make([]Finding, 0, len(ds))
	for _, d := range ds {
		f := Finding{Rule: d.Rule.ID, Slug: d.Rule.Slug, Severity: d.Severity.String(), Message: d.Message, Details: d.Details,
			File: d.Pos.File, Line: d.Pos.Line, Column: d.Pos.Column, EndLine: d.End.Line, EndColumn: d.End.Column,
			Related: []Related{}, Confirmation: d.Confirmation, Conditional: d.Conditional}
		for _, r := range d.Related {
			f.Related = append(f.Related, Related{File: r.Pos.File, Line: r.Pos.Line, Column: r.Pos.Column, Message: r.Message})
		}
		for _, fx := range d.Fixes {
			j := Fix{Message: fx.Message}
			for _, e := range fx.Edits {
				j.Edits = append(j.Edits, Edit{File: e.Pos.File, StartOffset: e.Pos.Offset, EndOffset: e.End.Offset, NewText: e.NewText})
			}
			f.Fixes = append(f.Fixes, j)
		}
		out = append(out, f)
	}
	return out
}

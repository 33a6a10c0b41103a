package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/rules"
	"github.com/ngxlint/ngxlint/versions"
)

const checkUsage = `Usage: ngxlint check [flags] PATH...

Loads each configuration (a directory means its nginx.conf), runs the rules,
and prints findings. Exit codes: 0 clean, 1 findings at or above --fail-on,
2 usage or configuration load error, 3 internal error.

Flags:
`

type checkFlags struct {
	versionFlags
	format, failOn, enable, disable, prefix string
	confirm, verbose                        bool
	confirmTimeout                          time.Duration
}

func (c *Command) check(args []string) error {
	var f checkFlags
	fs := c.newFlagSet("check", checkUsage)
	f.register(fs)
	fs.StringVar(&f.format, "format", "text", "output format: text or json")
	fs.StringVar(&f.failOn, "fail-on", "warning", "lowest severity that fails the run: info, warning or error")
	fs.StringVar(&f.enable, "enable", "", "comma-separated rules to run (IDs, slugs or prefixes like LUA2*); default all")
	fs.StringVar(&f.disable, "disable", "", "comma-separated rules not to run")
	fs.StringVar(&f.prefix, "prefix", "", "nginx prefix (-p) for relative *_by_lua_file paths; default: the config's directory, or its parent when that is named conf")
	fs.BoolVar(&f.confirm, "confirm", false, "run every finding that has a scenario in the emulator and report what it observed")
	fs.DurationVar(&f.confirmTimeout, "confirm-timeout", 10*time.Second, "overall time limit for --confirm")
	fs.BoolVar(&f.verbose, "verbose", false, "with --confirm, print the emulator trace under each finding")
	paths, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(paths) == 0 {
		return usagef("check needs at least one PATH")
	}
	switch f.format {
	case "text", "json":
	default:
		return usagef("unknown --format %q (want text or json)", f.format)
	}
	failOn, err := analyzer.ParseSeverity(f.failOn)
	if err != nil {
		return usagef("--fail-on: %v", err)
	}
	ctx := context.Background()
	profile, notes, err := f.profile(ctx)
	if err != nil {
		return err
	}
	selected, err := rules.Registry().Select(splitList(f.enable), splitList(f.disable))
	if err != nil {
		return usagef("%v", err)
	}

	var report checkReport
	report.Profile = profileJSON(profile)
	report.Notes = notes
	loadFailed := false
	for _, p := range paths {
		path, err := configPath(p)
		if err != nil {
			return err
		}
		cfg := nginxconf.LoadFile(path, nginxconf.Options{Prefix: f.prefix})
		for _, e := range cfg.Errors {
			report.Errors = append(report.Errors, errorJSON{File: e.Pos.File, Line: e.Pos.Line, Column: e.Pos.Column, Message: e.Msg})
			loadFailed = true
		}
		model := nginxconf.BuildModel(cfg)
		res := analyzer.Run(cfg, model, selected, analyzer.Options{Profile: profile})
		if len(res.RuleErrors) > 0 {
			for _, e := range res.RuleErrors {
				fmt.Fprintln(c.Stderr, "ngxlint: internal error:", e)
			}
			return &exitError{ExitInternal}
		}
		if f.confirm {
			cctx, cancel := context.WithTimeout(ctx, f.confirmTimeout)
			analyzer.ConfirmAll(cctx, res.Diagnostics, 0)
			cancel()
		}
		report.diags = append(report.diags, res.Diagnostics...)
		report.files = append(report.files, cfg)
	}

	switch f.format {
	case "json":
		report.Findings = findingsJSON(report.diags)
		if report.Findings == nil {
			report.Findings = []findingJSON{}
		}
		if report.Errors == nil {
			report.Errors = []errorJSON{}
		}
		enc := json.NewEncoder(c.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(report); err != nil {
			return err
		}
	default:
		c.writeText(report, f.verbose)
	}

	if loadFailed {
		return &exitError{ExitUsage}
	}
	for _, d := range report.diags {
		if d.Severity >= failOn {
			return &exitError{ExitFindings}
		}
	}
	return nil
}

// checkReport is the JSON document of `check --format json` (README
// "JSON output"); its field names are a stable contract.
type checkReport struct {
	Profile  map[string]string `json:"profile"`
	Notes    []string          `json:"notes,omitempty"`
	Findings []findingJSON     `json:"findings"`
	Errors   []errorJSON       `json:"errors"`

	diags []*analyzer.Diagnostic
	files []*nginxconf.Config
}

type findingJSON struct {
	Rule         string                `json:"rule"`
	Slug         string                `json:"slug"`
	Severity     string                `json:"severity"`
	Message      string                `json:"message"`
	File         string                `json:"file"`
	Line         int                   `json:"line"`
	Column       int                   `json:"column"`
	EndLine      int                   `json:"end_line"`
	EndColumn    int                   `json:"end_column"`
	Related      []relatedJSON         `json:"related"`
	Fixes        []fixJSON             `json:"fixes,omitempty"`
	Confirmation analyzer.Confirmation `json:"confirmation"`
}

type relatedJSON struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
}

type fixJSON struct {
	Message string     `json:"message"`
	Edits   []editJSON `json:"edits"`
}

type editJSON struct {
	File        string `json:"file"`
	StartOffset int    `json:"start_offset"`
	EndOffset   int    `json:"end_offset"`
	NewText     string `json:"new_text"`
}

type errorJSON struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
}

func profileJSON(p versions.Profile) map[string]string {
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

func findingsJSON(ds []*analyzer.Diagnostic) []findingJSON {
	var out []findingJSON
	for _, d := range ds {
		f := findingJSON{Rule: d.Rule.ID, Slug: d.Rule.Slug, Severity: d.Severity.String(), Message: d.Message,
			File: d.Pos.File, Line: d.Pos.Line, Column: d.Pos.Column, EndLine: d.End.Line, EndColumn: d.End.Column,
			Related: []relatedJSON{}, Confirmation: d.Confirmation}
		for _, r := range d.Related {
			f.Related = append(f.Related, relatedJSON{File: r.Pos.File, Line: r.Pos.Line, Column: r.Pos.Column, Message: r.Message})
		}
		for _, fx := range d.Fixes {
			j := fixJSON{Message: fx.Message}
			for _, e := range fx.Edits {
				j.Edits = append(j.Edits, editJSON{File: e.Pos.File, StartOffset: e.Pos.Offset, EndOffset: e.End.Offset, NewText: e.NewText})
			}
			f.Fixes = append(f.Fixes, j)
		}
		out = append(out, f)
	}
	return out
}

// writeText prints gcc-style lines, with a source snippet and caret and
// colour on a terminal.
func (c *Command) writeText(r checkReport, verbose bool) {
	color := c.color()
	tty := c.tty()
	paint := func(code, s string) string {
		if !color {
			return s
		}
		return "\x1b[" + code + "m" + s + "\x1b[0m"
	}
	sources := map[string][]byte{}
	for _, cfg := range r.files {
		for _, f := range append(append([]*nginxconf.File(nil), cfg.Files...), cfg.LuaFiles...) {
			sources[f.Path] = f.Data
		}
	}
	for _, e := range r.Errors {
		fmt.Fprintf(c.Stdout, "%s:%d:%d: %s: %s\n", e.File, e.Line, e.Column, paint("1;31", "error"), e.Message)
	}
	for _, d := range r.diags {
		sev := d.Severity.String()
		switch d.Severity {
		case analyzer.Error:
			sev = paint("1;31", sev)
		case analyzer.Warning:
			sev = paint("1;33", sev)
		default:
			sev = paint("1;36", sev)
		}
		fmt.Fprintf(c.Stdout, "%s: %s: %s [%s %s]\n", d.Pos, sev, d.Message, d.Rule.ID, d.Rule.Slug)
		if tty {
			writeSnippet(c.Stdout, sources[d.Pos.File], d.Pos, paint)
		}
		for _, rel := range d.Related {
			fmt.Fprintf(c.Stdout, "    %s: %s\n", rel.Pos, rel.Message)
		}
		switch cf := d.Confirmation; cf.Status {
		case analyzer.Confirmed, analyzer.NotReproduced, analyzer.ConfirmError:
			label := cf.Status
			if cf.Status == analyzer.Confirmed {
				label = paint("1;32", label)
			}
			line := cf.Summary
			if line == "" {
				line = cf.Reason
			}
			fmt.Fprintf(c.Stdout, "    %s: %s", label, line)
			if cf.Profile != "" {
				fmt.Fprintf(c.Stdout, " (%s)", cf.Profile)
			}
			fmt.Fprintln(c.Stdout)
			if verbose && cf.Trace != "" {
				for _, l := range strings.Split(strings.TrimRight(cf.Trace, "\n"), "\n") {
					fmt.Fprintln(c.Stdout, "      "+l)
				}
			}
		}
	}
	if len(r.diags) > 0 || len(r.Errors) > 0 {
		fmt.Fprintf(c.Stdout, "%d finding(s), %d error(s)\n", len(r.diags), len(r.Errors))
	}
}

func writeSnippet(w io.Writer, src []byte, pos nginxconf.Pos, paint func(string, string) string) {
	if src == nil || pos.Line <= 0 {
		return
	}
	lines := strings.Split(string(src), "\n")
	if pos.Line > len(lines) {
		return
	}
	line := strings.TrimRight(lines[pos.Line-1], "\r")
	fmt.Fprintf(w, "  %s\n", strings.ReplaceAll(line, "\t", " "))
	col := pos.Column - 1
	if col < 0 {
		col = 0
	}
	if col > len(line) {
		col = len(line)
	}
	fmt.Fprintf(w, "  %s%s\n", strings.Repeat(" ", col), paint("1;32", "^"))
}

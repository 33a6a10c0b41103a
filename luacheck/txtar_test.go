package luacheck

import (
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/ngxlint/ngxlint/nginxconf"
	"golang.org/x/tools/txtar"
)

// The txtar cases: the archive comment holds "key: value" lines:
//
//	block: <directive>    the chunk is the body of "<directive> { ... }" in nginx.conf
//	string: <directive>   the chunk is the quoted argument of <directive> in nginx.conf
//	file: <name>          the chunk is the whole file <name>
//	context: <ctx>        the chunk's Context (default: derived from the directive)
//	check: k1,k2          fact kinds compared (default: warn,syntax)
//	lnm: <version>        Options.LuaNginxModuleVersion
//
// Expectations are written where they apply: `-- want "re" "re"...` on a
// line lists regexps that must each match one fact reported on that line;
// any fact without a matching want fails. A "positions" section, when
// present, must equal the facts rendered as "line:col fact" lines.

var wantRe = regexp.MustCompile(`(?:--|#)\s*want((?:\s+"[^"]*")+)`)
var quotedRe = regexp.MustCompile(`"([^"]*)"`)

type caseFact struct {
	line, col int
	text      string
}

func TestTxtar(t *testing.T) {
	files, _ := filepath.Glob("testdata/cases/*.txtar")
	if len(files) == 0 {
		t.Fatal("no txtar cases")
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(f)
			if err != nil {
				t.Fatal(err)
			}
			runCase(t, ar)
		})
	}
}

func header(ar *txtar.Archive) map[string]string {
	h := map[string]string{}
	for _, l := range strings.Split(string(ar.Comment), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok {
			h[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return h
}

func section(ar *txtar.Archive, name string) (string, bool) {
	for _, f := range ar.Files {
		if f.Name == name {
			return string(f.Data), true
		}
	}
	return "", false
}

func runCase(t *testing.T, ar *txtar.Archive) {
	h := header(ar)
	chunk, src := buildChunk(t, ar, h)
	opts := Options{LuaNginxModuleVersion: h["lnm"]}
	res := Analyze(chunk, opts)
	if len(res.InternalErrors) > 0 {
		t.Fatalf("internal errors: %v", res.InternalErrors)
	}
	checks := map[string]bool{"warn": true, "syntax": true}
	if c, ok := h["check"]; ok {
		checks = map[string]bool{}
		for _, k := range strings.Split(c, ",") {
			checks[strings.TrimSpace(k)] = true
		}
	}
	facts := collectFacts(res, checks)
	for _, f := range facts {
		if f.line < 1 || f.col < 1 {
			t.Errorf("fact %q has invalid position %d:%d", f.text, f.line, f.col)
		}
	}
	// Expectations per line.
	wants := map[int][]*regexp.Regexp{}
	for i, l := range strings.Split(src, "\n") {
		// Inside a quoted *_by_lua string the quotes are escaped.
		l = strings.ReplaceAll(l, `\"`, `"`)
		m := wantRe.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		for _, q := range quotedRe.FindAllStringSubmatch(m[1], -1) {
			wants[i+1] = append(wants[i+1], regexp.MustCompile(q[1]))
		}
	}
	byLine := map[int][]caseFact{}
	for _, f := range facts {
		byLine[f.line] = append(byLine[f.line], f)
	}
	lines := map[int]bool{}
	for l := range wants {
		lines[l] = true
	}
	for l := range byLine {
		lines[l] = true
	}
	_, hasGolden := section(ar, "positions")
	if hasGolden && len(wants) == 0 {
		lines = nil // the golden section alone specifies this case
	}
	for l := range lines {
		got := byLine[l]
		used := make([]bool, len(got))
		for _, re := range wants[l] {
			ok := false
			for i, f := range got {
				if !used[i] && re.MatchString(f.text) {
					used[i], ok = true, true
					break
				}
			}
			if !ok {
				t.Errorf("line %d: no fact matching %q; got %v", l, re, factTexts(got))
			}
		}
		for i, f := range got {
			if !used[i] {
				t.Errorf("line %d:%d: unexpected fact %q", l, f.col, f.text)
			}
		}
	}
	if golden, ok := section(ar, "positions"); ok {
		var got []string
		for _, f := range facts {
			got = append(got, fmt.Sprintf("%d:%d %s", f.line, f.col, f.text))
		}
		want := strings.Fields(strings.ReplaceAll(strings.TrimSpace(golden), " ", "_"))
		for i := range got {
			got[i] = strings.ReplaceAll(got[i], " ", "_")
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("positions:\ngot:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

func factTexts(fs []caseFact) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.text)
	}
	return out
}

func collectFacts(res *Result, checks map[string]bool) []caseFact {
	var out []caseFact
	add := func(p nginxconf.Pos, s string) { out = append(out, caseFact{p.Line, p.Column, s}) }
	if checks["syntax"] {
		for _, e := range res.SyntaxErrors {
			add(e.Pos, "syntax: "+e.Message)
		}
	}
	if checks["warn"] {
		for _, w := range res.Warnings {
			add(w.Pos, w.Code+" "+w.Name)
		}
	}
	if checks["api"] {
		for _, u := range res.APIUses {
			s := "api " + u.Name
			if u.Call {
				s += " call"
			}
			s += " " + u.Via + " " + u.Allowed.String()
			if u.Context != res.Context {
				s += " in " + u.Context
			}
			if u.NewerThanDeclared {
				s += " newer-than-declared"
			}
			add(u.Pos, s)
		}
	}
	if checks["balancer"] && res.Balancer != nil {
		b := res.Balancer
		for _, p := range b.SetCurrentPeer {
			s := "peer"
			if p.HostLiteral {
				s += " host=" + p.Host + " ip=" + strconv.FormatBool(p.HostIsIP)
			}
			if p.ResultIgnored {
				s += " ignored"
			}
			add(p.Call.Pos, s)
		}
		for _, p := range b.PathsWithoutPeer {
			if p.Return {
				add(p.Pos, "no-peer return")
			} else {
				add(p.Pos, "no-peer end")
			}
		}
		for _, m := range b.MoreTries {
			add(m.Call.Pos, "more-tries guarded="+strconv.FormatBool(m.Guarded))
		}
		for _, u := range b.SetTimeouts {
			add(u.Pos, "set-timeouts "+argValues(u.Args))
		}
		for _, u := range b.EnableKeepalive {
			add(u.Pos, "keepalive "+argValues(u.Args))
		}
		for _, u := range b.Exits {
			add(u.Pos, "exit "+argValues(u.Args))
		}
	}
	if checks["ignore"] {
		for _, ig := range res.Ignores {
			s := fmt.Sprintf("ignore %s applies=%d reason=%v", strings.Join(ig.IDs, ","), ig.Line, ig.HasReason)
			add(ig.Pos, s)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].line != out[j].line {
			return out[i].line < out[j].line
		}
		return out[i].col < out[j].col
	})
	return out
}

func argValues(args []Arg) string {
	var vs []string
	for _, a := range args {
		if a.Kind == ArgOther {
			vs = append(vs, "?")
		} else {
			vs = append(vs, a.Value)
		}
	}
	return strings.Join(vs, ",")
}

// buildChunk builds the LuaChunk the way nginxconf does, from the raw file.
func buildChunk(t *testing.T, ar *txtar.Archive, h map[string]string) (*nginxconf.LuaChunk, string) {
	switch {
	case h["file"] != "":
		src, ok := section(ar, h["file"])
		if !ok {
			t.Fatalf("no section %s", h["file"])
		}
		ctx := h["context"]
		return &nginxconf.LuaChunk{Code: src, Pos: nginxconf.Pos{File: h["file"], Line: 1, Column: 1},
			Context: ctx, Origin: nginxconf.LuaFile, Path: h["file"]}, src
	case h["block"] != "":
		src, _ := section(ar, "nginx.conf")
		d := h["block"]
		i := strings.Index(src, d)
		if i < 0 {
			t.Fatalf("directive %s not found", d)
		}
		open := strings.IndexByte(src[i:], '{') + i
		depth, end := 0, -1
		for j := open; j < len(src); j++ {
			if src[j] == '{' {
				depth++
			} else if src[j] == '}' {
				depth--
				if depth == 0 {
					end = j
					break
				}
			}
		}
		if end < 0 {
			end = len(src)
		}
		ctx := h["context"]
		if ctx == "" {
			ctx = strings.TrimSuffix(d, "_block")
		}
		return &nginxconf.LuaChunk{Code: src[open+1 : end], Pos: posAt(src, open+1), End: posAt(src, end),
			Context: ctx, Origin: nginxconf.LuaBlock}, src
	case h["string"] != "":
		src, _ := section(ar, "nginx.conf")
		d := h["string"]
		i := strings.Index(src, d)
		if i < 0 {
			t.Fatalf("directive %s not found", d)
		}
		q := strings.IndexAny(src[i:], `"'`) + i
		quote := src[q]
		var code []byte
		var raw []int
		j := q + 1
		for j < len(src) && src[j] != quote {
			if src[j] == '\\' && j+1 < len(src) {
				// ngx_conf_read_token: \" \' \\ \t \r \n are unescaped.
				switch src[j+1] {
				case '"', '\'', '\\':
					code, raw = append(code, src[j+1]), append(raw, j)
					j += 2
					continue
				case 't':
					code, raw = append(code, '\t'), append(raw, j)
					j += 2
					continue
				case 'r':
					code, raw = append(code, '\r'), append(raw, j)
					j += 2
					continue
				case 'n':
					code, raw = append(code, '\n'), append(raw, j)
					j += 2
					continue
				}
			}
			code, raw = append(code, src[j]), append(raw, j)
			j++
		}
		ctx := h["context"]
		if ctx == "" {
			ctx = d
		}
		return &nginxconf.LuaChunk{Code: string(code), Pos: posAt(src, q+1), End: posAt(src, j),
			Context: ctx, Origin: nginxconf.LuaString, RawOffsets: raw}, src
	}
	t.Fatal("case needs block:, string: or file:")
	return nil, ""
}

func posAt(src string, off int) nginxconf.Pos {
	line := 1 + strings.Count(src[:off], "\n")
	col := off - (strings.LastIndexByte(src[:off], '\n') + 1) + 1
	return nginxconf.Pos{File: "nginx.conf", Line: line, Column: col, Offset: off}
}

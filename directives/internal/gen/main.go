//go:build ngxlint_tools

// Command gen writes directives/table_gen.go from the C sources of nginx
// and of the third-party modules the table covers. -src names a directory
// holding one git repository (bare or not) per project, named as in
// projects below; nginx and lua-nginx-module are read at every release tag
// (for the version ranges), the others at HEAD.
//
// What it reads, per revision: every ngx_module_t definition and the
// ngx_command_t array it names (a directive's name, context and argument
// flags, handler, post); the ngx_conf_enum_t / ngx_conf_bitmask_t arrays a
// post points to; and the handler's body, for whether it returns
// "is duplicate" and, for block directives, what it parses inside
// (cf->handler: its own entries; *_lua_block_parse: Lua; cf->cmd_type =
// X: directives of context X).
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/format"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/ngxlint/ngxlint/directives"
	"github.com/ngxlint/ngxlint/versions"
)

// project is one source repository.
type project struct {
	key string // directory name under -src
	// tagRE selects the release tags read, its first group the version;
	// nil reads HEAD only.
	tagRE      *regexp.Regexp
	minVersion string
	versioning directives.Versioning
	thirdParty bool
}

var projects = []project{
	{key: "nginx", tagRE: regexp.MustCompile(`^release-(1\.\d+\.\d+)$`), minVersion: "1.0.0", versioning: directives.NginxVersion},
	{key: "lua-nginx-module", tagRE: regexp.MustCompile(`^v(0\.\d+\.\d+(?:rc\d+|RC\d+|R\d+)?)$`), minVersion: "0.9.0", versioning: directives.LNMVersion, thirdParty: true},
	{key: "stream-lua-nginx-module", thirdParty: true},
	{key: "ngx_devel_kit", thirdParty: true},
	{key: "headers-more-nginx-module", thirdParty: true},
	{key: "echo-nginx-module", thirdParty: true},
	{key: "set-misc-nginx-module", thirdParty: true},
	{key: "srcache-nginx-module", thirdParty: true},
	{key: "memc-nginx-module", thirdParty: true},
	{key: "redis2-nginx-module", thirdParty: true},
	{key: "nginx-module-vts", thirdParty: true},
	// The rest of OpenResty's default bundle (util/configure @modules).
	{key: "array-var-nginx-module", thirdParty: true},
	{key: "form-input-nginx-module", thirdParty: true},
	{key: "encrypted-session-nginx-module", thirdParty: true},
	{key: "xss-nginx-module", thirdParty: true},
	{key: "rds-json-nginx-module", thirdParty: true},
	{key: "rds-csv-nginx-module", thirdParty: true},
	{key: "lua-upstream-nginx-module", thirdParty: true},
	// Modules Debian packages as libnginx-mod-http-* (beyond the above).
	{key: "nginx-upload-progress-module", thirdParty: true},
	{key: "nginx-upstream-fair", thirdParty: true},
	{key: "nginx-dav-ext-module", thirdParty: true},
	{key: "ngx-fancyindex", thirdParty: true},
	{key: "ngx_http_geoip2_module", thirdParty: true},
	{key: "ngx_http_substitutions_filter_module", thirdParty: true},
	{key: "ngx_cache_purge", thirdParty: true},
}

func main() {
	src := flag.String("src", "", "directory with one git repository per project")
	out := flag.String("out", "table_gen.go", "output file")
	flag.Parse()
	if *src == "" {
		fmt.Fprintln(os.Stderr, "gen: -src is required (see directives/generate.go)")
		os.Exit(2)
	}
	if err := run(*src, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

// revision is one revision read, with its facts merged.
type revision struct {
	name    string // tag or HEAD
	version versions.Version
	files   map[string]*fileFacts
	defines map[string]string
}

// entry is a directive as found, keyed by module and name.
type entry struct {
	d       directives.Directive
	mod     directives.Module
	first   int // index of the first revision it is in
	last    int
	present []bool
}

type generator struct {
	// base is nginx's newest revision: the slot handlers third-party
	// modules use (ngx_conf_set_flag_slot...) and the flag macros live
	// there.
	base    *revision
	modules map[string]directives.Module
	entries map[[2]string]*entry
	notes   []string
}

func run(src, out string) error {
	g := &generator{modules: map[string]directives.Module{}, entries: map[[2]string]*entry{}}
	for _, p := range projects {
		dir := filepath.Join(src, p.key)
		if _, err := os.Stat(dir); err != nil {
			return fmt.Errorf("project %s: %w", p.key, err)
		}
		if err := g.readProject(p, dir); err != nil {
			return fmt.Errorf("project %s: %w", p.key, err)
		}
	}
	code, err := g.emit()
	if err != nil {
		return err
	}
	return os.WriteFile(out, code, 0o644)
}

func (g *generator) readProject(p project, dir string) error {
	r, err := openRepo(dir)
	if err != nil {
		return err
	}
	defer r.close()
	var revs []*revision
	if p.tagRE == nil {
		revs = []*revision{{name: "HEAD"}}
	} else {
		tags, err := r.tags()
		if err != nil {
			return err
		}
		min := versions.MustParse(p.minVersion)
		for _, t := range tags {
			m := p.tagRE.FindStringSubmatch(t)
			if m == nil {
				continue
			}
			v, err := versions.Parse(m[1])
			if err != nil || v.Compare(min) < 0 {
				continue
			}
			revs = append(revs, &revision{name: t, version: v})
		}
		sort.Slice(revs, func(i, j int) bool { return revs[i].version.Compare(revs[j].version) < 0 })
	}
	if len(revs) == 0 {
		return fmt.Errorf("no revision matches")
	}
	label := r.describe(revs[0].name)
	if len(revs) > 1 {
		label = fmt.Sprintf("%d tags %s .. %s", len(revs), revs[0].name, revs[len(revs)-1].name)
	}
	for i, rev := range revs {
		files, err := r.sources(rev.name)
		if err != nil {
			return err
		}
		rev.files = files
		rev.defines = map[string]string{}
		if g.base != nil {
			for k, v := range g.base.defines {
				rev.defines[k] = v
			}
		}
		for _, ff := range files {
			for k, v := range ff.defines {
				rev.defines[k] = v
			}
		}
		g.collect(p, rev, i, len(revs), label)
		if p.key == "nginx" && i == len(revs)-1 {
			g.base = rev
		} else if i < len(revs)-1 {
			rev.files, rev.defines = nil, nil // keep memory flat over 250 tags
		}
	}
	g.ranges(p, revs)
	return nil
}

// collect records the directives of one revision.
func (g *generator) collect(p project, rev *revision, idx, n int, label string) {
	paths := make([]string, 0, len(rev.files))
	for path := range rev.files {
		paths = append(paths, path)
	}
	sort.Strings(paths)
	for _, path := range paths {
		ff := rev.files[path]
		for _, m := range ff.modules {
			mod := directives.Module{Name: m.name, Project: p.key, File: path, Revisions: label,
				Versioning: p.versioning, ThirdParty: p.thirdParty, Object: object(p, path, m.name)}
			if p.thirdParty && idx == n-1 {
				// Listed even without directives of its own (NDK's come
				// from optional includes), so modules.load can name it.
				g.modules[m.name] = mod
			}
			cmds, ok := ff.commands[m.commands]
			if !ok {
				// NDK defines its array in a generated file that its
				// module's file #includes.
				for _, o := range rev.files {
					if cmds, ok = o.commands[m.commands]; ok {
						break
					}
				}
			}
			if !ok {
				continue
			}
			for _, c := range cmds {
				d, ok := g.directive(rev, ff, m, c)
				if !ok {
					continue
				}
				key := [2]string{m.name, c.name}
				e := g.entries[key]
				if e == nil {
					e = &entry{first: idx, present: make([]bool, n)}
					g.entries[key] = e
				}
				// The newest revision's facts win, but the contexts and
				// the enum words are the union over the revisions read:
				// a context or a word some release accepts is never
				// reported (proxy_pass gained limit_except in 1.x; TLS
				// protocol words come and go).
				if e.last >= 0 && e.d.Name != "" {
					d.Contexts |= e.d.Contexts
					d.Values = union(e.d.Values, d.Values)
					// Likewise the argument counts some release accepts,
					// and a value only checked with the same parser in
					// every release (server_tokens was a flag, then took
					// "build"). Dup is the newest handler's: the body
					// heuristic misreads older handlers (root, keepalive
					// and auth_basic refuse a repetition in 1.22.1 and
					// now, TestTableAgainstNginx).
					d.Args = mergeArgs(e.d.Args, d.Args)
					d.Value, d.Values = mergeValue(e.d, d)
					if d.Bounded != e.d.Bounded || d.Low != e.d.Low || d.High != e.d.High {
						d.Bounded, d.Low, d.High = false, 0, 0
					}
				}
				e.d, e.mod, e.last = d, mod, idx
				e.present[idx] = true
			}
		}
	}
}

// object is the shared object a dynamic build of the module is: nginx's
// configure puts all stream modules in ngx_stream_module.so and all mail
// modules in ngx_mail_module.so, except the stream geoip module
// (auto/modules); a third-party module's is its ngx_addon_name, which is
// its module name for every module read here.
func object(p project, path, mod string) string {
	if p.key != "nginx" {
		return mod
	}
	switch {
	case strings.HasPrefix(path, "src/stream/") && mod != "ngx_stream_geoip_module":
		return "ngx_stream_module"
	case strings.HasPrefix(path, "src/mail/"):
		return "ngx_mail_module"
	}
	return mod
}

var slots = map[string]directives.Value{
	"ngx_conf_set_flag_slot":      directives.FlagV,
	"ngx_conf_set_str_slot":       directives.Str,
	"ngx_conf_set_str_array_slot": directives.StrArray,
	"ngx_conf_set_keyval_slot":    directives.KeyVal,
	"ngx_conf_set_num_slot":       directives.Num,
	"ngx_conf_set_size_slot":      directives.Size,
	"ngx_conf_set_off_slot":       directives.Off,
	"ngx_conf_set_msec_slot":      directives.Msec,
	"ngx_conf_set_sec_slot":       directives.Sec,
	"ngx_conf_set_bufs_slot":      directives.Bufs,
	"ngx_conf_set_enum_slot":      directives.Enum,
	"ngx_conf_set_bitmask_slot":   directives.Bitmask,
	"ngx_conf_set_path_slot":      directives.Path,
	"ngx_conf_set_access_slot":    directives.Access,
}

func (g *generator) directive(rev *revision, ff *fileFacts, m rawModule, c rawCommand) (directives.Directive, bool) {
	bits, unknown := evalFlags(c.typ, rev.defines)
	if len(unknown) > 0 {
		g.notes = append(g.notes, fmt.Sprintf("%s %s: unresolved flags %v", rev.name, c.name, unknown))
	}
	d := directives.Directive{Name: c.name, Module: m.name, Args: directives.Args(bits & 0xffff)}
	d.Contexts = contexts(m.typ, bits)
	if d.Contexts == 0 {
		g.notes = append(g.notes, fmt.Sprintf("%s %s (%s): no context in %q", rev.name, c.name, m.typ, c.typ))
		return d, false
	}
	d.Value = slots[c.set]
	if d.Value == directives.Enum || d.Value == directives.Bitmask {
		d.Values = g.table(rev, ff, strings.TrimPrefix(strings.TrimSpace(c.post), "&"))
		if d.Values == nil {
			g.notes = append(g.notes, fmt.Sprintf("%s %s: values %s not found", rev.name, c.name, c.post))
			d.Value = directives.Other
		}
	}
	if d.Value == directives.Num {
		if b, ok := ff.bounds[strings.TrimPrefix(strings.TrimSpace(c.post), "&")]; ok {
			d.Bounded, d.Low, d.High = true, b[0], b[1]
		}
	}
	fn, found := g.fn(rev, ff, c.set)
	var follow []funcFacts
	if found {
		follow = append(follow, fn)
		callees := fn.calls
		if fn.luaBlock {
			// A *_by_lua_block handler parses the Lua and hands it to
			// the *_by_lua handler through cf->handler; that one says
			// whether a second block is refused. A custom block's
			// cf->handler reads its entries instead: not followed.
			callees = append(callees, fn.handlers...)
		}
		for _, callee := range callees {
			if cf, ok := g.fn(rev, ff, callee); ok {
				follow = append(follow, cf)
			}
		}
	}
	for _, f := range follow {
		d.Dup = d.Dup || f.dup
	}
	if d.Args&directives.Block != 0 {
		d.Body = directives.Unknown
		if found {
			switch {
			case fn.luaBlock:
				d.Body = directives.Lua
			case fn.handler:
				d.Body = directives.Custom
			default:
				for _, f := range follow {
					if len(f.cmdTypes) == 0 {
						continue
					}
					mt := m.typ
					if f.moduleType != "" {
						mt = f.moduleType
					}
					for _, ct := range f.cmdTypes {
						cb, _ := evalFlags(ct, rev.defines)
						d.Opens |= contexts(mt, cb)
					}
					d.Body = directives.Directives
					break
				}
			}
		}
	}
	return d, true
}

// fn finds a handler's facts: in the same file first (static functions
// of different files share names), then anywhere in the revision, then in
// nginx itself (the slot functions).
func (g *generator) fn(rev *revision, ff *fileFacts, name string) (funcFacts, bool) {
	if f, ok := ff.funcs[name]; ok {
		return f, true
	}
	for _, o := range rev.files {
		if f, ok := o.funcs[name]; ok {
			return f, true
		}
	}
	if g.base != nil && g.base != rev {
		for _, o := range g.base.files {
			if f, ok := o.funcs[name]; ok {
				return f, true
			}
		}
	}
	return funcFacts{}, false
}

func (g *generator) table(rev *revision, ff *fileFacts, name string) []string {
	if t, ok := ff.tables[name]; ok {
		return t
	}
	for _, o := range rev.files {
		if t, ok := o.tables[name]; ok {
			return t
		}
	}
	return nil
}

// Module types (src/core/ngx_conf_file.h, ngx_event.h, ngx_http_config.h,
// ngx_stream.h, ngx_mail.h) and what the context bits mean for each: the
// same bits name different contexts per type.
func contexts(modType string, bits uint64) directives.Context {
	const anyConf = 0xFF000000
	var c directives.Context
	set := func(bit uint64, ctx directives.Context) {
		if bits&bit != 0 {
			c |= ctx
		}
	}
	switch modType {
	case "NGX_CONF_MODULE":
		if bits&anyConf == anyConf {
			return directives.AnyContext
		}
		set(0x01000000, directives.Main)
	case "NGX_CORE_MODULE":
		set(0x01000000, directives.Main) // NGX_MAIN_CONF
	case "NGX_EVENT_MODULE":
		set(0x02000000, directives.Events) // NGX_EVENT_CONF
	case "NGX_HTTP_MODULE":
		set(0x02000000, directives.HTTPMain)
		set(0x04000000, directives.HTTPSrv)
		set(0x08000000, directives.HTTPLoc)
		set(0x10000000, directives.HTTPUps)
		set(0x20000000, directives.HTTPSif)
		set(0x40000000, directives.HTTPLif)
		set(0x80000000, directives.HTTPLmt)
	case "NGX_STREAM_MODULE":
		set(0x02000000, directives.StreamMain)
		set(0x04000000, directives.StreamSrv)
		set(0x08000000, directives.StreamUps)
	case "NGX_MAIL_MODULE":
		set(0x02000000, directives.MailMain)
		set(0x04000000, directives.MailSrv)
	}
	return c
}

// ranges sets Since/Until of a versioned project's directives from the
// revisions they are present in.
func (g *generator) ranges(p project, revs []*revision) {
	if p.versioning == directives.Unversioned {
		return
	}
	for _, e := range g.entries {
		if e.present == nil || len(e.present) != len(revs) || e.mod.Project != p.key {
			continue
		}
		if e.first > 0 {
			e.d.Since = revs[e.first].version.String()
		}
		if e.last < len(revs)-1 {
			e.d.Until = revs[e.last+1].version.String()
		}
		// A gap (removed, then added back) is rare; the range then
		// spans it, and the note says so.
		for i := e.first; i <= e.last; i++ {
			if !e.present[i] {
				g.notes = append(g.notes, fmt.Sprintf("%s %s: absent in %s inside its range", e.mod.Name, e.d.Name, revs[i].name))
				break
			}
		}
	}
}

func (g *generator) emit() ([]byte, error) {
	var es []*entry
	for _, e := range g.entries {
		es = append(es, e)
	}
	sort.Slice(es, func(i, j int) bool {
		if es[i].d.Name != es[j].d.Name {
			return es[i].d.Name < es[j].d.Name
		}
		return es[i].d.Module < es[j].d.Module
	})
	used := map[string]directives.Module{}
	for name, m := range g.modules {
		used[name] = m
	}
	for _, e := range es {
		used[e.mod.Name] = e.mod
	}
	var mods []directives.Module
	for _, m := range used {
		mods = append(mods, m)
	}
	sort.Slice(mods, func(i, j int) bool { return mods[i].Name < mods[j].Name })

	var b bytes.Buffer
	b.WriteString("// Code generated by directives/internal/gen; DO NOT EDIT.\n\n")
	b.WriteString("// Sources, one line per project (repository, revisions read):\n")
	seen := map[string]bool{}
	for _, m := range mods {
		if !seen[m.Project] {
			seen[m.Project] = true
			fmt.Fprintf(&b, "//   %s: %s\n", m.Project, m.Revisions)
		}
	}
	sort.Strings(g.notes)
	g.notes = compact(g.notes)
	if len(g.notes) > 0 {
		b.WriteString("//\n// Generator notes (facts it could not read or had to approximate):\n")
		for _, n := range g.notes {
			fmt.Fprintf(&b, "//   %s\n", n)
		}
	}
	b.WriteString("\npackage directives\n\n")
	b.WriteString("// modules lists the modules of the table and where each was read.\nvar modules = []Module{\n")
	for _, m := range mods {
		fmt.Fprintf(&b, "\t{Name: %q, Project: %q, File: %q, Revisions: %q, Versioning: %s, ThirdParty: %v, Object: %q},\n",
			m.Name, m.Project, m.File, m.Revisions, versioningName(m.Versioning), m.ThirdParty, m.Object)
	}
	b.WriteString("}\n\n// table lists every directive, sorted by name.\nvar table = []Directive{\n")
	for _, e := range es {
		d := e.d
		fmt.Fprintf(&b, "\t{Name: %q, Module: %q, Contexts: %s, Args: %s, Value: %s", d.Name, d.Module, ctxExpr(d.Contexts), argsExpr(d.Args), valueExpr(d.Value))
		if len(d.Values) > 0 {
			fmt.Fprintf(&b, ", Values: %#v", d.Values)
		}
		if d.Bounded {
			fmt.Fprintf(&b, ", Bounded: true, Low: %d, High: %d", d.Low, d.High)
		}
		if d.Dup {
			b.WriteString(", Dup: true")
		}
		if d.Body != directives.NotBlock {
			fmt.Fprintf(&b, ", Body: %s", bodyExpr(d.Body))
		}
		if d.Opens != 0 {
			fmt.Fprintf(&b, ", Opens: %s", ctxExpr(d.Opens))
		}
		if d.Since != "" {
			fmt.Fprintf(&b, ", Since: %q", d.Since)
		}
		if d.Until != "" {
			fmt.Fprintf(&b, ", Until: %q", d.Until)
		}
		b.WriteString("},\n")
	}
	b.WriteString("}\n")
	return format.Source(b.Bytes())
}

// mergeArgs returns flags accepting every argument count a or b accepts
// (b's block flag): the same flags when they agree, else the narrowest
// nginx flags that cover both.
func mergeArgs(a, b directives.Args) directives.Args {
	if a == b {
		return b
	}
	block := b & directives.Block
	var out directives.Args
	many := a.Accepts(9) || b.Accepts(9)
	zero := a.Accepts(0) || b.Accepts(0)
	one := a.Accepts(1) || b.Accepts(1)
	switch {
	case many && zero:
		out = directives.AnyArg
	case many && one:
		out = directives.More1
	case many:
		out = directives.More2
	default:
		for n := 0; n <= 7; n++ {
			if a.Accepts(n) || b.Accepts(n) {
				out |= 1 << n
			}
		}
	}
	return out | block
}

// mergeValue is the value parser of a directive whose releases old and
// cur parse it differently. A flag that became an enumeration of "on",
// "off" and more words (gzip_static gained "always" in 1.3.6,
// server_tokens "build" in 1.11.10) is checked as that enumeration: a word
// outside it is refused by every release, and the words some release
// accepts are in cur.Values (already the union). Any other change leaves
// the value unchecked.
func mergeValue(old, cur directives.Directive) (directives.Value, []string) {
	if old.Value == cur.Value {
		return cur.Value, cur.Values
	}
	onOff := func(ws []string) bool {
		var on, off bool
		for _, w := range ws {
			on = on || strings.EqualFold(w, "on")
			off = off || strings.EqualFold(w, "off")
		}
		return on && off
	}
	if (old.Value == directives.FlagV || cur.Value == directives.FlagV) &&
		(old.Value == directives.Enum || cur.Value == directives.Enum) && onOff(cur.Values) {
		return directives.Enum, cur.Values
	}
	return directives.Other, nil
}

func union(a, b []string) []string {
	out := append([]string(nil), a...)
	for _, x := range b {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

func compact(s []string) []string {
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

func versioningName(v directives.Versioning) string {
	switch v {
	case directives.NginxVersion:
		return "NginxVersion"
	case directives.LNMVersion:
		return "LNMVersion"
	}
	return "Unversioned"
}

var ctxConsts = []struct {
	c    directives.Context
	name string
}{
	{directives.Main, "Main"}, {directives.Events, "Events"},
	{directives.HTTPMain, "HTTPMain"}, {directives.HTTPSrv, "HTTPSrv"}, {directives.HTTPLoc, "HTTPLoc"},
	{directives.HTTPUps, "HTTPUps"}, {directives.HTTPSif, "HTTPSif"}, {directives.HTTPLif, "HTTPLif"},
	{directives.HTTPLmt, "HTTPLmt"}, {directives.StreamMain, "StreamMain"}, {directives.StreamSrv, "StreamSrv"},
	{directives.StreamUps, "StreamUps"}, {directives.MailMain, "MailMain"}, {directives.MailSrv, "MailSrv"},
}

func ctxExpr(c directives.Context) string {
	if c == directives.AnyContext {
		return "AnyContext"
	}
	var parts []string
	for _, k := range ctxConsts {
		if c&k.c != 0 {
			parts = append(parts, k.name)
		}
	}
	return strings.Join(parts, "|")
}

func argsExpr(a directives.Args) string {
	var parts []string
	for _, k := range []struct {
		a    directives.Args
		name string
	}{{directives.NoArgs, "NoArgs"}, {directives.Take1, "Take1"}, {directives.Take2, "Take2"}, {directives.Take3, "Take3"},
		{directives.Take4, "Take4"}, {directives.Take5, "Take5"}, {directives.Take6, "Take6"}, {directives.Take7, "Take7"},
		{directives.Block, "Block"}, {directives.Flag, "Flag"}, {directives.AnyArg, "AnyArg"}, {directives.More1, "More1"}, {directives.More2, "More2"}} {
		if a&k.a != 0 {
			parts = append(parts, k.name)
		}
	}
	if len(parts) == 0 {
		return "0"
	}
	return strings.Join(parts, "|")
}

func valueExpr(v directives.Value) string {
	return map[directives.Value]string{directives.Other: "Other", directives.FlagV: "FlagV", directives.Str: "Str",
		directives.StrArray: "StrArray", directives.KeyVal: "KeyVal", directives.Num: "Num", directives.Size: "Size",
		directives.Off: "Off", directives.Msec: "Msec", directives.Sec: "Sec", directives.Bufs: "Bufs",
		directives.Enum: "Enum", directives.Bitmask: "Bitmask", directives.Path: "Path", directives.Access: "Access"}[v]
}

func bodyExpr(b directives.Body) string {
	return [...]string{"NotBlock", "Directives", "Custom", "Lua", "Unknown"}[b]
}

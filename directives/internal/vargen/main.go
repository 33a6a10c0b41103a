//go:build ngxlint_tools

// Command vargen writes directives/variables_gen.go: the variables nginx's
// own modules define, for http and stream, with the releases each exists
// in. It reads the C sources of every release tag of a bare git mirror of
// github.com/nginx/nginx (the fetch tool's /work/.mirror/nginx+nginx/repo),
// so nothing of nginx is vendored: only names and version numbers reach the
// generated file, each with the source file it was read from.
//
// A module defines variables in one of three ways, and vargen reads all:
//   - a static ngx_http_variable_t / ngx_stream_variable_t array, whose
//     entries start { ngx_string("name"), ... } and carry
//     NGX_HTTP_VAR_PREFIX / NGX_STREAM_VAR_PREFIX for prefix variables
//     ("http_", "arg_"...);
//   - ngx_http_add_variable(cf, &ident, ...), or a module's wrapper of it, with a static
//     ngx_str_t ident = ngx_string("name") ($gzip_ratio, $uid_got...);
//   - before 1.9 or so, ngx_http_variables_init_vars compared names with
//     hard-coded prefixes: ngx_strncmp(v[i].name.data, "http_", 5).
//
// Variables a directive names (set, map, geo, split_clients, perl_set,
// auth_request_set...) are not built-in; the rule that checks variables
// reads those from the configuration.
//
// Third-party modules (-module name=gitdir, repeatable) are read the same
// way at their HEAD commit only: their entries carry the project's name and
// the revision read instead of a release range.
//
// Usage: the go:generate line in variables.go, with the same source
// directory as the directive table (generate.go):
//
//	NGXLINT_DIRECTIVES_SRC=/path/to/repos go generate ./directives
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/format"
	"os"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/ngxlint/ngxlint/internal/gitsrc"
)

func main() {
	repo := flag.String("nginx", "", "bare git directory of github.com/nginx/nginx")
	out := flag.String("out", "variables_gen.go", "file to write")
	var mods moduleFlags
	flag.Var(&mods, "module", "name=gitdir of a third-party module read at HEAD (repeatable)")
	flag.Parse()
	if *repo == "" {
		fmt.Fprintln(os.Stderr, "vargen: -nginx is required")
		os.Exit(2)
	}
	src, err := generate(*repo, mods)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vargen:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, src, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "vargen:", err)
		os.Exit(1)
	}
}

// moduleFlags collects -module name=gitdir.
type moduleFlags [][2]string

func (m *moduleFlags) String() string { return fmt.Sprint(*m) }

func (m *moduleFlags) Set(s string) error {
	name, dir, ok := strings.Cut(s, "=")
	if !ok || name == "" || dir == "" {
		return fmt.Errorf("want name=gitdir, got %q", s)
	}
	*m = append(*m, [2]string{name, dir})
	return nil
}

// found is one variable as one file of one release defines it.
type found struct {
	name   string
	prefix bool
	stream bool
	file   string // path in the nginx tree
}

// thirdParty is a variable of a third-party module.
type thirdParty struct {
	found
	module, rev string
}

type release struct {
	tag string
	v   [3]int
}

func generate(repo string, mods moduleFlags) ([]byte, error) {
	tags, err := git(repo, "tag", "--list", "release-*")
	if err != nil {
		return nil, err
	}
	var rels []release
	for _, t := range strings.Fields(string(tags)) {
		v, ok := parseVersion(strings.TrimPrefix(t, "release-"))
		if ok {
			rels = append(rels, release{t, v})
		}
	}
	sort.Slice(rels, func(i, j int) bool { return less(rels[i].v, rels[j].v) })
	if len(rels) == 0 {
		return nil, fmt.Errorf("%s: no release-* tags", repo)
	}
	cat := gitsrc.Open(repo)
	defer cat.Close()
	byBlob := map[string][]found{} // a file's variables, by blob id
	// present[key] lists, per release index, whether the variable exists.
	present := map[found]map[int]bool{}
	for ri, r := range rels {
		tree, err := git(repo, "ls-tree", "-r", r.tag, "--", "src/http", "src/stream")
		if err != nil {
			return nil, err
		}
		for _, line := range strings.Split(string(tree), "\n") {
			// "<mode> blob <id>\t<path>"
			meta, p, ok := strings.Cut(line, "\t")
			if !ok || !strings.HasSuffix(p, ".c") {
				continue
			}
			fs := strings.Fields(meta)
			if len(fs) != 3 || fs[1] != "blob" {
				continue
			}
			vars, ok := byBlob[fs[2]]
			if !ok {
				data, err := cat.Blob(fs[2])
				if err != nil {
					return nil, err
				}
				vars = scan(p, data)
				byBlob[fs[2]] = vars
			}
			for _, f := range vars {
				f.file = p
				if present[f] == nil {
					present[f] = map[int]bool{}
				}
				present[f][ri] = true
			}
		}
	}
	var third []thirdParty
	for _, m := range mods {
		vars, err := readModule(m[0], m[1])
		if err != nil {
			return nil, err
		}
		third = append(third, vars...)
	}
	return render(rels, present, third)
}

// readModule scans the C files of a module's HEAD.
func readModule(name, dir string) ([]thirdParty, error) {
	rev, err := git(dir, "describe", "--tags", "--always", "HEAD")
	if err != nil {
		return nil, err
	}
	tree, err := git(dir, "ls-tree", "-r", "--name-only", "HEAD")
	if err != nil {
		return nil, err
	}
	var out []thirdParty
	for _, p := range strings.Fields(string(tree)) {
		if !strings.HasSuffix(p, ".c") || strings.HasPrefix(p, "t/") {
			continue
		}
		data, err := git(dir, "show", "HEAD:"+p)
		if err != nil {
			return nil, err
		}
		for _, f := range scan(p, data) {
			f.file = p
			out = append(out, thirdParty{f, name, strings.TrimSpace(string(rev))})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s (%s): no variables found", name, dir)
	}
	return out, nil
}

var (
	reArray = regexp.MustCompile(`ngx_(http|stream)_variable_t\s+\w+\[\]\s*=\s*\{`)
	reEntry = regexp.MustCompile(`\{\s*ngx_string\("([^"]*)"\)`)
	reStr   = regexp.MustCompile(`ngx_str_t\s+(\w+)\s*=\s*ngx_string\("([^"]*)"\)`)
	// Any *_add_variable(cf, &ident...): modules wrap nginx's function
	// (memc's ngx_http_memc_add_variable).
	reAdd    = regexp.MustCompile(`ngx_(http|stream)_\w*add_variable\(\s*cf\s*,\s*&(\w+)\s*[,)]`)
	rePrefix = regexp.MustCompile(`ngx_strncmp\(v\[i\]\.name\.data,\s*"([a-z_]+)",\s*\d+\)`)
)

// scan lists the variables a C file defines (see the package comment).
func scan(p string, data []byte) []found {
	src := dropIfZero(string(data))
	stream := strings.HasPrefix(p, "src/stream/")
	var out []found
	for _, loc := range reArray.FindAllStringSubmatchIndex(src, -1) {
		body := src[loc[1]:]
		end := strings.Index(body, "_null_variable")
		if e := strings.Index(body, "};"); end < 0 || e >= 0 && e < end {
			end = e
		}
		if end < 0 {
			continue
		}
		body = body[:end]
		isStream := src[loc[2]:loc[3]] == "stream"
		ents := reEntry.FindAllStringSubmatchIndex(body, -1)
		for i, e := range ents {
			text := body[e[1]:]
			if i+1 < len(ents) {
				text = body[e[1]:ents[i+1][0]]
			}
			// nginx looks variables up without case (ngx_hash_strlow).
			out = append(out, found{name: strings.ToLower(body[e[2]:e[3]]), prefix: strings.Contains(text, "_VAR_PREFIX"), stream: isStream})
		}
	}
	strs := map[string]string{}
	for _, m := range reStr.FindAllStringSubmatch(src, -1) {
		strs[m[1]] = m[2]
	}
	for _, m := range reAdd.FindAllStringSubmatch(src, -1) {
		if name, ok := strs[m[2]]; ok {
			out = append(out, found{name: strings.ToLower(name), stream: m[1] == "stream"})
		}
	}
	if base := path.Base(p); base == "ngx_http_variables.c" || base == "ngx_stream_variables.c" {
		if i := strings.Index(src, "_variables_init_vars("); i >= 0 {
			for _, m := range rePrefix.FindAllStringSubmatch(src[i:], -1) {
				out = append(out, found{name: m[1], prefix: true, stream: stream})
			}
		}
	}
	return out
}

// dropIfZero removes the lines between "#if 0" and its "#else" or
// "#endif": code the compiler never sees ($proxy_add_via in
// ngx_http_proxy_module.c) defines nothing.
func dropIfZero(src string) string {
	if !strings.Contains(src, "#if 0") {
		return src
	}
	var b strings.Builder
	depth := 0 // nesting of #if inside a dropped part, 0 = keeping
	for _, line := range strings.SplitAfter(src, "\n") {
		t := strings.TrimSpace(line)
		switch {
		case depth == 0 && t == "#if 0":
			depth = 1
			continue
		case depth > 0 && strings.HasPrefix(t, "#if"):
			depth++
		case depth > 0 && t == "#endif":
			depth--
			continue
		case depth == 1 && t == "#else":
			depth = 0
			continue
		}
		if depth == 0 {
			b.WriteString(line)
		}
	}
	return b.String()
}

// render writes the Go table: one entry per (name, prefix, scope, file),
// with the first release that has it and the first later release that no
// longer does.
func render(rels []release, present map[found]map[int]bool, third []thirdParty) ([]byte, error) {
	keys := make([]found, 0, len(present))
	for k := range present {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.stream != b.stream {
			return !a.stream
		}
		if a.name != b.name {
			return a.name < b.name
		}
		if a.prefix != b.prefix {
			return !a.prefix
		}
		return a.file < b.file
	})
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by directives/internal/vargen from github.com/nginx/nginx, tags %s to %s (%d releases); DO NOT EDIT.\n\n", rels[0].tag, rels[len(rels)-1].tag, len(rels))
	b.WriteString("package directives\n\n")
	b.WriteString("// builtinVariables are the variables nginx's own modules define. Source is\n// the file of nginx's tree each was read from.\n")
	b.WriteString("var builtinVariables = [...]Variable{\n")
	for _, k := range keys {
		first, last := -1, -1
		for ri := range rels {
			if present[k][ri] {
				if first < 0 {
					first = ri
				}
				last = ri
			}
		}
		until := ""
		if last < len(rels)-1 {
			until = version(rels[last+1].v)
		}
		fmt.Fprintf(&b, "\t{Name: %q, Prefix: %v, Stream: %v, Since: %q, Until: %q, Source: %q},\n",
			k.name, k.prefix, k.stream, version(rels[first].v), until, k.file)
	}
	sort.Slice(third, func(i, j int) bool {
		if third[i].module != third[j].module {
			return third[i].module < third[j].module
		}
		return third[i].name < third[j].name
	})
	for _, t := range third {
		fmt.Fprintf(&b, "\t{Name: %q, Prefix: %v, Stream: %v, Module: %q, Source: %q},\n",
			t.name, t.prefix, t.stream, t.module, t.module+" "+t.rev+": "+t.file)
	}
	b.WriteString("}\n")
	return format.Source(b.Bytes())
}

func parseVersion(s string) ([3]int, bool) {
	var v [3]int
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return v, false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil {
			return v, false
		}
		v[i] = n
	}
	return v, true
}

func less(a, b [3]int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

func version(v [3]int) string { return fmt.Sprintf("%d.%d.%d", v[0], v[1], v[2]) }

func git(repo string, args ...string) ([]byte, error) { return gitsrc.Open(repo).Git(args...) }

package rules

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/directives"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// UnknownVariable reports "$name" in a directive's argument that no module
// and no directive of the configuration defines: nginx -t fails on it.
var UnknownVariable = &analyzer.Rule{
	ID:       "NGX3006",
	Slug:     "unknown-variable",
	Severity: analyzer.Error,
	Doc: analyzer.Doc{
		Title: "Variable that nothing defines",
		Text: `nginx resolves every "$name" of a directive's argument once the whole configuration is read
(ngx_http_variables_init_vars) and refuses to start with 'unknown "name" variable' when no module
defines it (the built-in variables and the prefixes $arg_, $http_, $cookie_, $sent_http_,
$upstream_http_...) and no directive does: set, map, geo, split_clients, auth_request_set,
perl_set, js_set, js_var, set_by_lua* and the set_* directives of set-misc and ndk, or a named
capture (?<name>...) of a regular expression. Variables are global: a "set $x" in one server
defines $x for every server, and a map in an included file counts. http and stream are resolved
separately. The classic case is "$connection_upgrade" copied from a WebSocket example without the
map that defines it.

The built-in names come from nginx's own sources at every release (and from the echo, srcache and
memc modules): when an nginx version is declared, a variable that release does not have is
reported too. When an include read no file (outside the checkout, missing here), what it names
may define the variable: the finding is then info, which does not fail CI by default. When the
configuration loads a dynamic module ngxlint does not know, it is a warning. Variables used in Lua code (ngx.var.x) are
not resolved by nginx -t and are not checked here.`,
		Bad: `http {
    server {
        listen 80;
        location /ws {
            proxy_pass http://127.0.0.1:8080;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
        }
    }
}
`,
		Good: `http {
    map $http_upgrade $connection_upgrade {
        default upgrade;
        ''      close;
    }
    server {
        listen 80;
        location /ws {
            proxy_pass http://127.0.0.1:8080;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
        }
    }
}
`,
		Since:        "0.2.0",
		References:   []string{"nginx ngx_http_variables_init_vars", "nginx ngx_http_script_compile", "nginx ngx_stream_variables_init_vars"},
		Confirmation: "not confirmable: nginx refuses the configuration at start.",
	},
	Run: func(pass *analyzer.Pass) error {
		if pass.Config == nil {
			return nil
		}
		defs := collectVariables(directiveIndex(pass))
		sev := analyzer.Error
		var why string
		switch {
		case defs.unread != nil:
			// Like NGX1001's "not in this checkout": the checkout
			// cannot tell, so it does not fail CI by default.
			sev, why = analyzer.Info, fmt.Sprintf("; unless the file the include at %s names, which was not read, defines it", defs.unread.Pos)
		case defs.unknownModule != "":
			sev, why = analyzer.Warning, "; unless module "+defs.unknownModule+" (load_module) defines it"
		}
		ng := pass.Profile.Nginx
		directiveIndex(pass).Each(func(d *nginxconf.Directive, parents []*nginxconf.Directive) {
			if !argsHaveDollar(d) {
				return // most directives name no variable
			}
			scope := variableScope(parents)
			if scope == scopeNone {
				return
			}
			for _, ref := range variableUses(d, parents) {
				name := ref.name
				if defs.defined(scope, name) {
					continue
				}
				known := directives.LookupVariable(name, scope == scopeStream)
				msg := fmt.Sprintf("unknown %q variable", name)
				if len(known) > 0 {
					if ng.IsZero() || slices.ContainsFunc(known, func(v directives.Variable) bool { return v.In(ng) }) {
						continue
					}
					v := known[0]
					msg += fmt.Sprintf(" in nginx %s: $%s exists from nginx %s", ng, v.Name, v.Since)
					if v.Prefix {
						msg = fmt.Sprintf("unknown %q variable in nginx %s: the prefix $%s exists from nginx %s", name, ng, v.Name, v.Since)
					}
					if v.Until != "" {
						msg += " to " + v.Until + " (excluded)"
					}
					pass.Report(&analyzer.Diagnostic{Pos: ref.pos, End: ref.end, Severity: analyzer.Error, Message: msg})
					continue
				}
				details := "No module defines it, and no set, map, geo or other directive of the configuration does"
				if m := analyzer.Closest(name, defs.candidates(scope)); m != "" {
					msg += fmt.Sprintf(": did you mean $%s?", m)
				} else {
					msg += ": nothing defines it"
				}
				pass.Report(&analyzer.Diagnostic{Pos: ref.pos, End: ref.end, Severity: sev, Message: msg, Details: details + why + "."})
			}
		})
		return nil
	},
}

type varScope int

const (
	scopeNone varScope = iota
	scopeHTTP
	scopeStream
)

// variableScope is the variable namespace a directive's arguments are
// resolved in: the http or stream block around it. Outside both (main,
// events, mail, or a fragment checked on its own) nothing is resolved.
func variableScope(parents []*nginxconf.Directive) varScope {
	for _, p := range parents {
		switch p.Name {
		case "http":
			return scopeHTTP
		case "stream":
			return scopeStream
		}
	}
	return scopeNone
}

// configVariables are the variables the configuration defines, per scope.
type configVariables struct {
	names [3]map[string]bool
	// captures are named captures of regular expressions anywhere: nginx
	// adds them as variables of the scope (ngx_http_regex_compile).
	captures map[string]bool
	// unknownModule is a load_module whose module ngxlint does not know.
	unknownModule string
	// unread is the first include that read no file (outside the
	// checkout, missing, a glob that matched nothing here): what it
	// names where nginx runs may define any variable.
	unread *nginxconf.Directive
}

func (c *configVariables) defined(s varScope, name string) bool {
	if name == "" || name[0] >= '0' && name[0] <= '9' {
		return true // a regex capture ($1) or nothing nginx would look up here
	}
	name = strings.ToLower(name) // nginx looks variables up without case
	return c.names[s][name] || c.captures[name]
}

// candidates are the names a misspelling may have meant: the built-ins of
// the scope and what the configuration defines.
func (c *configVariables) candidates(s varScope) []string {
	var out []string
	for n := range c.names[s] {
		out = append(out, n)
	}
	for n := range c.captures {
		out = append(out, n)
	}
	out = append(out, directives.VariableNames(s == scopeStream)...)
	slices.Sort(out)
	return slices.Compact(out)
}

// knownObject reports whether the table holds the variables of a dynamic
// module (load_module's file name without ".so"), or it defines none.
func knownObject(obj string) bool {
	switch obj {
	case "ndk_http_module", "ngx_http_lua_module", "ngx_stream_lua_module",
		"ngx_http_echo_module", "ngx_http_srcache_filter_module", "ngx_http_memc_module",
		"ngx_http_set_misc_module", "ngx_http_headers_more_filter_module",
		"ngx_http_geoip_module", "ngx_stream_geoip_module", "ngx_http_perl_module",
		"ngx_http_image_filter_module", "ngx_http_xslt_filter_module",
		"ngx_mail_module", "ngx_stream_module", "ngx_http_js_module", "ngx_stream_js_module":
		return true
	}
	return false
}

// collectVariables reads every definition of the configuration: variables
// are global to the http (or stream) block, whatever server or file
// defines them.
func collectVariables(ix *nginxconf.Index) *configVariables {
	c := &configVariables{captures: map[string]bool{}}
	for i := range c.names {
		c.names[i] = map[string]bool{}
	}
	ix.Each(func(d *nginxconf.Directive, parents []*nginxconf.Directive) {
		if d.Name == "load_module" && len(d.Args) == 1 {
			obj := strings.TrimSuffix(path.Base(d.Args[0].Value), ".so")
			if !knownObject(obj) && c.unknownModule == "" {
				c.unknownModule = obj
			}
		}
		if d.Name == "include" && len(d.Included) == 0 && d.Stock == nil && c.unread == nil {
			c.unread = d
		}
		for _, a := range d.Args {
			addCaptures(c.captures, a.Value)
		}
		addCaptures(c.captures, d.Name) // map keys are written as names
		s := variableScope(parents)
		if s == scopeNone {
			return
		}
		def := func(arg string) {
			if v, ok := strings.CutPrefix(arg, "$"); ok {
				c.names[s][strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(v, "{"), "}"))] = true
			}
		}
		switch {
		case d.Name == "map" || d.Name == "split_clients":
			if len(d.Args) == 2 {
				def(d.Args[1].Value)
			}
		case d.Name == "geo":
			if n := len(d.Args); n == 1 || n == 2 {
				def(d.Args[n-1].Value)
			}
		case d.Name == "set" || strings.HasPrefix(d.Name, "set_") || d.Name == "auth_request_set" ||
			d.Name == "perl_set" || d.Name == "js_set" || d.Name == "js_var":
			// set-misc, ndk and set_by_lua* name the variable first;
			// set_real_ip_from and the like take no "$".
			if len(d.Args) > 0 {
				def(d.Args[0].Value)
			}
		case strings.HasPrefix(d.Name, "$") && len(parents) > 0 && !valueBlock(parents[len(parents)-1].Name):
			// geoip2 { $var source path; } and similar blocks name the
			// variable they define as the entry's first word.
			def(d.Name)
		}
	})
	return c
}

// addCaptures adds the named captures of a regular expression: (?<name>),
// (?P<name>) and (?'name'), as PCRE writes them.
func addCaptures(into map[string]bool, s string) {
	for {
		i := strings.Index(s, "(?")
		if i < 0 {
			return
		}
		s = s[i+2:]
		s = strings.TrimPrefix(s, "P")
		if len(s) == 0 || s[0] != '<' && s[0] != '\'' {
			continue
		}
		closer := byte('>')
		if s[0] == '\'' {
			closer = '\''
		}
		j := 1
		for j < len(s) && isVarByte(s[j]) {
			j++
		}
		if j > 1 && j < len(s) && s[j] == closer {
			into[strings.ToLower(s[1:j])] = true
		}
	}
}

// valueBlock reports whether a block's entries are keys and values rather
// than directives: their first word is never a variable use or definition.
func valueBlock(name string) bool {
	switch name {
	case "map", "geo", "split_clients", "types", "charset_map":
		return true
	}
	return false
}

func isVarByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// varRef is one "$name" in an argument.
type varRef struct {
	name     string
	pos, end nginxconf.Pos
}

// variableUses lists the variables nginx resolves in d's arguments: the
// words it compiles as scripts (ngx_http_script_compile: "$" then a name
// of letters, digits and "_", or "${name}"), leaving out code (Lua, Perl,
// njs), regular expressions (where "$" ends the line) and the variable a
// defining directive names.
func variableUses(d *nginxconf.Directive, parents []*nginxconf.Directive) []varRef {
	name := d.Name
	if d.Lua != nil || strings.Contains(name, "_by_lua") || strings.HasPrefix(name, "lua_") ||
		strings.HasPrefix(name, "perl") || strings.HasPrefix(name, "js_") && name != "js_var" {
		return nil
	}
	args := d.Args
	var parent string
	if len(parents) > 0 {
		parent = parents[len(parents)-1].Name
	}
	// In a map the key (the entry's name) is matched, not resolved; the
	// value is. The other value blocks hold literals only.
	if parent != "map" && valueBlock(parent) {
		return nil
	}
	skip := map[int]bool{}
	switch name {
	case "set", "auth_request_set", "js_var", "map", "split_clients":
		if name == "map" || name == "split_clients" {
			skip[1] = true
		} else {
			skip[0] = true
		}
	case "geo":
		skip[len(args)-1] = true
	case "location":
		return nil // a location's URI is matched, never resolved
	case "rewrite":
		skip[0] = true
	case "server_name", "listen", "error_log", "include", "load_module", "env", "pid", "user",
		"resolver", "memcached_pass":
		// Literal arguments: a "$" there is not looked up (nginx fails
		// on such a word, if at all, with another message).
		return nil
	case "server":
		if parent == "upstream" {
			return nil
		}
	case "if":
		for i, a := range args {
			if v := strings.TrimPrefix(a.Value, "!"); v == "~" || v == "~*" {
				for j := i + 1; j < len(args); j++ {
					skip[j] = true
				}
				break
			}
		}
	default:
		if strings.HasPrefix(name, "set_") {
			skip[0] = true
		}
	}
	var out []varRef
	for i, a := range args {
		if skip[i] {
			continue
		}
		if strings.HasPrefix(a.Value, "~") && (name == "proxy_redirect" || name == "proxy_cookie_domain" ||
			name == "proxy_cookie_path" || name == "valid_referers") {
			continue // a regular expression
		}
		out = appendVarRefs(out, a)
	}
	return out
}

// appendVarRefs scans one argument's source text for "$name" and
// "${name}".
func appendVarRefs(out []varRef, a nginxconf.Arg) []varRef {
	raw := a.Raw
	for i := 0; i < len(raw); i++ {
		if raw[i] != '$' {
			continue
		}
		start := i
		j := i + 1
		braced := j < len(raw) && raw[j] == '{'
		if braced {
			j++
		}
		k := j
		for k < len(raw) && isVarByte(raw[k]) {
			k++
		}
		if k == j || braced && (k >= len(raw) || raw[k] != '}') {
			i = k - 1
			continue // not a name nginx would look up (or its own error)
		}
		n := raw[j:k]
		end := k
		if braced {
			end++
		}
		i = end - 1
		if n[0] >= '0' && n[0] <= '9' {
			continue // a capture
		}
		out = append(out, varRef{name: n, pos: a.Pos.Advance(raw[:start]), end: a.Pos.Advance(raw[:end])})
	}
	return out
}

// argsHaveDollar reports whether any argument of d has a "$": the cheap
// test before the variable references are parsed out.
func argsHaveDollar(d *nginxconf.Directive) bool {
	for _, a := range d.Args {
		if strings.IndexByte(a.Value, '$') >= 0 {
			return true
		}
	}
	return false
}

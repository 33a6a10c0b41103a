package rules

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/rules/retry"
)

// KeepaliveConnectionMap finds "proxy_set_header Connection $var" where
// the map defining $var gives "close" to ordinary requests, on a location
// whose upstream keeps connections.
var KeepaliveConnectionMap = &analyzer.Rule{
	ID:       "NGX2004",
	Slug:     "keepalive-connection-map-close",
	Severity: analyzer.Warning,
	Doc: analyzer.Doc{
		Title: "Connection header from a map that sends \"close\" to an upstream with keepalive",
		Text: `The WebSocket recipe "map $http_upgrade $connection_upgrade { default upgrade; '' close; }" with
"proxy_set_header Connection $connection_upgrade;" sends "Connection: close" on every ordinary request
(no Upgrade header, so $http_upgrade is empty and the '' entry applies). The backend then closes the
connection after its response, nginx sees "Connection: close" in it (u->keepalive stays 0) and
ngx_http_upstream_free_keepalive_peer caches nothing: the upstream's keepalive silently does nothing
for all but WebSocket requests. NGX2002 cannot see this, since the header's value is a variable.

The rule follows the map's entries and default (for a map of $http_upgrade, the value an ordinary
request gets; for any other source, only a map whose every value is "close"). Map ordinary requests to
an empty value, which nginx does not send: "map $http_upgrade $connection_upgrade { default upgrade;
'' ''; }".`,
		Bad: `http {
    map $http_upgrade $connection_upgrade {
        default upgrade;
        ''      close;
    }
    upstream app {
        server 127.0.0.1:8080;
        keepalive 16;
    }
    server {
        listen 80;
        location / {
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
        }
    }
}
`,
		Good: `http {
    map $http_upgrade $connection_upgrade {
        default upgrade;
        ''      '';
    }
    upstream app {
        server 127.0.0.1:8080;
        keepalive 16;
    }
    server {
        listen 80;
        location / {
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
        }
    }
}
`,
		Since: "0.2.0",
		References: []string{"https://nginx.org/en/docs/http/websocket.html",
			"https://nginx.org/en/docs/http/ngx_http_map_module.html#map",
			"nginx src/http/modules/ngx_http_upstream_keepalive_module.c ngx_http_upstream_free_keepalive_peer (u->keepalive)"},
		Confirmation: "not confirmable: the emulator sends proxy_set_header values as written and does not evaluate map.",
	},
	Run: func(pass *analyzer.Pass) error {
		maps := httpMaps(pass)
		if len(maps) == 0 {
			return nil
		}
		seen := map[*nginxconf.Directive]bool{}
		for _, pl := range allProxyTargets(pass) {
			l, u := pl.loc, pl.up
			v, hdr, _ := l.Proxy.Header("Connection")
			name, isVar := oneVariable(v)
			if hdr == nil || seen[hdr] || !isVar {
				continue
			}
			m := maps[name]
			if m == nil {
				continue
			}
			if retry.KeepaliveCount(u, pass.Profile) <= 0 || retry.KeepaliveLostByOrder(u, pass.Profile) != nil {
				continue
			}
			who, entry, ok := m.closesFor()
			if !ok {
				continue
			}
			seen[hdr] = true
			ka := "keepalive"
			rel := []analyzer.Related{{Pos: m.Directive.Pos, End: m.Directive.Pos, Message: fmt.Sprintf("map of %s defined here", v)}}
			if entry != nil {
				rel = append(rel, analyzer.Related{Pos: entry.Pos, End: entry.End, Message: "this entry gives \"close\""})
			}
			if u.Keepalive != nil {
				ka = "keepalive " + u.Keepalive.Arg(0)
				rel = append(rel, analyzer.Related{Pos: u.Keepalive.Pos, End: u.Keepalive.End, Message: "keepalive defined here"})
			}
			d := &analyzer.Diagnostic{Pos: hdr.Pos, End: hdr.End,
				Message: fmt.Sprintf("Connection %s is \"close\" for %s, so upstream %q (%s) reuses none", v, who, u.Name, ka),
				Details: "The map's value \"close\" is sent to the backend, which closes the connection after the response; map them to '' instead (an empty header is not sent).",

				Related: rel}
			if entry != nil && entry.Name == "" && len(entry.Args) == 1 && entry.File != nil {
				a := entry.Args[0]
				d.Fixes = append(d.Fixes, analyzer.SuggestedFix{Message: "send no Connection header to ordinary requests",
					Edits: []analyzer.TextEdit{{Pos: a.Pos, End: a.End(), NewText: "''"}}})
			}
			pass.Report(d)
		}
		return nil
	},
}

// httpMap is a map block of the http context.
type httpMap struct {
	Directive *nginxconf.Directive
	// Source is the map's first argument ("$http_upgrade").
	Source string
	// Default is the default entry; nil means the value "" (nginx's
	// default when none is written).
	Default *nginxconf.Directive
	Entries []*nginxconf.Directive
	// Opaque is set when an entry could not be read (an include whose
	// files were not loaded).
	Opaque bool
}

// httpMaps indexes the http context's map blocks by the variable they
// define (lower case, without "$": nginx variable names are
// case-insensitive). The typed model has no maps, so they are read from
// the directives.
func httpMaps(pass *analyzer.Pass) map[string]*httpMap {
	type key struct{}
	return pass.Fact(key{}, func() any {
		out := map[string]*httpMap{}
		if pass.Model == nil || pass.Model.HTTP == nil {
			return out
		}
		for _, d := range pass.Model.HTTP.Own("map") {
			if len(d.Args) != 2 || !strings.HasPrefix(d.Arg(1), "$") {
				continue
			}
			m := &httpMap{Directive: d, Source: d.Arg(0)}
			var add func(ds []*nginxconf.Directive)
			add = func(ds []*nginxconf.Directive) {
				for _, e := range ds {
					switch {
					case e.Name == "include":
						if len(e.Included) == 0 {
							m.Opaque = true
						}
						for _, f := range e.Included {
							add(f.Directives)
						}
					case (e.Name == "hostnames" || e.Name == "volatile") && len(e.Args) == 0:
					case e.Name == "default" && len(e.Args) == 1:
						m.Default = e
					case len(e.Args) == 1:
						m.Entries = append(m.Entries, e)
					default:
						m.Opaque = true
					}
				}
			}
			add(d.Block)
			name := strings.ToLower(strings.TrimPrefix(d.Arg(1), "$"))
			if _, dup := out[name]; !dup {
				out[name] = m
			}
		}
		return out
	}).(map[string]*httpMap)
}

// values returns every value the map can give (entries and the default),
// with the directive giving it (nil for the implicit default "").
func (m *httpMap) values() (vals []string, from []*nginxconf.Directive) {
	for _, e := range m.Entries {
		vals, from = append(vals, e.Arg(0)), append(from, e)
	}
	if m.Default != nil {
		vals, from = append(vals, m.Default.Arg(0)), append(from, m.Default)
	} else {
		vals, from = append(vals, ""), append(from, nil)
	}
	return vals, from
}

// valueForEmpty is the value the map gives when its source is the empty
// string, as for $http_upgrade on a request without Upgrade: the exact
// entry "" first, then the regular expressions in order, then the default
// (ngx_http_map_find). ok is false when a regular expression cannot be
// judged here.
func (m *httpMap) valueForEmpty() (val string, from *nginxconf.Directive, ok bool) {
	for _, e := range m.Entries {
		if e.Name == "" {
			return e.Arg(0), e, true
		}
	}
	for _, e := range m.Entries {
		re, isRE := strings.CutPrefix(e.Name, "~")
		if !isRE {
			continue
		}
		if ci, ok := strings.CutPrefix(re, "*"); ok {
			re = "(?i)" + ci
		}
		rx, err := regexp.Compile(re)
		if err != nil {
			return "", nil, false // PCRE syntax Go does not read
		}
		if rx.MatchString("") {
			return e.Arg(0), e, true
		}
	}
	if m.Default != nil {
		return m.Default.Arg(0), m.Default, true
	}
	return "", nil, true
}

// closesFor reports whether the map gives "Connection: close" to ordinary
// requests: who names them, entry the directive giving the value (nil for
// a default that is not written).
func (m *httpMap) closesFor() (who string, entry *nginxconf.Directive, ok bool) {
	if m.Opaque {
		return "", nil, false
	}
	if strings.EqualFold(m.Source, "$http_upgrade") {
		v, e, known := m.valueForEmpty()
		if known && hasCloseToken(v) {
			return "every request without an Upgrade header", e, true
		}
		return "", nil, false
	}
	vals, from := m.values()
	for _, v := range vals {
		if !hasCloseToken(v) {
			return "", nil, false
		}
	}
	return "every request", from[0], true
}

// hasCloseToken reports a Connection value with the "close" token.
func hasCloseToken(v string) bool {
	for _, t := range strings.Split(v, ",") {
		if strings.EqualFold(strings.TrimSpace(t), "close") {
			return true
		}
	}
	return false
}

// oneVariable returns the name (lower case, nginx variable names are
// case-insensitive) of a value that is exactly one variable, "$name" or
// "${name}".
func oneVariable(v string) (string, bool) {
	if strings.HasPrefix(v, "${") && strings.HasSuffix(v, "}") {
		v = "$" + v[2:len(v)-1]
	}
	if len(v) < 2 || v[0] != '$' {
		return "", false
	}
	for _, c := range v[1:] {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return "", false
		}
	}
	return strings.ToLower(v[1:]), true
}

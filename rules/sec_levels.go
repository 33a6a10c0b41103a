package rules

// The configuration levels of the http context (http, server, location,
// if in location) with the directives written directly at each, for the
// security rules that follow nginx's inheritance: array directives that a
// level replaces as a whole (add_header, proxy_set_header, fastcgi_param,
// allow/deny...) and plain settings merged "innermost wins". The model's
// scopes leave out "if" blocks, where add_header's inheritance trap bites
// hardest, so the SEC rules build their own, once per run.

import (
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// secLevel is one level of the http context.
type secLevel struct {
	// kind is "http", "server", "location", or "if" and "limit_except"
	// in a location.
	kind   string
	block  *nginxconf.Directive
	parent *secLevel
	// own holds the level's directives by name, includes expanded. An
	// include of one of nginx's stock files the tree does not hold
	// (fastcgi_params...) contributes its directives as entries
	// positioned at the include.
	own map[string][]secEntry
}

// secEntry is one directive at a level.
type secEntry struct {
	d *nginxconf.Directive
	// name and args are the directive's, or the stock file's directive
	// for an entry that stands for a stock include (d is the include).
	name string
	args []string
	// seq orders entries of different names at a level as nginx reads
	// them (allow and deny form one list).
	seq int
}

func (e secEntry) arg(i int) string {
	if i < len(e.args) {
		return e.args[i]
	}
	return ""
}

// inherited returns the entries of name of the nearest level above l that
// has any, and that level.
func (l *secLevel) inherited(name string) ([]secEntry, *secLevel) {
	for p := l.parent; p != nil; p = p.parent {
		if es := p.own[name]; len(es) > 0 {
			return es, p
		}
	}
	return nil, nil
}

// effective returns the innermost entry of name from l outwards.
func (l *secLevel) effective(name string) (secEntry, bool) {
	for p := l; p != nil; p = p.parent {
		if es := p.own[name]; len(es) > 0 {
			return es[0], true
		}
	}
	return secEntry{}, false
}

// describe names the level for messages: `location "/api"`, "server
// example.com", "if ($x)".
func (l *secLevel) describe() string {
	switch l.kind {
	case "location":
		return "location " + quoteArgs(l.block)
	case "server":
		for _, es := range l.own["server_name"] {
			if len(es.args) > 0 && es.args[0] != "" && es.args[0] != "_" {
				return "server " + es.args[0]
			}
		}
		return "this server"
	case "if":
		return "if " + quoteArgs(l.block) + " in its location"
	case "limit_except":
		return "limit_except " + quoteArgs(l.block)
	}
	return l.kind
}

func quoteArgs(d *nginxconf.Directive) string {
	var parts []string
	for _, a := range d.Args {
		parts = append(parts, a.Value)
	}
	s := strings.Join(parts, " ")
	if len(s) > 40 {
		s = s[:37] + "..."
	}
	return `"` + s + `"`
}

// secLevels are the http context's levels in configuration order.
type secLevels struct {
	all []*secLevel
}

type secLevelsKey struct{}

// secLevelsOf builds the levels once per run.
func secLevelsOf(pass *analyzer.Pass) *secLevels {
	return pass.Fact(secLevelsKey{}, func() any { return buildSecLevels(pass.Config) }).(*secLevels)
}

func buildSecLevels(cfg *nginxconf.Config) *secLevels {
	out := &secLevels{}
	if cfg == nil {
		return out
	}
	at := map[*nginxconf.Directive]*secLevel{}
	seq := 0
	cfg.Walk(func(d *nginxconf.Directive, parents []*nginxconf.Directive) bool {
		var lv *secLevel
		for i := len(parents) - 1; i >= 0; i-- {
			if l := at[parents[i]]; l != nil {
				lv = l
				break
			}
		}
		if len(parents) == 0 {
			if d.Name == "http" {
				l := &secLevel{kind: "http", block: d, own: map[string][]secEntry{}}
				at[d] = l
				out.all = append(out.all, l)
			}
			return d.Name == "http" || d.Name == "include"
		}
		if lv == nil {
			return false
		}
		switch {
		case d.HasBlock && (d.Name == "server" && lv.kind == "http" || d.Name == "location" && (lv.kind == "server" || lv.kind == "location") || d.Name == "if" && lv.kind == "location" || d.Name == "limit_except" && lv.kind == "location"):
			l := &secLevel{kind: d.Name, block: d, parent: lv, own: map[string][]secEntry{}}
			at[d] = l
			out.all = append(out.all, l)
			return true
		case d.HasBlock:
			// An "if" in server holds rewrite directives only; other
			// blocks (limit_except, map, *_by_lua_block) are not levels.
			return false
		}
		if d.Name == "include" && d.Stock != nil {
			for _, sd := range d.Stock.Directives {
				seq++
				lv.own[sd.Name] = append(lv.own[sd.Name], secEntry{d: d, name: sd.Name, args: sd.Args, seq: seq})
			}
			return true
		}
		args := make([]string, len(d.Args))
		for i, a := range d.Args {
			args[i] = a.Value
		}
		seq++
		lv.own[d.Name] = append(lv.own[d.Name], secEntry{d: d, name: d.Name, args: args, seq: seq})
		return true
	})
	return out
}

package rules

// The configuration levels of the http context (http, server, location,
// if in location) with the directives written directly at each, for the
// security rules that follow nginx's inheritance: array directives that a
// level replaces as a whole (add_header, proxy_set_header, fastcgi_param,
// allow/deny...) and plain settings merged "innermost wins". The model's
// scopes leave out "if" blocks, where add_header's inheritance trap bites
// hardest, so the SEC rules build their own, once per run.

import (
	"slices"
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
	// entries are the level's directives, includes expanded, sorted by
	// name and then in the order nginx reads them (own returns a name's
	// run). An include of one of nginx's stock files the tree does not
	// hold (fastcgi_params...) contributes its directives as entries
	// positioned at the include. A sorted slice rather than a map: a
	// large configuration has tens of thousands of levels with a handful
	// of directives each.
	entries []secEntry
}

// secEntry is one directive at a level.
type secEntry struct {
	d *nginxconf.Directive
	// name is the directive's, or the stock file's directive's for an
	// entry that stands for a stock include (d is the include); stock
	// holds that directive's arguments.
	name  string
	stock []string
	// seq orders entries of different names at a level as nginx reads
	// them (allow and deny form one list).
	seq int
}

func (e secEntry) arg(i int) string {
	if e.stock == nil {
		return e.d.Arg(i)
	}
	if i < len(e.stock) {
		return e.stock[i]
	}
	return ""
}

// args returns the entry's arguments (a new slice for a directive).
func (e secEntry) args() []string {
	if e.stock != nil {
		return e.stock
	}
	out := make([]string, len(e.d.Args))
	for i, a := range e.d.Args {
		out[i] = a.Value
	}
	return out
}

// inherited returns the entries of name of the nearest level above l that
// has any, and that level.
func (l *secLevel) inherited(name string) ([]secEntry, *secLevel) {
	for p := l.parent; p != nil; p = p.parent {
		if es := p.own(name); len(es) > 0 {
			return es, p
		}
	}
	return nil, nil
}

// effective returns the innermost entry of name from l outwards.
func (l *secLevel) effective(name string) (secEntry, bool) {
	for p := l; p != nil; p = p.parent {
		if es := p.own(name); len(es) > 0 {
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
		for _, es := range l.own("server_name") {
			if n := es.arg(0); n != "" && n != "_" {
				return "server " + n
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
	return pass.Fact(secLevelsKey{}, func() any { return buildSecLevels(directiveIndex(pass)) }).(*secLevels)
}

func buildSecLevels(ix *nginxconf.Index) *secLevels {
	out := &secLevels{}
	at := map[*nginxconf.Directive]*secLevel{}
	seq := 0
	ix.Each(func(d *nginxconf.Directive, parents []*nginxconf.Directive) {
		if len(parents) == 0 {
			if d.Name == "http" {
				l := &secLevel{kind: "http", block: d}
				at[d] = l
				out.all = append(out.all, l)
			}
			return
		}
		// A directive belongs to the level its block opens; one inside
		// any other block (map, upstream, an if in server, a top-level
		// block other than http) belongs to none.
		lv := at[parents[len(parents)-1]]
		if lv == nil {
			return
		}
		switch {
		case d.HasBlock && (d.Name == "server" && lv.kind == "http" || d.Name == "location" && (lv.kind == "server" || lv.kind == "location") || d.Name == "if" && lv.kind == "location" || d.Name == "limit_except" && lv.kind == "location"):
			l := &secLevel{kind: d.Name, block: d, parent: lv}
			at[d] = l
			out.all = append(out.all, l)
			return
		case d.HasBlock:
			// An "if" in server holds rewrite directives only; other
			// blocks (limit_except, map, *_by_lua_block) are not levels.
			return
		}
		if d.Name == "include" && d.Stock != nil {
			for _, sd := range d.Stock.Directives {
				seq++
				lv.entries = append(lv.entries, secEntry{d: d, name: sd.Name, stock: sd.Args, seq: seq})
			}
			return
		}
		seq++
		lv.entries = append(lv.entries, secEntry{d: d, name: d.Name, seq: seq})
	})
	for _, l := range out.all {
		slices.SortStableFunc(l.entries, func(a, b secEntry) int { return strings.Compare(a.name, b.name) })
	}
	return out
}

// own returns the level's entries called name, in the order nginx reads
// them (a subslice: do not modify it).
func (l *secLevel) own(name string) []secEntry {
	var i int
	if len(l.entries) <= 16 {
		// Most levels hold a handful of directives: a scan for the
		// name is cheaper than the search's comparisons.
		for i < len(l.entries) && l.entries[i].name != name {
			i++
		}
	} else {
		i, _ = slices.BinarySearchFunc(l.entries, name, func(e secEntry, n string) int { return strings.Compare(e.name, n) })
	}
	j := i
	for j < len(l.entries) && l.entries[j].name == name {
		j++
	}
	return l.entries[i:j:j]
}

package ngxlint_test

import (
	"hash/fnv"
	"slices"
	"strings"

	"github.com/ngxlint/ngxlint/nginxconf"
)

// This file makes the single-edit mutations of TestNginxTDifferential:
// deterministic (the same corpus gives the same edits), one of each kind
// per configuration, each with the places where the mistake is (besides
// the place nginx names).

// mutation is one edited copy of a configuration file.
type mutation struct {
	kind string // "misspelt", "semicolon", ..., "neutral/comment"
	text string // the file after the edit
	// mistake are byte offsets in text where the mistake is: an error
	// reported on one of their lines is at the right place.
	mistake []int
	what    string // a short description for the log
}

// neutral reports whether a kind is an edit nginx is expected to accept.
func neutral(kind string) bool { return strings.HasPrefix(kind, "neutral/") }

// node is a directive with the block it is in.
type node struct {
	d      *nginxconf.Directive
	parent *nginxconf.Directive // nil at the file's top level
	depth  int
}

// walk lists f's directives in document order with their parents.
func walk(ds []*nginxconf.Directive, parent *nginxconf.Directive, depth int, out []node) []node {
	for _, d := range ds {
		out = append(out, node{d, parent, depth})
		if len(d.Block) > 0 {
			out = walk(d.Block, d, depth+1, out)
		}
	}
	return out
}

// valueBlock: the entries of these blocks are keys and values, not
// directives.
func valueBlock(n node) bool {
	if n.parent == nil {
		return false
	}
	switch n.parent.Name {
	case "map", "geo", "split_clients", "types", "charset_map":
		return true
	}
	return false
}

// simple reports a one-line directive ending with ";" that is a real
// directive (not a map entry, not Lua).
func simple(src string, n node) bool {
	d := n.d
	return !d.HasBlock && d.Lua == nil && !valueBlock(n) && d.End.Offset > 0 &&
		src[d.End.Offset-1] == ';' && d.Pos.Line == d.End.Line && d.Name != "include"
}

// pick chooses one of n candidates from a hash of the file and the kind,
// so that different files exercise different directives.
func pick(file, kind string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(file + "\x00" + kind))
	return int(h.Sum32() % uint32(n))
}

// edit replaces src[start:end] with repl and maps offsets after it.
func edit(src string, start, end int, repl string) string {
	return src[:start] + repl + src[end:]
}

func lineStart(src string, off int) int { return strings.LastIndexByte(src[:off], '\n') + 1 }

func lineEndAfter(src string, off int) int {
	i := strings.IndexByte(src[off:], '\n')
	if i < 0 {
		return len(src)
	}
	return off + i + 1
}

func indentOf(src string, off int) string {
	s := lineStart(src, off)
	e := s
	for e < len(src) && (src[e] == ' ' || src[e] == '\t') {
		e++
	}
	return src[s:e]
}

// mainOnly are directives nginx allows only at the top level, and
// eventsOnly only in events {}: moving one into http is a context error.
var mainOnly = []string{"worker_processes", // first: contextMoves tells the list by it
	"worker_rlimit_nofile", "pid", "user", "daemon",
	"master_process", "env", "worker_cpu_affinity", "pcre_jit", "timer_resolution", "lock_file",
	"working_directory", "worker_shutdown_timeout", "worker_priority"}

var eventsOnly = []string{"worker_connections", "use", "multi_accept", "accept_mutex", "accept_mutex_delay"}

// contextMoves are the wrong-context edits: a directive of names (in a
// block named from, if set) moved into the first block named into, where
// nginx does not allow it.
var contextMoves = []struct {
	names      []string
	from, into string
}{
	{mainOnly, "", "http"},
	{eventsOnly, "events", "http"},
	{[]string{"listen", "server_name", "ssl_certificate", "ssl_certificate_key"}, "server", "location"},
	{[]string{"proxy_pass", "alias", "internal"}, "location", "server"},
	{[]string{"keepalive", "ip_hash", "least_conn", "hash"}, "upstream", "server"},
	{[]string{"server"}, "upstream", "location"},
	{[]string{"log_format", "limit_req_zone", "limit_conn_zone", "proxy_cache_path", "lua_shared_dict",
		"lua_package_path", "lua_package_cpath", "server_names_hash_bucket_size", "map_hash_bucket_size",
		"variables_hash_bucket_size", "init_by_lua_file"}, "http", "server"},
	{[]string{"root", "index", "add_header", "access_log"}, "", "upstream"},
}

// mutate makes the mutations of one file. name is the file's name (for
// pick), src its text.
// mutate makes one edit of each kind in src. The holdout set picks other
// directives (another hash salt) and writes the mistakes another way
// (a letter dropped instead of two swapped, one extra argument instead of
// seven, "yes" instead of "onn", a letter no unit has after the unit):
// the checks were tuned on the first set, so the holdout is how we see
// whether they generalise. Its kinds are prefixed "holdout/".
func mutate(name, src string, holdout bool) []mutation {
	salt, prefix := "", ""
	if holdout {
		salt, prefix = "holdout\x00", "holdout/"
	}
	f := nginxconf.ParseString(name, src)
	if len(f.Errors) > 0 {
		return nil
	}
	nodes := walk(f.Directives, nil, 0, nil)
	var out []mutation
	choose := func(kind string, cands []node, mk func(n node) (mutation, bool)) {
		if len(cands) == 0 {
			return
		}
		start := pick(salt+name, kind, len(cands))
		for i := range cands {
			if m, ok := mk(cands[(start+i)%len(cands)]); ok {
				m.kind = prefix + kind
				out = append(out, m)
				return
			}
		}
	}
	filter := func(keep func(n node) bool) []node {
		var r []node
		for _, n := range nodes {
			if keep(n) {
				r = append(r, n)
			}
		}
		return r
	}

	// Misspelt name: swap two letters in the middle of the name.
	choose("misspelt", filter(func(n node) bool { return !valueBlock(n) && n.d.Lua == nil && len(n.d.Name) >= 4 }),
		func(n node) (mutation, bool) {
			name := n.d.Name
			i := len(name) / 2
			if name[i-1] == name[i] {
				return mutation{}, false
			}
			b := []byte(name)
			b[i-1], b[i] = b[i], b[i-1]
			if holdout {
				b = append([]byte(name[:i]), name[i+1:]...) // a letter dropped
			}
			off := n.d.Pos.Offset
			return mutation{text: edit(src, off, off+len(name), string(b)), mistake: []int{off}, what: name + " -> " + string(b)}, true
		})

	// Missing ";": delete it; the mistake is at the end of the directive.
	choose("semicolon", filter(func(n node) bool { return simple(src, n) }), func(n node) (mutation, bool) {
		off := n.d.End.Offset - 1
		return mutation{text: edit(src, off, off+1, ""), mistake: []int{off}, what: n.d.Name + " without ;"}, true
	})

	// Wrong context: move a directive into a block that does not allow it.
	var ctxMoves []func() (mutation, bool)
	blocksNamed := func(name string) []node {
		return filter(func(n node) bool { return n.d.Name == name && n.d.HasBlock })
	}
	move := func(d *nginxconf.Directive, into *nginxconf.Directive, what string) (mutation, bool) {
		ls, le := lineStart(src, d.Pos.Offset), lineEndAfter(src, d.End.Offset)
		if strings.TrimSpace(src[ls:le]) != strings.TrimSpace(src[d.Pos.Offset:d.End.Offset]) {
			return mutation{}, false // not alone on its line
		}
		line := src[d.Pos.Offset:d.End.Offset]
		at := lineEndAfter(src, into.BlockOpen.Offset) // the line after the "{"
		if at > ls && at < le || into.BlockOpen.Line == into.BlockClose.Line {
			return mutation{}, false
		}
		ins := indentOf(src, into.Pos.Offset) + "    " + line + "\n"
		var text string
		var pos int
		if at <= ls {
			text = src[:at] + ins + src[at:ls] + src[le:]
			pos = at
		} else {
			text = src[:ls] + src[le:at] + ins + src[at:]
			pos = at - (le - ls)
		}
		return mutation{text: text, mistake: []int{pos + len(ins) - len(line) - 1}, what: what}, true
	}
	for _, n := range nodes {
		d := n.d
		if !simple(src, n) {
			continue
		}
		for _, mv := range contextMoves {
			if !slices.Contains(mv.names, d.Name) || n.parent != nil && n.parent.Name == mv.into || mv.from != "" && (n.parent == nil || n.parent.Name != mv.from) {
				continue
			}
			if mv.from == "" && n.parent != nil && mv.names[0] == mainOnly[0] {
				continue // main-only directives are moved from the top level
			}
			for _, b := range blocksNamed(mv.into) {
				if b.d.Lua != nil {
					continue
				}
				into := b.d
				ctxMoves = append(ctxMoves, func() (mutation, bool) { return move(d, into, d.Name+" into "+into.Name) })
				break
			}
		}
	}
	if len(ctxMoves) > 0 {
		start := pick(salt+name, "context", len(ctxMoves))
		for i := range ctxMoves {
			if m, ok := ctxMoves[(start+i)%len(ctxMoves)](); ok {
				m.kind = prefix + "context"
				out = append(out, m)
				break
			}
		}
	}

	// Wrong argument count: drop every argument, or add seven.
	withArgs := filter(func(n node) bool { return simple(src, n) && len(n.d.Args) > 0 })
	choose("args/none", withArgs, func(n node) (mutation, bool) {
		d := n.d
		last := d.Args[len(d.Args)-1].End().Offset
		return mutation{text: edit(src, d.Pos.Offset+len(d.Name), last, ""), mistake: []int{d.Pos.Offset}, what: d.Name + " without arguments"}, true
	})
	choose("args/extra", withArgs, func(n node) (mutation, bool) {
		d := n.d
		last := d.Args[len(d.Args)-1].End().Offset
		if holdout {
			return mutation{text: edit(src, last, last, " x"), mistake: []int{d.Pos.Offset}, what: d.Name + " with one more argument"}, true
		}
		return mutation{text: edit(src, last, last, " a b c d e f g"), mistake: []int{d.Pos.Offset}, what: d.Name + " with 7 more arguments"}, true
	})

	// Invalid values: a flag that is neither on nor off, a number (time,
	// size, count) with a letter that no unit has.
	valueArg := func(n node, match func(v string) bool) int {
		if !simple(src, n) {
			return -1
		}
		for i, a := range n.d.Args {
			if a.Quote == 0 && match(a.Value) {
				return i
			}
		}
		return -1
	}
	isFlag := func(v string) bool { return v == "on" || v == "off" }
	isNumber := func(v string) bool {
		rest := strings.TrimLeft(v, "0123456789")
		return len(rest) < len(v) && len(rest) <= 2 && strings.Trim(rest, "smhdwMykKgG") == ""
	}
	for _, vk := range []struct {
		kind  string
		match func(string) bool
		repl  func(string) string
	}{
		{"value/flag", isFlag, func(v string) string { return v + "n" }},
		{"value/number", isNumber, func(v string) string { return v + "q" }},
	} {
		if holdout {
			switch vk.kind {
			case "value/flag":
				vk.repl = func(string) string { return "yes" }
			case "value/number":
				vk.repl = func(v string) string { return v + "z" }
			}
		}
		choose(vk.kind, filter(func(n node) bool { return valueArg(n, vk.match) >= 0 }), func(n node) (mutation, bool) {
			a := n.d.Args[valueArg(n, vk.match)]
			return mutation{text: edit(src, a.Pos.Offset, a.End().Offset, vk.repl(a.Value)), mistake: []int{n.d.Pos.Offset, a.Pos.Offset},
				what: n.d.Name + " " + a.Value + " -> " + vk.repl(a.Value)}, true
		})
	}

	// Duplicate: the directive again on the next line.
	choose("duplicate", filter(func(n node) bool { return simple(src, n) }), func(n node) (mutation, bool) {
		d := n.d
		le := lineEndAfter(src, d.End.Offset)
		line := indentOf(src, d.Pos.Offset) + src[d.Pos.Offset:d.End.Offset] + "\n"
		if le == len(src) && !strings.HasSuffix(src, "\n") {
			return mutation{}, false
		}
		return mutation{text: src[:le] + line + src[le:], mistake: []int{d.Pos.Offset, le}, what: d.Name + " twice"}, true
	})

	// Unbalanced braces: a nested block's "}" deleted, or one too many.
	choose("braces/missing", filter(func(n node) bool {
		return n.d.HasBlock && n.d.Lua == nil && n.parent != nil && n.d.BlockClose.IsValid() && n.d.BlockClose.Line != n.d.BlockOpen.Line
	}), func(n node) (mutation, bool) {
		c := n.d.BlockClose.Offset
		return mutation{text: edit(src, c, c+1, " "), mistake: []int{c, n.d.BlockOpen.Offset}, what: n.d.Name + " without its }"}, true
	})
	choose("braces/extra", filter(func(n node) bool { return simple(src, n) && n.depth >= 2 }), func(n node) (mutation, bool) {
		d := n.d
		le := lineEndAfter(src, d.End.Offset)
		line := indentOf(src, d.Pos.Offset) + "}\n"
		if le == len(src) && !strings.HasSuffix(src, "\n") {
			return mutation{}, false
		}
		return mutation{text: src[:le] + line + src[le:], mistake: []int{le}, what: "} after " + d.Name}, true
	})

	// Neutral edits.
	choose("neutral/reorder", filter(func(n node) bool { return simple(src, n) }), func(n node) (mutation, bool) {
		d := n.d
		sibs := f.Directives
		if n.parent != nil {
			sibs = n.parent.Block
		}
		i := slices.Index(sibs, d)
		if i+1 >= len(sibs) {
			return mutation{}, false
		}
		e := sibs[i+1]
		if !simple(src, node{e, n.parent, n.depth}) || e.Pos.Line != d.Pos.Line+1 || order(d.Name) || order(e.Name) {
			return mutation{}, false
		}
		a, b := src[d.Pos.Offset:d.End.Offset], src[e.Pos.Offset:e.End.Offset]
		text := src[:d.Pos.Offset] + b + src[d.End.Offset:e.Pos.Offset] + a + src[e.End.Offset:]
		return mutation{text: text, what: "swap " + d.Name + " and " + e.Name}, true
	})
	choose("neutral/whitespace", filter(func(n node) bool { return simple(src, n) && len(n.d.Args) > 0 }), func(n node) (mutation, bool) {
		d := n.d
		at := d.Args[0].Pos.Offset
		return mutation{text: edit(src, d.Pos.Offset+len(d.Name), at, " \t\n"+indentOf(src, d.Pos.Offset)+"        "), what: d.Name + " arguments on the next line"}, true
	})
	choose("neutral/comment", filter(func(n node) bool { return simple(src, n) }), func(n node) (mutation, bool) {
		ls := lineStart(src, n.d.Pos.Offset)
		return mutation{text: src[:ls] + indentOf(src, n.d.Pos.Offset) + "# a comment; with { braces } and \"quotes\n" + src[ls:], what: "comment before " + n.d.Name}, true
	})
	choose("neutral/extra", filter(func(n node) bool {
		return n.d.HasBlock && n.d.Lua == nil && (n.d.Name == "server" || n.d.Name == "location") && n.parent != nil && n.parent.Name != "upstream" && n.d.BlockOpen.Line != n.d.BlockClose.Line
	}), func(n node) (mutation, bool) {
		at := lineEndAfter(src, n.d.BlockOpen.Offset)
		return mutation{text: src[:at] + indentOf(src, n.d.Pos.Offset) + "    set $ngxlint_neutral 1;\n" + src[at:], what: "set in " + n.d.Name}, true
	})
	return out
}

// order reports directives whose order nginx gives a meaning to (the
// rewrite module's, run in order): swapping them is not neutral.
func order(name string) bool {
	switch name {
	case "set", "rewrite", "return", "if", "break", "include", "server", "listen":
		return true
	}
	return strings.HasPrefix(name, "set_")
}

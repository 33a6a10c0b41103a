//go:build ngxlint_tools

package main

import (
	"regexp"
	"strconv"
	"strings"
)

// fileFacts is what one C source file declares that the table needs. It is
// computed once per blob: most files are unchanged across releases.
type fileFacts struct {
	commands map[string][]rawCommand // ngx_command_t arrays by name
	modules  []rawModule
	// tables are the ngx_conf_enum_t / ngx_conf_bitmask_t arrays: their
	// words, by array name.
	tables map[string][]string
	// bounds are the ngx_conf_num_bounds_t posts: low and high (-1: no
	// upper bound), by name.
	bounds  map[string][2]int64
	funcs   map[string]funcFacts
	defines map[string]string
}

// rawCommand is one ngx_command_t initializer, its six fields as written.
type rawCommand struct {
	name, typ, set, conf, offset, post string
}

// rawModule is an ngx_module_t definition: its commands array and type.
type rawModule struct {
	name, commands, typ string
}

// funcFacts is what a directive handler's body says about the directive.
type funcFacts struct {
	// dup: returns "is duplicate" whatever the arguments: once, with
	// no loop and no comparison with "off" before it. limit_conn (the
	// same zone twice), mirror and proxy_redirect ("off" with others)
	// refuse only some repetitions, and are left out.
	dup        bool
	handler    bool     // sets cf->handler: parses its block itself
	luaBlock   bool     // parses a Lua block
	cmdTypes   []string // values assigned to cf->cmd_type
	moduleType string   // value assigned to cf->module_type
	calls      []string // functions it hands (cf, cmd, conf) to
	handlers   []string // functions it makes cf->handler
}

var (
	reCommands = regexp.MustCompile(`ngx_command_t\s+(\w+)\s*\[\s*\]\s*=\s*\{`)
	reModule   = regexp.MustCompile(`ngx_module_t\s+(\w+)\s*=\s*\{`)
	reTable    = regexp.MustCompile(`ngx_conf_(?:enum|bitmask)_t\s+(\w+)\s*\[\s*\]\s*=\s*\{`)
	reFunc     = regexp.MustCompile(`(?m)^(?:static\s+)?(?:char\s*\*\s*)?(\w+)\s*\(\s*ngx_conf_t\s*\*\s*cf\b[^)]*\)\s*\{`)
	reBounds   = regexp.MustCompile(`ngx_conf_num_bounds_t\s+(\w+)\s*=\s*\{([^}]*)\}`)
	reDefine   = regexp.MustCompile(`(?m)^[ \t]*#[ \t]*define[ \t]+(\w+)[ \t]+([^\n]+)$`)
	reString   = regexp.MustCompile(`ngx_string\s*\(\s*"([^"]*)"\s*\)`)
	reCmdType  = regexp.MustCompile(`cf->cmd_type\s*=\s*(\w+)`)
	reModType  = regexp.MustCompile(`cf->module_type\s*=\s*(\w+)`)
	reCall     = regexp.MustCompile(`(\w+)\(\s*cf\s*,\s*cmd\s*,\s*conf\s*\)`)
	reHandler  = regexp.MustCompile(`cf->handler\s*=\s*(\w+)`)
)

// parseC extracts the facts of one C file.
func parseC(src string) *fileFacts {
	s := preprocess(src)
	f := &fileFacts{commands: map[string][]rawCommand{}, tables: map[string][]string{}, bounds: map[string][2]int64{},
		funcs: map[string]funcFacts{}, defines: map[string]string{}}
	for _, m := range reDefine.FindAllStringSubmatch(s, -1) {
		f.defines[m[1]] = strings.TrimSpace(m[2])
	}
	for _, loc := range reCommands.FindAllStringSubmatchIndex(s, -1) {
		body := braced(s, loc[1]-1)
		f.commands[s[loc[2]:loc[3]]] = parseCommands(body)
	}
	for _, loc := range reModule.FindAllStringSubmatchIndex(s, -1) {
		fields := splitTop(braced(s, loc[1]-1))
		if len(fields) < 4 {
			continue
		}
		f.modules = append(f.modules, rawModule{name: s[loc[2]:loc[3]], commands: strings.TrimSpace(fields[2]), typ: strings.TrimSpace(fields[3])})
	}
	for _, loc := range reTable.FindAllStringSubmatchIndex(s, -1) {
		var words []string
		for _, m := range reString.FindAllStringSubmatch(braced(s, loc[1]-1), -1) {
			words = append(words, m[1])
		}
		f.tables[s[loc[2]:loc[3]]] = words
	}
	for _, m := range reBounds.FindAllStringSubmatch(s, -1) {
		fields := splitTop(m[2])
		if len(fields) != 3 || strings.TrimSpace(fields[0]) != "ngx_conf_check_num_bounds" {
			continue
		}
		lo, err1 := strconv.ParseInt(strings.TrimSpace(fields[1]), 0, 64)
		hi, err2 := strconv.ParseInt(strings.TrimSpace(fields[2]), 0, 64)
		if err1 == nil && err2 == nil {
			f.bounds[m[1]] = [2]int64{lo, hi}
		}
	}
	for _, loc := range reFunc.FindAllStringSubmatchIndex(s, -1) {
		body := braced(s, loc[1]-1)
		ff := funcFacts{
			dup:      unconditionalDup(body),
			handler:  strings.Contains(body, "cf->handler ="),
			luaBlock: strings.Contains(body, "lua_block_parse("),
		}
		for _, m := range reCmdType.FindAllStringSubmatch(body, -1) {
			ff.cmdTypes = append(ff.cmdTypes, m[1])
		}
		if m := reModType.FindStringSubmatch(body); m != nil {
			ff.moduleType = m[1]
		}
		for _, m := range reCall.FindAllStringSubmatch(body, -1) {
			ff.calls = append(ff.calls, m[1])
		}
		for _, m := range reHandler.FindAllStringSubmatch(body, -1) {
			ff.handlers = append(ff.handlers, m[1])
		}
		f.funcs[s[loc[2]:loc[3]]] = ff
	}
	return f
}

// preprocess removes comments and the text of "#if 0" sections (nginx
// keeps disabled commands that way), and joins continued lines, leaving
// string literals alone.
func preprocess(src string) string {
	var b strings.Builder
	b.Grow(len(src))
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case c == '"' || c == '\'':
			j := i + 1
			for j < len(src) && src[j] != c && src[j] != '\n' {
				if src[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(src) {
				j = len(src) - 1
			}
			b.WriteString(src[i : j+1])
			i = j
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				return b.String()
			}
			// Keep the line count; nothing here needs it, but a newline
			// keeps a define that ends in a comment on its own line.
			b.WriteString(strings.Repeat("\n", strings.Count(src[i:i+2+end+2], "\n")))
			b.WriteByte(' ')
			i += 2 + end + 1
		case c == '/' && i+1 < len(src) && src[i+1] == '/':
			for i < len(src) && src[i] != '\n' {
				i++
			}
			i--
		case c == '\\' && i+1 < len(src) && src[i+1] == '\n':
			i++
		default:
			b.WriteByte(c)
		}
	}
	return dropIf0(b.String())
}

var reIf0 = regexp.MustCompile(`^#\s*if\s+0\b`)

// dropIf0 removes "#if 0" ... "#else"/"#endif" text, tracking nested
// conditionals so an inner #endif does not end it.
func dropIf0(s string) string {
	lines := strings.Split(s, "\n")
	out := lines[:0]
	skipDepth := 0 // >0: inside an #if 0 at this nesting
	depth := 0
	for _, l := range lines {
		t := strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(t, "#if"):
			depth++
			if skipDepth == 0 && reIf0.MatchString(t) {
				skipDepth = depth
				continue
			}
		case strings.HasPrefix(t, "#endif"):
			if skipDepth == depth {
				skipDepth = 0
				depth--
				continue
			}
			depth--
		case strings.HasPrefix(t, "#else") || strings.HasPrefix(t, "#elif"):
			if skipDepth == depth {
				skipDepth = 0
				continue
			}
		}
		if skipDepth == 0 {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// braced returns the text between the '{' at open and its matching '}'.
func braced(s string, open int) string {
	depth := 0
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '"', '\'':
			q := s[i]
			for i++; i < len(s) && s[i] != q; i++ {
				if s[i] == '\\' {
					i++
				}
			}
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return s[open+1 : i]
			}
		}
	}
	return s[open+1:]
}

// splitTop splits s at the commas outside parentheses, braces and strings.
func splitTop(s string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"', '\'':
			q := s[i]
			for i++; i < len(s) && s[i] != q; i++ {
				if s[i] == '\\' {
					i++
				}
			}
		case '(', '{', '[':
			depth++
		case ')', '}', ']':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	if strings.TrimSpace(s[start:]) != "" {
		out = append(out, s[start:])
	}
	return out
}

// parseCommands reads the entries of an ngx_command_t array body. Lines
// of preprocessor conditionals between entries are dropped (both branches
// of an #if are kept: the table describes what some build has).
func parseCommands(body string) []rawCommand {
	var lines []string
	for _, l := range strings.Split(body, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			lines = append(lines, l)
		}
	}
	var out []rawCommand
	for _, e := range splitTop(strings.Join(lines, "\n")) {
		e = strings.TrimSpace(e)
		if !strings.HasPrefix(e, "{") {
			continue // ngx_null_command
		}
		f := splitTop(braced(e, 0))
		if len(f) < 6 {
			continue
		}
		m := reString.FindStringSubmatch(f[0])
		if m == nil {
			continue
		}
		tr := func(i int) string { return strings.Join(strings.Fields(f[i]), " ") }
		out = append(out, rawCommand{name: m[1], typ: tr(1), set: tr(2), conf: tr(3), offset: tr(4), post: tr(5)})
	}
	return out
}

// evalFlags evaluates an OR of macros and numbers ("NGX_HTTP_LOC_CONF|
// NGX_CONF_TAKE1") with the defines seen; it returns the names it could
// not resolve.
func evalFlags(expr string, defines map[string]string) (uint64, []string) {
	var v uint64
	var unknown []string
	var eval func(e string, depth int)
	eval = func(e string, depth int) {
		for _, tok := range strings.Split(e, "|") {
			tok = strings.Trim(strings.TrimSpace(tok), "() \t")
			if tok == "" {
				continue
			}
			if strings.ContainsAny(tok, "|") {
				eval(tok, depth+1)
				continue
			}
			if n, err := strconv.ParseUint(tok, 0, 64); err == nil {
				v |= n
				continue
			}
			if d, ok := defines[tok]; ok && depth < 10 {
				eval(d, depth+1)
				continue
			}
			unknown = append(unknown, tok)
		}
	}
	eval(expr, 0)
	return v, unknown
}

// unconditionalDup is funcFacts.dup for a handler body.
func unconditionalDup(body string) bool {
	const lit = `"is duplicate"`
	i := strings.Index(body, lit)
	if i < 0 || strings.Count(body, lit) != 1 {
		return false
	}
	before := body[:i]
	for _, cond := range []string{"for (", "while (", `"off"`, "ngx_strcmp(", "ngx_strcasecmp("} {
		if strings.Contains(before, cond) {
			return false
		}
	}
	return true
}

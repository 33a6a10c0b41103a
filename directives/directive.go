package directives

import "strings"

// Context is a set of configuration contexts. nginx encodes a context as a
// module type plus bits that mean different things per type (bit 0x02000000
// is NGX_HTTP_MAIN_CONF, NGX_STREAM_MAIN_CONF, NGX_MAIL_MAIN_CONF and
// NGX_EVENT_CONF); here every context has a bit of its own, so one mask can
// say "http, server and location" without the module type.
type Context uint32

// The contexts. Their nginx names are in contextNames.
const (
	Main       Context = 1 << iota // top level (NGX_MAIN_CONF of a core module)
	Events                         // events {} (NGX_EVENT_CONF)
	HTTPMain                       // http {}
	HTTPSrv                        // http server {}
	HTTPLoc                        // location {}
	HTTPUps                        // http upstream {}
	HTTPSif                        // if {} in a server
	HTTPLif                        // if {} in a location
	HTTPLmt                        // limit_except {}
	StreamMain                     // stream {}
	StreamSrv                      // stream server {}
	StreamUps                      // stream upstream {}
	MailMain                       // mail {}
	MailSrv                        // mail server {}

	// AnyContext is every context: NGX_ANY_CONF of the conf module
	// (include), which nginx accepts wherever directives are read.
	AnyContext = Main | Events | HTTPMain | HTTPSrv | HTTPLoc | HTTPUps | HTTPSif | HTTPLif | HTTPLmt |
		StreamMain | StreamSrv | StreamUps | MailMain | MailSrv
)

var contextNames = []struct {
	c    Context
	name string
}{
	{Main, "main"}, {Events, "events"},
	{HTTPMain, "http"}, {HTTPSrv, "server"}, {HTTPLoc, "location"}, {HTTPUps, "upstream"},
	{HTTPSif, "if in server"}, {HTTPLif, "if in location"}, {HTTPLmt, "limit_except"},
	{StreamMain, "stream"}, {StreamSrv, "stream server"}, {StreamUps, "stream upstream"},
	{MailMain, "mail"}, {MailSrv, "mail server"},
}

// String lists the contexts in nginx's documentation words ("http, server,
// location").
func (c Context) String() string {
	if c == AnyContext {
		return "any"
	}
	var parts []string
	for _, n := range contextNames {
		if c&n.c != 0 {
			parts = append(parts, n.name)
		}
	}
	return strings.Join(parts, ", ")
}

// ParseContext reads one context name as String writes it, plus the short
// forms a configuration file may use ("if", "stream_server", "any").
func ParseContext(s string) (Context, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "any":
		return AnyContext, true
	case "if":
		return HTTPSif | HTTPLif, true
	}
	s = strings.ReplaceAll(s, "_", " ")
	for _, n := range contextNames {
		if n.name == s {
			return n.c, true
		}
	}
	return 0, false
}

// Args is nginx's argument-count flags (NGX_CONF_NOARGS ... NGX_CONF_2MORE,
// src/core/ngx_conf_file.h), with nginx's bit values so that the generator
// can copy them.
type Args uint32

// The argument flags, NGX_CONF_* of src/core/ngx_conf_file.h.
const (
	NoArgs Args = 0x00000001
	Take1  Args = 0x00000002
	Take2  Args = 0x00000004
	Take3  Args = 0x00000008
	Take4  Args = 0x00000010
	Take5  Args = 0x00000020
	Take6  Args = 0x00000040
	Take7  Args = 0x00000080
	Block  Args = 0x00000100
	Flag   Args = 0x00000200
	AnyArg Args = 0x00000400 // NGX_CONF_ANY
	More1  Args = 0x00000800 // NGX_CONF_1MORE
	More2  Args = 0x00001000 // NGX_CONF_2MORE

	argsNumber = 0x000000ff // NGX_CONF_ARGS_NUMBER
	// maxArgs is NGX_CONF_MAX_ARGS: with none of ANY/FLAG/1MORE/2MORE a
	// directive takes at most 7 arguments (8 words with its name).
	maxArgs = 7
)

// Accepts reports whether nginx accepts n arguments (the words after the
// name) for a directive with these flags. It is ngx_conf_handler's test,
// in its order: ANY takes anything; FLAG exactly one; 1MORE and 2MORE at
// least one or two; otherwise the TAKEn bit for n.
func (a Args) Accepts(n int) bool {
	switch {
	case a&AnyArg != 0:
		return true
	case a&Flag != 0:
		return n == 1
	case a&More1 != 0:
		return n >= 1
	case a&More2 != 0:
		return n >= 2
	case n < 0 || n > maxArgs:
		return false
	}
	return a&(1<<n) != 0
}

// String writes the flags as nginx's macros without the NGX_CONF_ prefix
// ("TAKE12|BLOCK").
func (a Args) String() string {
	var parts []string
	for _, f := range []struct {
		a    Args
		name string
	}{{AnyArg, "ANY"}, {Flag, "FLAG"}, {More1, "1MORE"}, {More2, "2MORE"}} {
		if a&f.a != 0 {
			parts = append(parts, f.name)
		}
	}
	if a&NoArgs != 0 {
		parts = append(parts, "NOARGS")
	}
	if n := a & argsNumber &^ NoArgs; n != 0 {
		var b strings.Builder
		b.WriteString("TAKE")
		for i := 1; i <= maxArgs; i++ {
			if n&(1<<i) != 0 {
				b.WriteByte(byte('0' + i))
			}
		}
		parts = append(parts, b.String())
	}
	if a&Block != 0 {
		parts = append(parts, "BLOCK")
	}
	return strings.Join(parts, "|")
}

// Value is the parser nginx applies to a directive's arguments: one of
// the ngx_conf_set_*_slot functions of src/core/ngx_conf_file.c, or Other
// for a module's own handler (which this package does not model).
type Value uint8

// The value parsers.
const (
	Other    Value = iota // the module's own handler
	FlagV                 // ngx_conf_set_flag_slot: on | off
	Str                   // ngx_conf_set_str_slot
	StrArray              // ngx_conf_set_str_array_slot
	KeyVal                // ngx_conf_set_keyval_slot
	Num                   // ngx_conf_set_num_slot: ngx_atoi
	Size                  // ngx_conf_set_size_slot: ngx_parse_size
	Off                   // ngx_conf_set_off_slot: ngx_parse_offset
	Msec                  // ngx_conf_set_msec_slot: ngx_parse_time(, 0)
	Sec                   // ngx_conf_set_sec_slot: ngx_parse_time(, 1)
	Bufs                  // ngx_conf_set_bufs_slot: number and size
	Enum                  // ngx_conf_set_enum_slot: one of Values
	Bitmask               // ngx_conf_set_bitmask_slot: some of Values
	Path                  // ngx_conf_set_path_slot
	Access                // ngx_conf_set_access_slot
)

var valueNames = [...]string{"other", "flag", "str", "str_array", "keyval", "num", "size", "off", "msec", "sec", "bufs", "enum", "bitmask", "path", "access"}

func (v Value) String() string {
	if int(v) < len(valueNames) {
		return valueNames[v]
	}
	return "unknown"
}

// Body says what nginx reads inside a block directive's braces.
type Body uint8

// The kinds of block bodies.
const (
	// NotBlock: the directive takes no block.
	NotBlock Body = iota
	// Directives: the block holds directives of the contexts in Opens.
	Directives
	// Custom: the module parses the block itself (cf->handler), as
	// types {}, map {}, geo {}, split_clients {}, charset_map {}: its
	// lines are entries, not directives.
	Custom
	// Lua: the block is Lua code (*_by_lua_block).
	Lua
	// Unknown: nginx parses the block as directives of a context the
	// generator could not tell; its contents are not checked.
	Unknown
)

// Directive is one directive as one module declares it. A name can have
// several entries (server in http, upstream, stream and mail; listen in
// http, stream and mail): nginx takes the first module of the right type
// whose entry allows the context (ngx_conf_handler).
type Directive struct {
	Name   string
	Module string // the ngx_module_t, e.g. "ngx_http_proxy_module"
	// Contexts is where nginx accepts the directive.
	Contexts Context
	Args     Args
	Value    Value
	// Values are the accepted words of an Enum or Bitmask, as nginx
	// spells them (nginx compares them case-insensitively).
	Values []string
	// Bounded: a Num whose post is ngx_conf_check_num_bounds, which
	// refuses values outside Low..High (High -1: no upper bound).
	Bounded   bool
	Low, High int64
	// Dup: the handler returns "is duplicate" when the directive already
	// set its field, so nginx refuses it twice in one block.
	Dup bool
	// Body and Opens describe a block directive: what its braces hold and,
	// for Directives, the context(s) they are in. Two contexts (if: server
	// or location) are resolved by the enclosing one.
	Body  Body
	Opens Context
	// Since and Until bound the versions of the module's versioning
	// scheme (nginx for nginx's modules, lua-nginx-module for
	// ngx_http_lua_module) the directive exists in: Since is the first
	// release that has it ("" for the first release read), Until the
	// first release that no longer has it ("" for the newest release
	// read). Modules read at one revision have neither.
	Since, Until string
}

// ConfigurableContexts lists the context names ParseContext accepts, for
// messages about a wrong one.
func ConfigurableContexts() []string {
	out := make([]string, 0, len(contextNames)+2)
	for _, n := range contextNames {
		out = append(out, strings.ReplaceAll(n.name, " ", "_"))
	}
	return append(out, "if", "any")
}

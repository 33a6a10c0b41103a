package directives

import (
	"slices"
	"strings"
	"testing"

	"github.com/ngxlint/ngxlint/versions"
)

// TestTableShape checks invariants every entry must hold, so a generator
// change that breaks the parse of the C sources shows up here.
func TestTableShape(t *testing.T) {
	if len(table) < 1000 {
		t.Fatalf("table has %d entries; the generator lost most of them", len(table))
	}
	for i, d := range table {
		if i > 0 && table[i-1].Name > d.Name {
			t.Fatalf("table not sorted at %s", d.Name)
		}
		if d.Contexts == 0 || d.Args == 0 {
			t.Errorf("%s (%s): contexts %v args %v", d.Name, d.Module, d.Contexts, d.Args)
		}
		if _, ok := LookupModule(d.Module); !ok {
			t.Errorf("%s: module %s not in the module list", d.Name, d.Module)
		}
		if (d.Value == Enum || d.Value == Bitmask) && len(d.Values) == 0 {
			t.Errorf("%s: %v without values", d.Name, d.Value)
		}
		if (d.Args&Block != 0) != (d.Body != NotBlock) {
			t.Errorf("%s: block flag and body disagree", d.Name)
		}
	}
	// Facts checked by hand against nginx's documentation.
	for _, c := range []struct {
		name, module string
		ctx          Context
		args         string
		value        Value
		dup          bool
	}{
		{"proxy_buffering", "ngx_http_proxy_module", HTTPMain | HTTPSrv | HTTPLoc, "FLAG", FlagV, true},
		{"proxy_next_upstream", "ngx_http_proxy_module", HTTPMain | HTTPSrv | HTTPLoc, "1MORE", Bitmask, false},
		{"worker_rlimit_nofile", "ngx_core_module", Main, "TAKE1", Num, true},
		{"location", "ngx_http_core_module", HTTPSrv | HTTPLoc, "TAKE12|BLOCK", Other, false},
		{"content_by_lua_block", "ngx_http_lua_module", HTTPLoc | HTTPLif, "NOARGS|BLOCK", Other, true},
		{"include", "ngx_conf_module", AnyContext, "TAKE1", Other, false},
	} {
		var d *Directive
		for _, e := range Lookup(c.name) {
			if e.Module == c.module {
				d = &e
			}
		}
		if d == nil {
			t.Errorf("%s of %s missing", c.name, c.module)
			continue
		}
		if d.Contexts != c.ctx || d.Args.String() != c.args || d.Value != c.value || d.Dup != c.dup {
			t.Errorf("%s: got %v / %v / %v / dup %v, want %v / %s / %v / dup %v", c.name, d.Contexts, d.Args, d.Value, d.Dup, c.ctx, c.args, c.value, c.dup)
		}
	}
	if d := Lookup("types")[0]; d.Body != Custom {
		t.Errorf("types body %v, want Custom (its lines are MIME entries)", d.Body)
	}
	if d := Lookup("if")[0]; d.Opens != HTTPSif|HTTPLif {
		t.Errorf("if opens %v", d.Opens)
	}
}

func TestArgsAccepts(t *testing.T) {
	for _, c := range []struct {
		a    Args
		n    int
		want bool
	}{
		{NoArgs, 0, true}, {NoArgs, 1, false}, {Take1 | Take2, 2, true}, {Take1 | Take2, 3, false},
		{Flag, 1, true}, {Flag, 2, false}, {More1, 0, false}, {More1, 9, true}, {More2, 1, false},
		{AnyArg, 0, true}, {Take7, 7, true}, {Take7, 8, false},
	} {
		if got := c.a.Accepts(c.n); got != c.want {
			t.Errorf("%v.Accepts(%d) = %v", c.a, c.n, got)
		}
	}
}

// TestParsers follows ngx_parse_time / ngx_parse_size / ngx_atoi case by
// case (src/core/ngx_parse.c, ngx_string.c).
func TestParsers(t *testing.T) {
	for _, c := range []struct {
		s     string
		isSec bool
		want  int64
		ok    bool
	}{
		{"60", false, 60000, true}, {"500ms", false, 500, true}, {"1h 30m", false, 5400000, true},
		{"1h30m", true, 5400, true}, {"1y", true, 31536000, true}, {"1y", false, 0, false},
		{"10ms", true, 0, false}, {"5s 5m", false, 0, false}, {"", false, 0, false}, {"1x", false, 0, false},
		{"1d 2", true, 86402, true}, {"99999999999999999999", true, 0, false},
	} {
		got, ok := ParseTime(c.s, c.isSec)
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("ParseTime(%q, %v) = %d, %v; want %d, %v", c.s, c.isSec, got, ok, c.want, c.ok)
		}
	}
	for _, c := range []struct {
		s    string
		off  bool
		want int64
		ok   bool
	}{
		{"8k", false, 8192, true}, {"1M", false, 1 << 20, true}, {"1g", false, 0, false}, {"1g", true, 1 << 30, true},
		{"k", false, 0, false}, {"-1", false, 0, false}, {"1.5m", false, 0, false},
	} {
		parse := ParseSize
		if c.off {
			parse = ParseOffset
		}
		got, ok := parse(c.s)
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("parse(%q, offset %v) = %d, %v", c.s, c.off, got, ok)
		}
	}
}

func TestCheckValueMessages(t *testing.T) {
	d := Lookup("proxy_buffering")[0]
	if p := d.CheckValue([]string{"yes"}); p == nil || p.Message != `invalid value "yes" in "proxy_buffering" directive, it must be "on" or "off"` {
		t.Errorf("flag: %+v", p)
	}
	if p := d.CheckValue([]string{"ON"}); p != nil {
		t.Errorf("nginx compares on/off without case: %+v", p)
	}
	nu := Lookup("proxy_next_upstream")
	var http Directive
	for _, e := range nu {
		if e.Module == "ngx_http_proxy_module" {
			http = e
		}
	}
	if p := http.CheckValue([]string{"error", "timout"}); p == nil || p.Arg != 1 || p.Message != `invalid value "timout"` {
		t.Errorf("bitmask: %+v", p)
	}
	rt := Lookup("proxy_read_timeout")[0]
	if p := rt.CheckValue([]string{"$t"}); p == nil || p.Message != `"proxy_read_timeout" directive invalid value` {
		t.Errorf("msec with a variable (nginx refuses it): %+v", p)
	}
}

func TestSuggest(t *testing.T) {
	for name, want := range map[string]string{
		"proxy_next_upsteam": "proxy_next_upstream",
		"proxy_bufferring":   "proxy_buffering",
		"server_nmae":        "server_name",
		"lcoation":           "location",
	} {
		if got := Suggest(name, nil); !slices.Contains(got, want) {
			t.Errorf("Suggest(%q) = %v, want %s", name, got, want)
		}
	}
	if got := Suggest("my_company_auth_check", nil); len(got) != 0 {
		t.Errorf("Suggest of an unrelated name = %v", got)
	}
}

func TestExistsIn(t *testing.T) {
	p, err := versions.Resolve("1.22.1", "", "")
	if err != nil {
		t.Fatal(err)
	}
	http2 := Lookup("http2")[0]
	if ok, why := http2.ExistsIn(p); ok || !strings.Contains(why, "appeared in nginx 1.25.1") {
		t.Errorf("http2 on 1.22.1: %v %q", ok, why)
	}
	if ok, _ := Lookup("proxy_pass")[0].ExistsIn(p); !ok {
		t.Error("proxy_pass missing from 1.22.1")
	}
	if ok, _ := http2.ExistsIn(versions.Profile{}); !ok {
		t.Error("with no version declared, every directive exists")
	}
}

func TestModuleSet(t *testing.T) {
	s, err := NewModuleSet([]string{"echo-nginx-module", "ngx_stream_module.so"}, []Extra{
		{Name: "company_auth", Contexts: []string{"location", "if"}, Args: "1-2"},
		{Name: "company_zone", Args: "2+", Block: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !s.Loaded("ngx_http_echo_module") || !s.Loaded("ngx_stream_proxy_module") || s.Loaded("ngx_http_lua_module") || !s.Closed() {
		t.Errorf("loaded/closed wrong: %+v", s)
	}
	ca := s.Extra("company_auth")
	if len(ca) != 1 || ca[0].Contexts != HTTPLoc|HTTPSif|HTTPLif || !ca[0].Args.Accepts(2) || ca[0].Args.Accepts(3) {
		t.Errorf("company_auth %+v", ca)
	}
	if cz := s.Extra("company_zone"); len(cz) != 1 || cz[0].Body != Unknown || !cz[0].Args.Accepts(5) || cz[0].Args.Accepts(1) {
		t.Errorf("company_zone %+v", cz)
	}
	var open *ModuleSet
	if open.Closed() || open.Loaded("x") || open.Extra("x") != nil {
		t.Error("a nil set declares nothing")
	}
	for _, bad := range []struct {
		load  []string
		extra []Extra
		want  string
	}{
		{[]string{"nope"}, nil, "not a module ngxlint knows"},
		{nil, []Extra{{Name: "a b"}}, "one word"},
		{nil, []Extra{{Name: "x", Args: "9"}}, `args "9"`},
		{nil, []Extra{{Name: "x", Contexts: []string{"serverr"}}}, `context "serverr"`},
	} {
		if _, err := NewModuleSet(bad.load, bad.extra); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%v %v: %v, want %q", bad.load, bad.extra, err, bad.want)
		}
	}
}

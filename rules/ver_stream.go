package rules

import (
	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/versions"
)

// Known stream-subsystem bugs (docs/knowledge.md, "Stream upstreams").

// sluaRange is exposed when from <= stream-lua-nginx-module < to ("" =
// open). Only an OpenResty bundle says which stream-lua it ships; any other
// profile is versionUnknown.
func sluaRange(from, to string) func(versions.Profile) exposure {
	return func(p versions.Profile) exposure {
		v, ok := p.StreamLua()
		if !ok {
			return versionUnknown
		}
		if v.InRange(from, to) {
			return exposed
		}
		return notExposed
	}
}

// bugSLUALogByNotInherited: before v0.0.14, ngx_stream_lua_merge_srv_conf
// did not copy log_src / log_handler from the stream{} level into a
// server, so a log_by_lua* written in stream{} never ran (7a3acd6, PR
// #321).
var bugSLUALogByNotInherited = verBug{
	kid:      "SLUA-LOGBY-NOT-INHERITED",
	affects:  "stream-lua-nginx-module < 0.0.14 (OpenResty 1.13.6.1-1.21.4.4)",
	fixed:    "stream-lua-nginx-module 0.0.14 (7a3acd6), OpenResty 1.25.3.1",
	exposure: sluaRange("", "0.0.14"),
}

// VerSLUALogByNotInherited is SLUA-LOGBY-NOT-INHERITED.
var VerSLUALogByNotInherited = &analyzer.Rule{
	ID:       "VER1025",
	Slug:     "slua-logby-not-inherited",
	Severity: analyzer.Warning,
	Doc: analyzer.Doc{
		Title: "log_by_lua* in the stream{} block never runs (SLUA-LOGBY-NOT-INHERITED)",
		Text: `stream-lua-nginx-module before 0.0.14 did not let stream servers inherit a log_by_lua* written in
the stream{} block: ngx_stream_lua_merge_srv_conf copied preread_by_lua* and content_by_lua* from the
parent but not the log handler, so the code ran for no session (fixed by 7a3acd6, PR #321, in v0.0.14,
first shipped in OpenResty 1.25.3.1). Reported at such a log_by_lua* when some stream server has no
log_by_lua* of its own; write it in each server, or upgrade.`,
		Bad: `stream {
    log_by_lua_block {
        ngx.log(ngx.INFO, "session done: ", ngx.var.upstream_addr)
    }
    server {
        listen 9000;
        proxy_pass 127.0.0.1:5432;
    }
}
`,
		Versions:     "bad: openresty=1.21.4.1; good: openresty=1.25.3.1",
		Affected:     "stream-lua-nginx-module < 0.0.14 (OpenResty 1.13.6.1-1.21.4.4)",
		Fixed:        "stream-lua-nginx-module 0.0.14 (7a3acd6), OpenResty 1.25.3.1",
		Since:        "0.1.0",
		References:   []string{"docs/knowledge.md: SLUA-LOGBY-NOT-INHERITED", "https://github.com/openresty/stream-lua-nginx-module/pull/321", "stream-lua-nginx-module 7a3acd6 (src/ngx_stream_lua_module.c ngx_stream_lua_merge_srv_conf)"},
		Confirmation: "not confirmable: the emulator does not run the log phase.",
	},
	Run: func(pass *analyzer.Pass) error {
		m := pass.Model
		if m == nil || m.Stream == nil {
			return nil
		}
		e := bugSLUALogByNotInherited.gate(pass.Profile)
		if e == notExposed {
			return nil
		}
		var bare *nginxconf.Server
		for _, s := range m.Stream.Servers {
			if !hasOwnLua(&s.Scope, "log_by_lua") {
				bare = s
				break
			}
		}
		if bare == nil {
			return nil
		}
		for _, d := range m.Stream.Directives {
			if !isLuaPhaseDirective(d.Name, "log_by_lua") {
				continue
			}
			diag := &analyzer.Diagnostic{Pos: d.Pos, End: d.End,
				Related: []analyzer.Related{{Pos: bare.Directive.Pos, Message: "this stream server has no log_by_lua* of its own"}}}
			bugSLUALogByNotInherited.report(pass, e, diag, "this stream-level log_by_lua* never runs",
				"Stream servers do not inherit it, so no session runs the code; write it in each server")
		}
		return nil
	},
}

// bugNGXSSLPrereadSkipsLua: ngx_stream_ssl_preread_handler returns NGX_OK
// once it has parsed a ClientHello, and ngx_stream_core_preread_phase then
// jumps to the next phase, skipping the preread handlers registered after
// it, stream-lua's among them (nginx release-1.22.1
// src/stream/ngx_stream_core_module.c, ngx_stream_ssl_preread_module.c).
// OpenResty's nginx patch stream_ssl_preread_no_skip (openresty 93f785e,
// applied by util/mirror-tarballs from 1.13.6.2) makes it decline instead.
var bugNGXSSLPrereadSkipsLua = verBug{
	kid:      "NGX-SSL-PREREAD-SKIPS-LUA",
	affects:  "nginx without OpenResty's stream_ssl_preread_no_skip patch (stock nginx with stream-lua-nginx-module, OpenResty <= 1.13.6.1)",
	fixed:    "OpenResty 1.13.6.2 (the stream_ssl_preread_no_skip nginx patch, openresty 93f785e); stock nginx has no fix",
	exposure: sslPrereadUnpatched,
}

// sslPrereadUnpatched: exposed on a declared stock nginx and on OpenResty
// before 1.13.6.2.
func sslPrereadUnpatched(p versions.Profile) exposure {
	switch {
	case p.IsOpenResty():
		if p.OpenResty.Less("1.13.6.2") {
			return exposed
		}
		return notExposed
	case p.HasNginx():
		return exposed
	}
	return versionUnknown
}

// VerNGXSSLPrereadSkipsLua is NGX-SSL-PREREAD-SKIPS-LUA.
var VerNGXSSLPrereadSkipsLua = &analyzer.Rule{
	ID:       "VER1026",
	Slug:     "ngx-ssl-preread-skips-lua",
	Severity: analyzer.Warning,
	Doc: analyzer.Doc{
		Title: "ssl_preread on skips preread_by_lua* for TLS clients (NGX-SSL-PREREAD-SKIPS-LUA)",
		Text: `In nginx's stream preread phase a handler that returns NGX_OK ends the phase: the handlers after
it do not run (ngx_stream_core_preread_phase). ngx_stream_ssl_preread_handler returns NGX_OK as soon as
it has parsed a TLS ClientHello, and stream-lua's preread handler comes after it, so with ssl_preread on
the preread_by_lua* code never runs for TLS clients (it still runs for anything that is not a
ClientHello). OpenResty patches nginx (stream_ssl_preread_no_skip, from 1.13.6.2) so that ssl_preread
declines instead; stock nginx with stream-lua-nginx-module built in does not have the patch
(stream-lua-nginx-module issue #153).`,
		Bad: `stream {
    server {
        listen 443;
        ssl_preread on;
        preread_by_lua_block {
            ngx.var.backend = ngx.var.ssl_preread_server_name
        }
        proxy_pass 127.0.0.1:8443;
    }
}
`,
		Versions:     "bad: nginx=1.22.1; good: openresty=1.21.4.1",
		Affected:     "nginx without OpenResty's stream_ssl_preread_no_skip patch (stock nginx with stream-lua-nginx-module, OpenResty <= 1.13.6.1)",
		Fixed:        "OpenResty 1.13.6.2 (stream_ssl_preread_no_skip, openresty 93f785e); stock nginx has no fix",
		Since:        "0.1.0",
		References:   []string{"docs/knowledge.md: NGX-SSL-PREREAD-SKIPS-LUA", "https://github.com/openresty/stream-lua-nginx-module/issues/153", "nginx src/stream/ngx_stream_core_module.c ngx_stream_core_preread_phase", "openresty 93f785e (patches/nginx-*-stream_ssl_preread_no_skip.patch)"},
		Confirmation: "not confirmable: the emulator does not run the preread phase.",
	},
	Run: func(pass *analyzer.Pass) error {
		m := pass.Model
		if m == nil || m.Stream == nil {
			return nil
		}
		e := bugNGXSSLPrereadSkipsLua.gate(pass.Profile)
		if e == notExposed {
			return nil
		}
		seen := map[*nginxconf.Directive]bool{}
		for _, s := range m.Stream.Servers {
			on := s.Effective("ssl_preread")
			if on == nil || on.Arg(0) != "on" {
				continue
			}
			// One preread handler per server: its own, else the stream
			// block's (ngx_stream_lua_merge_srv_conf).
			d := ownLuaPhase(&s.Scope, "preread_by_lua")
			if d == nil {
				d = ownLuaPhase(&m.Stream.Scope, "preread_by_lua")
			}
			if d == nil || seen[d] {
				continue
			}
			seen[d] = true
			reportSSLPreread(pass, e, d, on)
		}
		return nil
	},
}

func reportSSLPreread(pass *analyzer.Pass, e exposure, d, on *nginxconf.Directive) {
	diag := &analyzer.Diagnostic{Pos: d.Pos, End: d.End,
		Related: []analyzer.Related{{Pos: on.Pos, End: on.End, Message: "ssl_preread on"}}}
	bugNGXSSLPrereadSkipsLua.report(pass, e, diag, "preread_by_lua* does not run for TLS clients with ssl_preread on",
		"ngx_stream_ssl_preread_handler ends the preread phase once it has parsed the ClientHello, before stream-lua's handler")
}

// hasOwnLua reports whether the scope itself has a <base>_by_lua* directive.
func hasOwnLua(s *nginxconf.Scope, base string) bool { return ownLuaPhase(s, base) != nil }

// ownLuaPhase returns the scope's own last <base>, <base>_block or
// <base>_file directive (the one nginx keeps), nil when it has none.
func ownLuaPhase(s *nginxconf.Scope, base string) *nginxconf.Directive {
	var last *nginxconf.Directive
	for _, d := range s.Directives {
		if isLuaPhaseDirective(d.Name, base) {
			last = d
		}
	}
	return last
}

// isLuaPhaseDirective reports whether name is base, base_block or base_file.
func isLuaPhaseDirective(name, base string) bool {
	return name == base || name == base+"_block" || name == base+"_file"
}

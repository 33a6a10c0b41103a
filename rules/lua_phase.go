package rules

import (
	"fmt"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/luacheck"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// The OpenResty phase rules: facts from luacheck's API uses, judged
// against the embedded ngx_lua API table (contexts per API, since_version).

// LuaAPIWrongPhase flags an API used in a phase where lua-nginx-module
// disables it.
var LuaAPIWrongPhase = &analyzer.Rule{
	ID:       "LUA2001",
	Slug:     "lua-api-wrong-phase",
	Severity: analyzer.Error,
	Doc: analyzer.Doc{
		Title: "ngx API used in a phase that does not allow it",
		Text: `Each ngx.* API works only in some *_by_lua* phases: cosockets, ngx.sleep and subrequests need a
phase that can yield (not set_by_lua, header_filter, body_filter, log, balancer, init); output APIs
(ngx.say, ngx.print) only in content-producing phases. Outside them the call raises an error and the
request (or the worker start-up) fails: "API disabled in the context of log_by_lua*" from
lua-nginx-module's context check, "API disabled in the current context" from lua-resty-core or on the
fake request of a timer, "no request found" in init_by_lua*, "no upstream found" for ngx.balancer
without a request. Uses through local aliases ("local sleep = ngx.sleep") and required modules
("require "ngx.balancer"") count. The callbacks of ngx.timer.at and ngx.timer.every run later in the
timer context, whatever phase created them, and are judged there: a cosocket in a timer created from
log_by_lua* is fine. The verdicts are read from lua-nginx-module's and lua-resty-core's own checks
(ngx_http_lua_check_context masks, request and fake-request checks, get_phase() tests) per release,
for the declared lua-nginx-module version (the latest read when none is declared); APIs those sources
say nothing about fall back to the documentation's context lists.

Chunks of the stream{} block are judged by stream-lua-nginx-module's own checks instead
(luacheck/streamapi_gen.go, read out of its C per release: ngx.say and ngx.req.socket run in
preread_by_lua* and content_by_lua*, cosockets and ngx.sleep not in log_by_lua* or balancer_by_lua*); an
API those checks do not decide is not judged in stream. In a stream balancer, ngx.balancer's
enable_keepalive, recreate_request and set_upstream_tls and set_current_peer's host argument fail too:
lua-resty-core provides them to http only.`,
		Bad: `http {
    server {
        listen 80;
        location / {
            proxy_pass http://127.0.0.1:8080;
            log_by_lua_block {
                local sleep = ngx.sleep
                sleep(0.1)
            }
        }
    }
}
`,
		Good: `http {
    server {
        listen 80;
        location / {
            proxy_pass http://127.0.0.1:8080;
            log_by_lua_block {
                ngx.log(ngx.INFO, "done: ", ngx.var.status)
            }
        }
    }
}
`,
		Since: "0.1.0",
		References: []string{
			"luacheck/internal/apigen/phasefacts.json: per API and lua-nginx-module release, the contexts its checks allow, each check as file:line@tag",
			"https://github.com/openresty/lua-nginx-module/blob/master/src/ngx_http_lua_util.h (ngx_http_lua_check_context, ngx_http_lua_check_fake_request)",
			"https://github.com/openresty/lua-nginx-module/blob/master/src/ngx_http_lua_timer.c (ngx_http_lua_timer_handler: callbacks run in NGX_HTTP_LUA_CONTEXT_TIMER)",
			"https://github.com/openresty/lua-nginx-module#nginx-api-for-lua",
			"luacheck/internal/apigen/streamfacts.json: the same for stream-lua-nginx-module, per release",
			"lua-resty-core lib/ngx/balancer.lua (the http-only functions; d981e1b for stream's enable_keepalive)",
		},
		Confirmation: "not confirmable: the emulator runs balancer code only.",
	},
	Run: func(pass *analyzer.Pass) error {
		seen := map[string]bool{}
		lnm := declaredLNM(pass)
		for _, ref := range analysableLua(pass.Model) {
			res := luaFacts(pass, ref.Chunk)
			if ref.Subsystem == "stream" {
				reportStreamUnavailable(pass, ref, res)
			}
			for _, u := range res.APIUses {
				if u.Allowed != luacheck.Disallowed || strings.HasPrefix(u.Name, "ngx.balancer.") {
					continue
				}
				// A function is only disabled when called; taking an alias
				// ("local sleep = ngx.sleep") is fine, the call is reported.
				if api, ok := luacheck.LookupAPI(u.Name); ok && api.Function && !u.Call {
					continue
				}
				where := u.Context
				if u.Context == luacheck.TimerContext && res.Context != luacheck.TimerContext {
					where = fmt.Sprintf("a timer callback (created in %s)", res.Context)
				}
				text, details := refusalText(u.Name, u.Context, lnm)
				if ref.Subsystem == "stream" {
					text, details = streamRefusalText(u.Name, u.Context)
					where += " (stream)"
				}
				msg := fmt.Sprintf("%s cannot be used in %s: %s", u.Name, where, text)
				pass.Report(&analyzer.Diagnostic{Pos: u.Pos, End: u.End, Message: msg, Details: details,

					Related: []analyzer.Related{{Pos: ref.Directive.Pos, Message: ref.Directive.Name + " defined here"}}})
			}
			reportThroughModules(pass, ref, res.Context, seen)
		}
		return nil
	},
}

// decidingSource names, as file:line@tag, the check that gives the
// refusal's message: the request check for "no request found", else the
// context or fake-request check.
func decidingSource(r luacheck.Refusal) string {
	want := []string{" context mask ", " get_phase() ", " refuses a fake request"}
	if r.Message == "no request found" {
		want = []string{" needs a request"}
	}
	for _, w := range want {
		for _, s := range r.Sources {
			if i := strings.IndexByte(s, ' '); i > 0 && strings.Contains(s, w) && strings.Contains(s[:i], "@") {
				return s[:i]
			}
		}
	}
	return ""
}

// declaredLNM is the declared lua-nginx-module version, "" when none.
func declaredLNM(pass *analyzer.Pass) string {
	if pass.Profile.HasLNM() {
		return pass.Profile.LNM.String()
	}
	return ""
}

// refusalText says what the API does in the context, in the words it
// uses (luacheck.RefusalAt), for the headline; details says where the
// verdict comes from and where the API is allowed.
func refusalText(name, context, lnm string) (text, details string) {
	ctx := luacheck.NormalizeContext(context)
	text = fmt.Sprintf("it raises \"API disabled in the context of %s\"", ctx)
	var parts []string
	if r, ok := luacheck.RefusalAt(name, ctx, lnm); ok {
		text = fmt.Sprintf("it fails with %q", r.Message)
		if src := decidingSource(r); src != "" {
			parts = append(parts, "The check that refuses it: "+src)
		}
	}
	if api, ok := luacheck.LookupAPI(name); ok && len(api.Contexts) > 0 {
		parts = append(parts, name+" is allowed in "+strings.Join(api.Contexts, ", "))
	}
	return text, joinDetails(parts...)
}

// reportThroughModules reports, at the module's line, the APIs that the
// module functions ref's chunk calls use and that ref's phase disables
// (LUA2001), with the call site as related position: a module runs in
// the phase of whoever calls it. Each use is reported once per phase.
// streamRefusalText is refusalText for the stream subsystem, from the
// stream table (luacheck.StreamRefusalAt).
func streamRefusalText(name, context string) (text, details string) {
	ctx := luacheck.NormalizeContext(context)
	text = fmt.Sprintf("it raises \"API disabled in the context of %s\"", ctx)
	var parts []string
	if r, ok := luacheck.StreamRefusalAt(name, ctx, ""); ok {
		text = fmt.Sprintf("it fails with %q", r.Message)
		if src := decidingSource(r); src != "" {
			parts = append(parts, "The check that refuses it: "+src)
		}
	}
	if cs := luacheck.StreamContexts(name); len(cs) > 0 {
		parts = append(parts, name+" is allowed in stream's "+strings.Join(cs, ", "))
	}
	return text, joinDetails(parts...)
}

func reportThroughModules(pass *analyzer.Pass, ref *nginxconf.LuaRef, context string, seen map[string]bool) {
	lnm := declaredLNM(pass)
	for _, r := range reachOf(pass, ref.Chunk).uses {
		u := r.Use
		if strings.HasPrefix(u.Name, "ngx.balancer.") {
			continue
		}
		// What a timer callback reaches runs in the timer, whichever
		// phase made the timer.
		ctx, where := context, context
		if r.Timer {
			ctx, where = luacheck.TimerContext, fmt.Sprintf("a timer callback (created in %s)", context)
		}
		api, ok := luacheck.LookupAPI(u.Name)
		if !ok || api.Function && !u.Call {
			continue
		}
		stream := ref.Subsystem == "stream"
		if stream && luacheck.IsAllowedInStream(u.Name, ctx, "") != luacheck.Disallowed ||
			!stream && luacheck.IsAllowedAt(u.Name, ctx, lnm) != luacheck.Disallowed {
			continue
		}
		k := u.Pos.String() + " " + ctx
		if seen[k] {
			continue
		}
		seen[k] = true
		text, details := refusalText(u.Name, ctx, lnm)
		if stream {
			text, details = streamRefusalText(u.Name, ctx)
		}
		msg := fmt.Sprintf("%s cannot be used in %s when %s calls %s: %s", u.Name, where, ref.Directive.Name, callName(r.Call), text)
		pass.Report(&analyzer.Diagnostic{Pos: u.Pos, End: u.End, Message: msg, Details: details,

			Related: []analyzer.Related{{Pos: r.Call.Pos, End: r.Call.End, Message: fmt.Sprintf("%s called from %s here", callName(r.Call), ref.Directive.Name)}}})
	}
}

// callName is how a message names a module call: "peers.balance()".
func callName(c luacheck.ModuleCall) string {
	if c.Func == "" {
		return c.Module + "()"
	}
	return c.Module + "." + c.Func + "()"
}

// LuaAPITooNew flags an API newer than the declared module versions.
var LuaAPITooNew = &analyzer.Rule{
	ID:       "LUA2002",
	Slug:     "lua-api-too-new",
	Severity: analyzer.Error,
	Doc: analyzer.Doc{
		Title: "ngx API newer than the declared lua-nginx-module / lua-resty-core",
		Text: `The API appeared in a later lua-nginx-module or lua-resty-core than the one declared
(--openresty-version, --lua-nginx-module-version or the config file): on the deployed version it is
nil, and calling it fails with "attempt to call field ... (a nil value)". Only reported when a version is
declared.`,
		Bad: `http {
    upstream backend {
        server 0.0.0.1;
        balancer_by_lua_block {
            local b = require "ngx.balancer"
            assert(b.set_current_peer("127.0.0.1", 8080))
            b.set_timeouts(1, 1, 1)
        }
    }
}
`,
		Good: `http {
    upstream backend {
        server 0.0.0.1;
        balancer_by_lua_block {
            local b = require "ngx.balancer"
            assert(b.set_current_peer("127.0.0.1", 8080))
        }
    }
}
`,
		Versions:     "openresty=1.9.15.1",
		Since:        "0.1.0",
		References:   []string{"luacheck/internal/apigen/phasefacts.json: the first release tag each API exists in, as file:line@tag of lua-nginx-module and lua-resty-core"},
		Confirmation: "not confirmable: a static property of the API table.",
	},
	Run: func(pass *analyzer.Pass) error {
		for _, lu := range luaUnits(pass) {
			for _, u := range luaFacts(pass, lu.Chunk).APIUses {
				if !u.NewerThanDeclared {
					continue
				}
				declared := pass.Profile.LNM.String()
				if u.SinceComponent == "lua-resty-core" && !pass.Profile.Core.IsZero() {
					declared = pass.Profile.Core.String()
				}
				pass.Report(&analyzer.Diagnostic{Pos: u.Pos, End: u.End,
					Message: fmt.Sprintf("%s first appeared in %s %s, newer than the declared %s", u.Name, u.SinceComponent, u.Since, declared),
					Details: "On the declared version it is nil, and calling it fails."})

			}
		}
		return nil
	},
}

// LuaBalancerAPIOutsideBalancer flags ngx.balancer.* outside balancer_by_lua*.
var LuaBalancerAPIOutsideBalancer = &analyzer.Rule{
	ID:       "LUA2003",
	Slug:     "lua-balancer-api-outside-balancer",
	Severity: analyzer.Error,
	Doc: analyzer.Doc{
		Title: "ngx.balancer function called outside balancer_by_lua*",
		Text: `The ngx.balancer functions act on the current upstream attempt and exist only in
balancer_by_lua*: elsewhere set_current_peer returns nil, "API disabled in the current context" (or
raises), so code that chooses a peer in access_by_lua and expects it to stick does nothing. Choose the
peer in the balancer; pass data to it through ngx.ctx.`,
		Bad: `http {
    server {
        listen 80;
        location / {
            access_by_lua_block {
                local b = require "ngx.balancer"
                b.set_current_peer("127.0.0.1", 8080)
            }
            proxy_pass http://127.0.0.1:8080;
        }
    }
}
`,
		Good: `http {
    server {
        listen 80;
        location / {
            access_by_lua_block {
                ngx.ctx.peer = "127.0.0.1"
            }
            proxy_pass http://127.0.0.1:8080;
        }
    }
}
`,
		Since:        "0.1.0",
		References:   []string{"https://github.com/openresty/lua-resty-core/blob/master/lib/ngx/balancer.md"},
		Confirmation: "not confirmable: the emulator runs balancer code only.",
	},
	Run: func(pass *analyzer.Pass) error {
		seen := map[string]bool{}
		for _, ref := range analysableLua(pass.Model) {
			res := luaFacts(pass, ref.Chunk)
			if res.Context == "balancer_by_lua*" {
				continue
			}
			for _, u := range res.APIUses {
				if !strings.HasPrefix(u.Name, "ngx.balancer.") || !u.Call {
					continue
				}
				pass.Report(&analyzer.Diagnostic{Pos: u.Pos, End: u.End,
					Message: fmt.Sprintf("%s only works in balancer_by_lua*, not in %s", u.Name, ref.Directive.Name)})
			}
			for _, r := range reachOf(pass, ref.Chunk).uses {
				u := r.Use
				if !strings.HasPrefix(u.Name, "ngx.balancer.") || !u.Call || seen[u.Pos.String()+" "+ref.Directive.Name] {
					continue
				}
				seen[u.Pos.String()+" "+ref.Directive.Name] = true
				pass.Report(&analyzer.Diagnostic{Pos: u.Pos, End: u.End,
					Message: fmt.Sprintf("%s only works in balancer_by_lua*, not in %s, which calls %s", u.Name, ref.Directive.Name, callName(r.Call)),
					Related: []analyzer.Related{{Pos: r.Call.Pos, End: r.Call.End, Message: fmt.Sprintf("%s called from %s here", callName(r.Call), ref.Directive.Name)}}})
			}
		}
		return nil
	},
}

// reportStreamUnavailable reports, in a stream chunk, calls of the
// ngx.balancer functions lua-resty-core gives http only, and
// set_current_peer with a host argument, which its stream side refuses.
func reportStreamUnavailable(pass *analyzer.Pass, ref *nginxconf.LuaRef, res *luacheck.Result) {
	for _, u := range res.APIUses {
		if !u.Call {
			continue
		}
		msg, ok := luacheck.StreamUnavailable(u.Name)
		if !ok && u.Name == "ngx.balancer.set_current_peer" && len(u.Args) >= 3 && u.Args[2].Kind != luacheck.ArgNil {
			msg, ok = luacheck.StreamPeerHostError, true
		}
		if !ok {
			continue
		}
		pass.Report(&analyzer.Diagnostic{Pos: u.Pos, End: u.End,
			Message: fmt.Sprintf("%s cannot be used in %s (stream): it fails with %q", u.Name, res.Context, msg),
			Details: "lua-resty-core's lib/ngx/balancer.lua gives the stream subsystem no such function (or no host argument): it is http only. The balancer run fails and the session ends with 500.",
			Related: []analyzer.Related{{Pos: ref.Directive.Pos, Message: ref.Directive.Name + " defined here"}}})
	}
}

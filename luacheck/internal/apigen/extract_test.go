package apigen

import (
	"reflect"
	"strings"
	"testing"
)

// Synthetic sources in lua-nginx-module's and lua-resty-core's shapes
// (written for the test, not taken from them).
const testHeader = `
#define NGX_HTTP_LUA_CONTEXT_REWRITE  0x0002
#define NGX_HTTP_LUA_CONTEXT_LOG      0x0010
#define NGX_HTTP_LUA_CONTEXT_TIMER    0x0080
#define NGX_HTTP_LUA_CONTEXT_INIT_WORKER 0x0100
#define NGX_HTTP_LUA_CONTEXT_YIELDABLE (NGX_HTTP_LUA_CONTEXT_REWRITE \
                                        | NGX_HTTP_LUA_CONTEXT_TIMER)
#define ngx_http_lua_context_name(c)                                         \
    ((c) == NGX_HTTP_LUA_CONTEXT_REWRITE ? "rewrite_by_lua*"                 \
     : (c) == NGX_HTTP_LUA_CONTEXT_LOG ? "log_by_lua*"                       \
     : (c) == NGX_HTTP_LUA_CONTEXT_TIMER ? "ngx.timer"                       \
     : (c) == NGX_HTTP_LUA_CONTEXT_INIT_WORKER ? "init_worker_by_lua*"       \
     : "(unknown)")
`

const testC = `
static int
ngx_http_lua_ngx_nap(lua_State *L)
{
    r = ngx_http_lua_get_req(L);
    if (r == NULL) {
        return luaL_error(L, "no request found");
    }

    ngx_http_lua_check_context(L, ctx, NGX_HTTP_LUA_CONTEXT_YIELDABLE);
    return 0;
}


static int
ngx_http_lua_ngx_peek(lua_State *L)
{
    return ngx_http_lua_peek_helper(L);
}


static int
ngx_http_lua_peek_helper(lua_State *L)
{
    if (ctx->context & (NGX_HTTP_LUA_CONTEXT_LOG)) {
        /* a branch on the phase, not a refusal */
    }

    ngx_http_lua_check_fake_request(L, r);
    return 0;
}


int
ngx_http_lua_ffi_count(ngx_http_request_t *r, u_char *err, size_t *errlen)
{
    if ((ctx->context & NGX_HTTP_LUA_CONTEXT_LOG) == 0) {
        return NGX_HTTP_LUA_FFI_BAD_CONTEXT;
    }

    return NGX_OK;
}


void
ngx_http_lua_inject_nap_api(lua_State *L)
{
    lua_pushcfunction(L, ngx_http_lua_ngx_nap);
    lua_setfield(L, -2, "nap");

    lua_pushcfunction(L, ngx_http_lua_ngx_peek);
    lua_setfield(L, -2, "peek");

    lua_pushinteger(L, 7);
    lua_setfield(L, -2, "SEVEN");
}
`

const testTimerC = `
static void
ngx_http_lua_timer_handler(ngx_event_t *ev)
{
    c = ngx_http_lua_create_fake_connection(NULL);
    ctx->context = NGX_HTTP_LUA_CONTEXT_TIMER;
}
`

const testCoreLua = `
local C = ffi.C
local ngx_lua_ffi_count = C.ngx_http_lua_ffi_count

function ngx.count()
    local r = get_request()
    if not r then
        error("no request found")
    end

    return ngx_lua_ffi_count(r, errmsg, errlen)
end

local function only_init()
    if get_phase() ~= "init" then
        return nil, "API disabled in the current context"
    end
    return true
end
_M.only_init = only_init

function _M.not_worker()
    if ngx_phase() == "init_worker" or ngx_phase() == "timer" then
        error("API disabled in the current context")
    end
end
`

func testModel(t *testing.T, withCore bool) *versionModel {
	t.Helper()
	lnm := map[string]string{"src/ngx_http_lua_util.h": testHeader, "src/ngx_http_lua_nap.c": testC,
		"src/ngx_http_lua_timer.c": testTimerC}
	var core map[string]string
	if withCore {
		core = map[string]string{"lib/resty/core/count.lua": testCoreLua, "lib/ngx/probe.lua": testCoreLua}
	}
	m, err := newVersionModel("v0.10.23", lnm, core, "")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestExtractContexts(t *testing.T) {
	m := testModel(t, true)
	if want := []string{"init_by_lua*", "init_worker_by_lua*", "log_by_lua*", "ngx.timer.*", "rewrite_by_lua*"}; !reflect.DeepEqual(m.phases, want) {
		t.Fatalf("phases %v, want %v", m.phases, want)
	}
	if _, ok := m.fake["ngx.timer.*"]; !ok || len(m.fake) != 1 {
		t.Errorf("fake-request phases %v, want the timer only", m.fake)
	}
	cases := []struct {
		api  string
		want []string
	}{
		// a mask through a composite macro, and no request in init
		{"ngx.nap", []string{"ngx.timer.*", "rewrite_by_lua*"}},
		// a helper's fake-request check counts; a branch on the phase does not
		{"ngx.peek", []string{"init_worker_by_lua*", "log_by_lua*", "rewrite_by_lua*"}},
		// lua-resty-core: no request in init, the FFI function's mask
		{"ngx.count", []string{"log_by_lua*"}},
		// get_phase() tests
		{"ngx.probe.only_init", []string{"init_by_lua*"}},
		{"ngx.probe.not_worker", []string{"init_by_lua*", "log_by_lua*", "rewrite_by_lua*"}},
		// a constant
		{"ngx.SEVEN", m.phases},
	}
	for _, c := range cases {
		v, ok := m.verdict(c.api)
		if !ok || !reflect.DeepEqual(v.Contexts, c.want) {
			t.Errorf("%s: %v (%v), want %v; sources %v", c.api, v.Contexts, ok, c.want, v.Sources)
		}
	}
	v, _ := m.verdict("ngx.nap")
	if len(v.Sources) != 2 || !strings.Contains(v.Sources[0], "src/ngx_http_lua_nap.c:") {
		t.Errorf("ngx.nap sources %v", v.Sources)
	}
	if _, ok := m.verdict("ngx.absent"); ok {
		t.Error("an API with no implementation got a verdict")
	}
}

func TestCorePairing(t *testing.T) {
	exact, min, line := CoreRequires("if subsystem == 'http' then\n  if ngx_lua_v ~= 10018 and ngx_lua_v ~= 10019 then\nend\nelseif subsystem == 'stream' then ngx_lua_v ~= 5")
	if !reflect.DeepEqual(exact, []string{"v0.10.18", "v0.10.19"}) || min != "" || line != 2 {
		t.Errorf("CoreRequires: %v %q %d", exact, min, line)
	}
	req := map[string][3]any{
		"v0.1.10": {nil, "v0.10.8", 1},
		"v0.1.21": {[]string{"v0.10.18", "v0.10.19"}, "", 1},
		"v0.1.22": {[]string{"v0.10.19"}, "", 1},
	}
	requires := func(t string) ([]string, string, int) {
		r := req[t]
		e, _ := r[0].([]string)
		return e, r[1].(string), r[2].(int)
	}
	tags := []string{"v0.1.22", "v0.1.10", "v0.1.21", "v0.1.22rc1"}
	for lnm, want := range map[string]string{"v0.10.9": "v0.1.10", "v0.10.18": "v0.1.21", "v0.10.19": "v0.1.22", "v0.10.20": ""} {
		if got, _, _ := PairCore(lnm, tags, requires); got != want {
			t.Errorf("PairCore(%s) = %q, want %q", lnm, got, want)
		}
	}
	if !versionLess("v0.1.29rc1", "v0.1.29") || !versionLess("v0.10.9", "v0.10.10") || versionLess("v0.10.10", "v0.10.9") || FinalOf("v0.1.29rc1") != "v0.1.29" {
		t.Error("version order")
	}
}

func TestFactsFileLoads(t *testing.T) {
	f, err := LoadFacts()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]APIFacts{}
	for _, a := range f.APIs {
		byName[a.Name] = a
	}
	// issue 16 item 8: enable_keepalive landed in lua-resty-core 0.1.29.
	if s := byName["ngx.balancer.enable_keepalive"].Since; s == nil || s.Version != "v0.1.29" || !strings.Contains(s.Source, "lib/ngx/balancer.lua:") {
		t.Errorf("enable_keepalive since %+v", s)
	}
	for _, a := range f.APIs {
		for _, p := range a.Periods {
			for _, s := range p.Sources {
				if strings.Contains(s, ".c:") || strings.Contains(s, ".lua:") {
					if !strings.Contains(s, "@lua-") {
						t.Errorf("%s: source without its tag: %q", a.Name, s)
					}
				}
			}
		}
	}
}

package luacheck

import (
	"os"
	"strings"
	"testing"

	"github.com/ngxlint/ngxlint/luacheck/internal/apigen"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// TestStreamAPITableUpToDate checks that the committed streamapi_gen.go is
// what the generator makes of the committed streamfacts.json.
func TestStreamAPITableUpToDate(t *testing.T) {
	want, err := apigen.GenerateStream()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("streamapi_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatal("streamapi_gen.go is stale: run go generate ./luacheck")
	}
}

func TestIsAllowedInStream(t *testing.T) {
	for _, c := range []struct {
		api, ctx, version string
		want              Allowance
	}{
		{"ngx.say", "preread_by_lua", "", Allowed},
		{"ngx.say", "content_by_lua_block", "", Allowed},
		{"ngx.say", "log_by_lua", "", Disallowed},
		{"ngx.req.socket", "balancer_by_lua", "", Disallowed},
		{"ngx.sleep", "preread_by_lua", "", Allowed},
		{"ngx.sleep", "log_by_lua", "", Disallowed},
		{"ngx.socket.tcp", "ngx.timer.*", "", Allowed},
		{"ngx.socket.tcp", "init_worker_by_lua", "", Disallowed},
		{"ngx.balancer.set_current_peer", "balancer_by_lua", "", Allowed},
		{"ngx.balancer.set_current_peer", "preread_by_lua", "", Disallowed},
		// ssl_client_hello_by_lua* arrived in stream-lua v0.0.11: a release
		// before it does not know the phase.
		{"ngx.socket.tcp", "ssl_client_hello_by_lua", "0.0.10", AllowUnknown},
		{"ngx.socket.tcp", "ssl_client_hello_by_lua", "0.0.11", Allowed},
		// The balancer API's first release read with a paired
		// lua-resty-core is v0.0.4.
		{"ngx.balancer.set_more_tries", "balancer_by_lua", "0.0.3", AllowUnknown},
		// Not decided by a stream-lua check: never judged in stream.
		{"ngx.req.get_headers", "log_by_lua", "", AllowUnknown},
		{"ngx.redirect", "content_by_lua", "", AllowUnknown},
		{"ngx.exit", "log_by_lua", "", AllowUnknown},
	} {
		if got := IsAllowedInStream(c.api, c.ctx, c.version); got != c.want {
			t.Errorf("IsAllowedInStream(%s, %s, %q) = %s, want %s", c.api, c.ctx, c.version, got, c.want)
		}
	}
	r, ok := StreamRefusalAt("ngx.say", "log_by_lua", "")
	if !ok || r.Message != "API disabled in the context of log_by_lua*" || !strings.Contains(strings.Join(r.Sources, " "), "@stream-lua-nginx-module/") {
		t.Errorf("StreamRefusalAt(ngx.say, log) = %+v, %v", r, ok)
	}
}

// TestStreamSubsystemOption: the same chunk is judged by the http table
// without Subsystem and by the stream table with it.
func TestStreamSubsystemOption(t *testing.T) {
	chunk := &nginxconf.LuaChunk{Context: "preread_by_lua", Code: "ngx.say('x')\nlocal h = ngx.req.get_headers()\n", Pos: nginxconf.Pos{Line: 1, Column: 1}}
	verdicts := func(opts Options) map[string]Allowance {
		out := map[string]Allowance{}
		for _, u := range Analyze(chunk, opts).APIUses {
			out[u.Name] = u.Allowed
		}
		return out
	}
	s := verdicts(Options{Subsystem: "stream"})
	if s["ngx.say"] != Allowed || s["ngx.req.get_headers"] != AllowUnknown {
		t.Errorf("stream verdicts: %v", s)
	}
	chunk.Context = "log_by_lua"
	s = verdicts(Options{Subsystem: "stream"})
	h := verdicts(Options{})
	if s["ngx.say"] != Disallowed || h["ngx.say"] != Disallowed || h["ngx.req.get_headers"] != Allowed || s["ngx.req.get_headers"] != AllowUnknown {
		t.Errorf("log_by_lua verdicts: stream %v, http %v", s, h)
	}
}

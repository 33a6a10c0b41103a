package emulator_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
	"time"

	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/emulator/fromconf"
	"github.com/ngxlint/ngxlint/luacheck"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// The benchmarks of issue 15: `ngxlint emulate` of a real application's
// balancer with its init code, against the seed balancer (one
// set_current_peer, no init) measured the same way. Run with
//
//	go test ./emulator -run '^$' -bench 'App|Seed5'
//
// BenchmarkAppEmulate is one full Run of five requests (worker start-up
// included), BenchmarkAppWorkerStart the start-up alone.

// benchApp is Quiq's lua-consul-balancer from ../shared/apps when present
// (init_by_lua requiring the app's module, an init_worker timer.every
// whose first tick runs and fails to reach Consul through resty.http, the
// balancer reading the shared dict with weights and retries), with the
// fixtures of testdata/apps; else a testdata-shaped balancer with the same
// ingredients (module, init, cjson, shared dict, timer).
func benchApp(b *testing.B) emulator.Config {
	b.Helper()
	var cfg *nginxconf.Config
	var fx emulator.Fixtures
	var files = nginxconf.TreeFS(nil, 0)
	app, _ := filepath.Abs(filepath.Join("..", "..", "shared", "apps", "Quiq__lua-consul-balancer"))
	fxDir, _ := filepath.Abs(filepath.Join("..", "testdata", "apps", "Quiq__lua-consul-balancer"))
	if _, err := os.Stat(filepath.Join(app, "nginx.conf")); err == nil {
		roots := []string{app, fxDir}
		cfg = nginxconf.LoadFile(filepath.Join(app, "nginx.conf"), nginxconf.Options{
			Requires: luacheck.Requires, Roots: roots, Prefix: app,
			PathMap: []nginxconf.PathMapping{{From: "/usr/local/openresty/nginx/conf", To: app}},
		})
		files = nginxconf.TreeFS(roots, 0)
		stub, err := os.ReadFile(filepath.Join(fxDir, "lunajson.lua"))
		if err != nil {
			b.Fatal(err)
		}
		fx = emulator.Fixtures{
			SharedDicts: map[string]map[string]string{"consul_cache": {"foobar-service": "10.0.1.5:8080 10.0.1.6:8080"}},
			Modules:     map[string]emulator.LuaSource{"lunajson": {Code: string(stub), File: "lunajson.lua", Line: 1, Column: 1, Name: "lunajson"}},
		}
	} else {
		b.Log("no ../shared/apps: benchmarking the testdata-shaped balancer")
		fsys := fstest.MapFS{"nginx.conf": {Data: []byte(benchConf)}, "lua/peers.lua": {Data: []byte(benchModule)}}
		cfg = nginxconf.Load(fsys, "nginx.conf", nginxconf.Options{Prefix: "/", Requires: luacheck.Requires})
	}
	ec := build(b, cfg, "foobar_service")
	ec.Lua.Files = files
	ec.Fixtures = fx
	return ec
}

const benchConf = `http {
    lua_package_path "$prefix/lua/?.lua;;";
    lua_shared_dict peers 1m;
    init_by_lua_block {
        local cjson = require "cjson"
        require("peers").list = cjson.decode('[{"host":"10.0.1.5","port":8080},{"host":"10.0.1.6","port":8080}]')
    }
    init_worker_by_lua_block {
        ngx.timer.at(0, function() ngx.shared.peers:set("epoch", 1) end)
    }
    upstream foobar_service {
        server 0.0.0.1;
        balancer_by_lua_block { require("peers").balance() }
    }
    server {
        listen 80;
        location / { proxy_pass http://foobar_service; }
    }
}
`

const benchModule = `local balancer = require "ngx.balancer"
local _M = { list = {} }
function _M.balance()
    local n = ngx.shared.peers:incr("n", 1, 0)
    local p = _M.list[(n - 1) % #_M.list + 1]
    balancer.set_more_tries(1)
    assert(balancer.set_current_peer(p.host, p.port))
end
return _M
`

// seedConf is the seed balancer: one literal set_current_peer, no init.
const seedConf = `http {
    upstream backend {
        server 0.0.0.1;
        balancer_by_lua_block {
            local balancer = require "ngx.balancer"
            local ok, err = balancer.set_current_peer("127.0.0.1", 8080)
        }
    }
    server {
        listen 80;
        location / { proxy_pass http://backend; }
    }
}
`

func build(b *testing.B, cfg *nginxconf.Config, upstream string) emulator.Config {
	b.Helper()
	tg, err := fromconf.Find(nginxconf.BuildModel(cfg), upstream, "")
	if err != nil {
		b.Fatal(err)
	}
	ec, err := fromconf.Build(tg)
	if err != nil {
		b.Fatal(err)
	}
	if ec.Requests, err = emulator.ParseRequests("GET /, GET /, GET /, GET /, GET /"); err != nil {
		b.Fatal(err)
	}
	ec.DefaultPolicy, _ = emulator.ParsePolicy("ok")
	ec.Timeout = 5 * time.Second
	return ec
}

// runReached runs ec and fails unless every request reached a backend.
func runReached(b *testing.B, ec emulator.Config) {
	res, err := emulator.Run(context.Background(), ec)
	if err != nil {
		b.Fatal(err)
	}
	for i, q := range res.Requests {
		if q.Status.Code != 200 {
			b.Fatalf("request %d: %s (%s)", i+1, q.Status, q.LuaError)
		}
	}
	if len(res.Requests) != 5 {
		b.Fatalf("%d requests ran", len(res.Requests))
	}
}

func BenchmarkAppEmulate(b *testing.B) {
	ec := benchApp(b)
	runReached(b, ec)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		runReached(b, ec)
	}
}

func BenchmarkAppWorkerStart(b *testing.B) {
	ec := benchApp(b)
	for i := 0; i < b.N; i++ {
		w, err := emulator.StartWorkerOnly(context.Background(), ec)
		if err != nil {
			b.Fatal(err)
		}
		if w.StartError != "" {
			b.Fatal(w.StartError)
		}
	}
}

// BenchmarkSeed5Emulate is the baseline: the seed balancer, five
// requests, built the same way.
func BenchmarkSeed5Emulate(b *testing.B) {
	fsys := fstest.MapFS{"nginx.conf": {Data: []byte(seedConf)}}
	ec := build(b, nginxconf.Load(fsys, "nginx.conf", nginxconf.Options{Prefix: "/", Requires: luacheck.Requires}), "backend")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		runReached(b, ec)
	}
}

func BenchmarkSeedWorkerStart(b *testing.B) {
	fsys := fstest.MapFS{"nginx.conf": {Data: []byte(seedConf)}}
	ec := build(b, nginxconf.Load(fsys, "nginx.conf", nginxconf.Options{Prefix: "/", Requires: luacheck.Requires}), "backend")
	for i := 0; i < b.N; i++ {
		if _, err := emulator.StartWorkerOnly(context.Background(), ec); err != nil {
			b.Fatal(err)
		}
	}
}

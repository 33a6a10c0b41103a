package fromconf

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// ingressTCPService is a TCP service the way ingress-nginx's template
// renders one into stream{} (its "TCP services" loop): preread_by_lua sets
// $proxy_upstream_name, which tcp_udp_balancer.balance() looks the
// backend up by, and the proxy settings come from the controller's
// defaults (proxy-stream-timeout 600s, proxy-stream-next-upstream on with
// timeout 600s and 3 tries).
const ingressTCPService = `
	server {
		preread_by_lua_block {
			ngx.var.proxy_upstream_name="tcp-default-db-5432";
		}
		listen 5432;
		proxy_timeout 600s;
		proxy_next_upstream on;
		proxy_next_upstream_timeout 600s;
		proxy_next_upstream_tries 3;
		proxy_pass upstream_balancer;
	}
`

// TestIngressNginxTCPService runs ingress-nginx's stream{} block, with one
// TCP service rendered into it, through fromconf and the stream emulator:
// its init_by_lua and init_worker_by_lua (the tcp_udp balancer's sync
// timer), the service's preread_by_lua and the tcp_udp balancer, with the
// backends the controller would have pushed (the fixtures' shared dict).
// One endpoint refuses: stream retries the connect on the other one, which
// the Lua balancer's set_more_tries allows; sessions then alternate.
func TestIngressNginxTCPService(t *testing.T) {
	shared := filepath.Join("..", "..", "..", "shared", "apps")
	var app manifestApp
	for _, a := range readManifest(t, shared) {
		if a.Folder == "kubernetes__ingress-nginx" {
			app = a
		}
	}
	if app.Folder == "" {
		t.Skip("ingress-nginx is not in ../shared/apps")
	}
	// A private copy of the app's files with the service rendered in.
	appDir := copyApp(t, filepath.Join(shared, app.Folder), app.EntryConfigs[0].Path, func(s string) string {
		if !strings.Contains(s, "# TCP services") {
			t.Fatal("the render has no \"# TCP services\" marker to add the service at")
		}
		return strings.Replace(s, "# TCP services", "# TCP services\n"+ingressTCPService, 1)
	})
	fxDir, err := filepath.Abs(filepath.Join("..", "..", "testdata", "apps", app.Folder))
	if err != nil {
		t.Fatal(err)
	}
	m, roots, pm, _, ef := loadApp(t, appDir, fxDir, app)
	tg, err := FindStream(m, "", "5432")
	if err != nil {
		t.Fatal(err)
	}
	tg.Files, tg.PathMap = nginxconf.TreeFS(roots, 0), pm
	ec, err := Build(tg)
	if err != nil {
		t.Fatal(err)
	}
	if len(ec.Lua.Preread) != 1 || ec.Location.NextUpstreamTries.V != 3 || ec.Stream.ProxyTimeout.V != 600*time.Second {
		t.Fatalf("stream settings not built: preread %d, tries %v, proxy_timeout %v", len(ec.Lua.Preread), ec.Location.NextUpstreamTries, ec.Stream.ProxyTimeout)
	}
	ec.Fixtures = ef
	ec.Backends = map[string]emulator.Policy{"10.0.0.5:5432": {Kind: emulator.PolicyRefused}}
	ec.Requests, _ = emulator.ParseRequests("GET /, GET /, GET /, GET /")
	ec.Timeout = 5 * time.Second
	res, err := emulator.Run(context.Background(), ec)
	if err != nil {
		t.Fatal(err)
	}
	if res.Worker != nil && res.Worker.StartError != "" {
		t.Fatalf("worker did not start: %s", res.Worker.StartError)
	}
	refusedRetried := 0
	for i, q := range res.Requests {
		if q.Session != 200 || q.Status.Code != 200 || q.UpstreamConnections != 1 || len(q.Peers) != 1 || q.Peers[0] != "10.0.0.6:5432" {
			t.Errorf("session %d: $status %d, client %s, %d connections, peers %v (%s, lua error %q)", i+1, q.Session, q.Status, q.UpstreamConnections, q.Peers, q.Why, q.LuaError)
		}
		if len(q.Attempts) == 2 && q.Attempts[0].Peer == "10.0.0.5:5432" && q.Attempts[0].Outcome == emulator.OutcomeConnectError {
			refusedRetried++
		}
	}
	// Round robin over two endpoints: at least every other session meets
	// the refusing one first and is retried.
	if refusedRetried < 1 {
		t.Errorf("no session retried after the refused endpoint: %s", res.Summary())
	}
	t.Logf("%s", res.Summary())
}

// apisixStream is APISIX's stream{} block as apisix/cli/ngx_tpl.lua renders
// it with stream_proxy enabled for one TCP port (its default config.yaml
// leaves stream_proxy off, so ../shared/apps' render has no stream block):
// the apisix_backend upstream whose balancer calls
// apisix.stream_balancer_phase(), the stream init, and one server whose
// preread_by_lua picks the route.
const apisixStream = `
stream {
    lua_package_path "$prefix/deps/share/lua/5.1/?.lua;$prefix/deps/share/lua/5.1/?/init.lua;/usr/local/apisix/?.lua;/usr/local/apisix/?/init.lua;;";
    lua_shared_dict lrucache-lock-stream 10m;
    lua_shared_dict etcd-cluster-health-check-stream 10m;
    lua_shared_dict worker-events-stream 10m;
    upstream apisix_backend {
        server 127.0.0.1:80;
        balancer_by_lua_block {
            apisix.stream_balancer_phase()
        }
    }
    init_by_lua_block {
        require "resty.core"
        apisix = require("apisix")
        apisix.stream_init({dns_resolver = {"127.0.0.53"}})
    }
    init_worker_by_lua_block {
        apisix.stream_init_worker()
    }
    server {
        listen 9100;
        preread_by_lua_block {
            apisix.stream_preread_phase()
        }
        proxy_pass apisix_backend;
        log_by_lua_block {
            apisix.stream_log_phase()
        }
    }
}
`

// TestAPISIXStream records what stops APISIX's stream proxy in the
// emulator: the stream block is rendered into a private copy of the app,
// targeted by its listen port, and run; the test asserts that the run ends
// (no hang, no panic) and that what is missing is named, and logs it.
func TestAPISIXStream(t *testing.T) {
	shared := filepath.Join("..", "..", "..", "shared", "apps")
	var app manifestApp
	for _, a := range readManifest(t, shared) {
		if a.Folder == "apache__apisix" {
			app = a
		}
	}
	if app.Folder == "" {
		t.Skip("APISIX is not in ../shared/apps")
	}
	appDir := copyApp(t, filepath.Join(shared, app.Folder), app.EntryConfigs[0].Path, func(s string) string { return s + apisixStream })
	fxDir, err := filepath.Abs(filepath.Join("..", "..", "testdata", "apps", app.Folder))
	if err != nil {
		t.Fatal(err)
	}
	m, roots, pm, _, ef := loadApp(t, appDir, fxDir, app)
	tg, err := FindStream(m, "", "9100")
	if err != nil {
		t.Fatal(err)
	}
	tg.Files, tg.PathMap = nginxconf.TreeFS(roots, 0), pm
	ec, err := Build(tg)
	if err != nil {
		t.Fatal(err)
	}
	if len(ec.Lua.Preread) != 1 || len(ec.Lua.Init) != 1 || len(ec.Lua.InitWorker) != 1 || ec.Upstream.BalancerLua == "" {
		t.Fatalf("stream block not built: preread %d, init %d, init_worker %d, balancer %q", len(ec.Lua.Preread), len(ec.Lua.Init), len(ec.Lua.InitWorker), ec.Upstream.BalancerLua)
	}
	ec.Fixtures = ef
	ec.Requests, _ = emulator.ParseRequests("GET /")
	ec.Timeout = 5 * time.Second
	res, err := emulator.Run(context.Background(), ec)
	if err != nil {
		t.Fatal(err)
	}
	missing := ""
	switch {
	case res.Worker != nil && res.Worker.StartError != "":
		missing = res.Worker.StartError
	case res.Requests[0].LuaError != "":
		missing = res.Requests[0].LuaError
	}
	if missing == "" {
		t.Fatalf("APISIX's stream proxy ran without anything missing: update the expectation (%s)", res.Summary())
	}
	if !strings.Contains(missing, "resty.ipmatcher") {
		t.Errorf("first thing missing changed: %s", missing)
	}
	t.Logf("APISIX stream: %s; missing modules %v", firstLine(missing), res.MissingModules)
}

// copyApp copies an app's regular files to a private directory, editing
// the entry configuration with edit; the shared folder is never written.
func copyApp(t *testing.T, from, entry string, edit func(string) string) string {
	t.Helper()
	src, err := filepath.Abs(from)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !d.Type().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if filepath.ToSlash(rel) == entry {
			data = []byte(edit(string(data)))
		}
		dst := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

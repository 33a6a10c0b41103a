package nginxengine

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/ngxlint/ngxlint/nginxconf"
)

const richConf = `user www-data;
worker_processes auto;
pid /run/nginx.pid;
error_log /var/log/nginx/error.log crit;
daemon on;

events { worker_connections 768; }

http {
    access_log /var/log/nginx/access.log combined;
    proxy_temp_path /var/lib/nginx/proxy 1 2;
    lua_package_path "/etc/nginx/lua/?.lua;;";
    resolver 8.8.8.8;
    include conf.d/*.conf;

    upstream app {
        server 10.1.2.3:8080 weight=2 max_fails=3;
        server backend.internal;
        keepalive 8;
    }

    server {
        listen 80 default_server;
        listen [::]:80 default_server;
        listen 443 ssl http2;
        server_name example.com www.example.com;
        location / { proxy_pass http://app; }
        location /direct { proxy_pass https://192.0.2.10:8443/x; }
        location /var { proxy_pass http://$host; }
    }
}
`

const includedConf = `server {
    server_name other.example;
    location / {
        access_log off;
        proxy_pass http://app;
    }
}
`

func loadRich(t *testing.T) (*nginxconf.Config, fstest.MapFS) {
	t.Helper()
	fsys := fstest.MapFS{
		"nginx.conf":       {Data: []byte(richConf)},
		"conf.d/more.conf": {Data: []byte(includedConf)},
	}
	cfg := nginxconf.Load(fsys, "nginx.conf", nginxconf.Options{Prefix: "/"})
	if err := cfg.Err(); err != nil {
		t.Fatal(err)
	}
	return cfg, fsys
}

func TestRewrite(t *testing.T) {
	cfg, fsys := loadRich(t)
	sn, err := scanConfig(cfg, "", 0, 0, []string{"127.0.0.1:9999"})
	if err != nil {
		t.Fatal(err)
	}
	wantListen := []string{"*:80", "*:443"}
	if strings.Join(sn.listenKeys, ",") != strings.Join(wantListen, ",") {
		t.Errorf("listen keys %v, want %v (80 and [::]:80 share one)", sn.listenKeys, wantListen)
	}
	wantPeers := []string{"10.1.2.3:8080", "backend.internal:80", "192.0.2.10:8443", "127.0.0.1:9999"}
	if strings.Join(sn.peerKeys, ",") != strings.Join(wantPeers, ",") {
		t.Errorf("peer keys %v, want %v", sn.peerKeys, wantPeers)
	}
	// nginx reads conf.d/more.conf at the include, before example.com's
	// server, so its server is the first one with a proxy_pass.
	if sn.targetHost != "other.example" || !sn.usesLua || sn.hasBalancer {
		t.Errorf("target %q usesLua=%v hasBalancer=%v", sn.targetHost, sn.usesLua, sn.hasBalancer)
	}
	listen := map[string]int{"*:80": 40001, "*:443": 40002}
	peers := map[string]int{"10.1.2.3:8080": 50001, "backend.internal:80": 50002, "192.0.2.10:8443": 50003, "127.0.0.1:9999": 50004}
	bin := &Binary{Path: "/usr/sbin/nginx", Prefix: "/usr/share/nginx", NDKModule: "/m/ndk_http_module.so", LuaModule: "/m/ngx_http_lua_module.so"}
	if !sn.tlsListen["*:443"] || sn.tlsListen["*:80"] || !sn.needsTLS() {
		t.Errorf("TLS listen keys %v, needsTLS %v: want *:443 only, and the run's certificates", sn.tlsListen, sn.needsTLS())
	}
	tlsf := &tlsFiles{ecCert: "/T/run/tls/ec.crt", ecKey: "/T/run/tls/ec.key", rsaCert: "/T/run/tls/rsa.crt", rsaKey: "/T/run/tls/rsa.key", ticketKey: "/T/run/tls/ticket.key"}
	files, rw, err := sn.apply(rewriteInput{run: "/T/run", listenPorts: listen, peerPorts: peers, bin: bin, tls: tlsf,
		fsHas: func(string) bool { return false }, userOK: func(string, string) bool { return false }})
	if err != nil {
		t.Fatal(err)
	}
	main := string(files["nginx.conf"])
	for _, want := range []string{
		"load_module /m/ndk_http_module.so; load_module /m/ngx_http_lua_module.so; master_process off; \n", // user removed when not root
		"pid /T/run/nginx.pid;",
		"error_log /T/run/error.log info;",
		"daemon off;",
		"access_log /T/run/access.log combined;",
		"proxy_temp_path /T/run/proxy 1 2;",
		`lua_package_path "/T/run/lua/?.lua;/etc/nginx/lua/?.lua;;";`,
		"resolver 127.0.0.1:1 valid=1s;",
		"server 127.0.0.1:50001 weight=2 max_fails=3;",
		"server 127.0.0.1:50002;",
		"listen 127.0.0.1:40001 default_server;",
		"listen 127.0.0.1:40002 ssl;",
		"ssl_certificate /T/run/tls/ec.crt; ssl_certificate_key /T/run/tls/ec.key; ssl_certificate /T/run/tls/rsa.crt; ssl_certificate_key /T/run/tls/rsa.key;",
		"proxy_pass http://127.0.0.1:50003/x;",
		"proxy_pass http://$host;",
		"http { client_body_temp_path /T/run/client_body;",
	} {
		if !strings.Contains(main, want) {
			t.Errorf("rewritten nginx.conf lacks %q:\n%s", want, main)
		}
	}
	if strings.Contains(main, "[::]:80") || strings.Contains(main, "http2") {
		t.Errorf("IPv6 listen or http2 left:\n%s", main)
	}
	// Every line keeps its number; the lines not rewritten are
	// byte-for-byte the original.
	orig := strings.Split(richConf, "\n")
	got := strings.Split(main, "\n")
	if len(got) != len(orig) {
		t.Fatalf("line count %d, want %d", len(got), len(orig))
	}
	changed := map[int]bool{}
	for _, r := range rw {
		if r.File == "nginx.conf" {
			changed[r.Line] = true
		}
	}
	for i := range orig {
		if !changed[i+1] && got[i] != orig[i] {
			t.Errorf("line %d changed without a reported rewrite:\n  %q\n  %q", i+1, orig[i], got[i])
		}
	}
	inc := string(files["conf.d/more.conf"])
	if !strings.Contains(inc, "server { listen 127.0.0.1:40001;") || !strings.Contains(inc, "access_log off;") {
		t.Errorf("included server without listen not moved to loopback:\n%s", inc)
	}
	// The rewritten tree, loaded back as nginx reads it, keeps every
	// socket on loopback except the variable host, which no rewrite can
	// map and the check refuses where it is written.
	final := fstest.MapFS{}
	for _, f := range []string{"nginx.conf", "conf.d/more.conf"} {
		d, ok := files[f]
		if !ok {
			d = fsys[f].Data
		}
		final["T/prefix/"+f] = &fstest.MapFile{Data: d}
	}
	problems, errs := checkContained(final, "/T/prefix/nginx.conf", "/T/prefix", "/T", false)
	if len(errs) > 0 {
		t.Fatalf("rewritten tree does not load: %v", errs)
	}
	var found []string
	for _, p := range problems {
		found = append(found, sn.origPos(p.Pos, "/T/prefix", "/T").String()+" "+p.Directive+": "+p.Reason)
	}
	want := []string{"nginx.conf:29:25 proxy_pass http://$host: the address contains a variable, which cannot be proven to be loopback (use an upstream{} of loopback servers)"}
	if strings.Join(found, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems in the rewritten tree:\n%s\nwant:\n%s", strings.Join(found, "\n"), strings.Join(want, "\n"))
	}
}

func TestRewriteRootKeepsUser(t *testing.T) {
	cfg, _ := loadRich(t)
	sn, err := scanConfig(cfg, "www.example.com", 0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sn.targetHost != "www.example.com" || sn.target.Args != nil && sn.targetListenKey() != "*:80" {
		t.Errorf("target host %q listen %q", sn.targetHost, sn.targetListenKey())
	}
	ports := map[string]int{}
	for i, k := range sn.peerKeys {
		ports[k] = 50000 + i
	}
	files, _, err := sn.apply(rewriteInput{run: "/T/run", listenPorts: map[string]int{"*:80": 1, "*:443": 2}, peerPorts: ports,
		bin: &Binary{LuaStatic: true}, tls: &tlsFiles{}, fsHas: func(string) bool { return true }, userOK: func(u, g string) bool { return u == "www-data" && g == "www-data" }})
	if err != nil {
		t.Fatal(err)
	}
	main := string(files["nginx.conf"])
	if !strings.Contains(main, "user www-data;") || strings.Contains(main, "load_module") {
		t.Errorf("root run: user should stay and no load_module with a static Lua module:\n%s", main)
	}
}

func TestScanErrors(t *testing.T) {
	cfg := nginxconf.Load(fstest.MapFS{"nginx.conf": {Data: []byte("events {}\n")}}, "nginx.conf", nginxconf.Options{})
	if _, err := scanConfig(cfg, "", 0, 0, nil); err == nil || !strings.Contains(err.Error(), "no http server") {
		t.Errorf("config without server: %v", err)
	}
	cfg, _ = loadRich(t)
	if _, err := scanConfig(cfg, "nope.example", 0, 0, nil); err == nil || !strings.Contains(err.Error(), `"nope.example"`) {
		t.Errorf("unknown server: %v", err)
	}
}

func TestListenKey(t *testing.T) {
	for in, want := range map[string]string{
		"80": "*:80", "*:8080": "*:8080", "0.0.0.0:80": "*:80", "[::]:80": "*:80",
		"127.0.0.1": "127.0.0.1:80", "[::1]:81": "[::1]:81", "unix:/run/x.sock": "unix:/run/x.sock",
		"localhost:8000": "localhost:8000",
	} {
		if got := listenKey(in); got != want {
			t.Errorf("listenKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLiteralPeers(t *testing.T) {
	code := `local b = require "ngx.balancer"
b.set_current_peer("127.0.0.1", 8080)
b.set_current_peer('10.0.0.1:81')
b.set_current_peer("::1", 82)
b.set_current_peer(host, port)`
	got := strings.Join(literalPeers(code), ",")
	if want := "127.0.0.1:8080,10.0.0.1:81,[::1]:82"; got != want {
		t.Errorf("literalPeers = %s, want %s", got, want)
	}
}

package nginxengine

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/ngxlint/ngxlint/emulator"
)

const nginxBinary = "/usr/sbin/nginx"

// realNginx returns the probed nginx with the Lua module, skipping the test
// when there is none; under CI=true a missing nginx fails instead, since CI
// installs Debian's nginx and libnginx-mod-http-lua for this suite.
func realNginx(tb testing.TB) *Binary {
	tb.Helper()
	bin := os.Getenv("NGXLINT_NGINX")
	if bin == "" {
		bin = nginxBinary
	}
	miss := func(why string) {
		tb.Helper()
		if os.Getenv("CI") == "true" {
			tb.Fatalf("CI=true but %s (install nginx libnginx-mod-http-lua)", why)
		}
		tb.Skipf("skipping: %s", why)
	}
	if _, err := os.Stat(bin); err != nil {
		miss("no nginx at " + bin)
	}
	b, err := Probe(context.Background(), bin, "")
	if err != nil {
		miss(err.Error())
	}
	if !b.HasLua() {
		miss(bin + " has no lua-nginx-module (static or in its modules directory)")
	}
	return b
}

const seedConf = `http {
    upstream backend {
        server 0.0.0.1;

        balancer_by_lua_block {
            local balancer = require "ngx.balancer"
            local ok, err = balancer.set_current_peer("127.0.0.1", 8080)
        }

        keepalive 1;
    }

    server {
        listen 80;
        location / {
            proxy_pass http://backend$request_uri;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
`

func seedScenario(conf string) Scenario {
	return Scenario{
		ConfigFS: fstest.MapFS{"nginx.conf": {Data: []byte(conf)}},
		Main:     "nginx.conf",
		Requests: []emulator.Request{{Method: "GET", Path: "/a"}, {Method: "GET", Path: "/b"}},
		Backends: map[string]emulator.Policy{"127.0.0.1:8080": {Kind: emulator.PolicyFirstOnly}},
		Timeout:  3 * time.Second,
	}
}

func TestProbeDebian(t *testing.T) {
	b := realNginx(t)
	if b.Profile.Nginx.IsZero() {
		t.Fatalf("no nginx version from -V:\n%s", b.V)
	}
	if b.Profile.LNM.IsZero() || b.LNMSource == "" {
		t.Fatalf("no lua-nginx-module version (source %q)", b.LNMSource)
	}
	if b.Path == nginxBinary && b.Profile.Nginx.String() == "1.22.1" {
		// Debian 12: the version comes from the .so's embedded configure
		// line, and there are no OpenResty patches.
		if got := b.Profile.LNM.String(); got != "0.10.23" {
			t.Errorf("LNM = %s, want 0.10.23", got)
		}
		if !strings.HasPrefix(b.LNMSource, "module file") {
			t.Errorf("LNM source = %q, want the module file", b.LNMSource)
		}
		if b.Profile.NotifyPatch || b.Profile.StatusCodePatch || b.LuaStatic {
			t.Errorf("stock Debian nginx reported as patched/static: %+v", b)
		}
	}
}

func TestModuleVersionScan(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "ngx_http_lua_module.so")
	data := "\x7fELF\x00junk --builddir=/build/libnginx-mod-http-lua-0.10.26/obj\x00more"
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := moduleVersion(p); got != "0.10.26" {
		t.Errorf("moduleVersion = %q, want 0.10.26", got)
	}
	if got := moduleVersion(filepath.Join(dir, "missing.so")); got != "" {
		t.Errorf("missing file: %q", got)
	}
}

// TestSeedRealNginx runs the seed through real nginx and checks the
// observations, the JSON shape, and the safety properties: only loopback
// listeners while it runs, the process group gone and the temporary
// prefix removed afterwards.
func TestSeedRealNginx(t *testing.T) {
	b := realNginx(t)
	var pid int
	var tmp string
	var listeners []string
	hk := hooks{started: func(p int, dir string) {
		pid, tmp = p, dir
		listeners = listeningSockets(t, p)
	}}
	res, err := b.run(context.Background(), seedScenario(seedConf), hk)
	if err != nil {
		t.Fatal(err)
	}
	if pid == 0 {
		t.Fatal("started hook not called")
	}
	if len(listeners) == 0 {
		t.Error("nginx had no listening socket")
	}
	for _, l := range listeners {
		if !strings.HasPrefix(l, "127.0.0.1:") {
			t.Errorf("nginx listened on %s, not loopback", l)
		}
	}
	if groupAlive(pid) {
		t.Errorf("process group %d still alive after Run", pid)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Errorf("temporary prefix %s still exists (%v)", tmp, err)
	}

	if res.Engine != "nginx" || res.Profile.Nginx == "" || res.Profile.LuaNginxModule == "" {
		t.Errorf("engine/profile: %+v", res)
	}
	type obs struct{ status, conns, reqs int }
	want := []obs{{200, 1, 1}, {502, 1, 2}}
	if len(res.Requests) != len(want) {
		t.Fatalf("got %d requests", len(res.Requests))
	}
	for i, w := range want {
		q := res.Requests[i]
		got := obs{q.Status.Code, q.UpstreamConnections, q.UpstreamRequests}
		if got != w || q.Unbounded {
			t.Errorf("request %d: got %+v unbounded=%v, want %+v", i+1, got, q.Unbounded, w)
		}
	}
	if n := res.Requests[1].ErrorLog["upstream prematurely closed connection"]; n != 2 {
		t.Errorf("request 2: %d \"upstream prematurely closed\" lines, want 2 (the cached and the fresh connection)", n)
	}
	if n := res.Requests[0].ErrorLog["upstream prematurely closed connection"]; n != 0 {
		t.Errorf("request 1: %d \"upstream prematurely closed\" lines, want 0", n)
	}
	var seen bool
	for _, be := range res.Backends {
		if be.Address == "127.0.0.1:8080" {
			seen = true
			if be.Policy != "first-only" || be.Connections != 2 || be.Requests != 3 {
				t.Errorf("backend 127.0.0.1:8080: %+v", be)
			}
		}
	}
	if !seen {
		t.Errorf("no backend for 127.0.0.1:8080 in %+v", res.Backends)
	}

	var text strings.Builder
	if err := res.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"request 2: GET /b -> 502, 1 upstream connection, 2 upstream requests",
		`error.log: "upstream prematurely closed connection" x2`, "nginx.conf:14: 80 → 127.0.0.1:"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}

	// The JSON has the emulator's shape.
	data, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"engine", "profile", "requests", "backends", "rewrites"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, data)
		}
	}
	rq := m["requests"].([]any)[1].(map[string]any)
	for _, k := range []string{"method", "path", "status", "upstream_connections", "upstream_requests", "unbounded", "attempts", "error_log"} {
		if _, ok := rq[k]; !ok {
			t.Errorf("request JSON lacks %q: %s", k, data)
		}
	}
	if rq["status"] != float64(502) {
		t.Errorf("status JSON = %v", rq["status"])
	}
}

// TestTimeoutIsUnbounded: a looping balancer is cut by the client timeout
// and reported like the emulator reports a capped request.
func TestTimeoutIsUnbounded(t *testing.T) {
	b := realNginx(t)
	conf := strings.Replace(seedConf, `balancer.set_current_peer("127.0.0.1", 8080)`,
		`balancer.set_current_peer("127.0.0.1", 8080) balancer.set_more_tries(1)`, 1)
	conf = strings.Replace(conf, "keepalive 1;", "", 1)
	sc := seedScenario(conf)
	sc.Requests = sc.Requests[:1]
	sc.Backends = map[string]emulator.Policy{"127.0.0.1:8080": {Kind: emulator.PolicyClose}}
	sc.Timeout = time.Second
	var pid int
	res, err := b.run(context.Background(), sc, hooks{started: func(p int, _ string) { pid = p }})
	if err != nil {
		t.Fatal(err)
	}
	q := res.Requests[0]
	if !q.Status.Timeout || !q.Unbounded {
		t.Fatalf("got status %s unbounded=%v, want timeout/unbounded", q.Status, q.Unbounded)
	}
	if q.UpstreamConnections < 10 {
		t.Errorf("only %d upstream connections in a hot loop", q.UpstreamConnections)
	}
	if groupAlive(pid) {
		t.Errorf("process group %d alive after Run", pid)
	}
}

// TestCancelKillsGroup cancels the run while nginx waits on a hanging
// backend: Run must return, and the process group and prefix must be gone.
func TestCancelKillsGroup(t *testing.T) {
	b := realNginx(t)
	sc := seedScenario(seedConf)
	sc.Backends = map[string]emulator.Policy{"127.0.0.1:8080": {Kind: emulator.PolicyHang}}
	sc.Timeout = time.Minute
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var pid int
	var tmp string
	_, err := b.run(ctx, sc, hooks{started: func(p int, dir string) {
		pid, tmp = p, dir
		// Cancel while the first request waits on the hanging backend.
		time.AfterFunc(300*time.Millisecond, cancel)
	}})
	if err == nil {
		t.Fatal("Run succeeded after cancel")
	}
	if pid == 0 {
		t.Fatalf("nginx never started: %v", err)
	}
	if groupAlive(pid) {
		t.Errorf("process group %d alive after cancel", pid)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Errorf("temporary prefix %s left behind", tmp)
	}
}

// TestBadConfigShowsNginxError: nginx -T failures are reported with the
// emerg line, with paths shown relative to the tree.
func TestBadConfigShowsNginxError(t *testing.T) {
	b := realNginx(t)
	sc := seedScenario(strings.Replace(seedConf, "keepalive 1;", "keepalive 1; bogus_directive on;", 1))
	_, err := b.Run(context.Background(), sc)
	if err == nil {
		t.Fatal("bad config accepted")
	}
	msg := err.Error()
	if !strings.Contains(msg, `unknown directive "bogus_directive"`) || !strings.Contains(msg, "nginx.conf:10") {
		t.Errorf("error does not show nginx's message at nginx.conf:10:\n%s", msg)
	}
	if strings.Contains(msg, os.TempDir()+"/ngxlint-nginx-") {
		t.Errorf("error leaks the temporary path:\n%s", msg)
	}
}

// listeningSockets returns the local addresses of the TCP sockets in LISTEN
// state owned by pid, from /proc (Linux only; nil elsewhere).
func listeningSockets(t *testing.T, pid int) []string {
	t.Helper()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Logf("cannot read fds of %d: %v", pid, err)
		return nil
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err == nil && strings.HasPrefix(l, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	var out []string
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(file)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fl := strings.Fields(sc.Text())
			// sl local rem st tx:rx tr:when retrnsmt uid timeout inode
			if len(fl) < 10 || fl[3] != "0A" || !inodes[fl[9]] {
				continue
			}
			out = append(out, decodeProcAddr(fl[1]))
		}
		f.Close()
	}
	return out
}

// decodeProcAddr turns /proc/net/tcp's "0100007F:1F90" into "127.0.0.1:8080"
// (IPv6 addresses are returned in their hex form, which never looks like
// loopback IPv4 and so fails the check).
func decodeProcAddr(s string) string {
	hostHex, portHex, ok := strings.Cut(s, ":")
	port, _ := strconv.ParseUint(portHex, 16, 16)
	if !ok || len(hostHex) != 8 {
		return s
	}
	v, _ := strconv.ParseUint(hostHex, 16, 32)
	return fmt.Sprintf("%d.%d.%d.%d:%d", v&0xff, v>>8&0xff, v>>16&0xff, v>>24, port)
}

// TestUserTreeRealNginx runs a Debian-shaped tree: relative load_module
// lines (resolved against the binary's prefix), an included server file,
// name-based virtual hosts on one port, a direct proxy_pass to an IP, and
// `user` — everything the rewrite must handle for nginx to start.
func TestUserTreeRealNginx(t *testing.T) {
	b := realNginx(t)
	if b.LuaStatic {
		t.Skip("the tree loads lua-nginx-module dynamically")
	}
	main := `load_module modules/ndk_http_module.so;
load_module modules/ngx_http_lua_module.so;
user nobody;
worker_processes 4;
events { worker_connections 64; }
http {
    include sites/*.conf;
}
`
	site := `server {
    listen 8080;
    server_name first.test;
    location / { return 204; }
}
server {
    listen 0.0.0.0:8080;
    server_name app.test;
    location / {
        proxy_pass http://192.0.2.7:9000;
        header_filter_by_lua_block { ngx.header["X-Lua"] = "1" }
    }
}
`
	sc := Scenario{
		ConfigFS: fstest.MapFS{"nginx.conf": {Data: []byte(main)}, "sites/app.conf": {Data: []byte(site)}},
		Main:     "nginx.conf",
		Server:   "app.test",
		Requests: []emulator.Request{{Method: "GET", Path: "/x"}, {Method: "POST", Path: "/y"}},
		Backends: map[string]emulator.Policy{"192.0.2.7:9000": {Kind: emulator.PolicyStatus, Status: 201}},
		Timeout:  3 * time.Second,
	}
	res, err := b.Run(context.Background(), sc)
	if err != nil {
		t.Fatal(err)
	}
	for i, q := range res.Requests {
		if q.Status.Code != 201 || q.UpstreamConnections != 1 || q.UpstreamRequests != 1 {
			t.Errorf("request %d: %s, %d conns, %d reqs; want 201 from the backend standing for 192.0.2.7:9000", i+1, q.Status, q.UpstreamConnections, q.UpstreamRequests)
		}
	}
	var relModule, direct bool
	for _, rw := range res.Rewrites {
		if rw.File == "nginx.conf" && rw.Line == 2 && strings.HasSuffix(rw.After, "/modules/ngx_http_lua_module.so") && strings.HasPrefix(rw.After, "/") {
			relModule = true
		}
		if rw.File == "sites/app.conf" && rw.Line == 10 && strings.HasPrefix(rw.After, "http://127.0.0.1:") {
			direct = true
		}
		if strings.Contains(rw.After, "load_module") && rw.Line == 1 && rw.Before == "" {
			t.Errorf("load_module added although the tree loads the modules: %s", rw)
		}
	}
	if !relModule || !direct {
		t.Errorf("missing rewrites (relative load_module %v, direct proxy_pass %v):\n%v", relModule, direct, res.Rewrites)
	}
}

func TestTreeFor(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"conf/nginx.conf", "flat/nginx.conf"} {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte("events {}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fsys, main, err := TreeFor(filepath.Join(dir, "conf", "nginx.conf"))
	if err != nil || main != "conf/nginx.conf" {
		t.Fatalf("conf layout: %q %v", main, err)
	}
	if _, err := fs.Stat(fsys, "flat/nginx.conf"); err != nil {
		t.Errorf("tree root is not the prefix: %v", err)
	}
	if _, main, err := TreeFor(filepath.Join(dir, "flat", "nginx.conf")); err != nil || main != "nginx.conf" {
		t.Errorf("flat layout: %q %v", main, err)
	}
	if _, _, err := TreeFor(dir); err == nil {
		t.Error("a directory was accepted")
	}
}

// TestSevereLines: a request's error.log chunk keeps its lines of level
// warn and above, control bytes escaped (nginx logs a map regex's name
// from freed memory), bounded in number.
func TestSevereLines(t *testing.T) {
	chunk := "2026/12/06 14:36:55 [alert] 1#1: *1 pcre2_match() failed: -47 on \"a!\" using \"\x00\x00\"\n" +
		"2026/12/06 14:36:55 [info] 1#1: *1 client closed keepalive connection\n" +
		"2026/12/06 14:36:55 [error] 1#1: *2 open() failed\n"
	got := severeLines(chunk)
	want := []string{
		`2026/12/06 14:36:55 [alert] 1#1: *1 pcre2_match() failed: -47 on "a!" using "\x00\x00"`,
		"2026/12/06 14:36:55 [error] 1#1: *2 open() failed",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("severeLines:\n%q\nwant\n%q", got, want)
	}
	if n := len(severeLines(strings.Repeat("[warn] x\n", 2*maxLogLines))); n != maxLogLines {
		t.Errorf("%d lines kept, want %d", n, maxLogLines)
	}
}

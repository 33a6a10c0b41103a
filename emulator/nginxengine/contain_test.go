package nginxengine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/ngxlint/ngxlint/emulator"
)

// noNginx is a binary that cannot run: the containment checks must refuse
// a configuration before any nginx process (not even `nginx -t`, which
// binds listeners and runs init_by_lua) is started, so these tests need no
// nginx and would see an exec error instead of the refusal if the check
// let the configuration through.
func noNginx(t *testing.T) *Binary {
	return &Binary{Path: filepath.Join(t.TempDir(), "no-such-nginx"), LuaStatic: true}
}

// writeAbs writes a file outside the scenario's tree, where an absolute
// include makes nginx read it from the real file system, unrewritten.
func writeAbs(t *testing.T, name, data string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func treeScenario(conf string) Scenario {
	return Scenario{
		ConfigFS: fstest.MapFS{"nginx.conf": {Data: []byte(conf)}},
		Main:     "nginx.conf",
		Requests: []emulator.Request{{Method: "GET", Path: "/"}},
		Timeout:  3 * time.Second,
	}
}

// wantRefused runs sc and wants an *UncontainedError naming want (a
// file:line:col prefix) and reason.
func wantRefused(t *testing.T, sc Scenario, where, reason string) {
	t.Helper()
	_, err := noNginx(t).Run(context.Background(), sc)
	var ue *UncontainedError
	if !errors.As(err, &ue) {
		t.Fatalf("not refused as uncontained: %v", err)
	}
	if msg := err.Error(); !strings.Contains(msg, where) || !strings.Contains(msg, reason) {
		t.Errorf("refusal does not name %q and %q:\n%s", where, reason, msg)
	}
	if strings.Contains(err.Error(), filepath.Join(os.TempDir(), "ngxlint-")) {
		t.Errorf("refusal leaks the private directory:\n%s", err)
	}
}

// TestRefuseOneLineListenInAbsoluteInclude: a server written on one line
// in a file included by absolute path is read by nginx from the real file
// system and is not rewritten; its listen must be refused, with the file,
// line and column, and not bound.
func TestRefuseOneLineListenInAbsoluteInclude(t *testing.T) {
	inc := writeAbs(t, "one.conf", "server { listen 0.0.0.0:8081; location / { return 200; } }\n")
	conf := "events {}\nhttp {\n    server { listen 80; location / { return 204; } }\n    include " + inc + ";\n}\n"
	wantRefused(t, treeScenario(conf), inc+":1:10: listen 0.0.0.0:8081", "not a loopback address")
}

// TestRefuseMirrorToVariableHost: a mirror subrequest's location proxies to
// http://$var, an address chosen per request that no rewrite can map.
func TestRefuseMirrorToVariableHost(t *testing.T) {
	conf := `events {}
http {
    upstream app { server 127.0.0.1:8080; }
    server {
        listen 80;
        location / { mirror /m; proxy_pass http://app; }
        location /m { internal; proxy_pass http://$arg_to; }
    }
}
`
	wantRefused(t, treeScenario(conf), "nginx.conf:7:33: proxy_pass http://$arg_to", "variable")
}

// TestRefuseNonLoopbackUpstreamServer: an upstream server from a file
// outside the tree stays as written and must be refused.
func TestRefuseNonLoopbackUpstreamServer(t *testing.T) {
	inc := writeAbs(t, "servers.conf", "server 192.0.2.1:80 weight=2;\n")
	conf := "events {}\nhttp {\n    upstream app { include " + inc + "; }\n    server { listen 80; location / { proxy_pass http://app; } }\n}\n"
	wantRefused(t, treeScenario(conf), inc+":1:1: server 192.0.2.1:80", "not a loopback address")
}

// TestLeftoverRunDirRemoved: a run directory left by an ngxlint that died
// (SIGKILL: no deferred removal ran) is removed by the next run; a live
// process's directory is kept.
func TestLeftoverRunDirRemoved(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Skipf("cannot run true: %v", err)
	}
	parent := filepath.Join(tmp, "ngxlint-"+strconv.Itoa(os.Getuid()))
	old := filepath.Join(parent, fmt.Sprintf("run-%d-123", dead.Process.Pid))
	live := filepath.Join(parent, fmt.Sprintf("run-%d-456", os.Getppid()))
	for _, d := range []string{filepath.Join(old, "prefix"), live} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(old, "prefix", "nginx.conf"), []byte("events {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The run itself fails (no nginx); the sweep happens at its start.
	_, _ = noNginx(t).Run(context.Background(), treeScenario(seedConf))
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("leftover run directory %s of dead pid %d not removed (%v)", old, dead.Process.Pid, err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("run directory of a live process removed: %v", err)
	}
	ents, _ := os.ReadDir(parent)
	if len(ents) != 1 {
		t.Errorf("parent holds %d entries after the run, want only the live one", len(ents))
	}
}

// TestSetsidGrandchildKilled: Lua started at worker init spawns a process
// that leaves nginx's session with setsid; it must not outlive the run.
func TestSetsidGrandchildKilled(t *testing.T) {
	b := realNginx(t)
	conf := strings.Replace(seedConf, "http {", `http {
    init_worker_by_lua_block {
        os.execute("setsid sh -c 'echo $$ > " .. ngx.config.prefix() .. "sleep.pid; exec sleep 1000' </dev/null >/dev/null 2>&1 &")
    }`, 1)
	sc := seedScenario(conf)
	sc.Requests = sc.Requests[:1]
	var sleepPid int
	var nginxPid int
	_, err := b.run(context.Background(), sc, hooks{started: func(p int, dir string) {
		nginxPid = p
		pidFile := filepath.Join(dir, "prefix", "sleep.pid")
		// The shell writes the file right after nginx starts; bounded.
		for i := 0; i < 500 && sleepPid == 0; i++ {
			if data, err := os.ReadFile(pidFile); err == nil {
				sleepPid, _ = strconv.Atoi(strings.TrimSpace(string(data)))
			}
			if sleepPid == 0 {
				time.Sleep(10 * time.Millisecond)
			}
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if sleepPid == 0 {
		t.Fatal("the setsid'd child never wrote its pid")
	}
	t.Cleanup(func() {
		if cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", sleepPid)); strings.HasPrefix(string(cmd), "sleep") {
			_ = syscall.Kill(sleepPid, syscall.SIGKILL)
		}
	})
	if sid, err := sessionOf(sleepPid); err == nil && sid == nginxPid {
		t.Errorf("the child stayed in nginx's session %d: the test does not exercise setsid", sid)
	}
	if err := syscall.Kill(sleepPid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("setsid'd grandchild %d outlived the run (kill 0: %v)", sleepPid, err)
	}
	if groupAlive(nginxPid) {
		t.Errorf("nginx's group %d alive after Run", nginxPid)
	}
}

// sessionOf reads a process's session id from /proc.
func sessionOf(pid int) (int, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	f := strings.Fields(s[i+1:])
	if len(f) < 4 {
		return 0, fmt.Errorf("short stat")
	}
	return strconv.Atoi(f[3])
}

// TestCheckContainedShapes: each directive that opens a socket, in the
// spellings that stay on loopback and in those that do not.
func TestCheckContainedShapes(t *testing.T) {
	for _, c := range []struct {
		conf string
		want string // "" when accepted, else a substring of the reason
	}{
		{"http { server { listen 127.0.0.1:80; } }", ""},
		{"http { server { listen 127.3.2.1:80 default_server; } }", ""},
		{"http { server { listen [::1]:80; } }", ""},
		{"http { server { listen localhost:80; } }", ""},
		{"http { server { listen 80; } }", "bare port"},
		{"http { server { listen *:80; } }", "wildcard"},
		{"http { server { listen [::]:80; } }", "not a loopback"},
		{"http { server { listen 127.1:80; } }", "not a loopback"},
		{"http { server { listen 10.0.0.1; } }", "not a loopback"},
		{"http { server { listen unix:/R/s.sock; } }", ""},
		{"http { server { listen unix:/R/../etc/s.sock; } }", "unix socket outside"},
		{"http { server { listen unix:/run/s.sock; } }", "unix socket outside"},
		{"http { server { server_name x; } }", "without listen"},
		{"stream { server { listen 0.0.0.0:53 udp; } }", "not a loopback"},
		{"mail { server { listen 25; } }", "bare port"},
		{"http { upstream u { server 127.0.0.1:1; server localhost; } }", ""},
		{"http { upstream u { server backend.internal:80; } }", "not a loopback"},
		{"http { upstream u { server unix:/var/run/docker.sock; } }", "unix socket outside"},
		{"http { upstream u { postgres_server 10.0.0.1 dbname=x; } }", "not a loopback"},
		{"stream { upstream u { server 192.0.2.1:53; } }", "not a loopback"},
		{"http { server { listen 127.0.0.1:1; location / { proxy_pass http://u; } } upstream u { server 127.0.0.1:2; } }", ""},
		{"http { upstream u { server 127.0.0.1:2; } server { listen 127.0.0.1:1; location / { proxy_pass http://u$request_uri; } } }", ""},
		{"http { upstream u { server 127.0.0.1:2; } server { listen 127.0.0.1:1; location / { proxy_pass http://u$request_uri_x; } } }", "variable"},
		{"http { upstream u { server 127.0.0.1:2; } server { listen 127.0.0.1:1; location / { proxy_pass http://u$arg_x; } } }", "variable"},
		{"http { server { listen 127.0.0.1:1; location / { proxy_pass http://127.0.0.1:$arg_p/x; } } }", ""},
		{"http { server { listen 127.0.0.1:1; location / { proxy_pass http://127.0.0.1/$arg_p; } } }", ""},
		{"http { upstream u { server 127.0.0.1:2; } server { listen 127.0.0.1:1; location / { proxy_pass http://u:$arg_p; } } }", "not a loopback"},
		{"http { server { listen 127.0.0.1:1; location / { proxy_pass $scheme://127.0.0.1; } } }", "scheme"},
		{"http { server { listen 127.0.0.1:1; location / { proxy_pass http://127.0.0.1$arg_p; } } }", "variable"},
		{"http { server { listen 127.0.0.1:1; location / { proxy_pass https://example.com; } } }", "not a loopback"},
		{"http { server { listen 127.0.0.1:1; location / { fastcgi_pass unix:/R/php.sock; } } }", ""},
		{"http { server { listen 127.0.0.1:1; location / { uwsgi_pass unix:/tmp/u.sock; } } }", "unix socket outside"},
		{"http { server { listen 127.0.0.1:1; location / { grpc_pass grpc://[::1]:9; } } }", ""},
		{"http { server { listen 127.0.0.1:1; location / { memcached_pass 10.0.0.2:11211; } } }", "not a loopback"},
		{"http { server { listen 127.0.0.1:1; location / { redis2_pass 10.0.0.2:6379; } } }", "not a loopback"},
		{"http { server { listen 127.0.0.1:1; location / { scgi_pass $x; } } }", "variable"},
		{"stream { upstream u { server 127.0.0.1:1; } server { listen 127.0.0.1:2; proxy_pass u; } }", ""},
		{"stream { server { listen 127.0.0.1:2; proxy_pass 8.8.8.8:53; } }", "not a loopback"},
		{"http { upstream s { server 127.0.0.1:1; } } stream { server { listen 127.0.0.1:2; proxy_pass s; } }", "not a loopback"},
		{"http { resolver 127.0.0.1:1 [::1] valid=1s ipv6=off; }", ""},
		{"http { resolver 8.8.8.8; }", "resolver 8.8.8.8"},
		{"http { resolver dns.example; }", "not a loopback"},
		{"error_log syslog:server=192.0.2.9:514,tag=x;", "syslog server"},
		{"http { access_log syslog:server=127.0.0.1 combined; }", ""},
		{"http { access_log syslog:server=unix:/dev/log; }", "unix socket outside"},
		{"http { server { listen 127.0.0.1:1 ssl; ssl_stapling on; } }", "OCSP"},
		{"http { ssl_stapling_responder http://127.0.0.1:9/; server { listen 127.0.0.1:1 ssl; ssl_stapling on; } }", ""},
		{"http { server { listen 127.0.0.1:1 ssl; ssl_stapling on; ssl_stapling_responder http://ocsp.example/; } }", "not a loopback"},
		{"http { server { listen 127.0.0.1:1; ssl_ocsp leaf; } }", "OCSP"},
		// TLS files: only the run's (the engine rewrites every one it
		// sees), in-memory data: values, and files of the copied tree.
		{"http { server { listen 127.0.0.1:1 ssl; ssl_certificate /etc/ssl/site.crt; } }", "TLS file outside"},
		{"http { ssl_certificate_key /R/run/tls/ec.key; ssl_certificate certs/site.crt; }", ""},
		{"http { ssl_certificate ../../etc/ssl/site.crt; }", "TLS file outside"},
		{"http { ssl_certificate data:-----BEGIN; }", ""},
		{"http { ssl_certificate_key engine:pkcs11:id; }", "OpenSSL engine"},
		{"http { ssl_certificate $ssl_server_name.crt; }", "variable in a TLS file"},
		{"http { ssl_dhparam /etc/ssl/dh.pem; }", "TLS file outside"},
		{"http { ssl_session_ticket_key /etc/nginx/ticket.key; }", "TLS file outside"},
		{"http { server { listen 127.0.0.1:1; location / { proxy_ssl_trusted_certificate /etc/ssl/ca.pem; } } }", "TLS file outside"},
		{"stream { ssl_password_file /etc/keys/pass; }", "TLS file outside"},
		{"ssl_engine pkcs11;", "shared library"},
		{"http { ssl_conf_command VerifyCAFile /etc/ssl/ca.pem; }", "reads a file"},
		{"http { ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256; }", ""},
		{"mail { auth_http 192.0.2.3:80/auth; }", "not a loopback"},
		{"mail { auth_http 127.0.0.1:80/auth; }", ""},
		{"http { server { listen 127.0.0.1:1; location / { mirror /m; auth_request /a; } } }", ""},
	} {
		fsys := fstest.MapFS{"R/nginx.conf": {Data: []byte(c.conf + "\n")}}
		problems, errs := checkContained(fsys, "/R/nginx.conf", "/R", "/R", false)
		if len(errs) > 0 {
			t.Errorf("%s: does not load: %v", c.conf, errs)
			continue
		}
		var got []string
		for _, p := range problems {
			got = append(got, p.String())
		}
		switch {
		case c.want == "" && len(got) > 0:
			t.Errorf("%s: refused: %v", c.conf, got)
		case c.want != "" && (len(got) != 1 || !strings.Contains(got[0], c.want)):
			t.Errorf("%s: got %v, want one refusal with %q", c.conf, got, c.want)
		}
	}
	// A file that does not load cannot be checked.
	_, errs := checkContained(fstest.MapFS{"R/nginx.conf": {Data: []byte("http { include /etc/missing.conf; }\n")}}, "/R/nginx.conf", "/R", "/R", false)
	if len(errs) == 0 {
		t.Error("a missing include was not reported")
	}
}

// TestOrigPosAcrossEdits: a refused directive after a rewritten one on the
// same line is reported at its column in the user's file.
func TestOrigPosAcrossEdits(t *testing.T) {
	conf := "events {}\nhttp { server { listen 80; location / { proxy_pass http://$arg_x; } } }\n"
	_, err := noNginx(t).Run(context.Background(), treeScenario(conf))
	if err == nil || !strings.Contains(err.Error(), "nginx.conf:2:41: proxy_pass http://$arg_x") {
		t.Errorf("position not mapped back to the user's file: %v", err)
	}
}

// TestRunParentRefusesSymlink: the per-user parent must be a real
// directory of this user, mode 0700.
func TestRunParentRefusesSymlink(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	parent := filepath.Join(tmp, "ngxlint-"+strconv.Itoa(os.Getuid()))
	if err := os.Symlink(t.TempDir(), parent); err != nil {
		t.Fatal(err)
	}
	if _, err := runParent(); err == nil || !strings.Contains(err.Error(), "symlink") {
		t.Errorf("symlinked parent accepted: %v", err)
	}
	if err := os.Remove(parent); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(parent, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := runParent(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(parent); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("parent mode %v (%v), want 0700", fi.Mode().Perm(), err)
	}
	if os.Getuid() == 0 {
		if err := os.Chown(parent, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		if _, err := runParent(); err == nil || !strings.Contains(err.Error(), "owned by uid 65534") {
			t.Errorf("parent owned by another user accepted: %v", err)
		}
	}
}

// TestEnvironmentScrubbed: nginx, and the configuration's Lua, do not see
// the runner's environment (CI secrets live there); init_by_lua runs
// before nginx clears its own environ (ngx_set_environment), so it would.
func TestEnvironmentScrubbed(t *testing.T) {
	b := realNginx(t)
	t.Setenv("NGXLINT_TEST_CANARY", "secret-canary")
	conf := strings.Replace(seedConf, "http {", `http {
    init_by_lua_block {
        local f = io.open(ngx.config.prefix() .. "env.txt", "w")
        f:write(tostring(os.getenv("NGXLINT_TEST_CANARY")), " ", tostring(os.getenv("PATH") ~= nil))
        f:close()
    }`, 1)
	sc := seedScenario(conf)
	sc.Requests = sc.Requests[:1]
	var seen string
	_, err := b.run(context.Background(), sc, hooks{started: func(_ int, dir string) {
		data, _ := os.ReadFile(filepath.Join(dir, "prefix", "env.txt"))
		seen = string(data)
	}})
	if err != nil {
		t.Fatal(err)
	}
	if seen != "nil true" {
		t.Errorf("init_by_lua saw canary and PATH as %q, want \"nil true\"", seen)
	}
}

// TestCheckContainedRequestHosts: with Scenario.RequestHosts, a proxy_pass
// host is accepted only when it is one variable that holds nothing but
// request bytes (requesthost.go); a variable the configuration can fill
// with an address is refused, with the reason.
func TestCheckContainedRequestHosts(t *testing.T) {
	const srv = "http { %s server { listen 127.0.0.1:1; %s } }"
	for _, c := range []struct {
		top, body string
		want      string // "" when accepted
	}{
		{"", `location ~ ^/fetch/([^/]+)/(.*)$ { proxy_pass http://$1/$2; }`, ""},
		{"", `location ~ ^/f/(?<h>[^/]+)$ { proxy_pass https://$h:8443/x; }`, ""},
		{"", `location / { proxy_pass http://$arg_host; }`, ""},
		{"", `location / { proxy_pass http://${http_x_target}$request_uri; }`, ""},
		{"", `location / { proxy_pass http://$cookie_b/; }`, ""},
		// An IP literal through set.
		{"", `location / { set $h 10.0.0.1; proxy_pass http://$h; }`, "also set by the configuration"},
		// A defined variable is found before the prefix families (checked
		// on Debian's nginx 1.22.1: "set $http_x_t v" makes $http_x_t v
		// whatever the header, and names are case-insensitive).
		{"", `location / { set $http_x_t 10.0.0.1; proxy_pass http://$http_x_t; }`, "also set by the configuration"},
		{"", `location / { set $Arg_Host 10.0.0.1; proxy_pass http://$arg_host; }`, "also set by the configuration"},
		{"map $uri $cookie_b { default 10.0.0.1; }", `location / { proxy_pass http://$cookie_b/; }`, "also set by the configuration"},
		{"", `location / { auth_request /a; auth_request_set $http_y $upstream_http_y; proxy_pass http://$http_y; }`, "also set by the configuration"},
		// A map whose default is a literal host.
		{"map $arg_x $h { default 10.0.0.1; a a.test; }", `location / { proxy_pass http://$h; }`, "also set by the configuration"},
		// A variable set by Lua.
		{"", `location / { set_by_lua_block $h { return "10.0.0.1" } proxy_pass http://$h; }`, "can change request headers or variables"},
		{"", `location / { access_by_lua_block { ngx.req.set_header("X-T", "10.0.0.1") } proxy_pass http://$http_x_t; }`, "can change request headers"},
		{"", `location / { proxy_pass http://10.0.0.$arg_x; }`, "not exactly one variable"},
		{"", `location / { proxy_pass http://$arg_a$arg_b; }`, "not exactly one variable"},
		{"", `location / { proxy_pass http://$host$request_uri; }`, ""},
		{"", `location / { set $host 10.0.0.1; proxy_pass http://$host; }`, "also set by the configuration"},
		{"", `location / { proxy_pass $arg_url; }`, "not defined by exactly one set"},
		// A URI the configuration writes (internal redirect, subrequest)
		// reaches the regex location's capture or the query without
		// being in the request.
		{"", `location / { error_page 404 = /p/10.0.0.5/; return 404; } location ~ ^/p/([^/]+)/ { proxy_pass http://$1; }`, "sends requests to a URI the configuration writes"},
		{"", `location / { auth_request /p/10.0.0.5/; } location ~ ^/p/([^/]+)/ { proxy_pass http://$1; }`, "sends requests to a URI the configuration writes"},
		{"", `location / { mirror /p/10.0.0.5/; } location ~ ^/p/([^/]+)/ { proxy_pass http://$1; }`, "sends requests to a URI the configuration writes"},
		{"", `location / { try_files $uri /p/10.0.0.5/; } location ~ ^/p/([^/]+)/ { proxy_pass http://$1; }`, "sends requests to a URI the configuration writes"},
		{"", `location / { error_page 404 = /go$hostname; return 404; } location /go { proxy_pass http://$arg_to; }`, "sends requests to a URI the configuration writes"},
		{"", `location / { set $arg_x 10.0.0.5; try_files $uri /p/$arg_x/; } location ~ ^/p/([^/]+)/ { proxy_pass http://$1; }`, "sends requests to a URI the configuration writes"},
		{"", `location / { ssi on; } location ~ ^/p/([^/]+)/ { proxy_pass http://$1; }`, "ssi"},
		{"", `location / { try_files $uri $uri/ /index.php?$args; } location ~ ^/p/([^/]+)/ { proxy_pass http://$1; }`, ""},
		// The whole URL in a variable that one set builds.
		{"", `location ~ ^/f/([^/]+)$ { set $u http://$1/x; proxy_pass $u; }`, ""},
		{"", `location ~ ^/f/([^/]+)$ { set $u http://$1/x; proxy_pass ${u}; }`, ""},
		{"", `location ~ ^/f/([^/]+)$ { set $u http://10.0.0.1/$1; proxy_pass $u; }`, "not exactly one variable"},
		{"", `location ~ ^/f/([^/]+)$ { set $u http://$1/x; if ($arg_a) { set $u http://10.0.0.1; } proxy_pass $u; }`, "not defined by exactly one set"},
		{"map $arg_b $u { default http://10.0.0.1; }", `location ~ ^/f/([^/]+)$ { set $u http://$1/x; proxy_pass $u; }`, "not defined by exactly one set"},
		{"", `location ~ ^/f/([^/]+)$ { set $u http://$u/x; proxy_pass $u; }`, "not defined by exactly one set"},
		{"", `location / { set $u http://$arg_to; proxy_pass $u; }`, ""},
		{"", `location / { rewrite ^ /x?host=10.0.0.1; proxy_pass http://$arg_host; }`, "can change the query string"},
		{"", `location / { set $args host=10.0.0.1; proxy_pass http://$arg_host; }`, "can change the query string"},
		{"", `location /p/ { proxy_pass http://$1; }`, "not a request variable"},
		{"", `location ~ ^/f/([^/]+)$ { if ($http_x ~ (.+)) { } proxy_pass http://$1; }`, "can set captures too"},
		{"map $uri $m { ~^/(?<h>.*) $h; }", `location ~ ^/f/(.+)$ { proxy_pass http://$1; }`, "can set captures too"},
		{"", `location ~ ^/f/(?<h>.+)$ { set $h 10.0.0.1; proxy_pass http://$h; }`, "also set by the configuration"},
		{"", `location / { fastcgi_pass $arg_h:9000; }`, "only an http proxy_pass"},
	} {
		conf := strings.Replace(strings.Replace(srv, "%s", c.top, 1), "%s", c.body, 1)
		fsys := fstest.MapFS{"R/nginx.conf": {Data: []byte(conf + "\n")}}
		problems, errs := checkContained(fsys, "/R/nginx.conf", "/R", "/R", true)
		if len(errs) > 0 {
			t.Errorf("%s: does not load: %v", conf, errs)
			continue
		}
		var got []string
		for _, p := range problems {
			got = append(got, p.String())
		}
		switch {
		case c.want == "" && len(got) > 0:
			t.Errorf("%s: refused: %v", conf, got)
		case c.want != "" && (len(got) != 1 || !strings.Contains(got[0], c.want)):
			t.Errorf("%s: got %v, want one refusal with %q", conf, got, c.want)
		}
		// Without RequestHosts every one of them is refused.
		if p, _ := checkContained(fsys, "/R/nginx.conf", "/R", "/R", false); len(p) == 0 {
			t.Errorf("%s: accepted without RequestHosts", conf)
		}
	}
}

// TestRequestHostBlocker: a request whose bytes could spell an address
// is not sent when the proxied host comes from the request.
func TestRequestHostBlocker(t *testing.T) {
	for _, c := range []struct {
		rq   emulator.Request
		want string
	}{
		{emulator.Request{Path: "/fetch/ngxlint-ssrf.test/a?x=1"}, ""},
		{emulator.Request{Path: "/fetch/10.0.0.1/a"}, "IPv4"},
		{emulator.Request{Path: "/fetch/10%2E0.0.1/a"}, "IPv4"},
		{emulator.Request{Path: "/fetch/10%252E0%252E0%252E1/a"}, "IPv4"},
		{emulator.Request{Path: "/f/%5B::1%5D"}, "bracket"},
		{emulator.Request{Path: "/f/", Headers: []emulator.Header{{Name: "X-T", Value: "UNIX:/run/x.sock"}}}, "unix socket"},
		{emulator.Request{Path: "/f/%zz"}, "percent-decode"},
	} {
		got := requestHostBlocker(c.rq, "victim.test")
		if c.want == "" && got != "" || c.want != "" && !strings.Contains(got, c.want) {
			t.Errorf("%+v: %q, want %q", c.rq, got, c.want)
		}
	}
	if got := requestHostBlocker(emulator.Request{Path: "/x HTTP/1.0\r\n\r\n"}, "victim.test"); got == "" {
		t.Error("a request line with a raw break was not blocked")
	}
	if got := requestHostBlocker(emulator.Request{Path: "/"}, "10.1.2.3"); got == "" {
		t.Error("an address in the engine's own header was not caught")
	}
}

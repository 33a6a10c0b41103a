package rules

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/versions"
)

// TestHandlerChecksAgainstNginx runs small configurations through the
// installed nginx -t (Debian's 1.22.1 with NDK, lua-nginx-module and the
// stream module loaded) and through the NGX3xxx rules with that build
// declared. Where nginx refuses, ngxlint must report an error with
// nginx's message at nginx's line (or, for an error nginx prints with no
// line, at the directive); where nginx accepts, no error. miss marks what
// nginx refuses and ngxlint knowingly does not say (a host name only a
// resolver can judge).
func TestHandlerChecksAgainstNginx(t *testing.T) {
	bin := "/usr/sbin/nginx"
	if p := os.Getenv("NGXLINT_NGINX"); p != "" {
		bin = p
	}
	if _, err := os.Stat(bin); err != nil {
		t.Skip("no nginx at " + bin)
	}
	modDir := ""
	for _, d := range []string{"/usr/lib/nginx/modules", "/usr/share/nginx/modules"} {
		if _, err := os.Stat(filepath.Join(d, "ngx_http_lua_module.so")); err == nil {
			if _, err := os.Stat(filepath.Join(d, "ngx_stream_module.so")); err == nil {
				modDir = d
			}
		}
	}
	if modDir == "" {
		t.Skip("no lua and stream dynamic modules to load")
	}
	out, err := exec.Command(bin, "-v").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "nginx/1.22.1") {
		t.Skipf("the cases are nginx 1.22.1's (nginx -v: %s)", strings.TrimSpace(string(out)))
	}
	profile, err := versions.Resolve("1.22.1", "0.10.23", "")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		http, stream, main, events string // block contents; http's go in server{} unless they start with "http:"
		miss                       bool
		elsewhere                  bool // nginx names another line (the end of http{})
	}{
		// listen: the address (ngx_parse_url).
		{http: "listen 8080q;"},
		{http: "listen 127.0.0.1:80q;"},
		{http: "listen 0;"},
		{http: "listen 70000;"},
		{http: "listen 65535;"},
		{http: "listen [::1]:80x;"},
		{http: "listen [::1]:8081;"},
		{http: "listen :80;"},
		{http: "listen 127.0.0.1/24;"},
		{http: "listen 8000-8010;"},
		{http: "listen 8010-8000;"},
		{http: "listen unix:;"},
		{http: "listen localhost:8081;"},
		{http: "listen 127.000.0.1:8081;"},
		{http: "listen nosuchhost.invalid:8081;", miss: true},
		// listen: the parameters.
		{http: "listen 8081 a;"},
		{http: "listen 8081 SSL;"},
		{http: "listen 8081 quic;"},
		{http: "listen 8081 spdy;"},
		{http: "listen 8081 backlog=0;"},
		{http: "listen 8081 backlog=x;"},
		{http: "listen 8081 rcvbuf=1q;"},
		{http: "listen 8081 sndbuf=64k;"},
		{http: "listen 8081 ipv6only=of;"},
		{http: "listen 8081 ipv6only=yes;"},
		{http: "listen [::]:8081 ipv6only=on;"},
		{http: "listen 8081 so_keepalive=x;"},
		{http: "listen 8081 so_keepalive=30m::10;"},
		{http: "listen 8081 so_keepalive=::;"},
		{http: "listen 8081 so_keepalive=1:2:3:4;"},
		{http: "listen 8081 fastopen=x;"},
		{http: "listen 8081 fastopen=10 default_server reuseport deferred bind backlog=511 http2 proxy_protocol;"},
		{http: "listen 8081 default;"},
		// listen: duplicates (ngx_http_add_addresses).
		{http: "listen 8081;\nlisten *:8081;"},
		{http: "listen 0.0.0.0:8081;\nlisten 8081;"},
		{http: "listen 127.0.0.1:8080;"},
		{http: "listen 127.0.0.2:8080;"},
		{http: "listen [::]:8081;\nlisten [0::0]:8081;"},
		{http: "listen 8081 default_server;\n}\nserver {\nlisten 8081 default_server;"},
		{http: "listen 8081 default_server;\n}\nserver {\nlisten 127.0.0.1:8081 default_server;"},
		{http: "listen 8081 reuseport;\n}\nserver {\nlisten 8081 backlog=10;"},
		{http: "listen 8081 reuseport;\n}\nserver {\nlisten 8081;"},
		{http: "listen 127.0.0.1:8080 default_server;"},
		// The stream module's listen.
		{stream: "listen 5353 udp;\nlisten 5353;"},
		{stream: "listen 5353;\nlisten 0.0.0.0:5353;"},
		{stream: "listen 5353 http2;"},
		{stream: "listen 5353q;"},
		// lua_shared_dict.
		{http: "http:lua_shared_dict d 1mq;"},
		{http: "http:lua_shared_dict d 8191;"},
		{http: "http:lua_shared_dict d 8k;", miss: true}, // ngx_slab_alloc fails (crit)
		{http: "http:lua_shared_dict d 1m;\nlua_shared_dict d 2m;"},
		{http: "http:lua_shared_dict d 1m;\nlua_shared_dict d 1024k;"},
		{http: "http:lua_shared_dict d 1m;\nlua_shared_dict e 1m;"},
		// return.
		{http: "return 200q;"},
		{http: "return 1000;"},
		{http: "return https://example.com/;"},
		{http: "return /x;"},
		{http: "return 301 /x;"},
		{http: "return $scheme://example.com;"},
		// worker_connections, worker_processes.
		{events: "worker_connections 1024q;"},
		{events: "worker_connections 1024;"},
		{main: "worker_processes 4q;"},
		{main: "worker_processes auto;"},
		{main: "worker_processes 2;"},
		// error_page.
		{http: "error_page 404q /e.html;"},
		{http: "error_page 200 /e.html;"},
		{http: "error_page 499 /e.html;"},
		{http: "error_page 404 =200 /e.html;"},
		{http: "error_page 404 = /e.html;"},
		{http: "error_page =200 /e.html;"},
		{http: "error_page 404 =x /e.html;"},
		// upstream server.
		{http: "http:upstream v {\nserver 127.0.0.1:1 a;\n}"},
		{http: "http:upstream v {\nserver 127.0.0.1:1 weight=0;\n}"},
		{http: "http:upstream v {\nserver 127.0.0.1:1 weight=2 max_fails=3 fail_timeout=10s max_conns=5;\nserver 127.0.0.1:2 backup down;\n}"},
		{http: "http:upstream v {\nserver 127.0.0.1:1 fail_timeout=10q;\n}"},
		// gzip_static, proxy_cache, proxy_cache_path.
		{http: "gzip_static onn;"},
		{http: "gzip_static always;"},
		{http: "server_tokens build;"},
		{http: "location /c {\nproxy_cache offn;\n}", elsewhere: true},
		{http: "location /c {\nproxy_cache off;\n}"},
		{http: "location /c {\nproxy_cache $host;\n}"},
		{http: "http:proxy_cache_path /tmp/ngxlint-c keys_zone=cz:1m;\nproxy_cache_path /tmp/ngxlint-c/ keys_zone=cy:1m;"},
		{http: "http:proxy_cache_path /tmp/ngxlint-c keys_zone=cz:1m;\nfastcgi_cache_path /tmp/ngxlint-c keys_zone=cy:1m;"},
		{http: "http:proxy_cache_path /tmp/ngxlint-c keys_zone=cz:1m;\nserver {\nlisten 8082;\nlocation / {\nproxy_cache cz;\n}\n}"},
	}
	dir := t.TempDir()
	emerg := regexp.MustCompile(`\[(?:emerg|crit)\] \d+#\d+: (.*?)(?: in ([^ ]+):(\d+))?\n`)
	for i, c := range cases {
		httpTop, srv := "", c.http
		if rest, ok := strings.CutPrefix(c.http, "http:"); ok {
			httpTop, srv = rest, ""
		}
		conf := fmt.Sprintf("load_module %[1]s/ndk_http_module.so;\nload_module %[1]s/ngx_http_lua_module.so;\nload_module %[1]s/ngx_stream_module.so;\n"+
			"pid %[2]s/nginx.pid;\n%[3]s\nevents {\n%[7]s\n}\nhttp {\naccess_log off;\n%[4]s\nserver {\nlisten 127.0.0.1:8080;\n%[5]s\n}\n}\nstream {\nserver {\nlisten 127.0.0.1:5300;\nreturn x;\n%[6]s\n}\n}\n",
			modDir, dir, c.main, httpTop, srv, c.stream, c.events)
		name := filepath.Join(dir, fmt.Sprintf("c%d.conf", i))
		if err := os.WriteFile(name, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(bin, "-t", "-q", "-p", dir, "-c", name, "-e", "stderr").CombinedOutput()
		nginxMsg, nginxLine := "", 0
		if err != nil {
			m := emerg.FindSubmatch(out)
			if m == nil {
				t.Errorf("case %d: nginx -t fails without [emerg] or [crit]: %s", i, out)
				continue
			}
			nginxMsg = string(m[1])
			fmt.Sscan(string(m[3]), &nginxLine)
		}
		cfg := nginxconf.LoadFile(name, nginxconf.Options{})
		res := analyzer.Run(cfg, nginxconf.BuildModel(cfg), directiveRules(), analyzer.Options{Profile: profile})
		var ours []*analyzer.Diagnostic
		for _, d := range res.Diagnostics {
			if d.Severity == analyzer.Error {
				ours = append(ours, d)
			}
		}
		what := strings.ReplaceAll(c.http+c.stream+c.main+c.events, "\n", " ")
		switch {
		case nginxMsg == "" && len(ours) > 0:
			t.Errorf("%s: nginx accepts; ngxlint: %s %s", what, ours[0].Rule.ID, ours[0].Message)
		case nginxMsg != "" && c.miss:
			if len(ours) > 0 {
				t.Errorf("%s: marked a miss, but ngxlint says %s", what, ours[0].Message)
			}
		case nginxMsg != "" && len(ours) == 0:
			t.Errorf("%s: nginx says %q; ngxlint nothing", what, nginxMsg)
		case nginxMsg != "":
			d := ours[0]
			// A value that does not look like a setting is described,
			// not quoted (safeValue): it stands for nginx's quoted one.
			msg := regexp.QuoteMeta(strings.TrimSuffix(d.Message, " here"))
			msg = regexp.MustCompile(`\\\(a value of \d+ bytes, not quoted\\\)`).ReplaceAllString(msg, `"[^"]*"`)
			if !regexp.MustCompile("^" + msg).MatchString(nginxMsg) {
				t.Errorf("%s: nginx says %q; ngxlint %q", what, nginxMsg, d.Message)
			}
			if nginxLine != 0 && d.Pos.Line != nginxLine && !c.elsewhere {
				t.Errorf("%s: nginx names line %d; ngxlint line %d", what, nginxLine, d.Pos.Line)
			}
		case c.miss:
			t.Errorf("%s: marked a miss, but nginx accepts", what)
		}
	}
	t.Logf("%d configurations checked against %s", len(cases), bin)
}

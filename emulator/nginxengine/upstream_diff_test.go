package nginxengine

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/reqmodel"
)

// TestUpstreamRequestDifferential sends requests to proxying locations of
// Debian's nginx, whose backends are echo backends (policy "echo"), and
// compares the request head each backend read with the one the
// emulator's request path computes (Exchange.UpstreamRequest), and the
// reflected headers the client reads through the proxy's hide lists:
// proxy_set_header's all-or-nothing inheritance, the module's default
// Host and Connection, empty values left out, the client's headers passed
// unless named or proxy_pass_request_headers is off, proxy_hide_header
// and proxy_pass_header. The upstream port is the run's, and
// $request_id's value is random: both are masked.
func TestUpstreamRequestDifferential(t *testing.T) {
	b := realNginx(t)
	conf := `events {}
http {
    proxy_hide_header X-Powered-By;
    server {
        listen 80;
        server_name victim.test;
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        location /api/ {
            proxy_set_header X-Request-Id $request_id;
            proxy_set_header X-Empty $http_x_none;
            proxy_pass http://127.0.0.1:8080;
        }
        location /inherits/ {
            proxy_pass http://127.0.0.1:8080;
        }
        location /hide/ {
            proxy_hide_header X-Runtime;
            proxy_pass_header Server;
            proxy_pass http://127.0.0.1:8080/v2/;
        }
        location /nohdr/ {
            proxy_pass_request_headers off;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://127.0.0.1:8080;
        }
    }
}
`
	mfs := fstest.MapFS{"nginx.conf": {Data: []byte(conf)}}
	// What the engine's client sends besides the request's own headers
	// (client.go), in its order.
	hdrs := []emulator.Header{{Name: "Host", Value: "victim.test"}, {Name: "User-Agent", Value: "ngxlint-engine"},
		{Name: "X-Forwarded-For", Value: "203.0.113.9"}, {Name: "TE", Value: "trailers"}, {Name: "X-Client", Value: "c"},
		{Name: emulator.ReflectPrefix + "X-Powered-By", Value: "php"}, {Name: emulator.ReflectPrefix + "X-Runtime", Value: "9"},
		{Name: emulator.ReflectPrefix + "Server", Value: "app"}}
	paths := []string{"/api/x?a=1", "/inherits/", "/hide/y", "/nohdr/"}
	var reqs []emulator.Request
	for _, p := range paths {
		reqs = append(reqs, emulator.Request{Path: p, Headers: hdrs[2:]})
	}
	echo, _ := emulator.ParsePolicy("echo")
	real, err := b.Run(context.Background(), Scenario{ConfigFS: mfs, Main: "nginx.conf", Requests: reqs,
		Server: "victim.test", DefaultPolicy: echo, Timeout: 3 * time.Second})
	if err != nil {
		t.Fatalf("nginx: %v", err)
	}
	cfg := nginxconf.Load(mfs, "nginx.conf", nginxconf.Options{Prefix: "/"})
	if err := cfg.Err(); err != nil {
		t.Fatal(err)
	}
	m := nginxconf.BuildModel(cfg)
	site := emulator.Site{Server: m.HTTP.Servers[0], Analysis: reqmodel.NewAnalysis(m), EchoBackend: true,
		NginxVersion: real.Profile.Nginx}
	port := regexp.MustCompile(`127\.0\.0\.1:[0-9]+`)
	id := regexp.MustCompile(`X-Request-Id: [0-9a-f]{32}`)
	mask := func(s string) string {
		return id.ReplaceAllString(port.ReplaceAllString(s, "127.0.0.1:PORT"), "X-Request-Id: ID")
	}
	reflected := func(hs []emulator.Header) string {
		var out []string
		for _, h := range hs {
			switch strings.ToLower(h.Name) {
			case "x-powered-by", "x-runtime", "server":
				out = append(out, h.Name+"="+h.Value)
			}
		}
		return strings.Join(out, " ")
	}
	for i, p := range paths {
		rr := real.Requests[i]
		_, realHead, ok := emulator.ParseEcho(rr.Body)
		if rr.Status.Code != 200 || !ok {
			t.Errorf("%s: nginx %d, body %q is not an echo", p, rr.Status.Code, rr.Body)
			continue
		}
		x := emulator.Serve(site, emulator.Request{Path: p, Headers: hdrs})
		if x.UpstreamRequest == nil {
			t.Fatalf("%s: the emulator did not proxy: %v", p, x.Trace)
		}
		realEcho := mask(emulator.EchoHead(strings.SplitN(rr.Body, "\r\n", 2)[0], realHead))
		emuEcho := mask(emulator.EchoHead(x.UpstreamRequest.Line, x.UpstreamRequest.Headers))
		t.Logf("%s: nginx sent %q", p, realEcho)
		if realEcho != emuEcho {
			t.Errorf("%s: upstream request\n nginx:    %q\n emulator: %q", p, realEcho, emuEcho)
		}
		_, rh := emulator.ParseHead(rr.Head)
		if got, want := reflected(rh), reflected(x.Headers); got != want {
			t.Errorf("%s: reflected headers the client reads: nginx %q, emulator %q", p, got, want)
		}
	}
}

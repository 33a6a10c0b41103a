package nginxengine

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/reqmodel"
)

// TestGRPCHeadersDifferential sends requests to grpc_pass locations of
// Debian's nginx, whose backends answer HTTP/2 with prior knowledge
// (h2c) with the request head they received (policy "echo"), and
// compares it with the head the emulator computes under
// Site.EchoBackend: a server-level grpc_set_header inherited, a level
// whose own grpc_set_header Host drops it (what SEC1002 reports) and
// makes Host stand for :authority, the client's TE: trailers passed on
// (the module's $grpc_internal_trailers), a changed URI as :path, a
// level's own Content-Length; and the response headers the backend
// reflects through the default and a level's grpc_hide_header. The
// port of :authority is the run's backend's: it is masked.
func TestGRPCHeadersDifferential(t *testing.T) {
	b := realNginx(t)
	conf := `events {}
http {
    server {
        listen 80;
        server_name victim.test;
        grpc_set_header X-Real-IP $remote_addr;
        location /g/ {
            grpc_pass grpc://127.0.0.1:9000;
        }
        location /h/ {
            grpc_set_header Host $host;
            grpc_set_header X-Empty $http_x_none;
            grpc_hide_header X-Foo;
            grpc_pass 127.0.0.1:9000;
        }
        location /r/ {
            rewrite ^/r/(.*)$ /changed/$1 break;
            grpc_pass grpc://127.0.0.1:9001;
        }
        location /n/ {
            grpc_set_header X-Uri $request_uri;
            grpc_set_header Content-Length 5;
            grpc_pass grpc://127.0.0.1:9000;
        }
    }
}
`
	mfs := fstest.MapFS{"nginx.conf": {Data: []byte(conf)}}
	// What the engine's client sends besides the request's own headers
	// (client.go), in its order.
	hdrs := []emulator.Header{{Name: "Host", Value: "victim.test"}, {Name: "User-Agent", Value: "ngxlint-engine"},
		{Name: "Connection", Value: "close"}}
	reflect := []emulator.Header{{Name: emulator.ReflectPrefix + "X-Foo", Value: "f"}, {Name: emulator.ReflectPrefix + "X-Bar", Value: "b"},
		{Name: emulator.ReflectPrefix + "Server", Value: "s"}}
	reqs := []emulator.Request{
		{Path: "/g/a?x=1", Headers: append([]emulator.Header{{Name: "X-Client", Value: "c"}, {Name: "TE", Value: "trailers"}, {Name: "X_Under", Value: "u"}}, reflect...)},
		{Path: "/h/b", Headers: reflect},
		{Path: "/r/c%20d?q=1", Headers: []emulator.Header{{Name: "X-Client", Value: "c"}}},
		{Path: "/n/z?q", Headers: []emulator.Header{{Name: "X-Client", Value: "c"}}},
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
	mask := regexp.MustCompile(`(?m)^(:authority: 127\.0\.0\.1):\d+`)
	// The response headers the backend was asked to send, as the client
	// got them (an HTTP/2 response names them in lower case).
	reflected := func(hs []emulator.Header) []string {
		var out []string
		for _, h := range hs {
			if n := strings.ToLower(h.Name); n == "x-foo" || n == "x-bar" || (n == "server" && h.Value == "s") {
				out = append(out, n+": "+h.Value)
			}
		}
		slices.Sort(out)
		return out
	}
	for i, rq := range reqs {
		rr := real.Requests[i]
		line, _, ok := emulator.ParseEcho(rr.Body)
		if rr.Status.Code != 200 || !ok || !strings.HasSuffix(line, " HTTP/2.0") {
			t.Errorf("%s: nginx %d, body %q is not an HTTP/2 echo", rq.Path, rr.Status.Code, rr.Body)
			continue
		}
		x := emulator.Serve(site, emulator.Request{Path: rq.Path, Headers: append(slices.Clip(hdrs), rq.Headers...)})
		if x.Status != 200 || x.UpstreamRequest == nil {
			t.Fatalf("%s: the emulator did not pass to gRPC: %d %v", rq.Path, x.Status, x.Trace)
		}
		got, want := mask.ReplaceAllString(rr.Body, "$1:*"), mask.ReplaceAllString(x.Body, "$1:*")
		t.Logf("%s: nginx sent\n%s", rq.Path, got)
		if got != want {
			t.Errorf("%s: head\n nginx:\n%s\n emulator:\n%s", rq.Path, got, want)
		}
		_, rhs := emulator.ParseHead(rr.Head)
		if g, w := reflected(rhs), reflected(x.Headers); !slices.Equal(g, w) {
			t.Errorf("%s: reflected headers nginx passed %q, emulator %q", rq.Path, g, w)
		}
		// Server is hidden by default, X-Foo by /h/'s own list.
		if g, w := strings.Join(reflected(rhs), ", "), map[int]string{0: "x-bar: b, x-foo: f", 1: "x-bar: b"}[i]; g != w {
			t.Errorf("%s: nginx passed %q, want %q", rq.Path, g, w)
		}
	}
}

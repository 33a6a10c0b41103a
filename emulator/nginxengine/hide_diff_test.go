package nginxengine

import (
	"context"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/reqmodel"
)

// TestParamsHideHeaderDifferential sends reflect requests
// (emulator.ReflectPrefix) to fastcgi_pass, uwsgi_pass and scgi_pass
// locations of Debian's nginx, whose echo backends answer the params
// HTTP_X_NGXLINT_REFLECT_* with response headers, and compares the
// reflected headers the client reads with the emulator's under
// Site.EchoBackend: a server-level *_hide_header inherited, a level whose
// own *_hide_header drops it (what SEC1002 reports) and whose
// *_pass_header lets a default-hidden one through, and each module's
// default-hidden headers (Status for FastCGI and SCGI, not uwsgi, whose
// status is its response line; X-Accel-*). A Server the backend sends
// passes and replaces nginx's own on all three; scgi_pass_header Status
// passes the SCGI echo's own Status line too.
func TestParamsHideHeaderDifferential(t *testing.T) {
	b := realNginx(t)
	conf := `events {}
http {
    server {
        listen 80;
        server_name victim.test;
        fastcgi_hide_header X-Powered-By;
        uwsgi_hide_header X-Powered-By;
        scgi_hide_header X-Powered-By;
        location /f/inherits/ {
            fastcgi_pass 127.0.0.1:9000;
        }
        location /f/own/ {
            fastcgi_hide_header X-Runtime;
            fastcgi_pass_header X-Accel-Buffering;
            fastcgi_pass 127.0.0.1:9000;
        }
        location /u/inherits/ {
            uwsgi_pass 127.0.0.1:9001;
        }
        location /u/own/ {
            uwsgi_hide_header X-Runtime;
            uwsgi_pass_header X-Accel-Buffering;
            uwsgi_pass 127.0.0.1:9001;
        }
        location /s/inherits/ {
            scgi_pass 127.0.0.1:9002;
        }
        location /s/own/ {
            scgi_hide_header X-Runtime;
            scgi_pass_header Status;
            scgi_pass 127.0.0.1:9002;
        }
    }
}
`
	mfs := fstest.MapFS{"nginx.conf": {Data: []byte(conf)}}
	// What the engine's client sends besides the request's own headers
	// (client.go), in its order.
	hdrs := []emulator.Header{{Name: "Host", Value: "victim.test"}, {Name: "User-Agent", Value: "ngxlint-engine"},
		{Name: "Connection", Value: "close"}}
	asked := map[string]string{"x-powered-by": "php", "x-runtime": "9", "status": "200 OK", "x-accel-buffering": "no",
		"x-accel-expires": "0", "server": "app", "x-plain": "p"}
	var reflect []emulator.Header
	for _, n := range []string{"X-Powered-By", "X-Runtime", "Status", "X-Accel-Buffering", "X-Accel-Expires", "Server", "X-Plain"} {
		reflect = append(reflect, emulator.Header{Name: emulator.ReflectPrefix + n, Value: asked[strings.ToLower(n)]})
	}
	// What the client must read of them, per path: the level's lists
	// and the module's defaults applied.
	wants := map[string]string{
		"/f/inherits/a": "server: app, x-plain: p, x-runtime: 9",
		"/f/own/b":      "server: app, x-accel-buffering: no, x-plain: p, x-powered-by: php",
		"/u/inherits/a": "server: app, status: 200 OK, x-plain: p, x-runtime: 9",
		"/u/own/b":      "server: app, status: 200 OK, x-accel-buffering: no, x-plain: p, x-powered-by: php",
		"/s/inherits/a": "server: app, x-plain: p, x-runtime: 9",
		// The SCGI echo writes its own Status before the reflected one.
		"/s/own/b": "server: app, status: 200 OK, status: 200 OK, x-plain: p, x-powered-by: php",
	}
	paths := []string{"/f/inherits/a", "/f/own/b", "/u/inherits/a", "/u/own/b", "/s/inherits/a", "/s/own/b"}
	var reqs []emulator.Request
	for _, p := range paths {
		reqs = append(reqs, emulator.Request{Path: p, Headers: reflect})
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
	// The reflected headers as the client read them, with the value
	// asked for (nginx's own Server has another).
	reflected := func(hs []emulator.Header) string {
		var out []string
		for _, h := range hs {
			if n := strings.ToLower(h.Name); asked[n] == h.Value {
				out = append(out, n+": "+h.Value)
			}
		}
		slices.Sort(out)
		return strings.Join(out, ", ")
	}
	for i, p := range paths {
		rr := real.Requests[i]
		if _, _, ok := emulator.ParseParamsEcho(rr.Body); rr.Status.Code != 200 || !ok {
			t.Errorf("%s: nginx %d, body %q is not a params echo", p, rr.Status.Code, rr.Body)
			continue
		}
		x := emulator.Serve(site, emulator.Request{Path: p, Headers: append(slices.Clip(hdrs), reflect...)})
		if x.Status != 200 || x.UpstreamParams == nil {
			t.Fatalf("%s: the emulator did not pass to the backend: %d %v", p, x.Status, x.Trace)
		}
		_, rhs := emulator.ParseHead(rr.Head)
		got, emu := reflected(rhs), reflected(x.Headers)
		t.Logf("%s: nginx passed %s", p, got)
		if got != emu {
			t.Errorf("%s: reflected headers nginx passed %q, emulator %q", p, got, emu)
		}
		if got != wants[p] {
			t.Errorf("%s: nginx passed %q, want %q", p, got, wants[p])
		}
		if n := len(x.Header("Server")); n != 1 {
			t.Errorf("%s: the emulator sent %d Server headers, want the backend's alone", p, n)
		}
	}
}

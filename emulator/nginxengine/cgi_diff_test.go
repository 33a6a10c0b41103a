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

// TestUwsgiSCGIParamsDifferential sends requests to uwsgi_pass and
// scgi_pass locations of Debian's nginx, whose backends answer each
// protocol with the params they received (policy "echo"), and compares
// that list, in order, with the one the emulator computes under
// Site.EchoBackend: "include uwsgi_params;" and "include scgi_params;"
// from the stock table (the tree holds neither, so the engine writes
// them), a level whose own param drops the inherited include (what
// SEC1002 reports), an include between own params, an if_not_empty
// param left out, a param HTTP_HOST that replaces the client's Host, and
// *_pass_request_headers off. SCGI's CONTENT_LENGTH comes first whatever
// the level says. The run's ports and client address are masked.
func TestUwsgiSCGIParamsDifferential(t *testing.T) {
	b := realNginx(t)
	conf := `events {}
http {
    server {
        listen 80;
        server_name victim.test;
        root /srv/www;
        include uwsgi_params;
        include scgi_params;
        location /u/inherits/ {
            uwsgi_pass 127.0.0.1:9000;
        }
        location /u/drops/ {
            uwsgi_param SCRIPT_NAME /app;
            uwsgi_pass 127.0.0.1:9000;
        }
        location /u/mixed/ {
            uwsgi_param FIRST 1;
            include uwsgi_params;
            uwsgi_param HTTP_HOST example.test;
            uwsgi_param SKIPPED $http_x_none if_not_empty;
            uwsgi_modifier1 5;
            uwsgi_pass 127.0.0.1:9001;
        }
        location /u/nohdr/ {
            uwsgi_pass_request_headers off;
            uwsgi_param URI $request_uri;
            uwsgi_pass 127.0.0.1:9000;
        }
        location /s/inherits/ {
            scgi_pass 127.0.0.1:9002;
        }
        location /s/drops/ {
            scgi_param SCRIPT_NAME /app;
            scgi_pass 127.0.0.1:9002;
        }
        location /s/mixed/ {
            scgi_param FIRST "two words";
            include scgi_params;
            scgi_param HTTP_HOST example.test;
            scgi_param EMPTY $http_x_none;
            scgi_pass 127.0.0.1:9003;
        }
        location /s/nohdr/ {
            scgi_pass_request_headers off;
            scgi_param CONTENT_LENGTH 7;
            scgi_pass 127.0.0.1:9002;
        }
        location /proxy/ {
            proxy_pass http://127.0.0.1:9000;
        }
    }
}
`
	mfs := fstest.MapFS{"nginx.conf": {Data: []byte(conf)}}
	// What the engine's client sends besides the request's own headers
	// (client.go), in its order.
	hdrs := []emulator.Header{{Name: "Host", Value: "victim.test"}, {Name: "User-Agent", Value: "ngxlint-engine"},
		{Name: "Connection", Value: "close"}, {Name: "X-Client", Value: "c"}, {Name: "X_Under", Value: "u"}}
	paths := []string{"/u/inherits/a?x=1", "/u/drops/", "/u/mixed/m", "/u/nohdr/z?q", "/s/inherits/a?x=1", "/s/drops/", "/s/mixed/m", "/s/nohdr/z?q"}
	var reqs []emulator.Request
	for _, p := range paths {
		reqs = append(reqs, emulator.Request{Path: p, Headers: hdrs[3:]})
	}
	reqs = append(reqs, emulator.Request{Path: "/proxy/"})
	echo, _ := emulator.ParsePolicy("echo")
	real, err := b.Run(context.Background(), Scenario{ConfigFS: mfs, Main: "nginx.conf", Requests: reqs,
		Server: "victim.test", DefaultPolicy: echo, Timeout: 3 * time.Second})
	if err != nil {
		t.Fatalf("nginx: %v", err)
	}
	written := 0
	for _, n := range real.Notes {
		if strings.Contains(n, "written from nginx 1.22.1 conf/uwsgi_params") || strings.Contains(n, "written from nginx 1.22.1 conf/scgi_params") {
			written++
		}
	}
	if written != 2 {
		t.Errorf("notes %q: want uwsgi_params and scgi_params written once each", real.Notes)
	}
	cfg := nginxconf.Load(mfs, "nginx.conf", nginxconf.Options{Prefix: "/"})
	if err := cfg.Err(); err != nil {
		t.Fatal(err)
	}
	m := nginxconf.BuildModel(cfg)
	site := emulator.Site{Server: m.HTTP.Servers[0], Analysis: reqmodel.NewAnalysis(m), EchoBackend: true,
		NginxVersion: real.Profile.Nginx}
	mask := regexp.MustCompile(`(?m)^(SERVER_PORT|REMOTE_PORT|REMOTE_ADDR|SERVER_ADDR)=.*$`)
	for i, p := range paths {
		rr := real.Requests[i]
		proto, _, ok := emulator.ParseParamsEcho(rr.Body)
		if want := map[byte]emulator.ParamsProto{'u': emulator.ProtoUwsgi, 's': emulator.ProtoSCGI}[p[1]]; rr.Status.Code != 200 || !ok || proto != want {
			t.Errorf("%s: nginx %d, body %q is not a %s echo", p, rr.Status.Code, rr.Body, want)
			continue
		}
		x := emulator.Serve(site, emulator.Request{Path: p, Headers: hdrs})
		if x.Status != 200 || x.UpstreamParams == nil {
			t.Fatalf("%s: the emulator did not pass to the backend: %d %v", p, x.Status, x.Trace)
		}
		got, want := mask.ReplaceAllString(rr.Body, "$1=*"), mask.ReplaceAllString(x.Body, "$1=*")
		t.Logf("%s: nginx sent\n%s", p, got)
		if got != want {
			t.Errorf("%s: params\n nginx:\n%s\n emulator:\n%s", p, got, want)
		}
	}
	// The same backend still speaks HTTP to proxy_pass.
	if rr := real.Requests[len(paths)]; !strings.HasPrefix(rr.Body, "GET /proxy/ HTTP/1.0\r\n") {
		t.Errorf("/proxy/: body %q, want the HTTP echo", rr.Body)
	}
}

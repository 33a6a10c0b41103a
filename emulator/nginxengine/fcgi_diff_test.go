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

// TestFastCGIParamsDifferential sends requests to fastcgi_pass locations
// of Debian's nginx, whose backends answer FastCGI with the params they
// received (policy "echo"), and compares that list, in order, with the
// one the emulator computes under Site.EchoBackend: "include
// fastcgi_params;" and "include fastcgi.conf;" from the stock table (the
// tree holds neither, so the engine writes them), a level whose own
// fastcgi_param drops the inherited include, an include between own
// params (configuration order), an empty value sent and an if_not_empty
// one left out, a param HTTP_HOST that replaces the client's Host, and
// fastcgi_pass_request_headers off. Ports and the client's address and
// port are the run's: they are masked.
func TestFastCGIParamsDifferential(t *testing.T) {
	b := realNginx(t)
	conf := `events {}
http {
    server {
        listen 80;
        server_name victim.test;
        root /srv/www;
        include fastcgi_params;
        location /inherits/ {
            fastcgi_pass 127.0.0.1:9000;
        }
        location ~ \.php$ {
            fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
            fastcgi_pass 127.0.0.1:9000;
        }
        location /conf/ {
            include fastcgi.conf;
            fastcgi_param HTTP_HOST example.test;
            fastcgi_param EMPTY $http_x_none;
            fastcgi_param SKIPPED $http_x_none if_not_empty;
            fastcgi_pass 127.0.0.1:9000;
        }
        location /mixed/ {
            fastcgi_param FIRST 1;
            include fastcgi_params;
            fastcgi_param LAST "two words";
            fastcgi_pass 127.0.0.1:9001;
        }
        location /nohdr/ {
            fastcgi_pass_request_headers off;
            fastcgi_param URI $request_uri;
            fastcgi_pass 127.0.0.1:9000;
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
	paths := []string{"/inherits/a?x=1", "/app/index.php", "/conf/b", "/mixed/", "/nohdr/z?q"}
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
		if strings.Contains(n, "written from nginx 1.22.1 conf/fastcgi") {
			written++
		}
	}
	if written != 2 {
		t.Errorf("notes %q: want fastcgi_params and fastcgi.conf written once each", real.Notes)
	}
	cfg := nginxconf.Load(mfs, "nginx.conf", nginxconf.Options{Prefix: "/"})
	if err := cfg.Err(); err != nil {
		t.Fatal(err)
	}
	m := nginxconf.BuildModel(cfg)
	site := emulator.Site{Server: m.HTTP.Servers[0], Analysis: reqmodel.NewAnalysis(m), EchoBackend: true,
		NginxVersion: real.Profile.Nginx}
	// The run's own values: the listen port nginx was moved to, the
	// client's loopback address and port.
	mask := regexp.MustCompile(`(?m)^(SERVER_PORT|REMOTE_PORT|REMOTE_ADDR|SERVER_ADDR)=.*$`)
	for i, p := range paths {
		rr := real.Requests[i]
		if proto, _, ok := emulator.ParseParamsEcho(rr.Body); rr.Status.Code != 200 || !ok || proto != emulator.ProtoFastCGI {
			t.Errorf("%s: nginx %d, body %q is not a FastCGI echo", p, rr.Status.Code, rr.Body)
			continue
		}
		x := emulator.Serve(site, emulator.Request{Path: p, Headers: hdrs})
		if x.Status != 200 || x.UpstreamParams == nil {
			t.Fatalf("%s: the emulator did not pass to FastCGI: %d %v", p, x.Status, x.Trace)
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

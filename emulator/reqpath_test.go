package emulator

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/reqmodel"
)

// TestServe pins the request path on its own (the differential suite in
// nginxengine compares it with real nginx where nginx is installed).
func TestServe(t *testing.T) {
	conf := `http {
    server {
        listen 80;
        server_name victim.test;
        location /files { alias /data/files/; }
        location ~ ^/v1/(?<a>[^.]*)\.json$ { add_header X-A $a; return 200 "v1"; }
        location /loop { rewrite ^ /loop2; }
        location /loop2 { rewrite ^ /loop; }
        location /arg { add_header X-Arg $arg_x; return 200 "arg"; }
        location /p { proxy_pass http://127.0.0.1:8080/v1/; }
        location / { return 200 "root"; }
    }
}`
	files := fstest.MapFS{"data/files/a.txt": {Data: []byte("public")}, "data/secret": {Data: []byte("secret")}}
	cfg := nginxconf.Load(fstest.MapFS{"nginx.conf": {Data: []byte(conf)}}, "nginx.conf", nginxconf.Options{Prefix: "/"})
	if err := cfg.Err(); err != nil {
		t.Fatal(err)
	}
	m := nginxconf.BuildModel(cfg)
	site := Site{Server: m.HTTP.Servers[0], Analysis: reqmodel.NewAnalysis(m), Files: files}
	for _, c := range []struct {
		path       string
		status     int
		body, file string
		header     string // "Name=value" the client must read
		upstream   string
	}{
		{path: "/files/a.txt", status: 200, body: "public", file: "/data/files/a.txt"},
		{path: "/files../secret", status: 200, body: "secret", file: "/data/secret"},
		{path: "/files/../secret", status: 200, body: "root"},
		{path: "/v1/x%0d%0aSet-Cookie:%20k=v.json", status: 200, header: "Set-Cookie=k=v"},
		{path: "/arg?x=%0d%0aSet-Cookie:%20k=v", status: 200, header: "X-Arg=%0d%0aSet-Cookie:%20k=v"},
		{path: "/loop", status: 500},
		{path: "/p/x%20y", status: 200, upstream: "http://127.0.0.1:8080/v1//x%20y"},
		{path: "/p../admin", status: 200, upstream: "http://127.0.0.1:8080/v1/../admin"},
		{path: "/" + strings.Repeat("a/", 5000) + "%0a", status: 200, body: "root"},
		{path: "/..", status: 400},
	} {
		x := Serve(site, Request{Path: c.path, Headers: []Header{{Name: "Host", Value: "victim.test"}}})
		if x.Status != c.status || c.body != "" && x.Body != c.body || c.file != "" && x.File != c.file || c.upstream != "" && x.Upstream != c.upstream {
			t.Errorf("%.60s: status %d body %q file %q upstream %q; want %d %q %q %q\n%s", c.path, x.Status, x.Body, x.File, x.Upstream, c.status, c.body, c.file, c.upstream, strings.Join(x.Trace, "\n"))
		}
		if c.header != "" {
			n, v, _ := strings.Cut(c.header, "=")
			if got := x.Header(n); len(got) == 0 || got[0] != v {
				t.Errorf("%s: %s = %q, want %q (head %q)", c.path, n, got, v, x.Head)
			}
		}
	}
}

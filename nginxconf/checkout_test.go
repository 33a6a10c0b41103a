package nginxconf

import (
	"strings"
	"testing"
	"testing/fstest"
)

// Issue 16 item 5: a checkout lacks the installation's files.
func TestStockIncludes(t *testing.T) {
	fsys := fstest.MapFS{
		"repo/conf/nginx.conf": {Data: []byte("events {}\nhttp {\n    include mime.types;\n    include /etc/nginx/fastcgi_params;\n" +
			"    include conf.d/*.conf;\n    include missing.conf;\n    include /etc/nginx/proxy_params;\n}\n")},
		"repo/conf/conf.d/a.conf": {Data: []byte("server { listen 80; location / { include fastcgi.conf; fastcgi_pass 127.0.0.1:9000; } }\n")},
	}
	cfg := Load(fsys, "repo/conf/nginx.conf", Options{Roots: []string{"repo"}})
	// A relative include that is not a stock file stays an error.
	if len(cfg.Errors) != 1 || !strings.Contains(cfg.Errors[0].Msg, `include "missing.conf"`) {
		t.Errorf("errors %v, want only missing.conf's", cfg.Errors)
	}
	var notes []string
	for _, n := range cfg.Notes {
		notes = append(notes, n.Error())
	}
	want := []string{
		`repo/conf/nginx.conf:3:5: include "mime.types": not in this checkout; taken as nginx's stock mime.types (nginx 1.22.1 conf/mime.types), which installations ship`,
		`repo/conf/nginx.conf:4:5: include "/etc/nginx/fastcgi_params": not in this checkout; taken as nginx's stock fastcgi_params (nginx 1.22.1 conf/fastcgi_params), which installations ship`,
		`repo/conf/nginx.conf:7:5: include "/etc/nginx/proxy_params": not in this checkout (outside the checked tree (repo)); not read, so its directives are not checked: map the install path into the tree with path_map, or pass --allow-path`,
		`repo/conf/conf.d/a.conf:1:34: include "fastcgi.conf": not in this checkout; taken as nginx's stock fastcgi.conf (nginx 1.22.1 conf/fastcgi.conf), which installations ship`,
	}
	if strings.Join(notes, "\n") != strings.Join(want, "\n") {
		t.Errorf("notes\n%s\nwant\n%s", strings.Join(notes, "\n"), strings.Join(want, "\n"))
	}
	var stock []string
	cfg.Walk(func(d *Directive, _ []*Directive) bool {
		if d.Stock != nil {
			stock = append(stock, d.Stock.Name)
		}
		return true
	})
	if strings.Join(stock, " ") != "mime.types fastcgi_params fastcgi.conf" {
		t.Errorf("stock includes %v", stock)
	}
	// The facts: the types block and the fastcgi_param lines.
	mt, _ := Stock("mime.types")
	if len(mt.Directives) != 1 || mt.Directives[0].Name != "types" || len(mt.Directives[0].Block) < 80 {
		t.Fatalf("mime.types facts: %+v", mt.Directives)
	}
	html := mt.Directives[0].Block[0]
	if html.Name != "text/html" || strings.Join(html.Args, " ") != "html htm shtml" {
		t.Errorf("first type %+v", html)
	}
	fc, _ := Stock("fastcgi.conf")
	fp, _ := Stock("fastcgi_params")
	if len(fc.Directives) != len(fp.Directives)+1 || fc.Directives[0].Args[0] != "SCRIPT_FILENAME" || fp.Directives[0].Name != "fastcgi_param" {
		t.Errorf("fastcgi facts: %d and %d directives", len(fc.Directives), len(fp.Directives))
	}
	for _, n := range []string{"uwsgi_params", "scgi_params", "koi-utf", "koi-win", "win-utf"} {
		if f, ok := Stock(n); !ok || len(f.Directives) == 0 {
			t.Errorf("no stock facts for %s", n)
		}
	}
	// A stock file the tree does hold is read as it is.
	fsys["repo/conf/mime.types"] = &fstest.MapFile{Data: []byte("types { text/plain txt; }\n")}
	cfg = Load(fsys, "repo/conf/nginx.conf", Options{Roots: []string{"repo"}})
	if len(cfg.Notes) != 3 || len(cfg.Files) != 3 {
		t.Errorf("with mime.types present: notes %v, files %d", cfg.Notes, len(cfg.Files))
	}
}

// Issue 16 item 5: an absolute install path mapped into the tree is read;
// one that is not is a note, not a load error.
func TestInstallPathInclude(t *testing.T) {
	fsys := fstest.MapFS{
		"repo/nginx.conf":      {Data: []byte("events {}\nhttp { include /usr/local/openresty/nginx/conf/extra.conf; include /opt/app/other.conf; }\n")},
		"repo/conf/extra.conf": {Data: []byte("server_tokens off;\n")},
	}
	cfg := Load(fsys, "repo/nginx.conf", Options{Roots: []string{"repo"}, PathMap: []PathMapping{{From: "/usr/local/openresty/nginx", To: "repo"}}})
	if len(cfg.Errors) != 0 || len(cfg.Files) != 2 || len(cfg.Notes) != 1 || !strings.Contains(cfg.Notes[0].Msg, "not in this checkout") {
		t.Errorf("errors %v, notes %v, %d files", cfg.Errors, cfg.Notes, len(cfg.Files))
	}
	// The kernel's pseudo file systems hold no deployment's configuration:
	// an include there stays a load error.
	fsys["repo/nginx.conf"] = &fstest.MapFile{Data: []byte("events {}\nhttp { include /proc/self/environ; include /sys/kernel/x.conf; }\n")}
	cfg = Load(fsys, "repo/nginx.conf", Options{Roots: []string{"repo"}})
	if len(cfg.Errors) != 2 || len(cfg.Notes) != 0 || !strings.Contains(cfg.Errors[0].Msg, "outside the checked tree") {
		t.Errorf("pseudo file systems: errors %v, notes %v", cfg.Errors, cfg.Notes)
	}
}

// Issue 16 item 6: a conf.d fragment checked alone is an http{} include.
func TestImplicitContext(t *testing.T) {
	cases := []struct{ src, want string }{
		{"upstream b { server 127.0.0.1:8080; keepalive 8; }\nserver { listen 80; location / { proxy_pass http://b; } }\n", "http"},
		{"map $http_upgrade $c { default upgrade; '' close; }\n", "http"},
		{"location /x { proxy_pass http://127.0.0.1; }\nlisten 8080;\n", "server"},
		{"proxy_pass http://127.0.0.1;\nproxy_set_header Host $host;\n", "location"},
		{"events {}\nhttp { server { listen 80; } }\n", ""},
		{"add_header X-Frame-Options DENY;\n", ""},
	}
	for _, c := range cases {
		cfg := Load(fstest.MapFS{"site.conf": {Data: []byte(c.src)}}, "site.conf", Options{})
		if cfg.ImplicitContext != c.want {
			t.Errorf("%q: ImplicitContext %q, want %q", c.src, cfg.ImplicitContext, c.want)
		}
	}
	cfg := Load(fstest.MapFS{"conf.d/site.conf": {Data: []byte(cases[0].src)}}, "conf.d/site.conf", Options{})
	m := BuildModel(cfg)
	if m.HTTP == nil || len(m.HTTP.Upstreams) != 1 || len(m.HTTP.Servers) != 1 {
		t.Fatalf("model of an http fragment: %+v", m.HTTP)
	}
	l := m.HTTP.Servers[0].Locations[0]
	if l.Proxy.Pass == nil || l.Proxy.Pass.Upstream != m.HTTP.Upstreams[0] || len(m.HTTP.Upstreams[0].UsedBy) != 1 {
		t.Errorf("proxy_pass not resolved to the fragment's upstream")
	}
	cfg = Load(fstest.MapFS{"loc.conf": {Data: []byte(cases[3].src)}}, "loc.conf", Options{})
	m = BuildModel(cfg)
	if m.HTTP == nil || len(m.HTTP.Servers) != 1 || len(m.HTTP.Servers[0].Locations) != 1 || m.HTTP.Servers[0].Locations[0].Proxy.Pass == nil {
		t.Errorf("model of a location fragment: %+v", m.HTTP)
	}
}

// A fragment's relative include is looked up in the directories above it
// (inside the roots), else it is a note: the main file's directory, which
// nginx resolves it against, is not known.
func TestFragmentIncludes(t *testing.T) {
	fsys := fstest.MapFS{
		"repo/conf.d/site.conf":     {Data: []byte("server {\n    listen 80;\n    include h5bp/basic.conf;\n    include nowhere/x.conf;\n}\n")},
		"repo/h5bp/basic.conf":      {Data: []byte("add_header X-Test 1;\n")},
		"outside/nowhere/x.conf":    {Data: []byte("add_header X-Secret 1;\n")},
		"repo/conf.d/nowhere/.keep": {Data: []byte("")},
	}
	cfg := Load(fsys, "repo/conf.d/site.conf", Options{Roots: []string{"repo"}})
	if len(cfg.Errors) != 0 || len(cfg.Files) != 2 || cfg.Files[1].Path != "repo/h5bp/basic.conf" {
		t.Errorf("errors %v, files %d", cfg.Errors, len(cfg.Files))
	}
	if len(cfg.Notes) != 1 || !strings.Contains(cfg.Notes[0].Msg, `include "nowhere/x.conf": not found from this fragment`) {
		t.Errorf("notes %v", cfg.Notes)
	}
}

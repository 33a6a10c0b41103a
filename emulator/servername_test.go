package emulator

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/ngxlint/ngxlint/nginxconf"
)

// TestHostFor: the Host built for each server selects it under nginx's
// order of precedence (exact, leading wildcard, trailing wildcard, regex
// in order, default server), and a server no Host can reach is reported.
func TestHostFor(t *testing.T) {
	conf := `http {
    server { listen 80; server_name www.example.com; }
    server { listen 80; server_name *.example.com; }
    server { listen 80; server_name ~^api\.example\.com$; }
    server { listen 80; server_name ~^(?<n>[a-z]+)\d\.example\.org$; }
    server { listen 80; server_name .example.net; }
    server { listen 80; server_name static.*; }
    server { listen 80 default_server; server_name _; }
    server { listen 80; server_name ""; }
    server { listen 8080; server_name ~^x; }
    server { listen 127.0.0.1:8080; }
}
`
	cfg := nginxconf.Load(fstest.MapFS{"nginx.conf": {Data: []byte(conf)}}, "nginx.conf", nginxconf.Options{})
	if err := cfg.Err(); err != nil {
		t.Fatal(err)
	}
	srvs := nginxconf.BuildModel(cfg).HTTP.Servers
	for i, want := range []string{
		"www.example.com",
		"ngxlint.example.com",
		"!another server's name takes precedence", // *.example.com wins over the regex
		"a0.example.org",
		"example.net",
		"static.ngxlint",
		"localhost",
		"!no server_name a Host can match",
		"x",
		"localhost", // the only server on 127.0.0.1:8080
	} {
		h, why := HostFor(srvs, srvs[i])
		t.Logf("server %d %v: %q %s", i+1, srvs[i].ServerNames, h, why)
		if w, refused := strings.CutPrefix(want, "!"); refused {
			if h != "" || !strings.Contains(why, w) {
				t.Errorf("server %d: %q (%s), want a refusal saying %q", i+1, h, why, w)
			}
			continue
		}
		if h != want {
			t.Errorf("server %d: host %q (%s), want %q", i+1, h, why, want)
		}
	}
	for _, c := range []struct {
		key, host string
		want      int
	}{
		{"*:80", "WWW.Example.com.", 1},
		{"*:80", "a.b.example.com", 2},
		{"*:80", "example.com", 7},
		{"*:80", "nope.test:8080", 7},
		{"*:8080", "xyz", 9},
		{"*:8080", "yz", 9},
	} {
		got, ok := SelectServer(srvs, c.key, c.host)
		if !ok || got != srvs[c.want-1] {
			t.Errorf("SelectServer(%s, %q) = %v, want server %d", c.key, c.host, got, c.want)
		}
	}
}

// TestRegexNamesRun: nginx runs regex server names on a socket with
// several servers, or whose default server's last regex name captures
// (ngx_http_optimize_servers), and on no other.
func TestRegexNamesRun(t *testing.T) {
	conf := `http {
    server { listen 80; server_name ~^(?:a+)+$; }
    server { listen 81; server_name ~^(a+)+$; }
    server { listen 82; server_name ~^(a+)+$ ~^(?:b+)+$; }
    server { listen 83; server_name ~^(?:a+)+$; }
    server { listen 83; server_name other.test; }
}
`
	cfg := nginxconf.Load(fstest.MapFS{"nginx.conf": {Data: []byte(conf)}}, "nginx.conf", nginxconf.Options{})
	if err := cfg.Err(); err != nil {
		t.Fatal(err)
	}
	srvs := nginxconf.BuildModel(cfg).HTTP.Servers
	for i, want := range []bool{false, true, false, true, true} {
		if got := RegexNamesRun(srvs, srvs[i]); got != want {
			t.Errorf("server %d %v: %v, want %v", i+1, srvs[i].ServerNames, got, want)
		}
	}
}

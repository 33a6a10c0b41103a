package fromconf

import (
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/nginxconf"
)

func TestParseTime(t *testing.T) {
	cases := map[string]time.Duration{"10": 10 * time.Second, "10s": 10 * time.Second, "500ms": 500 * time.Millisecond,
		"1m30s": 90 * time.Second, "2h": 2 * time.Hour, "1d": 24 * time.Hour}
	for in, want := range cases {
		if got, err := ParseTime(in); err != nil || got != want {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "s", "10x", "1.5s", "9999999999s"} {
		if _, err := ParseTime(bad); err == nil {
			t.Errorf("ParseTime(%q) succeeded", bad)
		}
	}
}

func load(t *testing.T, conf string) *nginxconf.Model {
	t.Helper()
	cfg := nginxconf.Load(fstest.MapFS{"nginx.conf": {Data: []byte(conf)}}, "nginx.conf", nginxconf.Options{})
	if err := cfg.Err(); err != nil {
		t.Fatal(err)
	}
	return nginxconf.BuildModel(cfg)
}

func TestBuild(t *testing.T) {
	m := load(t, `http {
    proxy_read_timeout 5s;
    upstream a {
        server 10.0.0.1:8080 weight=3 max_fails=0 fail_timeout=30s;
        server 10.0.0.2 backup;
        server 10.0.0.3 down;
        keepalive 8;
        hash $uri;
        keepalive_requests 50;
        keepalive_timeout 30s;
    }
    upstream b { server 10.0.0.9; }
    server {
        listen 80;
        server_name example.org;
        location /x { proxy_pass http://b; }
        location / {
            proxy_pass http://a$request_uri;
            proxy_next_upstream error http_502;
            proxy_next_upstream_tries 3;
            proxy_next_upstream_timeout 10s;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_request_buffering off;
        }
    }
}
`)
	tg, err := Find(m, "a", "example.org")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Build(tg)
	if err != nil {
		t.Fatal(err)
	}
	u := cfg.Upstream
	if len(u.Servers) != 3 || u.Servers[0].Weight != 3 || u.Servers[0].MaxFails != emulator.Some(0) ||
		u.Servers[0].FailTimeout != emulator.Some(30*time.Second) || u.Servers[1].MaxFails.Set || !u.Servers[1].Backup || !u.Servers[2].Down {
		t.Errorf("servers %+v", u.Servers)
	}
	if u.Keepalive != emulator.Some(8) || !u.KeepaliveBeforeBalancer || u.Method != "hash" || len(u.MethodArgs) != 1 || u.MethodArgs[0] != "$uri" ||
		u.KeepaliveRequests != emulator.Some(50) || u.KeepaliveTimeout != emulator.Some(30*time.Second) || u.KeepaliveTime.Set {
		t.Errorf("upstream %+v", u)
	}
	l := cfg.Location
	if len(l.NextUpstream) != 2 || l.NextUpstreamTries != emulator.Some(3) || l.NextUpstreamTimeout != emulator.Some(10*time.Second) || l.HTTPVersion != "1.1" ||
		l.ConnectionHeader == nil || *l.ConnectionHeader != "" || l.RequestBuffering == nil || *l.RequestBuffering || l.ReadTimeout != emulator.Some(5*time.Second) || l.ConnectTimeout.Set {
		t.Errorf("location %+v", l)
	}
	if tg, err := Find(m, "", ""); err != nil || tg.Upstream.Name != "b" {
		t.Errorf("Find with no names should pick the first proxied location: %v %v", tg.Upstream, err)
	}
	for _, c := range []struct{ up, srv string }{{"nope", ""}, {"", "nope.org"}} {
		if _, err := Find(m, c.up, c.srv); err == nil {
			t.Errorf("Find(%q, %q) should fail", c.up, c.srv)
		}
	}
}

func TestBuildErrors(t *testing.T) {
	m := load(t, "http { upstream a { server 10.0.0.1 max_fails=x; } server { location / { proxy_pass http://a; } } }\n")
	tg, err := Find(m, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Build(tg); err == nil {
		t.Error("max_fails=x must be an error with a position")
	}
}

func TestRestyCoreLoaded(t *testing.T) {
	const up = `
    upstream u {
        server 10.0.0.1;
        balancer_by_lua_block { %s }
    }
    upstream v { server 10.0.0.2; }`
	cases := []struct {
		name, conf string
		want       bool
	}{
		{"none", "http {" + fmtUp(up, `ngx.exit(503)`) + "}", false},
		{"init block", "http { init_by_lua_block { require \"resty.core\" }" + fmtUp(up, `ngx.exit(503)`) + "}", true},
		{"init string", "http { init_by_lua 'require(\"resty.core\")';" + fmtUp(up, `ngx.exit(503)`) + "}", true},
		{"init single quotes", "http { init_by_lua_block { local x = require 'resty.core' }" + fmtUp(up, `ngx.exit(503)`) + "}", true},
		{"init other module", "http { init_by_lua_block { require \"resty.core.base\" }" + fmtUp(up, `ngx.exit(503)`) + "}", false},
		{"balancer", "http {" + fmtUp(up, `require("resty.core") ngx.exit(503)`) + "}", true},
		{"content only", "http {" + fmtUp(up, `ngx.exit(503)`) + " server { location / { content_by_lua_block { require \"resty.core\" } } } }", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := load(t, tc.conf)
			cfg, err := Build(Target{Upstream: m.HTTP.UpstreamByName["u"]})
			if err != nil {
				t.Fatal(err)
			}
			if cfg.RestyCoreLoaded != tc.want {
				t.Errorf("RestyCoreLoaded = %v, want %v", cfg.RestyCoreLoaded, tc.want)
			}
		})
	}
}

func fmtUp(tmpl, code string) string { return strings.Replace(tmpl, "%s", code, 1) }

func TestPlaceholderShadowed(t *testing.T) {
	m := load(t, `http {
    upstream a { balancer_by_lua_block { local x = 1 } }
    upstream s { server 10.0.0.1; balancer_by_lua_block { local x = 1 } }
    upstream b { balancer_by_lua_block { local x = 1 } }
    upstream c { server 10.0.0.2; }
}`)
	for name, want := range map[string]bool{"a": true, "s": false, "b": false, "c": false} {
		cfg, err := Build(Target{Upstream: m.HTTP.UpstreamByName[name]})
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Upstream.PlaceholderShadowed != want {
			t.Errorf("upstream %s: PlaceholderShadowed = %v, want %v", name, cfg.Upstream.PlaceholderShadowed, want)
		}
	}
}

package reqmodel

import (
	"testing"
	"testing/fstest"

	"github.com/ngxlint/ngxlint/nginxconf"
)

func TestNormalizeURI(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"/a/b", "/a/b"},
		{"/a//b", "/a/b"},
		{"/a/./b", "/a/b"},
		{"/a/../b", "/b"},
		{"/a/%2e%2e/b", "/b"},
		{"/a%2fb", "/a/b"},
		{"/x%0d%0ay", "/x\r\ny"},
		{"/a/", "/a/"},
		{"/a/..", "/"},
		{"/%41", "/A"},
		{"/%zz", "/%zz"},
		{"/..", ""},
		{"/a/../../b", ""},
		{"/%00", ""},
		{"x", ""},
	} {
		got, err := NormalizeURI(c.in, true)
		if c.want == "" {
			if err == nil {
				t.Errorf("%q: got %q, want 400", c.in, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q: got %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestCanHold(t *testing.T) {
	for _, c := range []struct {
		re     string
		group  int
		c      byte
		want   bool
		wantOK bool
	}{
		{`^/v1/([^.]*)\.json$`, 1, '\n', true, true},
		{`^/v1/([a-z]+)$`, 1, '\n', false, true},
		{`^/(.*)$`, 1, '\n', false, true},
		{`^/(.*)$`, 1, '\r', true, true},
		{`^/(\S+)$`, 1, '\n', false, true},
		{`^/(\s+)$`, 1, '\n', true, true},
		{`^/(?<name>[^/]+)$`, 1, '/', false, true},
		{`(?=x)(a)`, 1, 'a', false, false},
	} {
		r := Compile(c.re, false)
		got, ok := r.CanHold(c.group, c.c)
		if got != c.want || ok != c.wantOK {
			t.Errorf("%s group %d %q: got %v,%v want %v,%v", c.re, c.group, c.c, got, ok, c.want, c.wantOK)
		}
	}
	// PCRE's '$' matches before a final newline.
	if m := Compile(`^/a/(\w+)$`, false).Match("/a/b\n"); m == nil || m[1] != "b" {
		t.Errorf("'$' before a final newline: %q", m)
	}
}

func TestVarsTaint(t *testing.T) {
	conf := `http {
    map $http_origin $cors { default ""; ~^https://(?<sub>[a-z]+)\.example\.com$ $http_origin; }
    map $uri $const { default a; /x b; }
    map $uri $fromuri { ~^/(?<rest>[^?]*)$ $rest; }
    server {
        listen 80;
        location ~ ^/v1/(?<action>[^.]*)\.json$ {
            set $a $action;
            set $b "prefix-$uri";
            set $c $arg_x;
            return 200;
        }
        location ~ ^/safe/([a-z]+)$ { return 200; }
        location /r {
            if ($request_uri ~ ^/r/(.*)$) { return 302 $1; }
        }
    }
}`
	cfg := nginxconf.Load(fstest.MapFS{"nginx.conf": {Data: []byte(conf)}}, "nginx.conf", nginxconf.Options{Prefix: "/"})
	if err := cfg.Err(); err != nil {
		t.Fatal(err)
	}
	m := nginxconf.BuildModel(cfg)
	a := NewAnalysis(m)
	locs := m.HTTP.Servers[0].AllLocations
	v1, safe, r := a.Location(locs[0]), a.Location(locs[1]), a.Location(locs[2])
	for _, c := range []struct {
		v    *Vars
		name string
		has  Taint
		not  Taint
	}{
		{v1, "action", LF | FromClient, 0},
		{v1, "a", LF, 0},
		{v1, "b", LF, 0},
		{v1, "c", FromClient | DotDot, LF},
		{v1, "1", LF, 0},
		{v1, "cors", FromClient, LF},
		{v1, "const", 0, FromClient},
		{v1, "fromuri", LF, 0},
		{safe, "1", FromClient, LF | DotDot},
		{r, "1", FromClient | DotDot, LF},
		{r, "host", FromClient, AnyHost | LF},
		{r, "http_host", AnyHost, LF},
		{r, "uri", LF, DotDot},
	} {
		s := c.v.Of(c.name)
		if s.Taint&c.has != c.has || s.Taint&c.not != 0 {
			t.Errorf("$%s: %s (%s), want %s and not %s", c.name, s.Taint, s.Why, c.has, c.not)
		}
	}
	if tt, srcs := v1.Expr("https://$host$a"); tt&LF == 0 || len(srcs) == 0 || srcs[0].Var != "a" {
		t.Errorf("Expr: %s %v", tt, srcs)
	}
}

package nginxconf

import (
	"testing"
	"testing/fstest"
)

func TestPassHostPort(t *testing.T) {
	for _, c := range []struct {
		in     string
		host   string
		port   int
		noPort bool
		ok     bool
	}{
		{"http://api:8080$request_uri", "api", 8080, false, true},
		{"http://API.example.com/x", "api.example.com", 80, true, true},
		{"https://b", "b", 443, true, true},
		{"grpcs://g:50051", "g", 50051, false, true},
		{"http://[::1]:81/", "::1", 81, false, true},
		{"http://h?x", "h", 80, true, true},
		{"127.0.0.1:9000", "127.0.0.1", 9000, false, true},
		{"php", "php", 0, true, true},
		{"http://unix:/tmp/s.sock:/", "", 0, false, false},
	} {
		h, p, np, ok := PassHostPort(c.in)
		if h != c.host || p != c.port || np != c.noPort || ok != c.ok {
			t.Errorf("PassHostPort(%q) = %q, %d, %v, %v; want %q, %d, %v, %v", c.in, h, p, np, ok, c.host, c.port, c.noPort, c.ok)
		}
	}
}

// TestFindsUpstream: what ngx_http_upstream_init_request finds for a URL
// built at run time (checked against Debian's nginx 1.22.1 by hand: a
// variable URL to localhost:18098 worked without a resolver when another
// location had "proxy_pass http://localhost:18098;", and got 502 "no
// resolver defined" for localhost:18097).
func TestFindsUpstream(t *testing.T) {
	cfg := Load(fstest.MapFS{"nginx.conf": {Data: []byte(`http {
    upstream named { server 127.0.0.1:1; }
    server {
        location /f { proxy_pass http://localhost:18098; }
        location /p { fastcgi_pass php:9000; }
        location /v { proxy_pass http://$host:1; }
    }
}
`)}}, "nginx.conf", Options{})
	if err := cfg.Err(); err != nil {
		t.Fatal(err)
	}
	h := BuildModel(cfg).HTTP
	for _, c := range []struct {
		host   string
		port   int
		noPort bool
		want   bool
	}{
		{"named", 80, true, true},         // upstream{} block: port 0 matches a URL without a port
		{"NAMED", 80, true, true},         // compared without case
		{"named", 8080, false, false},     // with a port the block is not found
		{"localhost", 18098, false, true}, // the implicit upstream of /f
		{"localhost", 18097, false, false},
		{"php", 9000, false, true},
		{"localhost", 80, true, false},
	} {
		if got := h.FindsUpstream(c.host, c.port, c.noPort); got != c.want {
			t.Errorf("FindsUpstream(%q, %d, %v) = %v, want %v", c.host, c.port, c.noPort, got, c.want)
		}
	}
	var none *Context
	if none.FindsUpstream("named", 80, true) {
		t.Error("a nil context found an upstream")
	}
}

package nginxconf

import (
	"testing"
	"testing/fstest"
)

func TestStreamModel(t *testing.T) {
	src := `
stream {
    proxy_next_upstream_tries 4;
    proxy_connect_timeout 2s;
    upstream tcp_backend {
        server 10.0.0.1:5432;
        server 10.0.0.2:5432 backup;
        balancer_by_lua_block { local b = require "ngx.balancer" }
    }
    server {
        listen 127.0.0.1:15432;
        proxy_next_upstream off;
        proxy_timeout 30s;
        proxy_pass tcp_backend;
        preread_by_lua_block { ngx.log(ngx.INFO, "x") }
    }
    server {
        listen 53 udp;
        proxy_pass 10.0.0.9:53;
    }
}
http {
    upstream tcp_backend { server 10.1.1.1; }
}
`
	cfg := Load(fstest.MapFS{"nginx.conf": {Data: []byte(src)}}, "nginx.conf", Options{})
	if err := cfg.Err(); err != nil {
		t.Fatal(err)
	}
	m := BuildModel(cfg)
	if m.Stream == nil || len(m.Stream.Servers) != 2 || len(m.Stream.Upstreams) != 1 {
		t.Fatalf("stream context not modelled: %+v", m.Stream)
	}
	s := m.Stream.Servers[0]
	p := s.StreamProxy
	if p == nil || p.Pass == nil || p.Pass.Upstream != m.Stream.Upstreams[0] {
		t.Fatalf("proxy_pass not resolved to the stream upstream: %+v", p)
	}
	if p.NextUpstreamOn() || p.Tries() != 4 || p.ConnectTimeout.Arg(0) != "2s" || p.Timeout.Arg(0) != "30s" || p.NextUpstreamTimeout != nil {
		t.Errorf("effective settings: on=%v tries=%d connect=%v timeout=%v", p.NextUpstreamOn(), p.Tries(), p.ConnectTimeout, p.Timeout)
	}
	if s.ListenPort() != "15432" || s.ListenUDP() {
		t.Errorf("listen: %q udp=%v", s.ListenPort(), s.ListenUDP())
	}
	s2 := m.Stream.Servers[1]
	if !s2.StreamProxy.NextUpstreamOn() || s2.ListenPort() != "53" || !s2.ListenUDP() || s2.Proxy.Upstream != nil {
		t.Errorf("second server: on=%v port=%q udp=%v", s2.StreamProxy.NextUpstreamOn(), s2.ListenPort(), s2.ListenUDP())
	}
	if users := m.StreamUsers(m.Stream.Upstreams[0]); len(users) != 1 || users[0] != s {
		t.Errorf("StreamUsers = %v", users)
	}
	if users := m.StreamUsers(m.HTTP.Upstreams[0]); users != nil {
		t.Errorf("an http upstream has no stream users, got %v", users)
	}
	if u := m.Stream.Upstreams[0]; u.Balancer == nil || len(u.Servers) != 2 || !u.Servers[1].Backup {
		t.Errorf("stream upstream: %+v", u)
	}
	var sub []string
	for _, l := range m.Lua {
		sub = append(sub, l.Subsystem+":"+l.Context)
	}
	if len(sub) != 2 || sub[0] != "stream:balancer_by_lua" || sub[1] != "stream:preread_by_lua" {
		t.Errorf("Lua chunks: %v", sub)
	}
	for _, hs := range m.HTTP.Servers {
		if hs.StreamProxy != nil {
			t.Error("an http server has stream proxy settings")
		}
	}
}

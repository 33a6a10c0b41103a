package nginxconf

import (
	"strconv"
	"strings"
	"time"
)

// StreamProxy is a stream server's effective ngx_stream_proxy_module
// settings after nginx's stream -> server inheritance
// (ngx_stream_proxy_merge_srv_conf). A nil directive means the default
// applies; the defaults live in the StreamDefault* constants so that the
// model, the rules and the emulator read them from one place.
type StreamProxy struct {
	// Pass is the server's proxy_pass (Server.Proxy).
	Pass *ProxyPass
	// NextUpstream is `proxy_next_upstream on|off` (a flag in stream, not
	// the http mask: ngx_stream_proxy_next_upstream retries on connect
	// failures only).
	NextUpstream        *Directive
	NextUpstreamTries   *Directive
	NextUpstreamTimeout *Directive
	ConnectTimeout      *Directive
	// Timeout is proxy_timeout: the idle time between two successive
	// reads or writes once connected.
	Timeout *Directive
}

// Defaults of ngx_stream_proxy_merge_srv_conf (nginx release-1.22.1
// src/stream/ngx_stream_proxy_module.c, unchanged since): proxy_next_upstream
// on, proxy_next_upstream_tries 0 and proxy_next_upstream_timeout 0
// (unlimited), proxy_connect_timeout 60s, proxy_timeout 10m.
const (
	StreamDefaultNextUpstream   = true
	StreamDefaultConnectTimeout = 60 * time.Second
	StreamDefaultTimeout        = 10 * time.Minute
)

// NextUpstreamOn reports whether the effective proxy_next_upstream lets a
// failed connect move to the next server.
func (p *StreamProxy) NextUpstreamOn() bool {
	if p == nil || p.NextUpstream == nil {
		return StreamDefaultNextUpstream
	}
	return !strings.EqualFold(p.NextUpstream.Arg(0), "off")
}

// Tries is proxy_next_upstream_tries (0 = unlimited, also when unset or
// unparsable: nginx rejects the latter at load time).
func (p *StreamProxy) Tries() int {
	if p == nil || p.NextUpstreamTries == nil {
		return 0
	}
	n, err := strconv.Atoi(p.NextUpstreamTries.Arg(0))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// StreamUsers lists the stream servers whose proxy_pass names u, in nginx
// order. It is answered from the servers' own Proxy fields: stream
// configurations have few servers, so no index is kept.
func (m *Model) StreamUsers(u *Upstream) []*Server {
	if m == nil || m.Stream == nil || u == nil || u.Context != m.Stream {
		return nil
	}
	var out []*Server
	for _, s := range m.Stream.Servers {
		if s.Proxy != nil && s.Proxy.Upstream == u {
			out = append(out, s)
		}
	}
	return out
}

// fillStream sets the stream server's effective proxy settings.
func (s *Server) fillStream(steps *int) {
	eff := func(name string) *Directive {
		if ds := s.effectiveAll(name, steps); len(ds) > 0 {
			return ds[0]
		}
		return nil
	}
	s.StreamProxy = &StreamProxy{
		Pass:                s.Proxy,
		NextUpstream:        eff("proxy_next_upstream"),
		NextUpstreamTries:   eff("proxy_next_upstream_tries"),
		NextUpstreamTimeout: eff("proxy_next_upstream_timeout"),
		ConnectTimeout:      eff("proxy_connect_timeout"),
		Timeout:             eff("proxy_timeout"),
	}
}

// ListenPort returns the port of the server's first listen directive
// ("12345", "127.0.0.1:53 udp" -> "53"), "" when it has none.
func (s *Server) ListenPort() string {
	for _, d := range s.Listen {
		a := d.Arg(0)
		if strings.HasPrefix(a, "unix:") {
			continue
		}
		if i := strings.LastIndexByte(a, ':'); i >= 0 && !strings.HasSuffix(a, "]") {
			a = a[i+1:]
		}
		if _, err := strconv.Atoi(a); err == nil {
			return a
		}
	}
	return ""
}

// ListenUDP reports whether the server's first listen directive has the
// udp parameter.
func (s *Server) ListenUDP() bool {
	if len(s.Listen) == 0 {
		return false
	}
	d := s.Listen[0]
	for _, a := range d.Args[min(1, len(d.Args)):] {
		if a.Value == "udp" {
			return true
		}
	}
	return false
}

package fromconf

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// FindStream picks a stream server whose proxy_pass names an upstream
// block: the one listening on port server (or whose listen argument is
// server), else the first; upstream, when not empty, must be the one it
// names.
func FindStream(m *nginxconf.Model, upstream, server string) (Target, error) {
	if m == nil || m.Stream == nil {
		return Target{}, fmt.Errorf("the configuration has no stream block")
	}
	for _, s := range m.Stream.Servers {
		if server != "" && !streamServerMatches(s, server) {
			continue
		}
		pp := s.Proxy
		if pp == nil || pp.Upstream == nil {
			continue
		}
		if upstream != "" && pp.Upstream.Name != upstream {
			continue
		}
		return Target{Upstream: pp.Upstream, Server: s, Config: m.Config}, nil
	}
	switch {
	case upstream != "" && m.Stream.UpstreamByName[upstream] == nil:
		return Target{}, fmt.Errorf("no stream upstream %q in the configuration", upstream)
	case upstream != "":
		return Target{}, fmt.Errorf("no stream server proxies to upstream %q", upstream)
	case server != "":
		return Target{}, fmt.Errorf("no stream server listening on %q proxies to an upstream block", server)
	}
	return Target{}, fmt.Errorf("no stream server proxies to an upstream block")
}

func streamServerMatches(s *nginxconf.Server, name string) bool {
	if s.ListenPort() == name {
		return true
	}
	for _, l := range s.Listen {
		if l.Arg(0) == name {
			return true
		}
	}
	return false
}

// buildStream fills the stream server's settings (t.Server is set).
func buildStream(cfg *emulator.Config, t Target) error {
	p := t.Server.StreamProxy
	if p == nil {
		return fmt.Errorf("server at %s is not a stream server", t.Server.Directive.Pos)
	}
	if t.Server.ListenUDP() {
		// ngx_stream_proxy_next_upstream is never reached for UDP after
		// connect() (which cannot fail on a datagram socket to a
		// reachable address); the emulator's sessions are TCP only.
		return fmt.Errorf("%s: stream server listens on UDP: the emulator runs TCP sessions only", t.Server.Directive.Pos)
	}
	cfg.Stream = &emulator.Stream{}
	var err error
	if cfg.Lua.Preread, err = phaseChunks(&t.Server.Scope, "preread_by_lua"); err != nil {
		return err
	}
	// Variables preread code may write: lua_add_variable (stream-lua) and
	// the stream server's `set` with a literal value.
	cfg.Lua.Vars = streamVars(&t.Server.Scope)
	for _, d := range t.Server.Own("set") {
		name := strings.TrimPrefix(d.Arg(0), "$")
		if v := d.Arg(1); !strings.Contains(v, "$") {
			cfg.Lua.Vars[name] = v
		} else if _, ok := cfg.Lua.Vars[name]; !ok {
			cfg.Lua.Vars[name] = ""
		}
	}
	if d := p.NextUpstream; d != nil {
		cfg.Location.NextUpstream = []string{d.Arg(0)}
	}
	if d := p.NextUpstreamTries; d != nil {
		n, err := strconv.Atoi(d.Arg(0))
		if err != nil {
			return fmt.Errorf("%s: proxy_next_upstream_tries %q is not a number", d.Pos, d.Arg(0))
		}
		cfg.Location.NextUpstreamTries = emulator.Some(n)
	}
	for _, tm := range []struct {
		d   *nginxconf.Directive
		dst *emulator.Opt[time.Duration]
	}{{p.NextUpstreamTimeout, &cfg.Location.NextUpstreamTimeout}, {p.ConnectTimeout, &cfg.Location.ConnectTimeout}, {p.Timeout, &cfg.Stream.ProxyTimeout}} {
		if tm.d == nil {
			continue
		}
		v, err := ParseTime(tm.d.Arg(0))
		if err != nil {
			return fmt.Errorf("%s: %s: %v", tm.d.Pos, tm.d.Name, err)
		}
		*tm.dst = emulator.Some(v)
	}
	return nil
}

// streamServerNamed reports whether some stream server matches server.
func streamServerNamed(m *nginxconf.Model, server string) bool {
	for _, s := range m.Stream.Servers {
		if streamServerMatches(s, server) {
			return true
		}
	}
	return false
}

// streamVars are the variables lua_add_variable declares in scope s and
// the scopes around it (stream-lua's way to make a variable writable from
// Lua), with no value yet.
func streamVars(s *nginxconf.Scope) map[string]string {
	vars := map[string]string{}
	for ; s != nil; s = s.Parent {
		for _, d := range s.Own("lua_add_variable") {
			for _, a := range d.Args {
				vars[strings.TrimPrefix(a.Value, "$")] = ""
			}
		}
	}
	return vars
}

package rules

import (
	"fmt"
	"net"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/emulator/fromconf"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/rules/retry"
)

// The stream{} halves of the upstream retry rules. Stream retries differ
// from http's in what triggers them, not in how tries are counted:
// ngx_stream_proxy_next_upstream runs on connect failures only, and the
// round robin and the Lua balancer count tries as in http (nginx
// release-1.22.1 src/stream/ngx_stream_proxy_module.c,
// ngx_stream_upstream_round_robin.c; stream-lua-nginx-module
// src/ngx_stream_lua_balancer.c). So the confirmations use refusing
// backends: an upstream that accepts and then fails is never retried.

// streamProxied lists the stream servers whose proxy_pass names an upstream
// block, with that upstream.
func streamProxied(m *nginxconf.Model) []*nginxconf.Server {
	if m == nil || m.Stream == nil {
		return nil
	}
	var out []*nginxconf.Server
	for _, s := range m.Stream.Servers {
		if s.Proxy != nil && s.Proxy.Upstream != nil && s.StreamProxy != nil {
			out = append(out, s)
		}
	}
	return out
}

// streamTriesBound reports whether proxy_next_upstream_tries bounds a
// stream balancer's set_more_tries: only with OpenResty's
// stream_proxy_get_next_upstream_tries nginx patch
// (versions.Profile.StreamTriesPatch).
func streamTriesBound(pass *analyzer.Pass, p *nginxconf.StreamProxy) bool {
	return p.Tries() > 0 && pass.Profile.StreamTriesPatch()
}

// streamPatchUnknown reports whether the profile does not say whether its
// nginx has the patch: no OpenResty release and no nginx version declared.
func streamPatchUnknown(pass *analyzer.Pass) bool {
	return !pass.Profile.IsOpenResty() && !pass.Profile.HasNginx()
}

// runSetMoreTriesUnboundedStream is NGX2003 for stream upstreams.
func runSetMoreTriesUnboundedStream(pass *analyzer.Pass) {
	byUp := map[*nginxconf.Upstream][]*nginxconf.Server{}
	var ups []*nginxconf.Upstream
	for _, s := range streamProxied(pass.Model) {
		u := s.Proxy.Upstream
		p := s.StreamProxy
		if !p.NextUpstreamOn() || streamTriesBound(pass, p) {
			continue
		}
		if d := p.NextUpstreamTimeout; d != nil && d.Arg(0) != "0" {
			continue
		}
		if byUp[u] == nil {
			ups = append(ups, u)
		}
		byUp[u] = append(byUp[u], s)
	}
	for _, u := range ups {
		if u.Balancer == nil || u.Balancer.Lua == nil || u.Balancer.Lua.LoadError != "" {
			continue
		}
		res := luaFactsLinked(pass, u.Balancer.Lua)
		if res.Balancer == nil {
			continue
		}
		servers := byUp[u]
		for _, mt := range res.Balancer.MoreTries {
			if mt.Guarded {
				continue
			}
			details := "Nothing bounds the retries of a failed connect: no proxy_next_upstream_timeout, and proxy_next_upstream_tries is unset"
			conditional := false
			if servers[0].StreamProxy.Tries() > 0 {
				details = "proxy_next_upstream_tries caps the tries only when the session starts: stream-lua's set_more_tries reads the limit through OpenResty's stream_proxy_get_next_upstream_tries nginx patch, which every OpenResty bundle applies and a stock nginx built with stream-lua-nginx-module lacks"
				conditional = streamPatchUnknown(pass)
			}
			d := &analyzer.Diagnostic{Pos: mt.Call.Pos, End: mt.Call.End,
				Message: fmt.Sprintf("set_more_tries runs on every attempt: a session to stream upstream %q reconnects forever while the peer refuses", u.Name),
				Details: details + ". Add proxy_next_upstream_timeout, or guard the call with get_last_failure() / an ngx.ctx counter."}
			for _, s := range servers {
				d.Related = append(d.Related, analyzer.Related{Pos: s.Proxy.Directive.Pos, Message: fmt.Sprintf("stream server listening on %s proxies here", s.ListenPort())})
			}
			if conditional {
				// Undeclared versions: it loops only on a stock nginx.
				d.Severity, d.Conditional = analyzer.Info, "nginx without OpenResty's stream_proxy_get_next_upstream_tries patch (stock nginx with stream-lua-nginx-module)"
			}
			d.Confirm = scenario{env: envOf(pass), target: fromconf.Target{Upstream: u, Server: servers[0]}, profile: pass.Profile, policy: "refused",
				requests: "GET /", maxAttempts: hotLoopCap,
				judge: func(r *emulator.Result) (bool, string) {
					q := r.Requests[0]
					if q.Unbounded {
						return true, fmt.Sprintf("1 session made %d connect attempts before the cap (unbounded)", len(q.Attempts))
					}
					return false, r.Summary()
				}}.confirmer()
			pass.Report(d)
		}
	}
}

// streamRetrySetting is the stream server's explicit retry setting that
// promises a failover, nil when there is none.
func streamRetrySetting(p *nginxconf.StreamProxy) *nginxconf.Directive {
	if d := p.NextUpstreamTries; d != nil && d.Arg(0) != "0" && d.Arg(0) != "1" {
		return d
	}
	if d := p.NextUpstreamTimeout; d != nil && d.Arg(0) != "0" {
		return d
	}
	if d := p.NextUpstream; d != nil && p.NextUpstreamOn() {
		return d
	}
	return nil
}

// runNextUpstreamNoEffectStream is NGX2104 for stream servers.
func runNextUpstreamNoEffectStream(pass *analyzer.Pass) {
	seen := map[*nginxconf.Directive]bool{}
	for _, s := range streamProxied(pass.Model) {
		p, u := s.StreamProxy, s.Proxy.Upstream
		var setting *nginxconf.Directive
		var why, how string
		udp := false
		switch {
		case s.ListenUDP() && u.Balancer == nil && !hasZeroNetServer(u):
			// connect() on a datagram socket does not fail for a
			// routable address, and ngx_stream_proxy_next_upstream is
			// reached from the connect path only: a UDP session is never
			// moved to another server (checked against Debian's nginx by
			// emulator/nginxengine TestStreamUDPNoRetry).
			setting = streamRetrySetting(p)
			why = "the server listens on UDP"
			how = "A datagram session is connected at once (connect() on UDP does not fail) and nginx moves to the next server only when connecting fails; an unreachable peer shows as a recv() error or a timeout that ends the session"
			udp = true
		case !p.NextUpstreamOn():
			// proxy_next_upstream off: tries and timeout are never read
			// (ngx_stream_proxy_next_upstream tests the flag first).
			for _, d := range []*nginxconf.Directive{p.NextUpstreamTries, p.NextUpstreamTimeout} {
				if d != nil && d.Arg(0) != "0" {
					setting = d
					break
				}
			}
			why = "proxy_next_upstream is off"
			how = "ngx_stream_proxy_next_upstream ends the session with 502 when the flag is off"
		case u.Balancer != nil:
			if u.Balancer.Lua == nil || u.Balancer.Lua.LoadError != "" || u.Balancer.Lua.Unresolved || len(u.Servers) > 1 {
				continue
			}
			res := luaFactsLinked(pass, u.Balancer.Lua)
			if res.Balancer == nil || len(res.Balancer.MoreTries) > 0 {
				continue
			}
			setting = streamRetrySetting(p)
			why = fmt.Sprintf("stream upstream %q uses balancer_by_lua without set_more_tries", u.Name)
			how = fmt.Sprintf("Without set_more_tries a session has tries = %d", max(1, len(u.Servers)))
		case len(u.Servers) == 1 && !u.Servers[0].Backup:
			if u.Servers[0].Resolve || !isIPAddress(u.Servers[0].Address) {
				continue
			}
			setting = streamRetrySetting(p)
			why = fmt.Sprintf("stream upstream %q has a single server and no backup", u.Name)
			how = "With a single server a failure sets tries = 0"
		}
		if setting == nil || seen[setting] {
			continue
		}
		seen[setting] = true
		d := &analyzer.Diagnostic{Pos: setting.Pos, End: setting.End,
			Message: fmt.Sprintf("%s never retries: %s", setting.Name, why),
			Details: how + ", so no other server is ever tried.",
			Related: []analyzer.Related{{Pos: u.Directive.Pos, Message: fmt.Sprintf("upstream %q defined here", u.Name)}}}
		if udp {
			pass.Report(d) // the emulator runs TCP sessions only
			continue
		}
		d.Confirm = scenario{env: envOf(pass), target: fromconf.Target{Upstream: u, Server: s}, profile: pass.Profile, policy: "refused",
			requests: "GET /", maxAttempts: 50,
			judge: func(r *emulator.Result) (bool, string) {
				q := r.Requests[0]
				return len(q.Attempts) == 1, fmt.Sprintf("the session to a refusing peer made %s and ended with $status %d", plural(len(q.Attempts), "attempt"), q.Session)
			}}.confirmer()
		pass.Report(d)
	}
}

// streamNoPeer words LUA3003 for a stream balancer and attaches its
// confirmation. stream-lua-nginx-module never had lua-nginx-module
// 0.10.27's placeholder server and "no peer set" check:
// ngx_stream_lua_balancer_get_peer falls back to
// ngx_stream_upstream_get_round_robin_peer over the server lines at every
// release (src/ngx_stream_lua_balancer.c, v0.0.2 to v0.0.17R4), so with the
// usual `server 0.0.0.1:PORT` placeholder the connect fails and the
// session ends with 502 once the tries are used up.
func streamNoPeer(pass *analyzer.Pass, d *analyzer.Diagnostic, u *nginxconf.Upstream) {
	d.Details = fmt.Sprintf("stream-lua falls back to round robin over the server lines of upstream %q when no peer is set (it has no \"no peer set\" check): a placeholder such as 0.0.0.1 is connected to, Linux refuses it (EINVAL), and the session ends with 502; end the path with ngx.exit(ngx.ERROR) to fail it explicitly.", u.Name)
	var srv *nginxconf.Server
	if users := pass.Model.StreamUsers(u); len(users) > 0 {
		srv = users[0]
	}
	d.Confirm = scenario{env: envOf(pass), target: fromconf.Target{Upstream: u, Server: srv}, profile: pass.Profile, policy: "ok",
		requests: "GET /", maxAttempts: 50,
		judge: func(r *emulator.Result) (bool, string) {
			q := r.Requests[0]
			for _, a := range q.Attempts {
				host, _, _ := strings.Cut(a.Peer, ":")
				if ip := net.ParseIP(host).To4(); ip != nil && ip[0] == 0 && a.Outcome == emulator.OutcomeConnectError {
					return true, fmt.Sprintf("the session fell back to the placeholder %s (connect failed) and ended with $status %d after %s", a.Peer, q.Session, plural(len(q.Attempts), "attempt"))
				}
			}
			return false, fmt.Sprintf("no attempt reached the placeholder: %s", r.Summary())
		}}.confirmer()
}

// hasZeroNetServer reports whether a server line of u is in 0.0.0.0/8 (a
// placeholder), where even a UDP connect() fails and is retried.
func hasZeroNetServer(u *nginxconf.Upstream) bool {
	for _, s := range u.Servers {
		host := s.Address
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if ip := net.ParseIP(host).To4(); ip != nil && ip[0] == 0 {
			return true
		}
	}
	return false
}

// runRetryAmplificationStream is NGX2101 for stream servers whose upstream
// has no Lua balancer (NGX2003 covers the balancer's loops).
func runRetryAmplificationStream(pass *analyzer.Pass, threshold int) {
	for _, s := range streamProxied(pass.Model) {
		p, u := s.StreamProxy, s.Proxy.Upstream
		if u.Balancer != nil || p.NextUpstreamTries != nil || p.NextUpstreamTimeout != nil || !p.NextUpstreamOn() || s.ListenUDP() {
			continue
		}
		pred := retry.Predict(retry.FromStream(pass.Profile, u, p))
		if pred.Unbounded || pred.Attempts <= threshold {
			continue
		}
		pp := s.Proxy.Directive
		timeout := nginxconf.StreamDefaultConnectTimeout.String()
		if d := p.ConnectTimeout; d != nil {
			timeout = d.Arg(0)
		}
		d := &analyzer.Diagnostic{Pos: pp.Pos, End: pp.End,
			Message: fmt.Sprintf("up to %d connect attempts per session while stream upstream %q refuses or drops connections, and nothing bounds them", pred.Attempts, u.Name),
			Details: fmt.Sprintf("Stream retries a failed connect on the next server until every server was tried; each attempt may wait proxy_connect_timeout (%s). %d attempts are more than the %s setting (%d); add proxy_next_upstream_tries %d, or proxy_next_upstream_timeout.",
				timeout, pred.Attempts, retryThresholdSetting, retryThreshold(pass), min(2, pred.Attempts)),
			Related: []analyzer.Related{{Pos: u.Directive.Pos, Message: fmt.Sprintf("upstream %q: %s", u.Name, strings.Join(pred.Steps[:1], ""))}}}
		at := lineEnd(pp)
		d.Fixes = append(d.Fixes, analyzer.SuggestedFix{Message: "bound the retries",
			Edits: []analyzer.TextEdit{{Pos: at, End: at, NewText: lineIndent(pp) + "proxy_next_upstream_tries 2;\n"}}})
		d.Confirm = scenario{env: envOf(pass), target: fromconf.Target{Upstream: u, Server: s}, profile: pass.Profile, policy: "refused",
			requests: "GET /", maxAttempts: hotLoopCap, judge: attemptsJudge(pred, 0)}.confirmer()
		pass.Report(d)
	}
}

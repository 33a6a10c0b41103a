package rules

import (
	"fmt"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/emulator/fromconf"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/rules/retry"
)

// KeepaliveNotEffective finds keepalive directives that cannot keep a
// single connection.
var KeepaliveNotEffective = &analyzer.Rule{
	ID:       "NGX2002",
	Slug:     "keepalive-not-effective",
	Severity: analyzer.Warning,
	Doc: analyzer.Doc{
		Title: "upstream keepalive that never reuses a connection",
		Text: `Two ways a keepalive directive silently does nothing:

1. A location proxies to the upstream without "proxy_http_version 1.1;" and
   "proxy_set_header Connection "";". Before nginx 1.29.7 the proxy module talks HTTP/1.0 with
   "Connection: close" by default, so the backend closes every connection and none is cached.
   From nginx 1.29.7 both are the defaults; only an explicit 1.0 or "Connection: close" breaks it.
2. keepalive is written before balancer_by_lua* or another balancing method (hash, ip_hash,
   least_conn, random) in the upstream block. Up to nginx 1.29.6 the keepalive directive wraps the
   balancer that exists when it is read; a later method replaces the hook, and nginx only warns
   "load balancing method redefined". The lua-nginx-module README says: keepalive *after*
   balancer_by_lua_block. From nginx 1.29.7 the keepalive module wraps peer.init at the end of
   configuration, so the order no longer matters.

Every request then pays a TCP (and TLS) handshake, and a busy upstream runs out of ports in TIME_WAIT.
Remember that proxy_set_header is inherited all-or-nothing: the fix copies the headers the location
inherited, since adding one proxy_set_header to a location drops every inherited one.`,
		Bad: `http {
    upstream app {
        server 127.0.0.1:8080;
        keepalive 16;
    }
    server {
        listen 80;
        location / {
            proxy_pass http://app;
        }
    }
}
`,
		Good: `http {
    upstream app {
        server 127.0.0.1:8080;
        keepalive 16;
    }
    server {
        listen 80;
        location / {
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
`,
		Versions:     "nginx=1.22.1",
		Affected:     "nginx < 1.29.7",
		Since:        "0.1.0",
		References:   []string{"https://nginx.org/en/docs/http/ngx_http_upstream_module.html#keepalive", "lua-nginx-module README, balancer_by_lua_block", "nginx 1.29.7 CHANGES (4fbe4b627, c5d36eac3, 6bb27a631)"},
		Confirmation: `Every peer answers 200 keep-alive ("ok"); three GET requests. Confirmed when they opened three upstream connections, i.e. none was reused.`,
	},
	Run: runKeepaliveNotEffective,
}

func runKeepaliveNotEffective(pass *analyzer.Pass) error {
	p := pass.Profile
	before := "before nginx 1.29.7"
	if p.HasNginx() {
		before = "on nginx " + p.Nginx.String()
	}
	for _, u := range httpUpstreams(pass.Model) {
		if retry.KeepaliveCount(u, p) <= 0 {
			continue
		}
		if m := retry.KeepaliveLostByOrder(u, p); m != nil {
			head := fmt.Sprintf("keepalive is written before %s: the upstream keeps no connections", m.Name)
			how := fmt.Sprintf("%s the upstream keeps no connections (nginx only warns \"load balancing method redefined\")", capitalise(before))
			if strings.HasPrefix(m.Name, "balancer_by_lua") && p.HasLNM() && p.LNM.AtLeast("0.10.27") {
				// 0.10.27 wraps the earlier keepalive, but get/free skip it
				// whenever Lua sets the peer (knowledge file: LNM-KEEPALIVE-ORDER).
				head = fmt.Sprintf("keepalive is written before %s: no connection to a Lua-chosen peer is kept", m.Name)
				how = fmt.Sprintf("lua-nginx-module %s keeps it wrapped but skips it whenever Lua sets the peer, so no connection to a Lua-chosen peer is kept", p.LNM)
			}
			var sev analyzer.Severity
			if strings.HasPrefix(m.Name, "balancer_by_lua") && u.Balancer != nil && u.Balancer.Lua != nil && u.Balancer.Lua.LoadError == "" {
				// The balancer's Lua can keep its own pool
				// (ngx.balancer.enable_keepalive, lua-nginx-module
				// 0.10.27+), which the directive's order does not touch.
				// APISIX writes keepalive first on purpose and pools
				// from Lua through modules a checkout may not hold.
				res := luaFactsLinked(pass, u.Balancer.Lua)
				bf := res.Balancer
				switch {
				case bf != nil && len(bf.EnableKeepalive) > 0:
					head = fmt.Sprintf("keepalive before %s does nothing; only the balancer's enable_keepalive() pool keeps connections", m.Name)
					how += "; the balancer's enable_keepalive() pool still keeps them"
					sev = analyzer.Info
				case (!p.HasLNM() || p.LNM.AtLeast("0.10.27")) && (bf == nil || bf.OpaqueCalls > 0 || len(res.SyntaxErrors) > 0):
					head = fmt.Sprintf("keepalive before %s does nothing: connections are kept only if the balancer's Lua calls enable_keepalive", m.Name)
					how += "; the balancer calls code this check cannot follow, which may open its own pool with enable_keepalive()"
					sev = analyzer.Info
				}
			}
			fix := "Move keepalive after " + m.Name
			if sev == analyzer.Info {
				fix += ", or drop it if the Lua pool is the one meant"
			}
			d := &analyzer.Diagnostic{Pos: u.Keepalive.Pos, End: u.Keepalive.End, Severity: sev,
				Message: head, Details: joinDetails(how, fix),

				Related: []analyzer.Related{{Pos: m.Pos, End: m.End, Message: m.Name + " defined here"}}}
			if fix, ok := moveAfterFix(u.Keepalive, m); ok {
				d.Fixes = append(d.Fixes, fix)
			}
			if ls := locationsUsing(pass.Model, u); len(ls) > 0 {
				d.Confirm = noReuseScenario(pass, u, ls[0])
			}
			pass.Report(d)
			continue
		}
		if u.Keepalive == nil {
			continue // on by default (>= 1.29.7): only explicit settings can break it, handled below
		}
		for _, l := range locationsUsing(pass.Model, u) {
			h11, closeHdr, known := retry.UpstreamHTTP(l, p)
			if !known || (h11 && !closeHdr) {
				continue
			}
			var missing []string
			if !h11 {
				missing = append(missing, "proxy_http_version 1.1")
			}
			if closeHdr {
				missing = append(missing, `proxy_set_header Connection ""`)
			}
			pp := l.Proxy.Pass.Directive
			var sends []string
			if !h11 {
				sends = append(sends, "HTTP/1.0")
			}
			if closeHdr {
				sends = append(sends, `"Connection: close"`)
			}
			d := &analyzer.Diagnostic{Pos: pp.Pos, End: pp.End,
				Message: fmt.Sprintf("upstream %q has keepalive %s, but this location sends it %s", u.Name, u.Keepalive.Arg(0), strings.Join(sends, " with ")),
				Details: fmt.Sprintf("%s no connection is reused; add %s.", capitalise(before), strings.Join(missing, " and ")),

				Related: []analyzer.Related{{Pos: u.Keepalive.Pos, End: u.Keepalive.End, Message: "keepalive defined here"}}}
			if fix, ok := keepaliveHeadersFix(l, h11, closeHdr); ok {
				d.Fixes = append(d.Fixes, fix)
			}
			d.Confirm = noReuseScenario(pass, u, l)
			pass.Report(d)
		}
	}
	return nil
}

func noReuseScenario(pass *analyzer.Pass, u *nginxconf.Upstream, l *nginxconf.Location) analyzer.Confirmer {
	return scenario{env: envOf(pass), target: fromconf.Target{Upstream: u, Location: l}, profile: pass.Profile, policy: "ok",
		requests: "GET /, GET /, GET /", maxAttempts: 10,
		judge: func(r *emulator.Result) (bool, string) {
			conns, ok := 0, true
			for _, q := range r.Requests {
				conns += q.UpstreamConnections
				ok = ok && q.Status.Code == 200
			}
			summary := fmt.Sprintf("%d requests opened %s", len(r.Requests), plural(conns, "upstream connection"))
			if ok && conns >= len(r.Requests) {
				return true, summary + ": none was reused"
			}
			return false, summary + "; connections were reused"
		}}.confirmer()
}

// keepaliveHeadersFix inserts the missing directives after proxy_pass. When
// the location has no proxy_set_header of its own, adding one drops every
// inherited header, so the inherited ones are copied in too.
func keepaliveHeadersFix(l *nginxconf.Location, h11, closeHdr bool) (analyzer.SuggestedFix, bool) {
	pp := l.Proxy.Pass.Directive
	if pp.File == nil {
		return analyzer.SuggestedFix{}, false
	}
	ind := lineIndent(pp)
	var b strings.Builder
	if !h11 {
		if d := l.Proxy.HTTPVersion; d != nil && d.File == pp.File && len(l.Own("proxy_http_version")) > 0 {
			return analyzer.SuggestedFix{}, false // an explicit 1.0 here: leave it to a person
		}
		b.WriteString(ind + "proxy_http_version 1.1;\n")
	}
	if closeHdr {
		if len(l.Own("proxy_set_header")) == 0 {
			for _, h := range l.Proxy.SetHeaders {
				if strings.EqualFold(h.Arg(0), "Connection") {
					continue
				}
				b.WriteString(ind + string(h.File.Data[h.Pos.Offset:h.End.Offset]) + "\n")
			}
		} else {
			for _, h := range l.Own("proxy_set_header") {
				if strings.EqualFold(h.Arg(0), "Connection") {
					return analyzer.SuggestedFix{}, false // an explicit close here: leave it to a person
				}
			}
		}
		b.WriteString(ind + "proxy_set_header Connection \"\";\n")
	}
	at := lineEnd(pp)
	return analyzer.SuggestedFix{Message: "send HTTP/1.1 without Connection: close to the upstream",
		Edits: []analyzer.TextEdit{{Pos: at, End: at, NewText: b.String()}}}, true
}

// moveAfterFix moves the line holding d to just after the line where m
// ends, when both are alone on their lines in the same file.
func moveAfterFix(d, m *nginxconf.Directive) (analyzer.SuggestedFix, bool) {
	if d.File == nil || d.File != m.File {
		return analyzer.SuggestedFix{}, false
	}
	data := d.File.Data
	start := d.Pos.Offset
	for start > 0 && data[start-1] != '\n' {
		start--
	}
	if strings.TrimSpace(string(data[start:d.Pos.Offset])) != "" {
		return analyzer.SuggestedFix{}, false
	}
	end := lineEnd(d)
	if strings.TrimSpace(string(data[d.End.Offset:end.Offset])) != "" {
		return analyzer.SuggestedFix{}, false
	}
	at := lineEnd(m)
	line := string(data[start:end.Offset])
	if !strings.HasSuffix(line, "\n") {
		line += "\n"
	}
	return analyzer.SuggestedFix{Message: "move keepalive after " + m.Name,
		Edits: []analyzer.TextEdit{
			{Pos: d.File.PosAt(start), End: end, NewText: ""},
			{Pos: at, End: at, NewText: line},
		}}, true
}

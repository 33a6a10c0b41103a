package nginxengine

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/ngxlint/ngxlint/nginxconf"
)

// clientAddrHeader carries a request's client address when the engine's
// client cannot connect from it (realipFor). The name is the engine's
// own, so that no configuration reads it by accident; realipBlockers
// refuses one that does.
const clientAddrHeader = "X-Ngxlint-Client-Addr"

// clientFrom is how the engine's client makes nginx see a request's
// RemoteAddr.
type clientFrom struct {
	// local is the loopback address the client binds its socket to
	// ("" for the kernel's choice, 127.0.0.1).
	local string
	// header is the address sent in clientAddrHeader, which the realip
	// module injected into the copy turns into $remote_addr.
	header string
}

// clientOrigin decides how a request from addr is sent. Every address of
// 127.0.0.0/8 is a loopback address on Linux, and the engine's listeners
// on 127.0.0.1 accept connections from any of them, so such a client is
// real: the socket is bound to the address, and nginx reads it from the
// connection as it would in production. Any other address (10.1.2.3,
// 2001:db8::1, even ::1, which cannot reach an IPv4 listener) is given to
// nginx's own realip module (realipFor).
func clientOrigin(addr string) (clientFrom, error) {
	if addr == "" || addr == "127.0.0.1" {
		return clientFrom{}, nil
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil || ip.Zone() != "" {
		return clientFrom{}, fmt.Errorf("client address %q is not an IP address", addr)
	}
	ip = ip.Unmap()
	if ip.Is4() && ip.IsLoopback() {
		return clientFrom{local: ip.String()}, nil
	}
	return clientFrom{header: ip.String()}, nil
}

// realipDirectives are the realip module's directives (ngx_http_realip_module.c).
var realipDirectives = map[string]bool{"set_real_ip_from": true, "real_ip_header": true, "real_ip_recursive": true}

// realipFor is what the copy gets, at http level, for requests whose
// client address is not on loopback: nginx trusts clientAddrHeader from
// 127.0.0.1 (the engine's client) and nothing else. The realip module
// replaces the connection's address in NGX_HTTP_POST_READ_PHASE, before
// any phase a configuration acts in (server rewrite, find config, access,
// content), and again in PREACCESS with the location's settings, which
// inherit these. So allow/deny, geo, $remote_addr and
// $binary_remote_addr all see the request's address; server selection,
// which uses the listen socket and Host only, does not depend on it.
const realipFor = "set_real_ip_from 127.0.0.1; real_ip_header " + clientAddrHeader + ";"

// realipBlockers lists why the realip injection would change more than
// the client address: the configuration uses the realip module itself
// (the injected directives would replace its trusted sources or header),
// reads the injected header or what realip leaves behind
// ($realip_remote_addr is 127.0.0.1 then, $remote_port 0), or runs code
// that can read every request header (Lua's ngx.req.get_headers, njs
// r.headersIn, perl $r->header_in), which would see the extra one.
func realipBlockers(cfg *nginxconf.Config) []string {
	var why []string
	seen := map[string]bool{}
	note := func(d *nginxconf.Directive, s string) {
		if !seen[s] {
			seen[s] = true
			why = append(why, fmt.Sprintf("%s: %s", d.Pos, s))
		}
	}
	cfg.Walk(func(d *nginxconf.Directive, _ []*nginxconf.Directive) bool {
		switch {
		case realipDirectives[d.Name]:
			note(d, d.Name+": the configuration uses the realip module itself")
		case isScriptDirective(d.Name):
			what := "script code"
			if strings.Contains(d.Name, "lua") {
				what = "Lua code"
			}
			note(d, d.Name+": "+what+" can read every request header, the injected one too")
		}
		for _, a := range d.Args {
			v := strings.ToLower(a.Value)
			for _, name := range []string{"http_x_ngxlint_client_addr", "realip_remote_addr", "realip_remote_port", "remote_port"} {
				if strings.Contains(v, "$"+name) || strings.Contains(v, "${"+name+"}") {
					note(d, "$"+name+" would read what the realip injection changes")
				}
			}
		}
		return true
	})
	return why
}

package emulator

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/ngxlint/ngxlint/nginxconf"
)

// accessAddr is the client address the access phase checks: the
// request's RemoteAddr, 127.0.0.1 when none (the real-nginx engine's
// client always connects from there).
func (st *reqState) accessAddr() string {
	if st.rq.RemoteAddr != "" {
		return st.rq.RemoteAddr
	}
	return "127.0.0.1"
}

// access is NGX_HTTP_ACCESS_PHASE under "satisfy all" (the default): the
// handlers run in the reverse of their registration (ngx_http_init_phase_handlers
// walks each phase's handlers from the last), and auto/modules registers
// auth_request, auth_basic, then access, so allow/deny decides first and
// auth_basic second; the first that refuses answers. It reports whether the
// request was answered. "satisfy any", auth_request and auth_jwt are not
// modelled and are listed in Exchange.Unmodelled.
func (st *reqState) access() bool {
	st.x.Access = "declined"
	satisfyAny := false
	for _, s := range st.scopeChain() {
		if ds := s.Own("satisfy"); len(ds) > 0 {
			satisfyAny = ds[0].Arg(0) == "any"
			break
		}
	}
	for _, d := range st.scopeChain() {
		for _, name := range []string{"auth_request", "auth_jwt"} {
			if ds := d.Own(name); len(ds) > 0 && ds[0].Arg(0) != "off" {
				st.x.Unmodelled = append(st.x.Unmodelled, name+" (other access handlers)")
			}
		}
		if len(d.Own("limit_except")) > 0 {
			st.x.Unmodelled = append(st.x.Unmodelled, "limit_except")
		}
	}
	realm, basic := st.authBasic()
	if basic && satisfyAny {
		// Under satisfy any a refusal by one handler is kept for the
		// post-access phase while another may still admit the client
		// (ngx_http_core_access_phase): not modelled.
		st.x.Unmodelled = append(st.x.Unmodelled, "auth_basic under satisfy any")
		basic = false
	}
	if st.accessRules() {
		return true
	}
	if !basic {
		return false
	}
	if hasHeader(st.hdrs, "authorization") {
		// Checking credentials reads auth_basic_user_file: not
		// modelled.
		st.x.Unmodelled = append(st.x.Unmodelled, "auth_basic credentials")
		return false
	}
	// ngx_http_auth_basic_handler: no Authorization header
	// (ngx_http_auth_basic_user declines) is a 401 with the realm
	// (ngx_http_auth_basic_set_realm), before the user file is read.
	st.x.Access = "auth_basic"
	st.x.Trace = append(st.x.Trace, "auth_basic "+strconv.Quote(realm)+": no Authorization header, 401")
	st.outHdrs = append(st.outHdrs, Header{Name: "WWW-Authenticate", Value: "Basic realm=\"" + realm + "\""})
	st.finish(401, "", "")
	return true
}

// authBasic returns the auth_basic realm in force and whether the module
// asks for credentials: ngx_http_auth_basic_handler declines unless both
// auth_basic and auth_basic_user_file are set (each inherited on its own,
// ngx_http_auth_basic_merge_loc_conf) and the realm is not "off".
func (st *reqState) authBasic() (string, bool) {
	var realm *nginxconf.Directive
	file := false
	for _, s := range st.scopeChain() {
		if ds := s.Own("auth_basic"); len(ds) > 0 && realm == nil {
			realm = ds[0]
		}
		file = file || len(s.Own("auth_basic_user_file")) > 0
	}
	if realm == nil || !file {
		return "", false
	}
	v := st.eval(realm.Arg(0))
	return v, v != "off"
}

// accessRules is the access module's phase handler for an IPv4 client
// (ngx_http_access_handler, ngx_http_access_inet): the first allow or deny
// rule whose address matches decides, a deny is a 403 and no match lets
// the request through (NGX_DECLINED). It reports whether the request was
// answered. The rules are the innermost level's that has any, all three
// lists together (ngx_http_access_merge_loc_conf inherits rules, rules6
// and rules_un only when the level has none of them), so one allow in a
// location drops the server's deny all.
func (st *reqState) accessRules() bool {
	rules := st.accessList()
	if len(rules) == 0 {
		return false
	}
	addr, err := netip.ParseAddr(st.accessAddr())
	if err != nil || !addr.Is4() {
		st.x.Unmodelled = append(st.x.Unmodelled, "access rules for a client address other than IPv4")
		return false
	}
	for _, d := range rules {
		a := d.Arg(0)
		match, ok := AccessRuleMatches(a, addr)
		if !ok {
			st.x.Unmodelled = append(st.x.Unmodelled, d.Name+" "+a)
			continue
		}
		if !match {
			continue
		}
		st.x.Access = d.Name + " " + a
		st.x.Trace = append(st.x.Trace, d.Name+" "+a+" matches "+addr.String())
		if d.Name == "deny" {
			// ngx_http_access_found: NGX_HTTP_FORBIDDEN, which
			// ngx_http_core_access_phase finalizes (satisfy all) or
			// keeps as r->access_code for post-access (satisfy any
			// without another access handler that allows).
			st.finish(403, "", "")
			return true
		}
		return false
	}
	st.x.Trace = append(st.x.Trace, "no allow or deny rule matches "+addr.String()+": the access module declines, the request goes on")
	return false
}

// AccessRuleMatches reports whether the address of an allow or deny rule
// ("all", "10.0.0.0/8", "192.168.1.1") matches an IPv4 client, as
// ngx_http_access_inet does; ok is false for an address it cannot read.
// IPv6 and unix: rules never match an IPv4 client (they are rules6 and
// rules_un).
func AccessRuleMatches(rule string, client netip.Addr) (match, ok bool) {
	switch {
	case rule == "all":
		return true, true
	case strings.HasPrefix(rule, "unix:") || strings.Contains(rule, ":"):
		return false, true
	}
	p, err := netip.ParsePrefix(rule)
	if err != nil {
		ip, err2 := netip.ParseAddr(rule)
		if err2 != nil {
			return false, false
		}
		p = netip.PrefixFrom(ip, ip.BitLen())
	}
	// ngx_http_access_rule masks the address with the prefix
	// ("10.1.2.3/8" is 10.0.0.0/8, with a warning).
	return p.Masked().Contains(client), true
}

// accessList is the allow and deny directives in force, in order.
func (st *reqState) accessList() []*nginxconf.Directive {
	for _, s := range st.scopeChain() {
		var out []*nginxconf.Directive
		for _, d := range s.Directives {
			if d.Name == "allow" || d.Name == "deny" {
				out = append(out, d)
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	return nil
}

// scopeChain is the configuration levels from the chosen location out to
// http.
func (st *reqState) scopeChain() []*nginxconf.Scope {
	var out []*nginxconf.Scope
	for s := st.scopeOf(); s != nil; s = s.Parent {
		out = append(out, s)
	}
	return out
}

package rules

// Helpers for the rules that reason about the access phase (SEC1022,
// SEC1024): which allow/deny list applies at a level, and whether it or an
// authentication module keeps an unlisted client out.

import (
	"sort"

	"github.com/ngxlint/ngxlint/nginxconf"
)

// accessList returns the allow and deny rules in force at l, in the order
// nginx checks them, and the level that wrote them. allow and deny form
// one list that a level replaces as a whole
// (ngx_http_access_merge_loc_conf), so it is the nearest level with either.
func accessList(l *secLevel) ([]secEntry, *secLevel) {
	for p := l; p != nil; p = p.parent {
		if p.kind == "limit_except" && p != l {
			continue // its rules apply to other methods inside it only
		}
		es := append(append([]secEntry(nil), p.own("allow")...), p.own("deny")...)
		if len(es) > 0 {
			sort.Slice(es, func(i, j int) bool { return es[i].seq < es[j].seq })
			return es, p
		}
	}
	return nil, nil
}

// deniesUnlisted reports whether the list turns away a client it does not
// name: the first rule matching every address is "deny all". nginx stops
// at the first matching rule (ngx_http_access_inet), so a "deny all" after
// an "allow all" is dead.
func deniesUnlisted(es []secEntry) (secEntry, bool) {
	for _, e := range es {
		if matchesEveryone(e.arg(0)) {
			return e, e.name == "deny"
		}
	}
	return secEntry{}, false
}

// deniesSomeone reports whether the list has a deny rule at all, and
// returns the first.
func deniesSomeone(es []secEntry) (secEntry, bool) {
	for _, e := range es {
		if e.name == "deny" {
			return e, true
		}
	}
	return secEntry{}, false
}

// matchesEveryone reports whether an allow/deny argument matches every
// client. 0.0.0.0/0 and ::/0 each match one address family only
// (ngx_http_access_rule files them apart); taking either as everyone
// misses an IPv6 client let in past "deny 0.0.0.0/0" rather than
// reporting a list that does what its author meant on an IPv4 server.
func matchesEveryone(a string) bool {
	return a == "all" || a == "0.0.0.0/0" || a == "::/0"
}

// authEntry returns the authentication directive in force at l
// (auth_basic, auth_request, auth_jwt...), if one is on. access_by_lua
// counts: it runs in the access phase and is how OpenResty applications
// authenticate (DC/OS Admin Router, APISIX), whatever its code checks.
func authEntry(l *secLevel) (secEntry, bool) {
	// access_by_lua_block is a block, which the levels do not list: look
	// for it in the level's own directives (includes expanded). A
	// location inherits it from above when it has none of its own.
	for p := l; p != nil; p = p.parent {
		if d := ownBlock(p.block.Block, "access_by_lua_block"); d != nil {
			return secEntry{d: d, name: d.Name}, true
		}
	}
	for _, name := range []string{"auth_basic", "auth_request", "auth_jwt", "auth_pam", "auth_digest", "access_by_lua", "access_by_lua_file"} {
		e, ok := l.effective(name)
		if !ok || e.arg(0) == "off" {
			continue
		}
		if name == "auth_basic" {
			// Without a user file auth_basic asks for nothing
			// (ngx_http_auth_basic_handler declines when realm or
			// user_file is unset, nginx 1.22.1).
			if _, file := l.effective("auth_basic_user_file"); !file {
				continue
			}
		}
		return e, true
	}
	return secEntry{}, false
}

// ownBlock finds a block directive named name among ds, through includes.
func ownBlock(ds []*nginxconf.Directive, name string) *nginxconf.Directive {
	for _, d := range ds {
		if d.Name == name {
			return d
		}
		for _, f := range d.Included {
			if x := ownBlock(f.Directives, name); x != nil {
				return x
			}
		}
	}
	return nil
}

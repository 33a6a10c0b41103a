package rules

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator"
)

// AllowWithoutDeny flags access rules that allow some clients and deny
// nobody else.
var AllowWithoutDeny = &analyzer.Rule{
	ID:       "SEC1011",
	Slug:     "allow-without-deny",
	Severity: analyzer.Warning,
	Doc: analyzer.Doc{
		Title: "allow without \"deny all\": every other client is allowed too",
		Text: `The access module checks a level's allow and deny rules in order and, when none matches,
declines: with "satisfy all" (the default) the request goes on. So "allow 10.0.0.0/8;" alone restricts
nothing. allow and deny also form one list that a level replaces as a whole (ngx_http_access_merge_loc_conf:
"if (conf->rules == NULL) conf->rules = prev->rules"), so a location with its own "allow" drops the
server's "deny all" as well.

Reported at the level's first allow when its list has an allow other than "allow all" and no "deny all".
Not reported under "satisfy any" with auth_basic, auth_request or auth_jwt, where unmatched clients must
authenticate instead (the intranet-or-password pattern). The fix appends "deny all;" after the last allow.`,
		Bad: `http {
    server {
        listen 80;
        location /admin/ {
            allow 10.0.0.0/8;
            root /srv;
        }
    }
}
`,
		Good: `http {
    server {
        listen 80;
        location /admin/ {
            allow 10.0.0.0/8;
            deny all;
            root /srv;
        }
    }
}
`,
		Since: "0.3.0",
		References: []string{"https://nginx.org/en/docs/http/ngx_http_access_module.html",
			"nginx src/http/modules/ngx_http_access_module.c (NGX_DECLINED when no rule matches; ngx_http_access_merge_loc_conf)",
			"https://nginx.org/en/docs/http/ngx_http_core_module.html#satisfy", "Gixy-Next allow_without_deny"},
		Confirmation: `confirmed by the emulator's request path, which runs the access phase (ngx_http_access_module.c): a
request routed to the level from a client address no allow or deny rule names (127.0.0.1, else an RFC 5737
address) must get through, not a 403; with --engine nginx or both it is replayed on the real binary from the
same address (another 127.0.0.0/8 address by binding the client's socket to it, any other through the realip
module the engine adds to its copy, which it refuses to do for a configuration that uses realip, reads the
injected header or runs Lua, njs or perl code).
Differential suite: emulator/nginxengine/testdata/reqpath/access.txtar.`,
	},
	Run: func(pass *analyzer.Pass) error {
		if pass.Config == nil {
			return nil
		}
		for _, l := range secLevelsOf(pass).all {
			allows, denies := l.own("allow"), l.own("deny")
			if len(allows) == 0 {
				continue
			}
			restricting := false
			for _, a := range allows {
				restricting = restricting || a.arg(0) != "all"
			}
			denyAll := false
			for _, d := range denies {
				denyAll = denyAll || d.arg(0) == "all"
			}
			if !restricting || denyAll || authAlternative(l) {
				continue
			}
			first, last := allows[0], allows[len(allows)-1]
			d := &analyzer.Diagnostic{Pos: first.d.Pos, End: first.d.End,
				Message: fmt.Sprintf("allow in %s has no \"deny all\", so clients it does not list are allowed too", l.describe()),
				Details: "When no allow or deny rule matches, the access module lets the request through (satisfy all). Add \"deny all;\" after the allow rules."}
			if inh, from := l.inherited("deny"); len(inh) > 0 {
				for _, e := range inh {
					if e.arg(0) == "all" {
						d.Related = append(d.Related, analyzer.Related{Pos: e.d.Pos, End: e.d.End,
							Message: fmt.Sprintf("this deny all in %s is not inherited: the level's own allow replaces the whole list", from.describe())})
					}
				}
			}
			if last.d.Name == "allow" && aloneOnLine(last.d) && last.d.File == l.block.File {
				// Not inside an include: other levels may share the file.
				at := lineEnd(last.d)
				d.Fixes = append(d.Fixes, analyzer.SuggestedFix{Message: "deny every client not allowed",
					Edits: []analyzer.TextEdit{{Pos: at, End: at, NewText: lineIndent(last.d) + "deny all;\n"}}})
			}
			d.Confirm = allowConfirm(pass, l)
			pass.Report(d)
		}
		return nil
	},
}

// strangers are the candidate client addresses for the crafted request:
// 127.0.0.1 first, which the real-nginx engine's client connects from
// without help, then documentation addresses (RFC 5737) no real allow
// list names, which it gives nginx through the realip module.
// The first that no rule of the level names is used.
var strangers = []string{"127.0.0.1", "192.0.2.1", "198.51.100.7", "203.0.113.9"}

// stranger is the first of strangers that none of the level's allow and
// deny rules names (emulator.AccessRuleMatches).
func stranger(l *secLevel) string {
	for _, s := range strangers {
		addr := netip.MustParseAddr(s)
		named := false
		for _, name := range []string{"allow", "deny"} {
			for _, e := range l.own(name) {
				m, _ := emulator.AccessRuleMatches(e.arg(0), addr)
				named = named || m
			}
		}
		if !named {
			return s
		}
	}
	return ""
}

// allowConfirm sends a request from a client the level's rules do not
// name and checks that it is not refused. For the emulator's answer the
// access phase must have run and declined (Exchange.Access), so a
// response from another handler, or a rule that does match the address,
// is no confirmation.
func allowConfirm(pass *analyzer.Pass, l *secLevel) analyzer.Confirmer {
	p, ok := levelPlace(pass, l)
	if !ok {
		return notConfirmable("the rules are at " + l.describe() + ", which no request is routed to by its path alone")
	}
	at := routedTo(p, "allow")
	routed := func(x *emulator.Exchange) (bool, string) {
		if x.Access != "declined" {
			if x.Access == "" {
				return false, fmt.Sprintf("%d answered before the access phase", x.Status)
			}
			return false, fmt.Sprintf("%d: %s matches the client", x.Status, x.Access)
		}
		if ok, why := at(x); !ok {
			return false, why
		}
		return true, fmt.Sprintf("%d: no allow or deny rule names the client, the access module lets it through", x.Status)
	}
	shows := func(x *emulator.Exchange) (bool, string) {
		if x.Status == 403 || x.Status == 0 {
			return false, fmt.Sprintf("%d", x.Status)
		}
		return true, fmt.Sprintf("%d, not refused", x.Status)
	}
	addr := stranger(l)
	if addr == "" {
		return notConfirmable("the rules name every candidate client address (" + strings.Join(strangers, ", ") + ")")
	}
	checks := checksAt(pathsInto(pass, p, "allow"), shows, routed)
	for i := range checks {
		if addr != "127.0.0.1" {
			checks[i].req.RemoteAddr = addr
		}
	}
	return requestConfirmer(pass, p.srv, nil, checks)
}

// authAlternative reports whether l is under "satisfy any" with an
// authentication module, so that a client no allow rule lists must log in
// rather than being let through.
func authAlternative(l *secLevel) bool {
	s, ok := l.effective("satisfy")
	if !ok || s.arg(0) != "any" {
		return false
	}
	// satisfy any lets any access-phase handler admit the client:
	// the authentication modules and access_by_lua alike (authEntry).
	_, ok = authEntry(l)
	return ok
}

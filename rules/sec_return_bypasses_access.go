package rules

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator"
)

// ReturnBypassesAccess flags a "return" that answers with content where
// allow/deny or an authentication module is meant to guard it: return
// runs before the access phase, so the guard never applies.
var ReturnBypassesAccess = &analyzer.Rule{
	ID:       "SEC1022",
	Slug:     "return-bypasses-access",
	Severity: analyzer.Warning,
	Doc: analyzer.Doc{
		Title: "return answers before allow/deny and auth_basic run, so they guard nothing",
		Text: `nginx runs the rewrite module's directives (return, rewrite, set, if) in the rewrite phases, and
allow/deny, auth_basic and auth_request in the later access phase. A "return" ends the request in the
rewrite phase (ngx_http_rewrite_handler finalizes it with the code), so a location that reads "deny all;
return 200 ..." answers every client: tested on Debian's nginx 1.22.1, "location /a { deny all; return 200
secret; }" answers 200, also when the return is inside an "if". A return at server level runs in the server
rewrite phase, before any location is even chosen.

Reported when a return answers with a 2xx code (the content the rules were meant to protect) and the
location where it runs has allow/deny rules that deny someone (its own or inherited: one list replaced per
level) or an authentication module on. Not reported for redirects (3xx; the target location applies its own
access rules, and the redirect reveals only its target) nor for 4xx/5xx and 444, which refuse anyway. A
named location counts only the rules written in it.

The fix keeps the rules where they are and moves the answer past the access phase: "try_files
/ngxlint-none @name;" is handled in the precontent phase, after allow/deny, and the named location it
reaches may then return. Moving the rules and the return together into a named location reached through
"error_page 418 = @name; return 418;" (Gixy-Next's advice) does not help: the named location's return runs
in its rewrite phase too, before its own deny (tested on Debian's nginx 1.22.1: 200).`,
		Bad: `http {
    server {
        listen 80;
        location = /health {
            allow 10.0.0.0/8;
            deny all;
            return 200 "ok";
        }
    }
}
`,
		Good: `http {
    server {
        listen 80;
        location = /health {
            allow 10.0.0.0/8;
            deny all;
            try_files /ngxlint-none @health;
        }
        location @health {
            return 200 "ok";
        }
    }
}
`,
		Since: "0.3.0",
		References: []string{"https://nginx.org/en/docs/http/ngx_http_rewrite_module.html",
			"https://nginx.org/en/docs/dev/development_guide.html#http_phases",
			"nginx src/http/modules/ngx_http_rewrite_module.c (ngx_http_rewrite_handler in NGX_HTTP_REWRITE_PHASE)",
			"Gixy-Next return_bypasses_allow_deny"},
		Confirmation: `confirmed by the emulator's request path, which runs the rewrite phase before the access
phase (allow/deny from ngx_http_access_module.c, then auth_basic: no Authorization header is a 401): a request
routed to the location, from a client address the deny rules refuse (127.0.0.1, else an RFC 5737 address)
or without credentials for auth_basic, must get the return's status, answered before the access phase ran.
With --engine nginx or both it is replayed on the real binary from the same address (off loopback through the
realip module the engine adds to its copy, refused for a configuration that uses realip or runs scripts). Not confirmable for auth_request, auth_jwt
and access_by_lua (the emulator runs none of them), for auth_basic without auth_basic_user_file (nginx then
asks for nothing) and for a return at server level (every path is answered; the rules shown are the
server's). A return inside an if is confirmed only when the crafted request happens to meet its condition.
Differential suite: emulator/nginxengine/testdata/reqpath/seclast.txtar.`,
	},
	Run: func(pass *analyzer.Pass) error {
		if pass.Config == nil {
			return nil
		}
		for _, l := range secLevelsOf(pass).all {
			for _, r := range l.own("return") {
				if !answersContent(r) {
					continue
				}
				// The level whose access rules the request meets: the
				// location holding the return (an if's is its location's).
				at := l
				for at.kind == "if" && at.parent != nil {
					at = at.parent
				}
				for _, guarded := range guardedBy(at) {
					d := &analyzer.Diagnostic{Pos: r.d.Pos, End: r.d.End,
						Message: fmt.Sprintf("return %s answers in the rewrite phase, before the %s in %s is checked: every client gets it", r.arg(0), guarded.what, guarded.where),
						Details: "allow/deny and auth_* run in the access phase, after return has ended the request. Keep the rules here and answer from a named location reached by try_files (precontent phase, after access).",
						Related: []analyzer.Related{{Pos: guarded.e.d.Pos, End: guarded.e.d.End, Message: "this " + guarded.e.name + " never applies to the return"}}}
					d.Confirm = returnConfirm(pass, at, r, guarded)
					pass.Report(d)
					break
				}
			}
		}
		return nil
	},
}

// answersContent reports whether a return sends a 2xx answer: "return
// code [text]" with 200-299 (a bare URL or text-less form is a redirect or
// an error code).
func answersContent(r secEntry) bool {
	n, err := strconv.Atoi(r.arg(0))
	return err == nil && n >= 200 && n < 300
}

type accessGuard struct {
	e     secEntry
	what  string
	where string
}

// guardedBy returns the access guards a return at level at skips: at a
// location, the deny rules or authentication in force there; at server
// level, those of the server itself (its locations are never reached). A
// named location counts only its own: a request reaches it from another
// location, whose access phase has usually run already (try_files and
// error_page after a refusal).
func guardedBy(at *secLevel) []accessGuard {
	if at.kind != "location" && at.kind != "server" {
		return nil
	}
	named := at.kind == "location" && len(at.block.Args) > 0 && len(at.block.Args[0].Value) > 0 && at.block.Args[0].Value[0] == '@'
	var out []accessGuard
	if es, from := accessList(at); from != nil && (!named || from == at) {
		if e, ok := deniesSomeone(es); ok {
			out = append(out, accessGuard{e: e, what: fmt.Sprintf("%q rule", e.name+" "+e.arg(0)), where: from.describe()})
		}
	}
	if e, ok := authEntry(at); ok && (!named || len(at.own(e.name)) > 0) {
		out = append(out, accessGuard{e: e, what: e.name, where: at.describe()})
	}
	return out
}

// returnConfirm sends a request the guard would refuse to the location at
// and checks that it gets the return's status, answered before the
// access phase ran (Exchange.Access is empty): from a client address the
// first matching allow/deny rule denies, or, for auth_basic, without an
// Authorization header.
func returnConfirm(pass *analyzer.Pass, at *secLevel, r secEntry, guarded accessGuard) analyzer.Confirmer {
	if at.kind != "location" {
		return notConfirmable("the return is at " + at.describe() + ": it answers every request, before any location is chosen, so no request is refused by the rules shown")
	}
	p, ok := levelPlace(pass, at)
	if !ok {
		return notConfirmable("the return is in " + at.describe() + ", which no request is routed to by its path alone")
	}
	addr := "127.0.0.1"
	switch guarded.e.name {
	case "allow", "deny":
		es, _ := accessList(at)
		if addr = refusedBy(es); addr == "" {
			return notConfirmable("the rules deny none of the candidate client addresses (" + strings.Join(strangers, ", ") + ")")
		}
	case "auth_basic":
		if _, ok := at.effective("auth_basic_user_file"); !ok {
			return notConfirmable("auth_basic has no auth_basic_user_file, so nginx asks for no credentials (ngx_http_auth_basic_handler declines)")
		}
	default:
		return notConfirmable(guarded.e.name + " is not modelled by the emulator's access phase, so it cannot show what the request would get without the return")
	}
	code, _ := strconv.Atoi(r.arg(0))
	at2 := routedTo(p, "return")
	routed := func(x *emulator.Exchange) (bool, string) {
		if ok, why := at2(x); !ok {
			return false, why
		}
		if x.Access != "" {
			return false, fmt.Sprintf("%d: the access phase ran (%s)", x.Status, x.Access)
		}
		return true, fmt.Sprintf("%d, answered by the return in the rewrite phase: the %s never ran", x.Status, guarded.what)
	}
	shows := func(x *emulator.Exchange) (bool, string) {
		if x.Status != code {
			return false, fmt.Sprintf("%d, not the return's %d", x.Status, code)
		}
		return true, fmt.Sprintf("%d from the return, not refused", x.Status)
	}
	checks := checksAt(pathsInto(pass, p, "return"), shows, routed)
	for i := range checks {
		if addr != "127.0.0.1" {
			checks[i].req.RemoteAddr = addr
		}
	}
	return requestConfirmer(pass, p.srv, nil, checks)
}

// refusedBy is the first of strangers whose first matching rule in es is
// a deny (ngx_http_access_inet stops at the first match), "" if none.
func refusedBy(es []secEntry) string {
	for _, s := range strangers {
		addr := netip.MustParseAddr(s)
		for _, e := range es {
			if m, ok := emulator.AccessRuleMatches(e.arg(0), addr); ok && m {
				if e.name == "deny" {
					return s
				}
				break
			}
		}
	}
	return ""
}

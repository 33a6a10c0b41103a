package rules

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// StatusPageExposed flags a status page (stub_status, the VTS module's
// display) that every client reaching the server can read.
var StatusPageExposed = &analyzer.Rule{
	ID:       "SEC1024",
	Slug:     "status-page-exposed",
	Severity: analyzer.Warning,
	Doc: analyzer.Doc{
		Title: "status page readable by every client",
		Text: `stub_status reports active connections and request counters; the VTS module's
vhost_traffic_status_display far more (every server name, upstream address and its response times). Open to
the network, they tell an attacker what runs there, how loaded it is and where its backends are.

Reported at the status directive when nothing keeps an unlisted client out: the allow/deny list in force
(the location's own, or the nearest level's: one list replaced per level) does not reach "deny all"
before an "allow all", and no authentication module (auth_basic, auth_request, auth_jwt) is on. Not
reported when the server listens only on loopback addresses or unix sockets, nor in an internal location.
"deny 0.0.0.0/0" and "deny ::/0" are taken as "deny all" although each covers one address family.`,
		Bad: `http {
    server {
        listen 80;
        location = /nginx_status {
            stub_status;
        }
    }
}
`,
		Good: `http {
    server {
        listen 80;
        location = /nginx_status {
            stub_status;
            allow 10.0.0.0/8;
            deny all;
        }
    }
}
`,
		Since: "0.3.0",
		References: []string{"https://nginx.org/en/docs/http/ngx_http_stub_status_module.html",
			"https://github.com/vozlt/nginx-module-vts#vhost_traffic_status_display", "Gixy-Next status_page_exposed"},
		Confirmation: `for stub_status, confirmed by the emulator's request path, which runs the access phase (allow/deny,
auth_basic without credentials: 401) and stub_status's content handler (ngx_http_stub_status_handler: 200
text/plain, "Active connections: ..."): a request routed to the location from a client address the rules do
not refuse (127.0.0.1, else an RFC 5737 address), without credentials, must get 200 with the counters. With
--engine nginx or both it is replayed on the real binary from the same address (off loopback through the
realip module the engine adds to its copy, refused for a configuration that uses realip or runs scripts).
The VTS page is not confirmable: the emulator does not model the module's output, and Debian's nginx does
not ship the module, so no engine here can serve the page. Differential suite:
emulator/nginxengine/testdata/reqpath/seclast.txtar.`,
	},
	Run: func(pass *analyzer.Pass) error {
		if pass.Config == nil {
			return nil
		}
		for _, l := range secLevelsOf(pass).all {
			if l.kind != "location" || len(l.own("internal")) > 0 {
				continue
			}
			// stub_status's optional argument is ignored: "stub_status
			// off;" enables it too (ngx_http_set_stub_status sets the
			// handler without reading it).
			var status secEntry
			for _, name := range []string{"stub_status", "vhost_traffic_status_display"} {
				if es := l.own(name); len(es) > 0 {
					status = es[0]
				}
			}
			if status.d == nil || loopbackOnly(l) || serverReturnsFirst(l) {
				continue
			}
			es, _ := accessList(l)
			if _, ok := deniesUnlisted(es); ok {
				continue
			}
			if _, ok := authEntry(l); ok && !allowsEveryoneFirst(es) {
				continue
			}
			d := &analyzer.Diagnostic{Pos: status.d.Pos, End: status.d.End,
				Message: fmt.Sprintf("%s in %s is readable by every client: no \"deny all\" or authentication keeps others out", status.name, l.describe()),
				Details: "Status pages show traffic, connections and (VTS) backends. Add \"allow <monitoring network>; deny all;\" in this location, or listen on a loopback address only."}
			d.Confirm = statusConfirm(pass, l, status, es)
			pass.Report(d)
		}
		return nil
	},
}

// serverReturnsFirst reports whether the server of l has a return of its
// own (not in an if): it runs in the server rewrite phase, before a
// location is even chosen (ngx_http_core_module's phases), so no request
// reaches the status page.
func serverReturnsFirst(l *secLevel) bool {
	for p := l; p != nil; p = p.parent {
		if p.kind == "server" {
			return hasDirect(p.block.Block, "return")
		}
	}
	return false
}

// hasDirect reports whether ds holds a directive named name, through
// includes but not inside blocks.
func hasDirect(ds []*nginxconf.Directive, name string) bool {
	for _, d := range ds {
		if d.Name == name {
			return true
		}
		for _, f := range d.Included {
			if hasDirect(f.Directives, name) {
				return true
			}
		}
	}
	return false
}

// allowsEveryoneFirst reports whether the list lets every client in before
// any deny all; under "satisfy any" that makes authentication moot, and
// under "satisfy all" it does no harm, so only the first matters here.
func allowsEveryoneFirst(es []secEntry) bool {
	e, denies := deniesUnlisted(es)
	return e.d != nil && !denies
}

// loopbackOnly reports whether the server holding l listens on loopback
// addresses or unix sockets only. A server without listen is on *:80.
func loopbackOnly(l *secLevel) bool {
	srv := l
	for srv != nil && srv.kind != "server" {
		srv = srv.parent
	}
	if srv == nil || len(srv.own("listen")) == 0 {
		return false
	}
	for _, e := range srv.own("listen") {
		if !loopbackListen(e.arg(0)) {
			return false
		}
	}
	return true
}

func loopbackListen(a string) bool {
	if strings.HasPrefix(a, "unix:") {
		return true
	}
	host := a
	if strings.HasPrefix(a, "[") {
		if i := strings.Index(a, "]"); i > 0 {
			host = a[1:i]
		}
	} else if i := strings.LastIndex(a, ":"); i >= 0 {
		host = a[:i]
	} else {
		return false // a port alone: every address
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// statusConfirm reads the status page as a client the access list does
// not refuse (the first of strangers whose first matching rule is not a
// deny), without credentials: the page's 200 with stub_status's counter
// lines shows it open. The emulator's answer must also come from the
// location, through an access phase that let the client in.
func statusConfirm(pass *analyzer.Pass, l *secLevel, status secEntry, es []secEntry) analyzer.Confirmer {
	if status.name != "stub_status" {
		return notConfirmable("the VTS module's page is not modelled by the emulator, and Debian's nginx does not ship the module")
	}
	p, ok := levelPlace(pass, l)
	if !ok {
		return notConfirmable("the status page is in " + l.describe() + ", which no request is routed to by its path alone")
	}
	addr := admittedBy(es)
	if addr == "" {
		return notConfirmable("the rules deny every candidate client address (" + strings.Join(strangers, ", ") + ")")
	}
	at := routedTo(p, status.name)
	routed := func(x *emulator.Exchange) (bool, string) {
		if ok, why := at(x); !ok {
			return false, why
		}
		if x.Access == "" {
			return false, fmt.Sprintf("%d answered before the access phase", x.Status)
		}
		return true, fmt.Sprintf("%d with the status counters: the access phase let the client in (%s)", x.Status, x.Access)
	}
	shows := func(x *emulator.Exchange) (bool, string) {
		if x.Status != 200 || !strings.HasPrefix(x.Body, "Active connections:") {
			return false, fmt.Sprintf("%d without the status counters", x.Status)
		}
		return true, "200 with the status counters"
	}
	checks := checksAt(pathsInto(pass, p, status.name), shows, routed)
	for i := range checks {
		if addr != "127.0.0.1" {
			checks[i].req.RemoteAddr = addr
		}
	}
	return requestConfirmer(pass, p.srv, nil, checks)
}

// admittedBy is the first of strangers whose first matching rule in es
// is not a deny (or that no rule matches), "" if none.
func admittedBy(es []secEntry) string {
	for _, s := range strangers {
		addr := netip.MustParseAddr(s)
		denied := false
		for _, e := range es {
			if m, ok := emulator.AccessRuleMatches(e.arg(0), addr); ok && m {
				denied = e.name == "deny"
				break
			}
		}
		if !denied {
			return s
		}
	}
	return ""
}

package rules

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// ResolverExternal flags a resolver on a public address, whose answers
// cross networks an attacker may spoof them on.
var ResolverExternal = &analyzer.Rule{
	ID:       "SEC1025",
	Slug:     "resolver-external",
	Severity: analyzer.Info,
	Doc: analyzer.Doc{
		Title: "resolver on a public address: DNS answers can be spoofed on the way",
		Text: `nginx's resolver speaks plain DNS over UDP and keeps one socket per name server for the life of
the worker (ngx_resolver.c connects rec->udp once and reuses it), so a forged answer has to guess the
16-bit query ID but not the source port. The names it resolves are where proxy_pass sends requests and
OCSP responders, so a poisoned answer redirects traffic. nginx's documentation of resolver says: "To prevent
DNS spoofing, it is recommended configuring DNS servers in a properly secured trusted local network."

Reported (as information: it is a deployment choice, and many containers have no local resolver) for a
resolver address that is a global unicast IP outside the private (10/8, 172.16/12, 192.168/16, fc00::/7),
shared (100.64/10), documentation and benchmarking (192.0.2/24, 198.51.100/24, 203.0.113/24, 198.18/15,
2001:db8::/32: DC/OS puts its node-local resolver on 198.51.100.1-3), loopback and link-local ranges, such
as 8.8.8.8. Host names and OpenResty's local=on
are not judged. The fix is a resolver on the host or the local network (systemd-resolved at 127.0.0.53,
Docker's 127.0.0.11, kube-dns' cluster IP).`,
		Bad: `http {
    resolver 8.8.8.8 valid=30s;
    server {
        listen 80;
        location / {
            set $backend api.example.org;
            proxy_pass http://$backend;
        }
    }
}
`,
		Good: `http {
    resolver 127.0.0.53 valid=30s;
    server {
        listen 80;
        location / {
            set $backend api.example.org;
            proxy_pass http://$backend;
        }
    }
}
`,
		Since: "0.3.0",
		References: []string{"https://nginx.org/en/docs/http/ngx_http_core_module.html#resolver",
			"nginx src/core/ngx_resolver.c (ngx_resolver_send_udp_query: one connection per name server)",
			"gixy-ng resolver_external"},
		Confirmation: "not confirmable: the effect needs a forged DNS answer.",
	},
	Run: func(pass *analyzer.Pass) error {
		if pass.Config == nil {
			return nil
		}
		directiveIndex(pass).Each(func(d *nginxconf.Directive, _ []*nginxconf.Directive) {
			if d.Name != "resolver" {
				return
			}
			var public []string
			for _, a := range d.Args {
				if ip, ok := resolverAddr(a.Value); ok && publicAddr(ip) {
					public = append(public, a.Value)
				}
			}
			if len(public) == 0 {
				return
			}
			pass.Report(&analyzer.Diagnostic{Pos: d.Pos, End: d.End,
				Message: fmt.Sprintf("resolver %s is a public DNS server: its answers, which decide where requests go, can be spoofed on the way", strings.Join(public, ", ")),
				Details: "nginx reuses one UDP socket per name server, so a forged answer only has to guess the query ID. nginx's documentation recommends a resolver in a trusted local network (127.0.0.53, the local network's DNS)."})
		}, "resolver")
		return nil
	},
}

// resolverAddr parses a resolver argument as an IP address ("8.8.8.8",
// "8.8.8.8:53", "[2001:4860:4860::8888]:53", "2001:4860:4860::8888");
// parameters (valid=, ipv6=) and host names are not addresses.
func resolverAddr(a string) (netip.Addr, bool) {
	if strings.Contains(a, "=") {
		return netip.Addr{}, false
	}
	if ip, err := netip.ParseAddr(a); err == nil {
		return ip, true
	}
	if ap, err := netip.ParseAddrPort(a); err == nil {
		return ap.Addr(), true
	}
	return netip.Addr{}, false
}

// notInternet are global unicast ranges no internet DNS server lives in:
// the shared space of RFC 6598 (clouds, Kubernetes), the documentation
// networks of RFC 5737 and the benchmarking one of RFC 2544. DC/OS runs
// its node-local resolver on 198.51.100.1-3 (dcos-net), so these are
// local resolvers when a configuration names them.
var notInternet = []netip.Prefix{
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("2001:db8::/32"),
}

func publicAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsGlobalUnicast() || ip.IsPrivate() {
		return false
	}
	for _, p := range notInternet {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

package rules

import (
	"fmt"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/versions"
)

// WeakTLSProtocols flags SSLv2, SSLv3, TLSv1 and TLSv1.1 in ssl_protocols.
var WeakTLSProtocols = &analyzer.Rule{
	ID:       "SEC1018",
	Slug:     "weak-tls-protocols",
	Severity: analyzer.Warning,
	Doc: analyzer.Doc{
		Title: "ssl_protocols enables SSLv3, TLSv1 or TLSv1.1",
		Text: `SSLv2 and SSLv3 are broken (POODLE), and TLSv1 and TLSv1.1 were deprecated by RFC 8996 (2021):
they rely on SHA-1 and MD5 in the handshake, and enabling them lets a downgrade reach them. nginx itself
stopped enabling TLSv1 and TLSv1.1 by default in 1.27.3.

Reported: an ssl_protocols (http, stream, mail) or proxy_ssl_protocols / grpc_ssl_protocols /
uwsgi_ssl_protocols line naming one of them (warning; the fix removes them when TLSv1.2 or TLSv1.3 remains; Debian's stock nginx.conf has such a line),
and, on a declared nginx older than 1.27.3, servers that listen with ssl and never set ssl_protocols, whose
default includes TLSv1 and TLSv1.1 (info: OpenSSL 3 at its default security level refuses them anyway).`,
		Bad: `http {
    server {
        listen 443 ssl;
        ssl_certificate /etc/ssl/site.crt;
        ssl_certificate_key /etc/ssl/site.key;
        ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
    }
}
`,
		Good: `http {
    server {
        listen 443 ssl;
        ssl_certificate /etc/ssl/site.crt;
        ssl_certificate_key /etc/ssl/site.key;
        ssl_protocols TLSv1.2 TLSv1.3;
    }
}
`,
		Since: "0.3.0",
		References: []string{"RFC 8996 (Deprecating TLS 1.0 and TLS 1.1)", "https://nginx.org/en/docs/http/ngx_http_ssl_module.html#ssl_protocols",
			"nginx changes 1.27.3: \"now TLSv1 and TLSv1.1 protocols are disabled by default\"", "gixy-ng weak_ssl_tls"},
		Confirmation: `real nginx only (--engine nginx|both; the emulator does not model TLS handshakes and says so): for
ssl_protocols in http{} or a server that listens with ssl, the engine serves its own generated certificates
and Go's TLS client offers only the weak versions listed (TLSv1, TLSv1.1; Go cannot speak SSLv3); confirmed
when one is negotiated and a TLS 1.2 (else 1.3) control handshake succeeds. On Debian's nginx 1.22 with
OpenSSL 3.0 the weak handshake is refused (internal_error) at OpenSSL's default security level: not
reproduced, with that reason, and the finding stays (OpenSSL 1.1.1 builds accept it). With @SECLEVEL=0 in
ssl_ciphers TLSv1 and TLSv1.1 are negotiated: confirmed. For proxy_ssl_protocols (and grpc_/uwsgi_) a
request goes to a location where the line applies that proxies over TLS (https://, grpcs://, suwsgi://); its
backend speaks TLS with a generated certificate and accepts only the weak versions listed; confirmed when it
completes a handshake with nginx and its answer comes back; the control backend accepts TLS 1.2 (else 1.3)
only. Debian's nginx 1.22 offers TLSv1 but aborts (internal_error) at the default security level: not
reproduced; with @SECLEVEL=0 in proxy_ssl_ciphers it completes TLS 1.0/1.1: confirmed. A list with a gap
("TLSv1 TLSv1.2") makes OpenSSL's client offer TLS 1.0 only, so the control fails, and the reason says so.
proxy_ssl_verify on is not replayed. In stream{} (a server that listens with ssl, or the stream level for the
first such server that does not override it) the engine runs the stream server with the dynamic stream module
loaded and its proxy_pass on a loopback backend, and the same handshakes go to its ssl listener with nothing
sent after them: the handshake is the evidence. Debian's nginx gives the same outcomes as for http. mail lines
are not confirmable: no handshake reaches them.`,
	},
	Run: func(pass *analyzer.Pass) error {
		if pass.Config == nil {
			return nil
		}
		directiveIndex(pass).Each(func(d *nginxconf.Directive, parents []*nginxconf.Directive) {
			switch d.Name {
			case "ssl_protocols", "proxy_ssl_protocols", "grpc_ssl_protocols", "uwsgi_ssl_protocols":
			default:
				return
			}
			var weak, strong []string
			for _, a := range d.Args {
				switch a.Value {
				case "SSLv2", "SSLv3", "TLSv1", "TLSv1.1":
					weak = append(weak, a.Value)
				default:
					strong = append(strong, a.Value)
				}
			}
			if len(weak) == 0 {
				return
			}
			diag := &analyzer.Diagnostic{Pos: d.Pos, End: d.End,
				Message: fmt.Sprintf("%s enables %s, which %s deprecated or broken", d.Name, strings.Join(weak, ", "), pick(len(weak), "is", "are")),
				Details: "SSLv3 is broken (POODLE) and RFC 8996 deprecates TLSv1 and TLSv1.1. Keep TLSv1.2 and TLSv1.3. (OpenSSL 3 at its default security level refuses TLSv1 and TLSv1.1 whatever this line says; OpenSSL 1.1.1 builds accept them.)"}
			if len(strong) > 0 && !strings.Contains(d.Arg(0), "$") {
				first, last := d.Args[0], d.Args[len(d.Args)-1]
				diag.Fixes = append(diag.Fixes, analyzer.SuggestedFix{Message: "remove the weak protocols",
					Edits: []analyzer.TextEdit{{Pos: first.Pos, End: last.End(), NewText: strings.Join(strong, " ")}}})
			}
			diag.Confirm = weakVersionConfirm(pass, d, parents, weak)
			pass.Report(diag)
		}, "ssl_protocols", "proxy_ssl_protocols", "grpc_ssl_protocols", "uwsgi_ssl_protocols")
		if !pass.Profile.HasNginx() || !versions.DefaultEnablesWeakTLS(pass.Profile.Nginx) {
			return nil
		}
		for _, l := range secLevelsOf(pass).all {
			if l.kind != "server" {
				continue
			}
			if _, set := l.effective("ssl_protocols"); set {
				continue
			}
			for _, e := range l.own("listen") {
				if !hasArg(e, "ssl") {
					continue
				}
				pass.Report(&analyzer.Diagnostic{Pos: e.d.Pos, End: e.d.End, Severity: analyzer.Info,
					Message: fmt.Sprintf("nginx %s's default ssl_protocols enables TLSv1 and TLSv1.1 here; set \"ssl_protocols TLSv1.2 TLSv1.3;\"", pass.Profile.Nginx),
					Details: "nginx dropped TLSv1 and TLSv1.1 from the default in " + versions.WeakTLSDefaultUntil + ". OpenSSL 3 at its default security level refuses them anyway; older OpenSSL builds do not."})
				break
			}
		}
		return nil
	},
}

func hasArg(e secEntry, v string) bool {
	as := e.args()
	for _, a := range as[min(1, len(as)):] {
		if a == v {
			return true
		}
	}
	return false
}

package rules

// The SEC3xxx rules: nginx's published vulnerabilities (issue 21, part A),
// reported when the declared nginx version is in a CVE's affected range and
// the configuration uses the feature the CVE needs. The ranges live once,
// in versions.Advisories (nginx's security advisories page); this file only
// says which configuration feature exposes each CVE and groups the CVEs
// into rules by feature, so "-SEC3002" silences the mp4 ones together.

import (
	"fmt"
	"sort"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/versions"
)

// cveGate is the configuration condition that makes a CVE reachable;
// collectSecFeatures finds the directives that meet it. Its text is what
// the finding names when no instance-specific reason is given.
type cveGate string

const (
	gateAlways        cveGate = "always" // any configuration: the code runs for every request
	gateResolver      cveGate = "a resolver"
	gateOCSPResolver  cveGate = "ssl_ocsp with a resolver"
	gateMP4           cveGate = "mp4"
	gateHTTP2         cveGate = "HTTP/2"
	gateProxySetBody2 cveGate = "proxy_set_body to an HTTP/2 backend"
	gateSPDY          cveGate = "SPDY"
	gateHTTP3         cveGate = "HTTP/3 (QUIC)"
	gateVerifyClient  cveGate = "ssl_verify_client in two servers of one TLS socket with TLSv1.3"
	gateSessionShared cveGate = "a shared ssl_session_cache or ssl_session_ticket_key in several SSL servers"
	gateSSL           cveGate = "SSL"
	gateUpstreamSSL   cveGate = "SSL to upstreams"
	gateStreamOCSP    cveGate = "ssl_ocsp in stream"
	gateMailPTR       cveGate = "a mail resolver with SMTP proxying"
	gateMailSMTPNone  cveGate = "mail smtp_auth none"
	gateMailCRAM      cveGate = "mail CRAM-MD5 or APOP authentication"
	gateMailSTARTTLS  cveGate = "starttls in SMTP proxying"
	gateDAVCopyMove   cveGate = "WebDAV COPY or MOVE"
	gateDAVAlias      cveGate = "WebDAV COPY or MOVE with alias"
	gateCharsetUTF8   cveGate = "charset conversion from UTF-8 through a charset_map"
	gateSSIProxied    cveGate = "ssi on proxied responses"
	gateSliceCapture  cveGate = "$1-$9 in a location with slice or cache background update"
	gateMapCapture    cveGate = "a capture set by a regex map read before the map's variable"
	gateRewriteArgs   cveGate = "rewrite with arguments followed by a capture in set, if or rewrite"
	gateRewriteNested cveGate = "rewrite with nested captures and escaping"
	gateSCGIUWSGI     cveGate = "scgi_pass or uwsgi_pass"
	gateH2LongHeader  cveGate = "an HTTP/2 or gRPC backend with ignore_invalid_headers off and header buffers over 2M"
	gateProxyPass     cveGate = "proxy_pass"
	gateProxiedAnyway cveGate = "a proxied or FastCGI backend"
)

// cveTrigger is what makes one advisory's bug reachable from a
// configuration, read from the fix (commit and file in nginx/nginx) and
// nginx's changelog entry for it (docs/xml/nginx/changes.xml, the CHANGES
// file, cited by version).
type cveTrigger struct {
	gate cveGate
	// source is where the condition was read.
	source string
	// coarse is set when the gate stays the feature the advisory names,
	// and says in one line why: the exact condition is in what a
	// configuration does not show (a crafted file or packet, a DNS answer,
	// the platform). Every other entry is a refined trigger.
	coarse string
}

// cveTriggers says what exposes each CVE of versions.Advisories. A CVE
// missing here is reported by no rule, and TestCVETriggersDecided fails,
// so that a new advisory cannot be added without deciding its trigger.
var cveTriggers = map[string]cveTrigger{
	"CVE-2026-42533": {gateMapCapture, "nginx/nginx b76754049, src/http/ngx_http_script.c (length and copy passes disagree); CHANGES 1.31.3", ""},
	"CVE-2026-60005": {gateSliceCapture, "nginx/nginx 0cca8e055, src/http/ngx_http_variables.c ngx_http_regex_exec (stale r->ncaptures in subrequests); CHANGES 1.31.3", ""},
	"CVE-2026-56434": {gateSSIProxied, "nginx/nginx 700dc9e0e, src/http/ngx_http_request.c (SSI include subrequest posted twice during unbuffered proxying); CHANGES 1.31.3", ""},
	"CVE-2026-42530": {gateHTTP3, "nginx/nginx 9e293766e, ceccdbd2e, 875750a4f, src/http/v3/; CHANGES 1.31.2", "needs a crafted QUIC session: every HTTP/3 listener is exposed"},
	"CVE-2026-42055": {gateH2LongHeader, "nginx/nginx 26d824ec3, src/http/modules/ngx_http_grpc_module.c and ngx_http_proxy_v2_module.c (fields over NGX_HTTP_V2_MAX_FIELD); CHANGES 1.31.2", ""},
	"CVE-2026-48142": {gateCharsetUTF8, "nginx/nginx 319a0bff1, src/http/modules/ngx_http_charset_filter_module.c recode_from_utf8; CHANGES 1.31.2", ""},
	"CVE-2026-9256":  {gateRewriteNested, "nginx/nginx ca4f92a27, src/http/ngx_http_script.c ngx_http_script_regex_start_code; CHANGES 1.31.1", ""},
	"CVE-2026-42926": {gateProxySetBody2, "nginx/nginx c24fb259d, src/http/modules/ngx_http_proxy_v2_module.c (DATA frame length over 16M); CHANGES 1.31.0", ""},
	"CVE-2026-42945": {gateRewriteArgs, "nginx/nginx 2046b45aa and 475732a3f, src/http/ngx_http_script.c (e->is_args never cleared); CHANGES 1.31.0", ""},
	"CVE-2026-42946": {gateSCGIUWSGI, "nginx/nginx f79c286b3, src/http/modules/ngx_http_scgi_module.c and ngx_http_uwsgi_module.c; CHANGES 1.31.0", "needs a crafted backend response: every scgi_pass or uwsgi_pass is exposed"},
	"CVE-2026-42934": {gateCharsetUTF8, "nginx/nginx 696a7f1b9, src/http/modules/ngx_http_charset_filter_module.c recode_from_utf8; CHANGES 1.31.0", ""},
	"CVE-2026-40460": {gateHTTP3, "nginx/nginx f37ec3e5d, src/event/quic/ngx_event_quic_migration.c; CHANGES 1.31.0", "needs a client migrating its address: every HTTP/3 listener is exposed"},
	"CVE-2026-40701": {gateOCSPResolver, "nginx/nginx 71841dced, src/event/ngx_event_openssl_stapling.c (client connection closed while resolving the responder); CHANGES 1.31.0", ""},
	"CVE-2026-27654": {gateDAVAlias, "nginx/nginx 9739e755b, src/http/modules/ngx_http_dav_module.c (destination shorter than the alias); CHANGES 1.29.7", ""},
	"CVE-2026-27784": {gateMP4, "nginx/nginx 3568812cf, src/http/modules/ngx_http_mp4_module.c; CHANGES 1.29.7", "needs a crafted mp4 file and a 32-bit build, neither of which a configuration shows"},
	"CVE-2026-32647": {gateMP4, "nginx/nginx 7725c372c, src/http/modules/ngx_http_mp4_module.c; CHANGES 1.29.7", "needs a crafted mp4 file, which a configuration does not show"},
	"CVE-2026-27651": {gateMailCRAM, "nginx/nginx 9bc13718f, src/mail/ngx_mail_auth_http_module.c; CHANGES 1.29.7", "also needs an auth_http answer allowing a retry (Auth-Wait), which the auth server decides"},
	"CVE-2026-28753": {gateMailPTR, "nginx/nginx 6f3145006, src/mail/ngx_mail_smtp_handler.c (PTR name used unchecked); 3435b6e36; CHANGES 1.29.7", ""},
	"CVE-2026-28755": {gateStreamOCSP, "nginx/nginx 18711f775, src/stream/ngx_stream_ssl_module.c; CHANGES 1.29.7", "the gate is the exact condition: any ssl_ocsp in stream"},
	"CVE-2026-1642":  {gateUpstreamSSL, "nginx/nginx a59f5f099, src/http/ngx_http_upstream.c; CHANGES 1.29.5", "needs an attacker on the path to the backend: every SSL backend is exposed"},
	"CVE-2025-53859": {gateMailSMTPNone, "nginx/nginx 765642b86 and 9c02c84a7, src/mail/ngx_mail_handler.c and ngx_mail_smtp_handler.c; CHANGES 1.29.1", "the gate is the exact condition: AUTH PLAIN and LOGIN were parsed whatever smtp_auth lists, so none alone suffices"},
	"CVE-2025-23419": {gateVerifyClient, "nginx/nginx 46b9f5d38, src/http/ngx_http_request.c ngx_http_ssl_servername; CHANGES 1.27.4; TLSv1.3 default: CHANGES 1.23.4", ""},
	"CVE-2024-7347":  {gateMP4, "nginx/nginx 88955b104, 7362d0165, src/http/modules/ngx_http_mp4_module.c; CHANGES 1.27.1", "needs a crafted mp4 file, which a configuration does not show"},
	"CVE-2024-32760": {gateHTTP3, "CHANGES 1.27.0", "needs a crafted QUIC session: every HTTP/3 listener is exposed"},
	"CVE-2024-31079": {gateHTTP3, "CHANGES 1.27.0", "needs a crafted QUIC session: every HTTP/3 listener is exposed"},
	"CVE-2024-35200": {gateHTTP3, "CHANGES 1.27.0", "needs a crafted QUIC session: every HTTP/3 listener is exposed"},
	"CVE-2024-34161": {gateHTTP3, "CHANGES 1.27.0", "needs a crafted QUIC session and an MTU over 4096, which a configuration does not show"},
	"CVE-2024-24989": {gateHTTP3, "CHANGES 1.25.4", "needs a crafted QUIC session: every HTTP/3 listener is exposed"},
	"CVE-2024-24990": {gateHTTP3, "CHANGES 1.25.4", "needs a crafted QUIC session: every HTTP/3 listener is exposed"},
	"CVE-2022-41741": {gateMP4, "CHANGES 1.23.2; patch.2022.mp4.txt on the advisories page", "needs a crafted mp4 file, which a configuration does not show"},
	"CVE-2022-41742": {gateMP4, "CHANGES 1.23.2; patch.2022.mp4.txt on the advisories page", "needs a crafted mp4 file, which a configuration does not show"},
	"CVE-2021-23017": {gateResolver, "nginx/nginx 9f1dcb0c0, src/core/ngx_resolver.c ngx_resolver_copy; CHANGES 1.21.0", "needs a forged DNS answer: every resolver is exposed"},
	"CVE-2019-9511":  {gateHTTP2, "CHANGES 1.17.3", "a client-side flood: every HTTP/2 listener is exposed"},
	"CVE-2019-9513":  {gateHTTP2, "CHANGES 1.17.3", "a client-side flood: every HTTP/2 listener is exposed"},
	"CVE-2019-9516":  {gateHTTP2, "CHANGES 1.17.3", "a client-side flood: every HTTP/2 listener is exposed"},
	"CVE-2018-16843": {gateHTTP2, "CHANGES 1.15.6", "a client-side flood: every HTTP/2 listener is exposed"},
	"CVE-2018-16844": {gateHTTP2, "CHANGES 1.15.6", "a client-side flood: every HTTP/2 listener is exposed"},
	"CVE-2018-16845": {gateMP4, "CHANGES 1.15.6; patch.2018.mp4.txt on the advisories page", "needs a crafted mp4 file, which a configuration does not show"},
	"CVE-2017-7529":  {gateAlways, "CHANGES 1.13.3; patch.2017.ranges.txt on the advisories page", "the range filter runs on every response"},
	"CVE-2016-4450":  {gateAlways, "CHANGES 1.11.1; patch.2016.write.txt on the advisories page", "any module reading a request body into a temporary file (proxy, FastCGI, dav, Lua, perl...) is exposed; too many to tell apart"},
	"CVE-2016-0742":  {gateResolver, "CHANGES 1.9.10", "needs a forged DNS answer: every resolver is exposed"},
	"CVE-2016-0746":  {gateResolver, "CHANGES 1.9.10", "needs a crafted CNAME answer: every resolver is exposed"},
	"CVE-2016-0747":  {gateResolver, "CHANGES 1.9.10", "needs a crafted CNAME chain: every resolver is exposed"},
	"CVE-2014-3616":  {gateSessionShared, "nginx/nginx 6ec0f4d85, src/event/ngx_event_openssl.c (session id context); CHANGES 1.7.5", ""},
	"CVE-2014-3556":  {gateMailSTARTTLS, "nginx/nginx 44f45a546, src/mail/ngx_mail_smtp_handler.c; CHANGES 1.7.4", ""},
	"CVE-2014-0133":  {gateSPDY, "CHANGES 1.5.12; patch.2014.spdy2.txt on the advisories page", "needs a crafted SPDY request: every SPDY listener is exposed"},
	"CVE-2014-0088":  {gateSPDY, "CHANGES 1.5.11; patch.2014.spdy.txt on the advisories page", "needs a crafted SPDY request and a 32-bit build"},
	"CVE-2013-4547":  {gateAlways, "CHANGES 1.5.7; patch.2013.space.txt on the advisories page", "the request line parser runs for every request"},
	"CVE-2013-2070":  {gateProxyPass, "CHANGES 1.5.0; patch.2013.proxy.txt on the advisories page", "needs a crafted backend response: every proxy_pass is exposed"},
	"CVE-2013-2028":  {gateAlways, "CHANGES 1.5.0; patch.2013.chunked.txt on the advisories page", "chunked request bodies are parsed, or discarded, in every configuration"},
	"CVE-2012-2089":  {gateMP4, "CHANGES 1.1.19", "needs a crafted mp4 file, which a configuration does not show"},
	"CVE-2012-1180":  {gateProxiedAnyway, "CHANGES 1.1.17; patch.2012.memory.txt on the advisories page", "needs a crafted backend response: every proxied or FastCGI backend is exposed"},
	"CVE-2011-4315":  {gateResolver, "advisories page", "needs a crafted DNS answer: every resolver is exposed"},
	"CVE-2009-3555":  {gateSSL, "CHANGES 0.8.23", "a protocol flaw in every SSL server"},
	"CVE-2009-3898":  {gateDAVCopyMove, "CHANGES 0.8.17", "needs a crafted Destination header: every COPY or MOVE is exposed"},
	"CVE-2009-2629":  {gateAlways, "advisories page; patch.180065.txt", "the URI parser runs for every request"},
	"CVE-2009-3896":  {gateAlways, "advisories page; patch.null.pointer.txt", "the URI parser runs for every request"},
}

// cveGroup is one SEC3xxx rule: the gates whose CVEs it reports.
type cveGroup struct {
	id, slug, topic string
	gates           []cveGate
	bad, versions   string
}

// cves returns the advisories of the group, newest first.
func (g cveGroup) cves() []versions.Advisory {
	var out []versions.Advisory
	for _, a := range versions.Advisories() {
		for _, gt := range g.gates {
			if cveTriggers[a.CVE].gate == gt {
				out = append(out, a)
			}
		}
	}
	return out
}

// newCVERule builds a SEC3xxx rule whose documentation lists its CVEs,
// ranges and triggers from the tables.
func newCVERule(g cveGroup) *analyzer.Rule {
	var list strings.Builder
	for _, a := range g.cves() {
		t := cveTriggers[a.CVE]
		fmt.Fprintf(&list, "\n  %s  %s (%s): vulnerable %s; not vulnerable %s; needs %s", a.CVE, a.Name, a.Severity, a.Vulnerable, a.Good, t.gate)
		if t.coarse != "" {
			fmt.Fprintf(&list, " (feature gate: %s)", t.coarse)
		}
		fmt.Fprintf(&list, "; from %s", t.source)
	}
	r := &analyzer.Rule{
		ID:       g.id,
		Slug:     g.slug,
		Severity: analyzer.Warning,
		Doc: analyzer.Doc{
			Title: "nginx version with a known vulnerability in " + g.topic + " that this configuration reaches",
			Text: `Reported when the declared nginx version (--nginx-version, --openresty-version, or nginx -V
output) is in the affected range of one of nginx's security advisories and the configuration has the shape
the bug needs, as read from nginx's fix and changelog entry: a rewrite whose replacement has arguments
followed by a capture in set or if, not any rewrite; a charset conversion from UTF-8 through a
charset_map, not any charset. Where the exact condition is in what a configuration cannot show (a crafted
mp4 file or QUIC packet, a forged DNS answer, a 32-bit build), the gate is the feature being in use, and
the list below says so. Without a declared version the rule says nothing: guessing would report every
configuration.

Distributions patch nginx without changing its version (Debian and Ubuntu backport security fixes into
1.18.0, 1.22.1...), and OpenResty bundles carry some fixes as patches: on such builds read the package's
changelog, and if it has the fix, suppress the finding with that as the reason. On an OpenResty version
the findings are info for that reason.

The CVEs, ranges as nginx's advisories page writes them, with what exposes each and where that was read
(commits of nginx/nginx, CHANGES entries by release):` + list.String(),
			Bad:          g.bad,
			Versions:     g.versions,
			Affected:     "listed below, from " + versions.AdvisoriesSource,
			Since:        "0.3.0",
			References:   []string{versions.AdvisoriesSource},
			Confirmation: "not confirmable: showing a memory-safety bug would need the vulnerable binary and an exploit.",
		},
	}
	r.Run = func(pass *analyzer.Pass) error { return runCVEGroup(pass, g) }
	return r
}

var (
	groupResolver = cveGroup{id: "SEC3001", slug: "nginx-cve-resolver", topic: "the resolver",
		gates: []cveGate{gateResolver, gateOCSPResolver},
		bad: `http {
    resolver 127.0.0.53;
    server {
        listen 80;
        location / {
            set $backend "app.internal";
            proxy_pass http://$backend:8080;
        }
    }
}
`, versions: "bad: nginx=1.20.0; good: nginx=1.20.1"}
	groupMP4 = cveGroup{id: "SEC3002", slug: "nginx-cve-mp4", topic: "ngx_http_mp4_module",
		gates: []cveGate{gateMP4},
		bad: `http {
    server {
        listen 80;
        location /video/ {
            mp4;
            root /srv;
        }
    }
}
`, versions: "bad: nginx=1.22.1; good: nginx=1.28.3"}
	groupHTTP2 = cveGroup{id: "SEC3003", slug: "nginx-cve-http2", topic: "HTTP/2 or SPDY",
		gates: []cveGate{gateHTTP2, gateProxySetBody2, gateSPDY},
		bad: `http {
    server {
        listen 443 ssl http2;
        ssl_certificate /etc/ssl/site.crt;
        ssl_certificate_key /etc/ssl/site.key;
        root /srv/www;
    }
}
`, versions: "bad: nginx=1.16.0; good: nginx=1.16.1"}
	groupHTTP3 = cveGroup{id: "SEC3004", slug: "nginx-cve-http3", topic: "HTTP/3",
		gates: []cveGate{gateHTTP3},
		bad: `http {
    server {
        listen 443 quic reuseport;
        listen 443 ssl;
        ssl_certificate /etc/ssl/site.crt;
        ssl_certificate_key /etc/ssl/site.key;
        root /srv/www;
    }
}
`, versions: "bad: nginx=1.26.0; good: nginx=1.30.1"}
	groupTLS = cveGroup{id: "SEC3005", slug: "nginx-cve-tls", topic: "TLS",
		gates: []cveGate{gateVerifyClient, gateSessionShared, gateSSL, gateUpstreamSSL, gateStreamOCSP},
		bad: `http {
    server {
        listen 443 ssl;
        server_name partners.example.com;
        ssl_certificate /etc/ssl/site.crt;
        ssl_certificate_key /etc/ssl/site.key;
        ssl_client_certificate /etc/ssl/partners.pem;
        ssl_verify_client on;
        root /srv/partners;
    }
    server {
        listen 443 ssl;
        server_name admin.example.com;
        ssl_certificate /etc/ssl/site.crt;
        ssl_certificate_key /etc/ssl/site.key;
        ssl_client_certificate /etc/ssl/clients.pem;
        ssl_verify_client on;
        root /srv/admin;
    }
}
`, versions: "bad: nginx=1.26.2; good: nginx=1.26.3"}
	groupMail = cveGroup{id: "SEC3006", slug: "nginx-cve-mail", topic: "the mail proxy",
		gates: []cveGate{gateMailPTR, gateMailSMTPNone, gateMailCRAM, gateMailSTARTTLS},
		bad: `mail {
    auth_http 127.0.0.1:9000/auth;
    server {
        listen 25;
        protocol smtp;
        smtp_auth none;
    }
}
`, versions: "bad: nginx=1.28.2; good: nginx=1.29.7"}
	groupModules = cveGroup{id: "SEC3007", slug: "nginx-cve-modules", topic: "an HTTP module",
		gates: []cveGate{gateMapCapture, gateSliceCapture, gateSSIProxied, gateH2LongHeader, gateCharsetUTF8,
			gateRewriteNested, gateRewriteArgs, gateSCGIUWSGI, gateDAVAlias, gateDAVCopyMove},
		bad: `http {
    server {
        listen 80;
        location / {
            rewrite ^/shop/(.*)$ /index.php?route=$1;
            set $route $1;
            fastcgi_pass 127.0.0.1:9000;
        }
    }
}
`, versions: "bad: nginx=1.30.0; good: nginx=1.30.2"}
	groupCore = cveGroup{id: "SEC3008", slug: "nginx-cve-core", topic: "request processing",
		gates: []cveGate{gateAlways, gateProxyPass, gateProxiedAnyway},
		bad: `http {
    server {
        listen 80;
        root /srv/www;
    }
}
`, versions: "bad: nginx=1.12.0; good: nginx=1.12.1"}
)

// cveGroups lists the groups in rule ID order.
var cveGroups = []cveGroup{groupResolver, groupMP4, groupHTTP2, groupHTTP3, groupTLS, groupMail, groupModules, groupCore}

var (
	CVEResolver = newCVERule(groupResolver)
	CVEMP4      = newCVERule(groupMP4)
	CVEHTTP2    = newCVERule(groupHTTP2)
	CVEHTTP3    = newCVERule(groupHTTP3)
	CVETLS      = newCVERule(groupTLS)
	CVEMail     = newCVERule(groupMail)
	CVEModules  = newCVERule(groupModules)
	CVECore     = newCVERule(groupCore)
)

// cveRules lists the SEC3xxx rules in ID order.
func cveRules() []*analyzer.Rule {
	return []*analyzer.Rule{CVEResolver, CVEMP4, CVEHTTP2, CVEHTTP3, CVETLS, CVEMail, CVEModules, CVECore}
}

// runCVEGroup reports, for each gate of g that the configuration meets,
// the group's CVEs that affect the declared nginx: one finding at the
// first directive that meets the gate, saying how, the others as related
// positions.
func runCVEGroup(pass *analyzer.Pass, g cveGroup) error {
	p := pass.Profile
	if !p.HasNginx() || pass.Config == nil {
		return nil
	}
	feats := secFeaturesOf(pass)
	byGate := map[cveGate][]versions.Advisory{}
	hitsOf := map[cveGate][]secHit{}
	var order []cveGate
	for _, a := range g.cves() {
		if !a.Affects(p.Nginx) {
			continue
		}
		gt := cveTriggers[a.CVE].gate
		hits := hitsOf[gt]
		if hits == nil {
			for _, h := range feats.at[gt] {
				// A hit that rests on a default of later releases
				// (TLSv1.3 on without ssl_protocols) needs them.
				if !h.since.IsZero() && p.Nginx.Compare(h.since) < 0 {
					continue
				}
				hits = append(hits, h)
			}
			hitsOf[gt] = hits
		}
		if len(hits) == 0 {
			continue
		}
		if byGate[gt] == nil {
			order = append(order, gt)
		}
		byGate[gt] = append(byGate[gt], a)
	}
	for _, gt := range order {
		as := byGate[gt]
		hits := hitsOf[gt]
		first := hits[0]
		ids := make([]string, len(as))
		var details strings.Builder
		for i, a := range as {
			ids[i] = a.CVE
			t := cveTriggers[a.CVE]
			fmt.Fprintf(&details, "%s: %s (%s); vulnerable %s, not vulnerable %s; needs %s", a.CVE, a.Name, a.Severity, a.Vulnerable, a.Good, t.gate)
			if t.coarse != "" {
				fmt.Fprintf(&details, " (feature gate: %s)", t.coarse)
			}
			fmt.Fprintf(&details, "; from %s. ", t.source)
		}
		sort.Strings(ids)
		head := ids[0]
		if len(ids) > 1 {
			head = fmt.Sprintf("%d known vulnerabilities (%s)", len(ids), shortList(ids, 3))
		}
		where := "nginx " + p.Nginx.String()
		if p.IsOpenResty() {
			where = "OpenResty " + p.OpenResty.String() + " (nginx " + p.Nginx.String() + ")"
		}
		var msg string
		switch {
		case first.why != "":
			msg = fmt.Sprintf("%s has %s: %s; upgrade nginx", where, head, first.why)
			if n := len([]rune(msg)); n > analyzer.MaxMessage {
				// A long file name or many CVEs: the headline keeps the
				// shape and Details the lines.
				msg = fmt.Sprintf("%s has %s: %s; upgrade nginx", where, head, withoutPlace(first.why))
			}
		case gt == gateAlways:
			msg = fmt.Sprintf("%s has %s that every configuration exposes; upgrade nginx", where, head)
		default:
			msg = fmt.Sprintf("%s has %s that %s exposes; upgrade nginx", where, head, gt)
		}
		d := &analyzer.Diagnostic{Pos: first.d.Pos, End: first.d.End,
			Message: msg,
			Details: joinDetails(trigger(first), details.String(),
				"Advisories: "+versions.AdvisoriesSource+".",
				"Distribution packages often carry the fix without a new version: if yours does, suppress this finding with that as the reason.")}
		if p.IsOpenResty() {
			d.Severity = analyzer.Info
			d.Details = joinDetails(d.Details, "OpenResty applies some of nginx's security patches to its bundled nginx, so this is info on an OpenResty version.")
		}
		for _, o := range first.also {
			d.Related = append(d.Related, analyzer.Related{Pos: o.d.Pos, End: o.d.End, Message: o.msg})
		}
		for i, o := range hits[1:] {
			if i == 10 {
				break
			}
			m := "also " + string(gt)
			if o.why != "" {
				m = "also " + o.why
			}
			d.Related = append(d.Related, analyzer.Related{Pos: o.d.Pos, End: o.d.End, Message: m})
		}
		pass.Report(d)
	}
	return nil
}

// trigger is the Details sentence saying how the configuration meets a
// refined gate, "" for a feature gate.
func trigger(h secHit) string {
	if h.why == "" {
		return ""
	}
	return "Trigger: " + h.why + "."
}

// withoutPlace drops the trailing "at line 7" or "(server at line 9)" of a
// hit's account, for a headline that would be too long with it.
func withoutPlace(why string) string {
	i := strings.LastIndex(why, " at ")
	if strings.HasSuffix(why, ")") {
		i = strings.LastIndex(why, " (")
	}
	if i <= 0 {
		return why
	}
	return why[:i]
}

// shortList is "a, b, c and 2 more".
func shortList(xs []string, n int) string {
	if len(xs) <= n {
		return strings.Join(xs, ", ")
	}
	return strings.Join(xs[:n], ", ") + fmt.Sprintf(" and %d more", len(xs)-n)
}

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
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/versions"
)

// cveGate is a configuration feature a CVE needs; secFeatures finds the
// directives that turn it on.
type cveGate string

const (
	gateAlways        cveGate = "always" // any configuration: the code runs for every request
	gateResolver      cveGate = "a resolver"
	gateResolverOCSP  cveGate = "a resolver with OCSP (ssl_stapling or ssl_ocsp)"
	gateMP4           cveGate = "mp4"
	gateHTTP2         cveGate = "HTTP/2"
	gateHTTP2Proxy    cveGate = "HTTP/2 with proxy_pass"
	gateSPDY          cveGate = "SPDY"
	gateHTTP3         cveGate = "HTTP/3 (QUIC)"
	gateVerifyClient  cveGate = "ssl_verify_client"
	gateSessionCache  cveGate = "a shared ssl_session_cache"
	gateSSL           cveGate = "SSL"
	gateUpstreamSSL   cveGate = "SSL to upstreams"
	gateStreamOCSP    cveGate = "ssl_ocsp in stream"
	gateMailAuthHTTP  cveGate = "mail auth_http"
	gateMailSMTPNone  cveGate = "mail smtp_auth none"
	gateMailCRAM      cveGate = "mail CRAM-MD5 or APOP authentication"
	gateMailSTARTTLS  cveGate = "mail starttls"
	gateDAVCopyMove   cveGate = "WebDAV COPY or MOVE"
	gateCharset       cveGate = "charset conversion"
	gateSSI           cveGate = "ssi"
	gateSlice         cveGate = "slice"
	gateMapRegex      cveGate = "a map with regular expressions"
	gateRewrite       cveGate = "rewrite"
	gateSCGIUWSGI     cveGate = "scgi_pass or uwsgi_pass"
	gateGRPCProxyV2   cveGate = "gRPC or HTTP/2 to upstreams"
	gateProxyPass     cveGate = "proxy_pass"
	gateProxiedAnyway cveGate = "a proxied or FastCGI backend"
)

// cveGates says which feature exposes each CVE of versions.Advisories. The
// gates follow each advisory's "the issue affects nginx if ..." text and
// the module it names; where an advisory's condition is narrower than what
// a configuration shows (a crafted file, a hostile DNS answer) the gate is
// the module being in use. A CVE missing here is reported by no rule, and
// TestCVEGatesCoverTable fails.
var cveGates = map[string]cveGate{
	"CVE-2026-42533": gateMapRegex,
	"CVE-2026-60005": gateSlice,
	"CVE-2026-56434": gateSSI,
	"CVE-2026-42530": gateHTTP3,
	"CVE-2026-42055": gateGRPCProxyV2,
	"CVE-2026-48142": gateCharset,
	"CVE-2026-9256":  gateRewrite,
	"CVE-2026-42926": gateHTTP2Proxy,
	"CVE-2026-42945": gateRewrite,
	"CVE-2026-42946": gateSCGIUWSGI,
	"CVE-2026-42934": gateCharset,
	"CVE-2026-40460": gateHTTP3,
	"CVE-2026-40701": gateResolverOCSP,
	"CVE-2026-27654": gateDAVCopyMove,
	"CVE-2026-27784": gateMP4,
	"CVE-2026-32647": gateMP4,
	"CVE-2026-27651": gateMailCRAM,
	"CVE-2026-28753": gateMailAuthHTTP,
	"CVE-2026-28755": gateStreamOCSP,
	"CVE-2026-1642":  gateUpstreamSSL,
	"CVE-2025-53859": gateMailSMTPNone,
	"CVE-2025-23419": gateVerifyClient,
	"CVE-2024-7347":  gateMP4,
	"CVE-2024-32760": gateHTTP3,
	"CVE-2024-31079": gateHTTP3,
	"CVE-2024-35200": gateHTTP3,
	"CVE-2024-34161": gateHTTP3,
	"CVE-2024-24989": gateHTTP3,
	"CVE-2024-24990": gateHTTP3,
	"CVE-2022-41741": gateMP4,
	"CVE-2022-41742": gateMP4,
	"CVE-2021-23017": gateResolver,
	"CVE-2019-9511":  gateHTTP2,
	"CVE-2019-9513":  gateHTTP2,
	"CVE-2019-9516":  gateHTTP2,
	"CVE-2018-16843": gateHTTP2,
	"CVE-2018-16844": gateHTTP2,
	"CVE-2018-16845": gateMP4,
	"CVE-2017-7529":  gateAlways,
	"CVE-2016-4450":  gateAlways,
	"CVE-2016-0742":  gateResolver,
	"CVE-2016-0746":  gateResolver,
	"CVE-2016-0747":  gateResolver,
	"CVE-2014-3616":  gateSessionCache,
	"CVE-2014-3556":  gateMailSTARTTLS,
	"CVE-2014-0133":  gateSPDY,
	"CVE-2014-0088":  gateSPDY,
	"CVE-2013-4547":  gateAlways,
	"CVE-2013-2070":  gateProxyPass,
	"CVE-2013-2028":  gateAlways,
	"CVE-2012-2089":  gateMP4,
	"CVE-2012-1180":  gateProxiedAnyway,
	"CVE-2011-4315":  gateResolver,
	"CVE-2009-3555":  gateSSL,
	"CVE-2009-3898":  gateDAVCopyMove,
	"CVE-2009-2629":  gateAlways,
	"CVE-2009-3896":  gateAlways,
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
			if cveGates[a.CVE] == gt {
				out = append(out, a)
			}
		}
	}
	return out
}

// newCVERule builds a SEC3xxx rule whose documentation lists its CVEs and
// ranges from the table.
func newCVERule(g cveGroup) *analyzer.Rule {
	var list strings.Builder
	for _, a := range g.cves() {
		fmt.Fprintf(&list, "\n  %s  %s (%s): vulnerable %s; not vulnerable %s; needs %s", a.CVE, a.Name, a.Severity, a.Vulnerable, a.Good, cveGates[a.CVE])
	}
	r := &analyzer.Rule{
		ID:       g.id,
		Slug:     g.slug,
		Severity: analyzer.Warning,
		Doc: analyzer.Doc{
			Title: "nginx version with a known vulnerability in " + g.topic + " that this configuration uses",
			Text: `Reported when the declared nginx version (--nginx-version, --openresty-version, or nginx -V
output) is in the affected range of one of nginx's security advisories and the configuration uses the
feature the vulnerability needs, so that an nginx that has the module compiled in but not configured is not
reported. Without a declared version the rule says nothing: guessing would report every configuration.

Distributions patch nginx without changing its version (Debian and Ubuntu backport security fixes into
1.18.0, 1.22.1...), and OpenResty bundles carry some fixes as patches: on such builds read the package's
changelog, and if it has the fix, suppress the finding with that as the reason. On an OpenResty version
the findings are info for that reason.

The CVEs, ranges as nginx's advisories page writes them:` + list.String(),
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
	CVEResolver = newCVERule(cveGroup{id: "SEC3001", slug: "nginx-cve-resolver", topic: "the resolver",
		gates: []cveGate{gateResolver, gateResolverOCSP},
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
`, versions: "bad: nginx=1.20.0; good: nginx=1.20.1"})
	CVEMP4 = newCVERule(cveGroup{id: "SEC3002", slug: "nginx-cve-mp4", topic: "ngx_http_mp4_module",
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
`, versions: "bad: nginx=1.22.1; good: nginx=1.28.3"})
	CVEHTTP2 = newCVERule(cveGroup{id: "SEC3003", slug: "nginx-cve-http2", topic: "HTTP/2 or SPDY",
		gates: []cveGate{gateHTTP2, gateHTTP2Proxy, gateSPDY},
		bad: `http {
    server {
        listen 443 ssl http2;
        ssl_certificate /etc/ssl/site.crt;
        ssl_certificate_key /etc/ssl/site.key;
        root /srv/www;
    }
}
`, versions: "bad: nginx=1.16.0; good: nginx=1.16.1"})
	CVEHTTP3 = newCVERule(cveGroup{id: "SEC3004", slug: "nginx-cve-http3", topic: "HTTP/3",
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
`, versions: "bad: nginx=1.26.0; good: nginx=1.30.1"})
	CVETLS = newCVERule(cveGroup{id: "SEC3005", slug: "nginx-cve-tls", topic: "TLS",
		gates: []cveGate{gateVerifyClient, gateSessionCache, gateSSL, gateUpstreamSSL, gateStreamOCSP},
		bad: `http {
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
`, versions: "bad: nginx=1.26.2; good: nginx=1.26.3"})
	CVEMail = newCVERule(cveGroup{id: "SEC3006", slug: "nginx-cve-mail", topic: "the mail proxy",
		gates: []cveGate{gateMailAuthHTTP, gateMailSMTPNone, gateMailCRAM, gateMailSTARTTLS},
		bad: `mail {
    auth_http 127.0.0.1:9000/auth;
    server {
        listen 25;
        protocol smtp;
        smtp_auth none;
    }
}
`, versions: "bad: nginx=1.28.2; good: nginx=1.29.7"})
	CVEModules = newCVERule(cveGroup{id: "SEC3007", slug: "nginx-cve-modules", topic: "an HTTP module",
		gates: []cveGate{gateMapRegex, gateSlice, gateSSI, gateGRPCProxyV2, gateCharset, gateRewrite, gateSCGIUWSGI, gateDAVCopyMove},
		bad: `http {
    server {
        listen 80;
        location /old/ {
            rewrite ^/old/(.*)$ /new/$1 permanent;
        }
    }
}
`, versions: "bad: nginx=1.30.0; good: nginx=1.30.2"})
	CVECore = newCVERule(cveGroup{id: "SEC3008", slug: "nginx-cve-core", topic: "request processing",
		gates: []cveGate{gateAlways, gateProxyPass, gateProxiedAnyway},
		bad: `http {
    server {
        listen 80;
        root /srv/www;
    }
}
`, versions: "bad: nginx=1.12.0; good: nginx=1.12.1"})
)

// cveRules lists the SEC3xxx rules in ID order.
func cveRules() []*analyzer.Rule {
	return []*analyzer.Rule{CVEResolver, CVEMP4, CVEHTTP2, CVEHTTP3, CVETLS, CVEMail, CVEModules, CVECore}
}

// runCVEGroup reports, for each gate of g that the configuration uses, the
// group's CVEs that affect the declared nginx: one finding at the first
// directive that turns the feature on, the others as related positions.
func runCVEGroup(pass *analyzer.Pass, g cveGroup) error {
	p := pass.Profile
	if !p.HasNginx() || pass.Config == nil {
		return nil
	}
	feats := secFeaturesOf(pass)
	byGate := map[cveGate][]versions.Advisory{}
	var order []cveGate
	for _, a := range g.cves() {
		if !a.Affects(p.Nginx) {
			continue
		}
		gt := cveGates[a.CVE]
		if len(feats.at[gt]) == 0 {
			continue
		}
		if byGate[gt] == nil {
			order = append(order, gt)
		}
		byGate[gt] = append(byGate[gt], a)
	}
	for _, gt := range order {
		as := byGate[gt]
		ds := feats.at[gt]
		first := ds[0]
		ids := make([]string, len(as))
		var details strings.Builder
		for i, a := range as {
			ids[i] = a.CVE
			fmt.Fprintf(&details, "%s: %s (%s); vulnerable %s, not vulnerable %s. ", a.CVE, a.Name, a.Severity, a.Vulnerable, a.Good)
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
		feature := string(gt)
		if gt == gateAlways {
			feature = "every configuration"
		}
		d := &analyzer.Diagnostic{Pos: first.Pos, End: first.End,
			Message: fmt.Sprintf("%s has %s that %s exposes; upgrade nginx", where, head, feature),
			Details: joinDetails(details.String(),
				"Source: "+versions.AdvisoriesSource+".",
				"Distribution packages often carry the fix without a new version: if yours does, suppress this finding with that as the reason.")}
		if p.IsOpenResty() {
			d.Severity = analyzer.Info
			d.Details = joinDetails(d.Details, "OpenResty applies some of nginx's security patches to its bundled nginx, so this is info on an OpenResty version.")
		}
		for i, o := range ds[1:] {
			if i == 10 {
				break
			}
			d.Related = append(d.Related, analyzer.Related{Pos: o.Pos, End: o.End, Message: "also uses " + feature})
		}
		pass.Report(d)
	}
	return nil
}

// shortList is "a, b, c and 2 more".
func shortList(xs []string, n int) string {
	if len(xs) <= n {
		return strings.Join(xs, ", ")
	}
	return strings.Join(xs[:n], ", ") + fmt.Sprintf(" and %d more", len(xs)-n)
}

// secFeatures are the directives that turn on each gate, in file order.
type secFeatures struct {
	at map[cveGate][]*nginxconf.Directive
}

type secFeaturesKey struct{}

// secFeaturesOf computes the features once per run for every SEC3xxx rule.
func secFeaturesOf(pass *analyzer.Pass) *secFeatures {
	return pass.Fact(secFeaturesKey{}, func() any { return collectSecFeatures(directiveIndex(pass)) }).(*secFeatures)
}

func collectSecFeatures(ix *nginxconf.Index) *secFeatures {
	f := &secFeatures{at: map[cveGate][]*nginxconf.Directive{}}
	add := func(g cveGate, d *nginxconf.Directive) { f.at[g] = append(f.at[g], d) }
	var resolvers, ocsp, http2, proxyPass []*nginxconf.Directive
	var first *nginxconf.Directive
	ix.Each(func(d *nginxconf.Directive, parents []*nginxconf.Directive) {
		top := ""
		if len(parents) > 0 {
			top = parents[0].Name
		}
		if first == nil && d.Name != "include" {
			first = d
		}
		switch d.Name {
		case "http":
			if f.at[gateAlways] == nil {
				f.at[gateAlways] = []*nginxconf.Directive{d}
			}
		case "resolver":
			resolvers = append(resolvers, d)
		case "ssl_stapling":
			if d.Arg(0) == "on" {
				ocsp = append(ocsp, d)
			}
		case "ssl_ocsp":
			if d.Arg(0) != "off" && d.Arg(0) != "" {
				ocsp = append(ocsp, d)
				if top == "stream" {
					add(gateStreamOCSP, d)
				}
			}
		case "mp4":
			add(gateMP4, d)
		case "listen":
			for _, a := range d.Args[min(1, len(d.Args)):] {
				switch a.Value {
				case "http2":
					http2 = append(http2, d)
				case "spdy":
					add(gateSPDY, d)
				case "quic":
					add(gateHTTP3, d)
				case "ssl":
					add(gateSSL, d)
				}
			}
		case "http2":
			if d.Arg(0) == "on" {
				http2 = append(http2, d)
			}
		case "http3":
			if d.Arg(0) == "on" {
				add(gateHTTP3, d)
			}
		case "ssl":
			if d.Arg(0) == "on" {
				add(gateSSL, d)
			}
		case "ssl_verify_client":
			if d.Arg(0) != "off" && d.Arg(0) != "" {
				add(gateVerifyClient, d)
			}
		case "ssl_session_cache":
			for _, a := range d.Args {
				if strings.HasPrefix(a.Value, "shared:") {
					add(gateSessionCache, d)
					break
				}
			}
		case "proxy_pass":
			proxyPass = append(proxyPass, d)
			add(gateProxiedAnyway, d)
			if strings.HasPrefix(strings.ToLower(d.Arg(0)), "https://") {
				add(gateUpstreamSSL, d)
			}
		case "fastcgi_pass", "memcached_pass":
			add(gateProxiedAnyway, d)
		case "uwsgi_pass", "scgi_pass":
			add(gateProxiedAnyway, d)
			add(gateSCGIUWSGI, d)
			if strings.HasPrefix(strings.ToLower(d.Arg(0)), "suwsgi://") {
				add(gateUpstreamSSL, d)
			}
		case "grpc_pass":
			add(gateGRPCProxyV2, d)
			if strings.HasPrefix(strings.ToLower(d.Arg(0)), "grpcs://") {
				add(gateUpstreamSSL, d)
			}
		case "proxy_http_version":
			if strings.HasPrefix(d.Arg(0), "2") {
				add(gateGRPCProxyV2, d)
			}
		case "auth_http":
			if top == "mail" {
				add(gateMailAuthHTTP, d)
			}
		case "smtp_auth", "imap_auth", "pop3_auth":
			for _, a := range d.Args {
				switch strings.ToLower(a.Value) {
				case "none":
					if d.Name == "smtp_auth" {
						add(gateMailSMTPNone, d)
					}
				case "cram-md5", "apop":
					add(gateMailCRAM, d)
				}
			}
		case "starttls":
			if top == "mail" && d.Arg(0) != "off" && d.Arg(0) != "" {
				add(gateMailSTARTTLS, d)
			}
		case "dav_methods":
			for _, a := range d.Args {
				if strings.EqualFold(a.Value, "COPY") || strings.EqualFold(a.Value, "MOVE") {
					add(gateDAVCopyMove, d)
					break
				}
			}
		case "charset", "source_charset":
			if d.Arg(0) != "off" && d.Arg(0) != "" {
				add(gateCharset, d)
			}
		case "ssi":
			if d.Arg(0) == "on" {
				add(gateSSI, d)
			}
		case "slice":
			if d.Arg(0) != "0" && d.Arg(0) != "" {
				add(gateSlice, d)
			}
		case "rewrite":
			add(gateRewrite, d)
		case "map":
			if mapHasRegex(d) {
				add(gateMapRegex, d)
			}
		}
	})
	if f.at[gateAlways] == nil && first != nil {
		f.at[gateAlways] = []*nginxconf.Directive{first}
	}
	if len(resolvers) > 0 {
		f.at[gateResolver] = resolvers
		f.at[gateResolverOCSP] = ocsp
	}
	if len(proxyPass) > 0 && len(http2) > 0 {
		f.at[gateHTTP2Proxy] = http2
	}
	f.at[gateHTTP2] = http2
	f.at[gateProxyPass] = proxyPass
	return f
}

// mapHasRegex reports whether a map block has a regular-expression key
// ("~..." or "~*..."), directly or through an include.
func mapHasRegex(m *nginxconf.Directive) bool {
	found := false
	var walk func(ds []*nginxconf.Directive)
	walk = func(ds []*nginxconf.Directive) {
		for _, e := range ds {
			if strings.HasPrefix(e.Name, "~") {
				found = true
				return
			}
			for _, inc := range e.Included {
				walk(inc.Directives)
			}
		}
	}
	walk(m.Block)
	return found
}

package versions

import (
	"fmt"
	"strings"
)

// Advisory is one entry of nginx's security advisories page, with its
// "Vulnerable" and "Not vulnerable" fields kept exactly as the page writes
// them, so the table can be compared with the page line by line.
type Advisory struct {
	// CVE is the identifier, e.g. "CVE-2021-23017".
	CVE string
	// Name is the advisory's title on the page.
	Name string
	// Severity is the page's word: "low", "medium" or "major".
	Severity string
	// Vulnerable is the page's "Vulnerable:" field, e.g.
	// "1.1.3-1.23.1, 1.0.7-1.0.15".
	Vulnerable string
	// Good is the page's "Not vulnerable:" field, e.g. "1.23.2+, 1.22.1+".
	Good string
}

// AdvisoriesSource is where the table below comes from: the source of
// https://nginx.org/en/security_advisories.html, read at that commit of the
// nginx/nginx.org repository (2026-07-22). The nginx/Windows-only entries
// (CVE-2010-2263, CVE-2010-2266, CVE-2011-4963, CORE-2010-0121) and
// CVE-2009-4487 (severity "none", no fixed version) are left out: a
// configuration does not tell the platform, and the last has nothing to
// upgrade to.
const AdvisoriesSource = "https://nginx.org/en/security_advisories.html (nginx/nginx.org 3924a7f, xml/en/security_advisories.xml)"

// Advisories returns nginx's security advisories, newest first. This is
// the one place the affected ranges live; the SEC3xxx rules, their docs
// and their messages derive from it.
func Advisories() []Advisory {
	return []Advisory{
		{"CVE-2026-42533", "Buffer overflow when using map and regex", "major", "0.9.6-1.31.2", "1.31.3+, 1.30.4+"},
		{"CVE-2026-60005", "Memory disclosure when using ngx_http_slice_module", "medium", "1.15.8-1.31.2", "1.31.3+, 1.30.4+"},
		{"CVE-2026-56434", "Use-after-free when using ngx_http_ssi_module", "medium", "0.8.11-1.31.2", "1.31.3+, 1.30.4+"},
		{"CVE-2026-42530", "Use-after-free in HTTP/3", "major", "1.31.0-1.31.1", "1.31.2+"},
		{"CVE-2026-42055", "Buffer overflow in the ngx_http_proxy_v2_module and ngx_http_grpc_module", "medium", "1.13.10-1.31.1", "1.31.2+, 1.30.3+"},
		{"CVE-2026-48142", "Buffer overread in the ngx_http_charset_module", "low", "0.3.50-1.31.1", "1.31.2+, 1.30.3+"},
		{"CVE-2026-9256", "Buffer overflow in the ngx_http_rewrite_module", "medium", "0.1.17-1.31.0", "1.31.1+, 1.30.2+"},
		{"CVE-2026-42926", "HTTP/2 request injection in the ngx_http_proxy_module", "medium", "1.29.4-1.30.0", "1.31.0+, 1.30.1+"},
		{"CVE-2026-42945", "Buffer overflow in the ngx_http_rewrite_module", "medium", "0.6.27-1.30.0", "1.31.0+, 1.30.1+"},
		{"CVE-2026-42946", "Buffer overread in the ngx_http_scgi_module and ngx_http_uwsgi_module", "medium", "0.8.42-1.30.0", "1.31.0+, 1.30.1+"},
		{"CVE-2026-42934", "Buffer overread in the ngx_http_charset_module", "low", "0.3.50-1.30.0", "1.31.0+, 1.30.1+"},
		{"CVE-2026-40460", "HTTP/3 address spoofing", "medium", "1.25.0-1.30.0", "1.31.0+, 1.30.1+"},
		{"CVE-2026-40701", "resolver use-after-free in OCSP", "medium", "1.19.0-1.30.0", "1.31.0+, 1.30.1+"},
		{"CVE-2026-27654", "Buffer overflow in ngx_http_dav_module", "medium", "0.5.13-1.29.6", "1.29.7+, 1.28.3+"},
		{"CVE-2026-27784", "Buffer overflow in the ngx_http_mp4_module", "medium", "1.1.19-1.29.6", "1.29.7+, 1.28.3+"},
		{"CVE-2026-32647", "Buffer overflow in the ngx_http_mp4_module", "medium", "1.1.19-1.29.6", "1.29.7+, 1.28.3+"},
		{"CVE-2026-27651", "NULL pointer dereference while using CRAM-MD5 or APOP", "low", "0.5.15-1.29.6", "1.29.7+, 1.28.3+"},
		{"CVE-2026-28753", "Injection in auth_http and XCLIENT", "medium", "0.6.27-1.29.6", "1.29.7+, 1.28.3+"},
		{"CVE-2026-28755", "OCSP result bypass in stream", "medium", "1.27.2-1.29.6", "1.29.7+, 1.28.3+"},
		{"CVE-2026-1642", "SSL upstream injection", "medium", "1.3.0-1.29.4", "1.29.5+, 1.28.2+"},
		{"CVE-2025-53859", "Buffer overread in the ngx_mail_smtp_module", "low", "0.7.22-1.29.0", "1.29.1+"},
		{"CVE-2025-23419", "SSL session reuse vulnerability", "medium", "1.11.4-1.27.3", "1.27.4+, 1.26.3+"},
		{"CVE-2024-7347", "Buffer overread in the ngx_http_mp4_module", "low", "1.5.13-1.27.0", "1.27.1+, 1.26.2+"},
		{"CVE-2024-32760", "Buffer overwrite in HTTP/3", "medium", "1.25.0-1.25.5, 1.26.0", "1.27.0+, 1.26.1+"},
		{"CVE-2024-31079", "Stack overflow and use-after-free in HTTP/3", "medium", "1.25.0-1.25.5, 1.26.0", "1.27.0+, 1.26.1+"},
		{"CVE-2024-35200", "NULL pointer dereference in HTTP/3", "medium", "1.25.0-1.25.5, 1.26.0", "1.27.0+, 1.26.1+"},
		{"CVE-2024-34161", "Memory disclosure in HTTP/3", "medium", "1.25.0-1.25.5, 1.26.0", "1.27.0+, 1.26.1+"},
		{"CVE-2024-24989", "NULL pointer dereference in HTTP/3", "major", "1.25.3", "1.25.4+"},
		{"CVE-2024-24990", "Use-after-free in HTTP/3", "major", "1.25.0-1.25.3", "1.25.4+"},
		{"CVE-2022-41741", "Memory corruption in the ngx_http_mp4_module", "medium", "1.1.3-1.23.1, 1.0.7-1.0.15", "1.23.2+, 1.22.1+"},
		{"CVE-2022-41742", "Memory disclosure in the ngx_http_mp4_module", "medium", "1.1.3-1.23.1, 1.0.7-1.0.15", "1.23.2+, 1.22.1+"},
		{"CVE-2021-23017", "1-byte memory overwrite in resolver", "medium", "0.6.18-1.20.0", "1.21.0+, 1.20.1+"},
		{"CVE-2019-9511", "Excessive CPU usage in HTTP/2 with small window updates", "medium", "1.9.5-1.17.2", "1.17.3+, 1.16.1+"},
		{"CVE-2019-9513", "Excessive CPU usage in HTTP/2 with priority changes", "low", "1.9.5-1.17.2", "1.17.3+, 1.16.1+"},
		{"CVE-2019-9516", "Excessive memory usage in HTTP/2 with zero length headers", "low", "1.9.5-1.17.2", "1.17.3+, 1.16.1+"},
		{"CVE-2018-16843", "Excessive memory usage in HTTP/2", "low", "1.9.5-1.15.5", "1.15.6+, 1.14.1+"},
		{"CVE-2018-16844", "Excessive CPU usage in HTTP/2", "low", "1.9.5-1.15.5", "1.15.6+, 1.14.1+"},
		{"CVE-2018-16845", "Memory disclosure in the ngx_http_mp4_module", "medium", "1.1.3-1.15.5, 1.0.7-1.0.15", "1.15.6+, 1.14.1+"},
		{"CVE-2017-7529", "Integer overflow in the range filter", "medium", "0.5.6-1.13.2", "1.13.3+, 1.12.1+"},
		{"CVE-2016-4450", "NULL pointer dereference while writing client request body", "medium", "1.3.9-1.11.0", "1.11.1+, 1.10.1+"},
		{"CVE-2016-0742", "Invalid pointer dereference in resolver", "medium", "0.6.18-1.9.9", "1.9.10+, 1.8.1+"},
		{"CVE-2016-0746", "Use-after-free during CNAME response processing in resolver", "medium", "0.6.18-1.9.9", "1.9.10+, 1.8.1+"},
		{"CVE-2016-0747", "Insufficient limits of CNAME resolution in resolver", "medium", "0.6.18-1.9.9", "1.9.10+, 1.8.1+"},
		{"CVE-2014-3616", "SSL session reuse vulnerability", "medium", "0.5.6-1.7.4", "1.7.5+, 1.6.2+"},
		{"CVE-2014-3556", "STARTTLS command injection", "medium", "1.5.6-1.7.3", "1.7.4+, 1.6.1+"},
		{"CVE-2014-0133", "SPDY heap buffer overflow", "major", "1.3.15-1.5.11", "1.5.12+, 1.4.7+"},
		{"CVE-2014-0088", "SPDY memory corruption", "major", "1.5.10", "1.5.11+"},
		{"CVE-2013-4547", "Request line parsing vulnerability", "medium", "0.8.41-1.5.6", "1.5.7+, 1.4.4+"},
		{"CVE-2013-2070", "Memory disclosure with specially crafted HTTP backend responses", "medium", "1.1.4-1.2.8, 1.3.9-1.4.0", "1.5.0+, 1.4.1+, 1.2.9+"},
		{"CVE-2013-2028", "Stack-based buffer overflow with specially crafted request", "major", "1.3.9-1.4.0", "1.5.0+, 1.4.1+"},
		{"CVE-2012-2089", "Buffer overflow in the ngx_http_mp4_module", "major", "1.1.3-1.1.18, 1.0.7-1.0.14", "1.1.19+, 1.0.15+"},
		{"CVE-2012-1180", "Memory disclosure with specially crafted backend responses", "major", "0.1.0-1.1.16", "1.1.17+, 1.0.14+"},
		{"CVE-2011-4315", "Buffer overflow in resolver", "medium", "0.6.18-1.1.7", "1.1.8+, 1.0.10+"},
		{"CVE-2009-3555", "The renegotiation vulnerability in SSL protocol", "major", "0.1.0-0.8.22", "0.8.23+, 0.7.64+"},
		{"CVE-2009-3898", "Directory traversal vulnerability", "minor", "0.1.0-0.8.16", "0.8.17+, 0.7.63+"},
		{"CVE-2009-2629", "Buffer underflow vulnerability", "major", "0.1.0-0.8.14", "0.8.15+, 0.7.62+, 0.6.39+, 0.5.38+"},
		{"CVE-2009-3896", "Null pointer dereference vulnerability", "major", "0.1.0-0.8.13", "0.8.14+, 0.7.62+, 0.6.39+, 0.5.38+"},
	}
}

// LookupAdvisory returns the advisory with the given CVE id.
func LookupAdvisory(cve string) (Advisory, bool) {
	for _, a := range Advisories() {
		if strings.EqualFold(a.CVE, cve) {
			return a, true
		}
	}
	return Advisory{}, false
}

// Affects reports whether nginx version v is vulnerable. The page's reading
// (Maxim Dounin on the nginx mailing list, 2021-12-28, "Nginx advisories
// with not vulnerable versions inside the vulnerable range"): every version
// inside a "Vulnerable" range is vulnerable except those a "Not vulnerable"
// entry covers, where "1.16.1+" covers 1.16.1 and later releases of the
// 1.16 branch, and the newest "+" entry covers everything from it on.
func (a Advisory) Affects(v Version) bool {
	if v.IsZero() {
		return false
	}
	in := false
	for _, r := range splitList(a.Vulnerable) {
		lo, hi, ok := strings.Cut(r, "-")
		if !ok {
			hi = lo
		}
		l, err1 := Parse(lo)
		h, err2 := Parse(hi)
		if err1 != nil || err2 != nil {
			continue
		}
		if v.Compare(l) >= 0 && v.Compare(h) <= 0 {
			in = true
			break
		}
	}
	if !in {
		return false
	}
	for _, g := range splitList(a.Good) {
		gv, err := Parse(strings.TrimSuffix(g, "+"))
		if err != nil {
			continue
		}
		if v.parts[0] == gv.parts[0] && v.parts[1] == gv.parts[1] && v.Compare(gv) >= 0 {
			return false
		}
	}
	return true
}

// validate reports a table entry whose ranges do not parse; the tests run
// it over every entry so a typo cannot silently disable a CVE.
func (a Advisory) validate() error {
	if !strings.HasPrefix(a.CVE, "CVE-") {
		return fmt.Errorf("%q: not a CVE id", a.CVE)
	}
	for _, r := range splitList(a.Vulnerable) {
		lo, hi, ok := strings.Cut(r, "-")
		if !ok {
			hi = lo
		}
		l, err := Parse(lo)
		if err != nil {
			return fmt.Errorf("%s: vulnerable %q: %w", a.CVE, r, err)
		}
		h, err := Parse(hi)
		if err != nil {
			return fmt.Errorf("%s: vulnerable %q: %w", a.CVE, r, err)
		}
		if h.Compare(l) < 0 {
			return fmt.Errorf("%s: vulnerable %q: bounds reversed", a.CVE, r)
		}
	}
	for _, g := range splitList(a.Good) {
		if !strings.HasSuffix(g, "+") {
			return fmt.Errorf("%s: not vulnerable %q has no '+'", a.CVE, g)
		}
		if _, err := Parse(strings.TrimSuffix(g, "+")); err != nil {
			return fmt.Errorf("%s: not vulnerable %q: %w", a.CVE, g, err)
		}
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

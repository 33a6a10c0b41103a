package rules

import (
	"crypto/tls"
	"strconv"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// The upstream side of SEC1018 and SEC1019 (proxy_ssl_protocols,
// proxy_ssl_ciphers and their grpc_/uwsgi_ twins): nginx is the TLS
// client there, so no client probe reaches its handshake. The real-nginx
// engine's TLS backends (emulator.Request.UpstreamTLS) stand at the other
// end instead: a request proxied over TLS where the line applies meets a
// backend that accepts only the weak versions or suites, and the
// handshake the backend completed is nginx's offer.

// upstreamTLSNoClaim is why the emulator's verdict is not-confirmable.
const upstreamTLSNoClaim = "the emulator does not model nginx's handshake with the upstream; real nginx's decides: --engine nginx|both"

// tlsPassOf names the pass directive and the scheme under which the
// module of an upstream-side TLS directive (proxy_ssl_protocols ...)
// speaks TLS.
func tlsPassOf(name string) (pass, scheme string) {
	switch {
	case strings.HasPrefix(name, "proxy_"):
		return "proxy_pass", "https://"
	case strings.HasPrefix(name, "grpc_"):
		return "grpc_pass", "grpcs://"
	case strings.HasPrefix(name, "uwsgi_"):
		return "uwsgi_pass", "suwsgi://"
	}
	return "", ""
}

// upstreamTLSPlace is the first location where d applies and whose own
// pass speaks TLS, so a request routed there makes nginx shake hands
// under d; when there is none it says why.
func upstreamTLSPlace(pass *analyzer.Pass, d *nginxconf.Directive, parents []*nginxconf.Directive) (secPlace, string) {
	if len(parents) == 0 || parents[0].Name != "http" {
		return secPlace{}, "only http locations' upstream handshakes are observed, and this is not in http{}"
	}
	pd, scheme := tlsPassOf(d.Name)
	if pass.Model == nil || pass.Model.HTTP == nil || pd == "" {
		return secPlace{}, "no http location proxies over TLS"
	}
	for _, srv := range pass.Model.HTTP.Servers {
		for _, l := range srv.AllLocations {
			if l.Effective(d.Name) != d {
				continue
			}
			for _, p := range l.Own(pd) {
				if strings.HasPrefix(strings.ToLower(p.Arg(0)), scheme) {
					return secPlace{srv: srv, loc: l}, ""
				}
			}
		}
	}
	return secPlace{}, "no location where this line applies has " + pd + " " + scheme + ", so nginx makes no handshake under it"
}

// upstreamTLSConfirm replays a request to the place of d with the TLS
// backend limited to weak, and a control limited to ctrl (nil: Go's
// server defaults); weakOK judges a completed handshake.
func upstreamTLSConfirm(pass *analyzer.Pass, d *nginxconf.Directive, parents []*nginxconf.Directive, weak, ctrl *emulator.TLSProbe, weakOK func(o emulator.TLSOutcome) bool, what string) analyzer.Confirmer {
	p, why := upstreamTLSPlace(pass, d, parents)
	if p.srv == nil {
		return notConfirmable(why)
	}
	paths := routeTo(secAnalysis(pass), p.loc)
	if len(paths) == 0 {
		return notConfirmable("no request path reaches " + locationName(p.loc))
	}
	ctrlName := "default"
	if ctrl == nil {
		ctrl = &emulator.TLSProbe{}
	} else {
		ctrlName = ctrl.String()
	}
	c := requestCheck{req: emulator.Request{Path: paths[0], UpstreamTLS: weak},
		control: &emulator.Request{Path: paths[0], UpstreamTLS: ctrl}, routed: routedTo(p, d.Name), realOnly: upstreamTLSNoClaim}
	// A completed weak handshake whose answer came back is the finding
	// whatever the control shows; the control says whether a failed one
	// is about the version or suite (a refused control: nginx cannot
	// reach a TLS 1.2 backend either).
	c.contrast = func(x, cx *emulator.Exchange) (bool, string) {
		ok, saw := upstreamHandshake(x, weakOK)
		if cx == nil {
			return ok, saw
		}
		if cok, csaw := upstreamHandshake(cx, func(emulator.TLSOutcome) bool { return true }); !cok {
			return ok, saw + "; control " + ctrlName + " " + strings.TrimPrefix(csaw, "upstream ")
		}
		return ok, saw + "; control " + ctrlName + " ok"
	}
	c.shows = func(x *emulator.Exchange) (bool, string) { return c.contrast(x, nil) }
	c.why = func(x, cx *emulator.Exchange) string { return upstreamTLSRefusal(x, cx, d, what) }
	return requestConfirmer(pass, p.srv, nil, []requestCheck{c})
}

// upstreamHandshake judges one answer: the backend completed a handshake
// that weakOK accepts and its answer came back through nginx. What it saw
// is short: the summary holds a request, this and the control's.
func upstreamHandshake(x *emulator.Exchange, weakOK func(o emulator.TLSOutcome) bool) (bool, string) {
	if len(x.UpstreamTLS) == 0 {
		return false, "no upstream handshake, " + statusText(x)
	}
	for _, o := range x.UpstreamTLS {
		if o.OK() && weakOK(o) {
			if x.Status != 200 || !strings.Contains(x.Body, " from ") {
				return false, "upstream " + o.String() + " but no backend answer, " + statusText(x)
			}
			return true, "upstream " + o.String() + ", 200"
		}
	}
	return false, "upstream " + shortTLSErr(x.UpstreamTLS[0]) + ", " + statusText(x)
}

func statusText(x *emulator.Exchange) string {
	if x.Status == 0 {
		return "no status"
	}
	return strconv.Itoa(x.Status)
}

// shortTLSErr says how a backend's handshake ended, in a few words.
// crypto/tls lists what the client offered after a failed negotiation:
// the versions are named, the suites dropped.
func shortTLSErr(o emulator.TLSOutcome) string {
	switch {
	case o.OK():
		return o.String()
	case strings.Contains(o.Err, "unsupported versions"):
		return "refused (nginx offered " + offeredVersions(o.Err) + " only)"
	case strings.Contains(o.Err, "no cipher suite"):
		return "refused (no shared suite)"
	}
	return "failed (" + strings.TrimPrefix(o.Err, "remote error: tls: ") + ")"
}

// offeredVersions names the versions in crypto/tls's "client offered
// only unsupported versions: [303 301]".
func offeredVersions(err string) string {
	_, list, _ := strings.Cut(err, "[")
	list, _, _ = strings.Cut(list, "]")
	var names []string
	for _, h := range strings.Fields(list) {
		if v, err := strconv.ParseUint(h, 16, 16); err == nil {
			names = append(names, tls.VersionName(uint16(v)))
		}
	}
	return strings.Join(names, ", ")
}

// upstreamTLSRefusal explains a weak handshake that did not show the
// finding, by how it and the control ended.
func upstreamTLSRefusal(x, cx *emulator.Exchange, d *nginxconf.Directive, what string) string {
	var out []string
	// The first handshake is the request's own; later ones are retries.
	if len(x.UpstreamTLS) > 0 {
		switch o := x.UpstreamTLS[0]; {
		case strings.Contains(o.Err, "internal error"):
			// The backend picked a version nginx's ClientHello listed,
			// and nginx's OpenSSL aborted: at security level 1 OpenSSL
			// 3 has no suite or signature below TLS 1.2 for a client
			// either (SSL_CTX_set_security_level(3)).
			out = append(out, "real nginx offered "+what+" to the upstream but aborted the handshake (internal_error): OpenSSL 3 at its default security level allows nothing below TLS 1.2 (@SECLEVEL=0 in "+strings.Replace(d.Name, "protocols", "ciphers", 1)+" or OpenSSL 1.1.1 would); the line stays a risk on such builds")
		case strings.Contains(o.Err, "unsupported versions"):
			out = append(out, "real nginx did not offer "+what+" to the upstream")
		case strings.Contains(o.Err, "no cipher suite"):
			out = append(out, "real nginx's OpenSSL offered none of "+what+" to the upstream (OpenSSL 3 has RC4 only in its legacy provider, some builds have no 3DES, and security levels drop suites); the line stays a risk with other builds")
		}
	}
	if cx != nil && len(cx.UpstreamTLS) > 0 && strings.Contains(cx.UpstreamTLS[0].Err, "unsupported versions") {
		if gap := versionGap(d); gap != "" {
			// ssl_get_min_max_version: a client enables the versions
			// from the lowest one set up to the first one disabled,
			// while a server skips the gap.
			out = append(out, "the control failed because OpenSSL's client stops at the first version missing from the list ("+gap+"), so nginx offers the upstream only "+offeredVersions(cx.UpstreamTLS[0].Err))
		}
	}
	return strings.Join(out, "; ")
}

// versionGap names the first TLS version missing between the lowest and
// the highest of a *_protocols line, "" when the list has no gap.
func versionGap(d *nginxconf.Directive) string {
	order := []string{"TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"}
	lo, hi := -1, -1
	for i, v := range order {
		if hasArgValue(d, v) {
			if lo < 0 {
				lo = i
			}
			hi = i
		}
	}
	for i := lo + 1; lo >= 0 && i < hi; i++ {
		if !hasArgValue(d, order[i]) {
			return order[i]
		}
	}
	return ""
}

// upstreamWeakVersions is SEC1018's confirmation for proxy_ssl_protocols
// and its twins: the backend accepts only the weak versions the line
// lists (lo..hi), the control only TLS 1.2 (else 1.3) if the line has it.
func upstreamWeakVersions(pass *analyzer.Pass, d *nginxconf.Directive, parents []*nginxconf.Directive, lo, hi uint16) analyzer.Confirmer {
	weak := &emulator.TLSProbe{MinVersion: lo, MaxVersion: hi}
	var ctrl *emulator.TLSProbe
	for _, strong := range []string{"TLSv1.2", "TLSv1.3"} {
		if hasArgValue(d, strong) {
			v := tlsVersions[strong]
			ctrl = &emulator.TLSProbe{MinVersion: v, MaxVersion: v}
			break
		}
	}
	isWeak := func(o emulator.TLSOutcome) bool { return o.Version == "TLS 1.0" || o.Version == "TLS 1.1" }
	return upstreamTLSConfirm(pass, d, parents, weak, ctrl, isWeak, weak.String())
}

// upstreamWeakSuites is SEC1019's confirmation for proxy_ssl_ciphers and
// its twins: the backend accepts only the RC4 and 3DES suites the line
// adds, at TLS 1.0-1.2, and any completed handshake used one of them.
func upstreamWeakSuites(pass *analyzer.Pass, d *nginxconf.Directive, parents []*nginxconf.Directive, suites []uint16) analyzer.Confirmer {
	weak := &emulator.TLSProbe{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS12, CipherSuites: suites}
	return upstreamTLSConfirm(pass, d, parents, weak, nil, func(emulator.TLSOutcome) bool { return true }, "the RC4/3DES suites")
}

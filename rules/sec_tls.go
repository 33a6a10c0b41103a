package rules

import (
	"context"
	"crypto/tls"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// SEC1018 and SEC1019 are confirmed by a TLS handshake on real nginx
// (emulator.TLSProbe): the emulator models no handshake and makes no
// claim, and only what Go's crypto/tls client can offer is probed.

// tlsNoClaim is why the emulator's verdict on a TLS finding is
// not-confirmable.
const tlsNoClaim = "the emulator does not model TLS handshakes; real nginx's handshake decides: --engine nginx|both"

// handshakeServer is the http or stream server whose handshake shows the
// directive d (parents are its enclosing blocks): its own server, or for
// the http or stream level the first ssl server that does not set d's
// name itself. When there is none it says why.
func handshakeServer(pass *analyzer.Pass, d *nginxconf.Directive, parents []*nginxconf.Directive) (*nginxconf.Server, string) {
	var ctx *nginxconf.Context
	switch {
	case len(parents) == 0:
		return nil, "only http and stream servers' handshakes are probed, and this is in main{}"
	case parents[0].Name != "http" && parents[0].Name != "stream":
		return nil, "only http and stream servers' handshakes are probed, and this is in " + parents[0].Name + "{}"
	case pass.Model == nil:
	case parents[0].Name == "http":
		ctx = pass.Model.HTTP
	default:
		ctx = pass.Model.Stream
	}
	if ctx == nil {
		return nil, "no " + parents[0].Name + " servers"
	}
	var block *nginxconf.Directive
	for _, p := range parents {
		if p.Name == "server" {
			block = p
		}
	}
	for _, srv := range ctx.Servers {
		switch {
		case block != nil && srv.Directive == block:
			if !serverTLS(srv) {
				return nil, "the server does not listen with ssl, so no handshake reaches this line"
			}
			return srv, ""
		case block == nil && serverTLS(srv) && !ownsDirective(srv, d.Name):
			return srv, ""
		}
	}
	if block != nil {
		return nil, "the server is not among the " + parents[0].Name + " servers"
	}
	return nil, "no server that listens with ssl inherits this line"
}

// serverTLS reports whether srv's connections start with a handshake:
// a listen with ssl, or "ssl on" (nginx before 1.25.1) here or in http.
func serverTLS(srv *nginxconf.Server) bool {
	for _, l := range srv.Listen {
		for _, a := range l.Args[min(1, len(l.Args)):] {
			if a.Value == "ssl" {
				return true
			}
		}
	}
	for _, ds := range [][]*nginxconf.Directive{srv.Directives, srv.Context.Directives} {
		for _, d := range ds {
			if d.Name == "ssl" && d.Arg(0) == "on" {
				return true
			}
		}
	}
	return false
}

func ownsDirective(srv *nginxconf.Server, name string) bool {
	for _, d := range srv.Directives {
		if d.Name == name {
			return true
		}
	}
	return false
}

// tlsConfirm probes the server of d with check, a realOnly handshake.
func tlsConfirm(pass *analyzer.Pass, d *nginxconf.Directive, parents []*nginxconf.Directive, check requestCheck) analyzer.Confirmer {
	srv, why := handshakeServer(pass, d, parents)
	if srv == nil {
		return notConfirmable(why)
	}
	check.realOnly = tlsNoClaim
	if srv.Context == pass.Model.Stream {
		return streamHandshakeConfirmer(pass, srv, check)
	}
	return requestConfirmer(pass, srv, nil, []requestCheck{check})
}

// streamHandshakeConfirmer probes a stream server: the emulator has no
// request path for stream, so its verdict is tlsNoClaim outright, and a
// real engine does the handshakes alone on the server's ssl listener
// (nginxengine.Scenario.StreamIndex): the handshake is the evidence, and
// no request follows it over a protocol the engine cannot know.
func streamHandshakeConfirmer(pass *analyzer.Pass, srv *nginxconf.Server, check requestCheck) analyzer.Confirmer {
	env := envOf(pass)
	_, builtin := env.runner.(emulator.ConfigOnlyRunner)
	return analyzer.ConfirmFunc(func(ctx context.Context) analyzer.Confirmation {
		emu := analyzer.Confirmation{Engine: "emulator (request path)", Status: analyzer.NotConfirmable,
			Summary: "crafted " + requestLine(check.req), Reason: tlsNoClaim}
		if env.runner == nil || builtin {
			return emu
		}
		return realReplay(ctx, env, srv, "", nil, []requestCheck{check}, []emulator.Request{check.req},
			[]*emulator.Request{check.control}, []bool{true}, []bool{false}, emu)
	})
}

// handshakeContrast judges a probe against its control, a handshake the
// server should accept: the probe shows the finding when it negotiated
// and weak accepts what it negotiated; a refused control makes the probe's
// refusal no evidence.
func handshakeContrast(weak func(o *emulator.TLSOutcome) bool) func(x, ctrl *emulator.Exchange) (bool, string) {
	return func(x, ctrl *emulator.Exchange) (bool, string) {
		var saw string
		ok := false
		switch {
		case x.TLS == nil:
			saw = "no handshake"
		case !x.TLS.OK():
			saw = "refused (" + strings.TrimPrefix(x.TLS.Err, "remote error: tls: ") + ")"
		default:
			ok = weak(x.TLS)
			saw = "negotiated " + x.TLS.String()
		}
		switch {
		case ctrl == nil:
		case !ctrl.TLS.OK() && ok:
			// The control makes a refusal meaningful; a weak handshake
			// that went through needs none, and a server that refuses
			// the default one too speaks nothing but weak suites
			// ("aNULL:DEFAULT": OpenSSL honours DEFAULT first only).
			return true, saw + "; control refused (" + strings.TrimPrefix(ctrl.TLS.Err, "remote error: tls: ") + ")"
		case !ctrl.TLS.OK():
			return false, saw + "; control refused too (" + ctrl.TLS.String() + ")"
		default:
			saw += "; control " + ctrl.TLS.Version + " ok"
		}
		return ok, saw
	}
}

// tlsRefusal explains a refused probe by its alert, for the Reason.
func tlsRefusal(x, ctrl *emulator.Exchange, what string) string {
	if x.TLS == nil || x.TLS.OK() || ctrl == nil || !ctrl.TLS.OK() {
		return ""
	}
	switch {
	case strings.Contains(x.TLS.Err, "internal error"):
		// OpenSSL 3's security level 1 has no suite or signature for
		// TLS below 1.2 (SSL_CTX_set_security_level(3)), and the server
		// answers the ClientHello with internal_error.
		return "real nginx refused " + what + " with internal_error: OpenSSL 3 at its default security level allows nothing below TLS 1.2 (@SECLEVEL=0 in ssl_ciphers or OpenSSL 1.1.1 would); the line stays a risk on such builds"
	case strings.Contains(x.TLS.Err, "protocol version"):
		return "real nginx does not enable " + what + " on this listener (the address's default server's ssl_protocols can decide the version)"
	case strings.Contains(x.TLS.Err, "handshake failure") && strings.Contains(what, "NULL"):
		// OpenSSL drops anonymous and NULL suites above security level 0
		// (SSL_CTX_set_security_level(3)), and DEFAULT and HIGH omit them.
		return "real nginx's OpenSSL shares none of " + what + " (DEFAULT's !eNULL removes NULL ones for good; above @SECLEVEL=0 OpenSSL drops all); a risk on other builds or levels"
	case strings.Contains(x.TLS.Err, "handshake failure"):
		return "real nginx's OpenSSL shares none of " + what + " (OpenSSL 3 has RC4 only in its legacy provider, some builds have no 3DES, and security levels drop suites); the line stays a risk with other builds"
	}
	return "real nginx refused " + what + ": " + x.TLS.Err
}

// tlsVersions maps ssl_protocols names to crypto/tls versions; SSLv2 and
// SSLv3 are not there: Go's client cannot speak them.
var tlsVersions = map[string]uint16{"TLSv1": tls.VersionTLS10, "TLSv1.1": tls.VersionTLS11, "TLSv1.2": tls.VersionTLS12, "TLSv1.3": tls.VersionTLS13}

// weakVersionConfirm is SEC1018's confirmation for an ssl_protocols line:
// a handshake offering only the weak versions it lists that Go can speak
// (the server picks the highest it accepts), with a TLS 1.2 (else 1.3)
// handshake as the control.
func weakVersionConfirm(pass *analyzer.Pass, d *nginxconf.Directive, parents []*nginxconf.Directive, weak []string) analyzer.Confirmer {
	var lo, hi uint16
	for _, w := range weak {
		if v, ok := tlsVersions[w]; ok {
			if lo == 0 || v < lo {
				lo = v
			}
			hi = max(hi, v)
		}
	}
	if lo == 0 {
		return notConfirmable("Go's TLS cannot speak SSLv2 or SSLv3, so no handshake can show them")
	}
	if d.Name != "ssl_protocols" {
		return upstreamWeakVersions(pass, d, parents, lo, hi)
	}
	probe := &emulator.TLSProbe{MinVersion: lo, MaxVersion: hi}
	path := handshakePath(parents)
	c := requestCheck{req: emulator.Request{Path: path, TLS: probe}}
	for _, strong := range []string{"TLSv1.2", "TLSv1.3"} {
		if hasArgValue(d, strong) {
			v := tlsVersions[strong]
			c.control = &emulator.Request{Path: path, TLS: &emulator.TLSProbe{MinVersion: v, MaxVersion: v}}
			break
		}
	}
	weakVersion := func(o *emulator.TLSOutcome) bool { return o.Version == "TLS 1.0" || o.Version == "TLS 1.1" }
	c.contrast = handshakeContrast(weakVersion)
	c.shows = func(x *emulator.Exchange) (bool, string) { return c.contrast(x, nil) }
	c.why = func(x, ctrl *emulator.Exchange) string { return tlsRefusal(x, ctrl, probe.String()) }
	return tlsConfirm(pass, d, parents, c)
}

// handshakePath is the path of a probe's request: "/" on an http server,
// none on a stream one, where the handshake is all that is sent
// (requestLine then writes "handshake over ...").
func handshakePath(parents []*nginxconf.Directive) string {
	if len(parents) > 0 && parents[0].Name == "stream" {
		return ""
	}
	return "/"
}

func hasArgValue(d *nginxconf.Directive, v string) bool {
	for _, a := range d.Args {
		if a.Value == v {
			return true
		}
	}
	return false
}

// Go's client offers these broken suites (tls.InsecureCipherSuites); the
// other families (NULL, anonymous, export, single DES, MD5) it cannot.
var (
	rc4Suites  = []uint16{tls.TLS_RSA_WITH_RC4_128_SHA, tls.TLS_ECDHE_ECDSA_WITH_RC4_128_SHA, tls.TLS_ECDHE_RSA_WITH_RC4_128_SHA}
	tdesSuites = []uint16{tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA}
)

// probeSuites is what Go's client can offer of the weak words of a
// cipher string: RC4 and 3DES suites, which ALL also adds.
func probeSuites(words []string) []uint16 {
	var rc4, tdes bool
	for _, w := range words {
		u := strings.ToUpper(w)
		switch {
		case u == "ALL" || u == "COMPLEMENTOFALL" || u == "COMPLEMENTOFDEFAULT":
			rc4, tdes = true, true
		case strings.Contains(u, "RC4"):
			rc4 = true
		case strings.Contains(u, "3DES") || strings.Contains(u, "DES-CBC3"):
			tdes = true
		}
	}
	var out []uint16
	if rc4 {
		out = append(out, rc4Suites...)
	}
	if tdes {
		out = append(out, tdesSuites...)
	}
	return out
}

// nullCipherWords are the weak words of a cipher string that name NULL or
// anonymous suites, which the real engine offers through openssl s_client
// (TLSProbe.OpenSSLCiphers): the families and single suite names. The
// engine maps them onto OpenSSL's own list, so a word OpenSSL does not
// know is dropped there, not here.
func nullCipherWords(words []string) []string {
	var out []string
	for _, w := range words {
		u := strings.ToUpper(strings.TrimPrefix(w, "+"))
		switch {
		case u == "ANULL" || u == "ENULL" || u == "NULL" || u == "ADH" || u == "AECDH":
			out = append(out, w)
		case !strings.Contains(u, "+") && (strings.Contains(u, "NULL") || strings.HasPrefix(u, "ADH-") || strings.HasPrefix(u, "AECDH-")):
			out = append(out, w)
		}
	}
	return out
}

// noSuchSuites is why export, LOW, single DES and MD5 suites are not
// probed: OpenSSL 3, which Debian's nginx uses, has none of them
// ("openssl ciphers -v 'EXPORT:LOW:DES:@SECLEVEL=0'" matches nothing;
// NULL-MD5 is the one MD5 suite left, and it is a NULL one, probed as
// such), and Go cannot offer them either.
const noSuchSuites = "OpenSSL 3 has no export, LOW or single DES suite (no MD5 one but NULL-MD5) and Go's TLS offers none, so no handshake can show them"

// weakCipherConfirm is SEC1019's confirmation for an ssl_ciphers line: a
// TLS 1.2 handshake by openssl s_client offering only the NULL and
// anonymous suites the line adds, which OpenSSL 3 still has; else a TLS
// 1.0-1.2 handshake by Go offering only the RC4 and 3DES suites it adds.
// Go's default handshake is the control.
func weakCipherConfirm(pass *analyzer.Pass, d *nginxconf.Directive, parents []*nginxconf.Directive, weak []string) analyzer.Confirmer {
	suites := probeSuites(weak)
	nulls := nullCipherWords(weak)
	if d.Name != "ssl_ciphers" {
		if len(suites) == 0 && len(nulls) > 0 {
			return notConfirmable("the engine's TLS backends are Go's, which cannot accept NULL or anonymous suites")
		}
		if len(suites) == 0 {
			return notConfirmable(noSuchSuites)
		}
		return upstreamWeakSuites(pass, d, parents, suites)
	}
	var probe *emulator.TLSProbe
	what := "the offered RC4/3DES suites"
	switch {
	case len(nulls) > 0:
		// OpenSSL 3 negotiates these where it refuses RC4 and 3DES, so
		// they are the stronger evidence when the line has both.
		probe = &emulator.TLSProbe{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12, OpenSSLCiphers: nulls}
		what = "the offered NULL/anonymous suites"
	case len(suites) > 0:
		probe = &emulator.TLSProbe{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS12, CipherSuites: suites}
	default:
		return notConfirmable(noSuchSuites)
	}
	path := handshakePath(parents)
	c := requestCheck{req: emulator.Request{Path: path, TLS: probe}, control: &emulator.Request{Path: path, TLS: &emulator.TLSProbe{}}}
	// Only the offered suites can be negotiated: any success shows one.
	c.contrast = handshakeContrast(func(o *emulator.TLSOutcome) bool { return o.OK() })
	c.shows = func(x *emulator.Exchange) (bool, string) { return c.contrast(x, nil) }
	c.why = func(x, ctrl *emulator.Exchange) string { return tlsRefusal(x, ctrl, what) }
	return tlsConfirm(pass, d, parents, c)
}

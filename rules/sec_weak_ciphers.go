package rules

import (
	"fmt"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// WeakCiphers flags ssl_ciphers strings that explicitly enable broken
// cipher suites.
var WeakCiphers = &analyzer.Rule{
	ID:       "SEC1019",
	Slug:     "weak-ssl-ciphers",
	Severity: analyzer.Warning,
	Doc: analyzer.Doc{
		Title: "ssl_ciphers enables broken cipher suites",
		Text: `An OpenSSL cipher string adds suites with a plain word and removes them with "!" or "-". A word
that adds a broken family is reported: NULL/eNULL (no encryption), aNULL/ADH/AECDH (no authentication, so a
man in the middle), EXPORT/EXP/LOW (40-56-bit keys, FREAK and Logjam), RC4 (RFC 7465 forbids it), DES and
3DES/DES-CBC3 (SWEET32), MD5, and "ALL" or "COMPLEMENTOFALL" without the first four families removed
afterwards. Removing a family ("!RC4", "-3DES") is of course fine, and so is nginx's default
"HIGH:!aNULL:!MD5". TLSv1.3 suites (ssl_conf_command Ciphersuites) are all strong and not checked.`,
		Bad: `http {
    server {
        listen 443 ssl;
        ssl_certificate /etc/ssl/site.crt;
        ssl_certificate_key /etc/ssl/site.key;
        ssl_ciphers "ECDHE-RSA-AES128-GCM-SHA256:RC4-SHA:DES-CBC3-SHA";
    }
}
`,
		Good: `http {
    server {
        listen 443 ssl;
        ssl_certificate /etc/ssl/site.crt;
        ssl_certificate_key /etc/ssl/site.key;
        ssl_ciphers "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:!RC4:!3DES";
    }
}
`,
		Since:      "0.3.0",
		References: []string{"https://docs.openssl.org/master/man1/openssl-ciphers/", "RFC 7465 (Prohibiting RC4)", "https://sweet32.info/", "gixy-ng weak_ssl_tls"},
		Confirmation: `real nginx only (--engine nginx|both; the emulator does not model TLS handshakes and says so): for
an http ssl_ciphers line adding RC4 or 3DES (or ALL), Go's TLS client offers only its RC4 and 3DES suites at
TLS 1.0-1.2 to the server, which serves the engine's generated ECDSA and RSA certificates; confirmed when one
is negotiated and a default control handshake succeeds. Debian's nginx 1.22 with OpenSSL 3.0 negotiates
none, even at @SECLEVEL=0 (RC4 lives in OpenSSL 3's legacy provider, and this build lists no 3DES suite):
not reproduced, with that reason, and the finding stays. For proxy_ssl_ciphers (and grpc_/uwsgi_) a request
goes to a location where the line applies that proxies over TLS; its backend accepts only those RC4 and 3DES
suites at TLS 1.0-1.2; confirmed when it completes a handshake with nginx and its answer comes back. Debian's
nginx offers none of them even at @SECLEVEL=0: not reproduced. NULL and anonymous suites (eNULL, NULL, aNULL,
ADH, AECDH or a suite name), which Go cannot speak, are offered at TLS 1.2 by the openssl s_client command
instead (the words mapped onto "openssl ciphers" own list, with @SECLEVEL=0 on the client side), and take
precedence over RC4/3DES when a line has both; confirmed when nginx negotiates one, even if the default control
is refused (a line like "aNULL:DEFAULT" speaks nothing else: DEFAULT counts only first). Debian's nginx
negotiates AECDH-AES256-SHA for "aNULL:eNULL:DEFAULT:@SECLEVEL=0" and AECDH-NULL-SHA for "eNULL:HIGH:@SECLEVEL=0"
(confirmed), and none without @SECLEVEL=0 or after DEFAULT's "!eNULL" (not reproduced, with the alert).
Without the openssl command they are not confirmable, and so are proxy_ssl_ciphers' (the engine's backends
are Go's). Export, LOW, single DES and MD5 suites are not confirmable: OpenSSL 3 has none of them (but
NULL-MD5) and Go cannot offer them. A stream server's ssl_ciphers (its own or the stream level's) is probed
the same way on its ssl listener, by the handshakes alone: Debian's nginx negotiates no RC4 or 3DES suite
there (not reproduced). mail lines are not confirmable.`,
	},
	Run: func(pass *analyzer.Pass) error {
		if pass.Config == nil {
			return nil
		}
		directiveIndex(pass).Each(func(d *nginxconf.Directive, parents []*nginxconf.Directive) {
			switch d.Name {
			case "ssl_ciphers", "proxy_ssl_ciphers", "grpc_ssl_ciphers", "uwsgi_ssl_ciphers":
			default:
				return
			}
			if len(d.Args) != 1 || strings.Contains(d.Arg(0), "$") {
				return
			}
			weak := weakCipherWords(d.Arg(0))
			if len(weak) == 0 {
				return
			}
			pass.Report(&analyzer.Diagnostic{Pos: d.Args[0].Pos, End: d.Args[0].End(),
				Message: fmt.Sprintf("%s enables broken suites: %s", d.Name, shortList(weak, 4)),
				Details: "These suites give no or weak encryption or authentication (NULL, anonymous, export, RC4, DES/3DES, MD5). Remove them, or write \"!\" before them.",
				Confirm: weakCipherConfirm(pass, d, parents, weak)})
		}, "ssl_ciphers", "proxy_ssl_ciphers", "grpc_ssl_ciphers", "uwsgi_ssl_ciphers")
		return nil
	},
}

// weakCipherWords returns the words of an OpenSSL cipher string that add a
// broken suite or family.
func weakCipherWords(s string) []string {
	words := strings.FieldsFunc(s, func(r rune) bool { return r == ':' || r == ',' || r == ' ' })
	removed := map[string]bool{}
	for _, w := range words {
		if strings.HasPrefix(w, "!") || strings.HasPrefix(w, "-") {
			removed[strings.ToUpper(w[1:])] = true
		}
	}
	var out []string
	for _, w := range words {
		if strings.HasPrefix(w, "!") || strings.HasPrefix(w, "-") || strings.HasPrefix(w, "@") {
			continue
		}
		w = strings.TrimPrefix(w, "+")
		if weakCipherWord(w, removed) {
			out = append(out, w)
		}
	}
	return out
}

func weakCipherWord(w string, removed map[string]bool) bool {
	u := strings.ToUpper(w)
	switch u {
	case "NULL", "ENULL", "ANULL", "EXPORT", "EXP", "LOW", "RC4", "DES", "3DES", "MD5", "ADH", "AECDH", "EXPORT40", "EXPORT56":
		return true
	case "ALL", "COMPLEMENTOFALL", "COMPLEMENTOFDEFAULT":
		// ALL includes the unauthenticated and export suites unless they
		// are removed somewhere in the string.
		return !(removed["ANULL"] || removed["ADH"]) || !(removed["ENULL"] || removed["NULL"])
	}
	// A suite name ("DES-CBC3-SHA", "ECDHE-RSA-RC4-SHA") or a "+"-joined
	// combination of family words.
	for _, part := range strings.Split(u, "+") {
		for _, bad := range []string{"RC4", "NULL", "EXP-", "EXP1024", "DES-CBC-", "DES-CBC3", "3DES", "-MD5", "ADH-", "AECDH-"} {
			if strings.Contains(part, bad) {
				return true
			}
		}
	}
	return false
}

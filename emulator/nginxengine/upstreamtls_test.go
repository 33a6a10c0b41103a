package nginxengine

import (
	"context"
	"crypto/tls"
	"errors"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/ngxlint/ngxlint/emulator"
)

// upstreamTLSConf proxies over TLS with the upstream side's settings %s.
const upstreamTLSConf = `events {}
http {
    server {
        listen 80;
        server_name victim.test;
        location / {
            proxy_pass https://api.internal:8443;
            %s
        }
    }
}
`

// TestUpstreamTLSRealNginx: with Request.UpstreamTLS the backend behind
// proxy_pass https:// speaks TLS, accepts only the request's versions or
// suites, and reports the handshakes nginx made with it. What Debian's
// nginx 1.22 (OpenSSL 3.0) does as a client: at the default security
// level its ClientHello offers TLSv1 and TLSv1.1 as proxy_ssl_protocols
// says, but it aborts the handshake with internal_error when the server
// picks one (no suite or signature is allowed there at level 1); with
// @SECLEVEL=0 in proxy_ssl_ciphers it completes TLS 1.0 and 1.1; RC4 and
// 3DES it never offers, even when the cipher string names them. A list
// with a gap ("TLSv1 TLSv1.2") makes it a TLS 1.0-only client.
func TestUpstreamTLSRealNginx(t *testing.T) {
	b := realNginx(t)
	lim := func(lo, hi uint16, suites ...uint16) *emulator.TLSProbe {
		return &emulator.TLSProbe{MinVersion: lo, MaxVersion: hi, CipherSuites: suites}
	}
	reqs := []emulator.Request{
		{Path: "/", UpstreamTLS: lim(tls.VersionTLS12, tls.VersionTLS12)},
		{Path: "/", UpstreamTLS: lim(tls.VersionTLS10, tls.VersionTLS10)},
		{Path: "/", UpstreamTLS: lim(tls.VersionTLS11, tls.VersionTLS11)},
		{Path: "/", UpstreamTLS: lim(tls.VersionTLS10, tls.VersionTLS12, tls.TLS_RSA_WITH_RC4_128_SHA, tls.TLS_ECDHE_RSA_WITH_RC4_128_SHA, tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA)},
	}
	for _, c := range []struct {
		name, directives string
		// want is each request's status and its handshake's outcome: a
		// version negotiated, or a substring of the backend's error.
		want []string
	}{
		{"default", "proxy_ssl_protocols TLSv1 TLSv1.1 TLSv1.2;", []string{"200 TLS 1.2", "502 internal error", "502 internal error", "502 no cipher suite"}},
		{"seclevel0", `proxy_ssl_protocols TLSv1 TLSv1.1 TLSv1.2; proxy_ssl_ciphers "DEFAULT:RC4:3DES:@SECLEVEL=0";`, []string{"200 TLS 1.2", "200 TLS 1.0", "200 TLS 1.1", "502 no cipher suite"}},
		// OpenSSL's client enables the versions from the lowest listed
		// up to the first one missing (ssl_get_min_max_version): with
		// a gap at TLSv1.1 nginx offers TLS 1.0 only.
		{"gap", `proxy_ssl_protocols TLSv1 TLSv1.2; proxy_ssl_ciphers "DEFAULT:@SECLEVEL=0";`, []string{"502 unsupported versions: [301]", "200 TLS 1.0", "502 unsupported versions: [301]", "502 no cipher suite"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			fsys := fstest.MapFS{"nginx.conf": {Data: []byte(strings.Replace(upstreamTLSConf, "%s", c.directives, 1))}}
			res, err := b.Run(context.Background(), Scenario{ConfigFS: fsys, Main: "nginx.conf", Requests: reqs})
			if err != nil {
				t.Fatal(err)
			}
			for i, rr := range res.Requests {
				got := []string{}
				for _, h := range rr.UpstreamTLS {
					got = append(got, h.String())
				}
				t.Logf("%s: %d %s", reqs[i].UpstreamTLS, rr.Status.Code, strings.Join(got, ", "))
				want := strings.SplitN(c.want[i], " ", 2)
				if st := rr.Status.Code; want[0] != strconv.Itoa(st) {
					t.Errorf("%s: status %d, want %s", reqs[i].UpstreamTLS, st, want[0])
				}
				if len(rr.UpstreamTLS) == 0 || !strings.Contains(rr.UpstreamTLS[0].String(), want[1]) {
					t.Errorf("%s: backend saw %v, want %q", reqs[i].UpstreamTLS, got, want[1])
				}
			}
		})
	}
}

// TestUpstreamTLSRefusals: a configuration the TLS backends cannot serve
// faithfully is refused as not replayable, with why.
func TestUpstreamTLSRefusals(t *testing.T) {
	b := realNginx(t)
	for _, c := range []struct{ name, conf, want string }{
		{"verify", strings.Replace(upstreamTLSConf, "%s", "proxy_ssl_verify on; proxy_ssl_trusted_certificate /etc/ssl/ca.pem;", 1), "verifies the upstream's certificate"},
		{"plain", strings.Replace(strings.Replace(upstreamTLSConf, "https://", "http://", 1), "%s", "", 1), "no proxy_pass https://"},
	} {
		t.Run(c.name, func(t *testing.T) {
			fsys := fstest.MapFS{"nginx.conf": {Data: []byte(c.conf)}}
			_, err := b.Run(context.Background(), Scenario{ConfigFS: fsys, Main: "nginx.conf",
				Requests: []emulator.Request{{Path: "/", UpstreamTLS: &emulator.TLSProbe{}}}})
			if !errors.Is(err, emulator.ErrNotReplayable) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want not replayable: %s", err, c.want)
			}
		})
	}
}

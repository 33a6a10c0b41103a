package main

import (
	"strings"
	"testing"
)

// upstreamTLSReplayConf proxies over TLS to an upstream whose address the
// engine maps to a loopback TLS backend; %s is the upstream side's lines.
const upstreamTLSReplayConf = `events {}
http {
    server {
        listen 80;
        server_name victim.test;
        location /api/ {
            proxy_pass https://api.internal:8443;
            %s
        }
        location / { return 200; }
    }
}
`

// TestSecUpstreamWeakTLSReplayOnRealNginx: the upstream side of SEC1018
// and SEC1019, judged by the handshake Debian's nginx 1.22 (OpenSSL 3.0)
// makes as a client with a backend that accepts only the weak versions
// or suites. At OpenSSL's default security level nginx offers TLS 1.0
// (proxy_ssl_protocols lists it) but aborts with internal_error when the
// backend picks it: not reproduced, the reason names the level. With
// @SECLEVEL=0 in proxy_ssl_ciphers the backend negotiates TLS 1.0 and its
// answer comes back: confirmed. No RC4 or 3DES suite is ever offered.
// "TLSv1 TLSv1.2" has a gap, and OpenSSL's client enables versions from
// the lowest listed up to the first missing one: nginx offers only TLS
// 1.0, so the TLS 1.2 control fails and, at the default level, nginx
// reaches no TLS upstream at all.
func TestSecUpstreamWeakTLSReplayOnRealNginx(t *testing.T) {
	bin := replayNginx(t)
	for _, c := range []struct {
		name, lines string
		// want maps a rule to its status and a substring of its
		// summary and of its reason.
		want map[string][3]string
	}{
		{"default", "proxy_ssl_protocols TLSv1 TLSv1.2;", map[string][3]string{
			"SEC1018": {"not-reproduced", "GET /api/ [Host: victim.test] -> upstream failed (internal error), 502; control TLS 1.2 refused (nginx offered TLS 1.0 only), 502", "security level"},
		}},
		{"default-nogap", "proxy_ssl_protocols TLSv1 TLSv1.1 TLSv1.2;", map[string][3]string{
			"SEC1018": {"not-reproduced", "GET /api/ [Host: victim.test] -> upstream failed (internal error), 502; control TLS 1.2 ok", "security level"},
		}},
		{"seclevel0", `proxy_ssl_protocols TLSv1 TLSv1.2; proxy_ssl_ciphers "DEFAULT:RC4-SHA:DES-CBC3-SHA:@SECLEVEL=0";`, map[string][3]string{
			"SEC1018": {"confirmed", "-> upstream TLS 1.0 TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, 200; control TLS 1.2 refused (nginx offered TLS 1.0 only)", ""},
			"SEC1019": {"not-reproduced", "-> upstream refused (no shared suite), 502", "offered none"},
		}},
		{"seclevel0-nogap", `proxy_ssl_protocols TLSv1 TLSv1.1 TLSv1.2; proxy_ssl_ciphers "DEFAULT:@SECLEVEL=0";`, map[string][3]string{
			"SEC1018": {"confirmed", "-> upstream TLS 1.1 TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, 200; control TLS 1.2 ok", ""},
		}},
	} {
		conf := replayConf(t, strings.Replace(upstreamTLSReplayConf, "%s", c.lines, 1))
		for _, engine := range []string{"nginx", "both"} {
			seen := map[string]bool{}
			for _, f := range replayed(t, bin, engine, conf, "SEC1018,SEC1019") {
				cf := f.Confirmation
				want, ok := c.want[f.Rule]
				if !ok {
					t.Errorf("%s %s: unexpected %s", c.name, engine, f.Rule)
					continue
				}
				seen[f.Rule] = true
				if cf.Status != want[0] || !strings.Contains(cf.Summary, want[1]) || !strings.Contains(cf.Reason, want[2]) {
					t.Errorf("%s %s: %s %s: %q (%s); want %s with %q, reason with %q", c.name, engine, f.Rule, cf.Status, cf.Summary, cf.Reason, want[0], want[1], want[2])
				}
				if len(cf.Summary) > 160 {
					t.Errorf("%s %s: %s summary longer than 160: %q", c.name, engine, f.Rule, cf.Summary)
				}
			}
			for r := range c.want {
				if !seen[r] {
					t.Errorf("%s %s: no %s finding", c.name, engine, r)
				}
			}
		}
	}
}

// TestSecUpstreamWeakTLSEmulatorNoClaim: without a real engine the
// upstream side's line says why the emulator makes no claim, and a line
// under which no location proxies over TLS says that no handshake is
// made under it.
func TestSecUpstreamWeakTLSEmulatorNoClaim(t *testing.T) {
	text := strings.Replace(upstreamTLSReplayConf, "%s", "proxy_ssl_protocols TLSv1 TLSv1.2;", 1)
	text = strings.TrimSuffix(text, "}\n") + "    server { listen 81; proxy_ssl_ciphers RC4-SHA; location / { proxy_pass http://plain.internal; } }\n}\n"
	conf := replayConf(t, text)
	code, out, errs := run(t, "check", "--no-config", "--confirm", "--format", "json", "--enable", "SEC1018,SEC1019", conf)
	if code != ExitFindings {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	want := map[string]string{"SEC1018": "does not model nginx's handshake with the upstream", "SEC1019": "no location where this line applies has proxy_pass https://"}
	n := 0
	for _, f := range decodeCheck(t, out).Findings {
		c := f.Confirmation
		n++
		if c.Status != "not-confirmable" || !strings.Contains(c.Reason, want[f.Rule]) {
			t.Errorf("%s line %d: %s %q, want not-confirmable with %q", f.Rule, f.Line, c.Status, c.Reason, want[f.Rule])
		}
	}
	if n != 2 {
		t.Errorf("%d findings, want 2", n)
	}
}

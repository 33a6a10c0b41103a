package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// tlsReplayConf is a TLS server whose certificate files do not exist on
// this machine: the real engine serves the run's generated ones.
const tlsReplayConf = `events {}
http {
    server {
        listen 443 ssl;
        server_name victim.test;
        ssl_certificate /etc/ssl/victim.crt;
        ssl_certificate_key /etc/ssl/victim.key;
        %s
        location / { return 200; }
    }
}
`

// TestSecWeakTLSReplayOnRealNginx: SEC1018 and SEC1019 are judged by TLS
// handshakes with Debian's nginx 1.22 and its OpenSSL 3.0. At OpenSSL's
// default security level a TLS 1.0-1.1 handshake is refused with
// internal_error whatever ssl_protocols says (not reproduced, the reason
// names the security level), while TLS 1.2 works; with @SECLEVEL=0 in
// ssl_ciphers TLS 1.0 is negotiated (confirmed). No RC4 or 3DES suite is
// negotiated even at @SECLEVEL=0 (OpenSSL 3 has RC4 only in its legacy
// provider, and this build lists no 3DES suite).
func TestSecWeakTLSReplayOnRealNginx(t *testing.T) {
	bin := replayNginx(t)
	for _, c := range []struct {
		name, lines string
		// want maps a rule to its status and a substring of its
		// summary and of its reason.
		want map[string][3]string
	}{
		{"default", "ssl_protocols TLSv1 TLSv1.1 TLSv1.2;", map[string][3]string{
			"SEC1018": {"not-reproduced", "GET / over TLS 1.0-1.1 [Host: victim.test] -> refused (internal error); control TLS 1.2 ok", "security level"},
		}},
		{"seclevel0", `ssl_protocols TLSv1 TLSv1.2; ssl_ciphers "DEFAULT:RC4-SHA:DES-CBC3-SHA:@SECLEVEL=0";`, map[string][3]string{
			"SEC1018": {"confirmed", "GET / over TLS 1.0 [Host: victim.test] -> negotiated TLS 1.0 TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA; control TLS 1.2 ok", ""},
			"SEC1019": {"not-reproduced", "-> refused (handshake failure); control TLS 1.2 ok", "legacy provider"},
		}},
	} {
		conf := replayConf(t, strings.Replace(tlsReplayConf, "%s", c.lines, 1))
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

// TestSecNullCipherReplayOnRealNginx: NULL and anonymous suites, which
// Go's client cannot offer, are offered by openssl s_client. Debian's
// nginx 1.22 with OpenSSL 3.0 negotiates an anonymous ECDH suite when
// ssl_ciphers adds aNULL at @SECLEVEL=0 (confirmed; DEFAULT counts only
// first in the string, so Go's default control handshake is refused),
// and a NULL suite for eNULL. DEFAULT's "!eNULL" removes NULL suites for
// good, so "DEFAULT:eNULL" adds none, and at the default security level
// OpenSSL drops anonymous ones: both handshakes are refused (not
// reproduced, with the alert).
func TestSecNullCipherReplayOnRealNginx(t *testing.T) {
	bin := replayNginx(t)
	if _, err := os.Stat("/usr/bin/openssl"); err != nil {
		if _, lerr := exec.LookPath("openssl"); lerr != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("CI needs openssl: %v", lerr)
			}
			t.Skip("no openssl command")
		}
	}
	for _, c := range []struct {
		name, lines, status string
		// summary holds substrings of the summary; reason one of the reason.
		summary []string
		reason  string
	}{
		{"seclevel0", `ssl_ciphers "aNULL:eNULL:DEFAULT:@SECLEVEL=0";`, "confirmed",
			[]string{"GET / over TLS 1.2 with OpenSSL's aNULL:eNULL", "-> negotiated TLS 1.2 AECDH-", "; control refused (handshake failure)"}, ""},
		{"null", `ssl_ciphers "eNULL:HIGH:@SECLEVEL=0";`, "confirmed",
			[]string{"GET / over TLS 1.2 with OpenSSL's eNULL", "-> negotiated TLS 1.2 ", "NULL", "; control TLS 1.2 ok"}, ""},
		{"default-removes-null", `ssl_ciphers "DEFAULT:eNULL:@SECLEVEL=0";`, "not-reproduced",
			[]string{"-> refused (handshake failure); control TLS 1.2 ok"}, "!eNULL"},
		{"default-level", `ssl_ciphers "DEFAULT:aNULL";`, "not-reproduced",
			[]string{"-> refused (handshake failure); control TLS 1.2 ok"}, "SECLEVEL=0"},
	} {
		conf := replayConf(t, strings.Replace(tlsReplayConf, "%s", c.lines, 1))
		for _, engine := range []string{"nginx", "both"} {
			fs := replayed(t, bin, engine, conf, "SEC1019")
			if len(fs) != 1 || fs[0].Rule != "SEC1019" {
				t.Fatalf("%s %s: want one SEC1019 finding, got %v", c.name, engine, fs)
			}
			cf := fs[0].Confirmation
			if cf.Status != c.status || !strings.Contains(cf.Reason, c.reason) {
				t.Errorf("%s %s: %s %q (%s); want %s, reason with %q", c.name, engine, cf.Status, cf.Summary, cf.Reason, c.status, c.reason)
			}
			for _, s := range c.summary {
				if !strings.Contains(cf.Summary, s) {
					t.Errorf("%s %s: summary %q lacks %q", c.name, engine, cf.Summary, s)
				}
			}
			if len(cf.Summary) > 160 {
				t.Errorf("%s %s: summary longer than 160: %q", c.name, engine, cf.Summary)
			}
		}
	}
}

// TestSecWeakTLSEmulatorNoClaim: without a real engine both rules say why
// the emulator makes no claim, for http and stream servers alike; a
// stream-level line that every ssl server overrides reaches no handshake.
func TestSecWeakTLSEmulatorNoClaim(t *testing.T) {
	conf := replayConf(t, strings.Replace(tlsReplayConf, "%s", "ssl_protocols TLSv1 TLSv1.2; ssl_ciphers RC4-SHA;", 1)+
		"stream {\n    ssl_protocols TLSv1;\n    server { listen 12346 ssl; ssl_protocols TLSv1.1; proxy_pass 127.0.0.1:9000; }\n}\n")
	code, out, errs := run(t, "check", "--no-config", "--confirm", "--format", "json", "--enable", "SEC1018,SEC1019", conf)
	if code != ExitFindings {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	n := 0
	for _, f := range decodeCheck(t, out).Findings {
		c := f.Confirmation
		n++
		want := "does not model TLS handshakes"
		if f.Line == 13 {
			want = "no server that listens with ssl inherits this line"
		}
		if c.Status != "not-confirmable" || !strings.Contains(c.Reason, want) {
			t.Errorf("%s line %d: %s %q, want not-confirmable with %q", f.Rule, f.Line, c.Status, c.Reason, want)
		}
	}
	if n != 4 {
		t.Errorf("%d findings, want 4", n)
	}
}

// streamTLSReplayConf is a stream server that terminates TLS and names no
// certificate: the real engine sets its generated pairs at the top of
// stream{}, and maps proxy_pass to a loopback backend.
const streamTLSReplayConf = `events {}
stream {
    server {
        listen 12345 ssl;
        %s
        proxy_pass 127.0.0.1:9000;
    }
}
`

// TestSecWeakTLSStreamReplayOnRealNginx: a stream server's ssl_protocols
// and ssl_ciphers are judged by handshakes alone on its listener, through
// Debian's dynamic stream module; no HTTP request follows. As for http,
// OpenSSL 3.0's default security level refuses TLS 1.0 with internal_error
// (not reproduced, the reason names the level), @SECLEVEL=0 lets it
// through (confirmed), and no RC4 or 3DES suite is negotiated.
func TestSecWeakTLSStreamReplayOnRealNginx(t *testing.T) {
	bin := replayNginx(t)
	for _, c := range []struct {
		name, lines string
		// want maps a rule to its status and a substring of its
		// summary and of its reason.
		want map[string][3]string
	}{
		{"seclevel0", "ssl_protocols TLSv1 TLSv1.2; ssl_ciphers DEFAULT:@SECLEVEL=0;", map[string][3]string{
			"SEC1018": {"confirmed", "handshake over TLS 1.0 -> negotiated TLS 1.0 TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA; control TLS 1.2 ok", ""},
		}},
		{"default", "ssl_protocols TLSv1 TLSv1.2; ssl_ciphers DEFAULT;", map[string][3]string{
			"SEC1018": {"not-reproduced", "handshake over TLS 1.0 -> refused (internal error); control TLS 1.2 ok", "security level"},
		}},
		{"rc4", `ssl_ciphers "DEFAULT:RC4-SHA:DES-CBC3-SHA:@SECLEVEL=0";`, map[string][3]string{
			"SEC1019": {"not-reproduced", "handshake over TLS 1.0-1.2 with TLS_RSA_WITH_RC4_128_SHA and 4 more -> refused (handshake failure); control TLS 1.2 ok", "legacy provider"},
		}},
	} {
		conf := replayConf(t, strings.Replace(streamTLSReplayConf, "%s", c.lines, 1))
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

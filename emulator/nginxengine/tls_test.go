package nginxengine

import (
	"context"
	"crypto/tls"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/ngxlint/ngxlint/emulator"
)

// tlsConf is a production-shaped TLS server whose files are all outside
// the tree (the run must generate its own and never read these) with
// stapling on (which would reach an OCSP responder off loopback).
const tlsConf = `events {}
http {
    ssl_session_ticket_key /etc/nginx/ticket.key;
    server {
        listen 80;
        listen 443 ssl http2;
        server_name victim.test;
        ssl_certificate /etc/ssl/victim.crt;
        ssl_certificate_key /etc/ssl/victim.key;
        ssl_trusted_certificate /etc/ssl/chain.pem;
        ssl_dhparam /etc/ssl/dhparam.pem;
        ssl_stapling on;
        ssl_stapling_verify on;
        ssl_protocols TLSv1 TLSv1.1 TLSv1.2;
        %s
        location / { return 200 "tls $ssl_protocol\n"; }
    }
}
`

// TestTLSProbeRealNginx: the run's generated certificates stand for the
// user's files, a TLS probe reaches the ssl listener and reports what
// Debian's nginx (OpenSSL 3.0) negotiated. At OpenSSL's default security
// level TLSv1 and TLSv1.1 are refused whatever ssl_protocols says (alert
// internal_error: no suite is allowed at those versions); with
// @SECLEVEL=0 in the cipher string TLSv1 is accepted.
func TestTLSProbeRealNginx(t *testing.T) {
	b := realNginx(t)
	tls10 := &emulator.TLSProbe{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10}
	tls11 := &emulator.TLSProbe{MinVersion: tls.VersionTLS11, MaxVersion: tls.VersionTLS11}
	tls12 := &emulator.TLSProbe{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12}
	rc4 := &emulator.TLSProbe{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_RSA_WITH_RC4_128_SHA, tls.TLS_ECDHE_RSA_WITH_RC4_128_SHA, tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA}}
	reqs := []emulator.Request{{Path: "/"}, {Path: "/", TLS: tls10}, {Path: "/", TLS: tls11}, {Path: "/", TLS: tls12}, {Path: "/", TLS: rc4}}
	for _, c := range []struct {
		name, ciphers string
		// want is each request's outcome: a version negotiated, or a
		// substring of the error.
		want []string
	}{
		{"default", "", []string{"", "internal error", "internal error", "TLS 1.2", "handshake failure"}},
		{"seclevel0", `ssl_ciphers "DEFAULT:RC4:3DES:@SECLEVEL=0";`, []string{"", "TLS 1.0", "TLS 1.1", "TLS 1.2", "handshake failure"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			fsys := fstest.MapFS{"nginx.conf": {Data: []byte(strings.Replace(tlsConf, "%s", c.ciphers, 1))}}
			var tmp string
			res, err := b.run(context.Background(), Scenario{ConfigFS: fsys, Main: "nginx.conf", Requests: reqs, ServerIndex: 1}, hooks{started: func(_ int, dir string) {
				tmp = dir
				for _, f := range []string{"ec.crt", "ec.key", "rsa.crt", "rsa.key", "ticket.key"} {
					st, err := os.Stat(filepath.Join(dir, "run", "tls", f))
					if err != nil || st.Mode().Perm() != 0o600 {
						t.Errorf("generated %s: %v %v", f, st, err)
					}
				}
			}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(tmp); !os.IsNotExist(err) {
				t.Errorf("run directory %s (and its keys) left behind", tmp)
			}
			for _, rw := range res.Rewrites {
				if strings.Contains(rw.After, "/etc/") {
					t.Errorf("a rewrite still names a system file: %s", rw)
				}
			}
			// The plain request went to the first listener, port 80: no TLS.
			if r := res.Requests[0]; r.Status.Code != 200 || r.TLS != nil {
				t.Errorf("plain request: %d %v", r.Status.Code, r.TLS)
			}
			for i, want := range c.want[1:] {
				r := res.Requests[i+1]
				t.Logf("%s: %s -> %s (%d)", c.name, reqs[i+1].TLS, r.TLS, r.Status.Code)
				switch {
				case r.TLS == nil:
					t.Errorf("%s: no handshake outcome", reqs[i+1].TLS)
				case strings.HasPrefix(want, "TLS "):
					if !r.TLS.OK() || r.TLS.Version != want || r.Status.Code != 200 || !strings.Contains(r.Body, "tls TLSv1") {
						t.Errorf("%s: %s, status %d %q; want %s and 200", reqs[i+1].TLS, r.TLS, r.Status.Code, r.Body, want)
					}
				default:
					if r.TLS.OK() || !strings.Contains(r.TLS.Err, want) || r.Status.Code != 0 {
						t.Errorf("%s: %s, status %d; want refused with %q", reqs[i+1].TLS, r.TLS, r.Status.Code, want)
					}
				}
			}
		})
	}
}

// TestTLSProbeNeedsSSLListener: a probe of a server without TLS is
// refused before nginx starts, as not replayable.
func TestTLSProbeNeedsSSLListener(t *testing.T) {
	b := realNginx(t)
	fsys := fstest.MapFS{"nginx.conf": {Data: []byte("events {}\nhttp { server { listen 80; return 200; } }\n")}}
	_, err := b.Run(context.Background(), Scenario{ConfigFS: fsys, Main: "nginx.conf", ServerIndex: 1,
		Requests: []emulator.Request{{TLS: &emulator.TLSProbe{MinVersion: tls.VersionTLS12}}}})
	if !errors.Is(err, emulator.ErrNotReplayable) || !strings.Contains(err.Error(), "no ssl listener") {
		t.Errorf("got %v, want not replayable: no ssl listener", err)
	}
}

// streamTLSConf has a plain and a TLS stream server, the second with
// every stream TLS file outside the tree, next to an http server; it
// loads no stream module itself.
const streamTLSConf = `events {}
http { server { listen 80; return 200; } }
stream {
    ssl_certificate /etc/ssl/victim.crt;
    ssl_certificate_key /etc/ssl/victim.key;
    server { listen 7000; proxy_pass 127.0.0.1:9000; }
    server {
        listen 12345 ssl;
        ssl_trusted_certificate /etc/ssl/chain.pem;
        ssl_client_certificate /etc/ssl/clients.pem;
        ssl_verify_client optional;
        ssl_protocols TLSv1 TLSv1.2;
        ssl_ciphers DEFAULT:@SECLEVEL=0;
        proxy_pass 127.0.0.1:9000;
    }
}
`

// TestTLSProbeStreamServer: StreamIndex targets a stream server, which
// is probed by handshakes alone on its ssl listener: the engine loads
// Debian's dynamic stream module, serves its generated certificates for
// the user's files, and sends nothing after the handshake.
func TestTLSProbeStreamServer(t *testing.T) {
	b := realNginx(t)
	if b.StreamModule == "" && !strings.Contains(b.V, "--with-stream ") {
		t.Skip(b.Path + " has no stream module")
	}
	fsys := fstest.MapFS{"nginx.conf": {Data: []byte(streamTLSConf)}}
	reqs := []emulator.Request{
		{TLS: &emulator.TLSProbe{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10}},
		{TLS: &emulator.TLSProbe{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12}},
		{TLS: &emulator.TLSProbe{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_RSA_WITH_RC4_128_SHA, tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA}}},
	}
	res, err := b.Run(context.Background(), Scenario{ConfigFS: fsys, Main: "nginx.conf", Requests: reqs, StreamIndex: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, rw := range res.Rewrites {
		if strings.Contains(rw.After, "/etc/") {
			t.Errorf("a rewrite still names a system file: %s", rw)
		}
	}
	for i, want := range []string{"TLS 1.0", "TLS 1.2", "handshake failure"} {
		r := res.Requests[i]
		t.Logf("%s -> %s (%d %q)", reqs[i].TLS, r.TLS, r.Status.Code, r.Why)
		switch {
		case r.TLS == nil:
			t.Errorf("%s: no handshake outcome", reqs[i].TLS)
		case r.Head != "" || r.Status.Code != 0:
			t.Errorf("%s: an HTTP answer %d %q from a stream server", reqs[i].TLS, r.Status.Code, r.Head)
		case strings.HasPrefix(want, "TLS "):
			if !r.TLS.OK() || r.TLS.Version != want {
				t.Errorf("%s: %s, want %s", reqs[i].TLS, r.TLS, want)
			}
		case r.TLS.OK() || !strings.Contains(r.TLS.Err, want):
			t.Errorf("%s: %s, want refused with %q", reqs[i].TLS, r.TLS, want)
		}
	}

	// A stream server has no request path: a request without a
	// handshake is refused before nginx starts.
	_, err = b.Run(context.Background(), Scenario{ConfigFS: fsys, Main: "nginx.conf", Requests: []emulator.Request{{Path: "/"}}, StreamIndex: 2})
	if !errors.Is(err, emulator.ErrNotReplayable) || !strings.Contains(err.Error(), "only probed by TLS handshakes") {
		t.Errorf("plain request to a stream server: %v, want not replayable", err)
	}
}

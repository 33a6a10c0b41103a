package nginxengine

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"time"

	"github.com/ngxlint/ngxlint/emulator"
)

// The TLS backends: a request with emulator.Request.UpstreamTLS has the
// backends of the peers nginx reaches over TLS (scan.peerTLS) speak TLS
// with the run's generated certificates, accept only the request's
// versions and suites, and record each handshake, so that what nginx as
// a TLS client offers (proxy_ssl_protocols, proxy_ssl_ciphers) is seen
// from the other end. Without such a request the schemes are rewritten to
// plain ones, as before: a scenario that does not ask about the upstream's
// handshake keeps the backends that every other scenario knows.

// wantsUpstreamTLS reports whether some request asks for TLS backends.
func wantsUpstreamTLS(reqs []emulator.Request) bool {
	for _, rq := range reqs {
		if rq.UpstreamTLS != nil {
			return true
		}
	}
	return false
}

// upstreamTLSBlocker says why the configuration cannot have TLS backends,
// "" when it can.
func (s *scan) upstreamTLSBlocker() string {
	some := false
	for _, t := range s.peerTLS {
		some = some || t
	}
	switch {
	case !some:
		return "no proxy_pass https://, grpc_pass grpcs:// or uwsgi_pass suwsgi:// reaches an address the engine can map to a backend"
	case len(s.mixedTLS) > 0:
		return "nginx reaches " + strings.Join(s.mixedTLS, ", ") + " both in the clear and over TLS, and one backend cannot serve both"
	case len(s.verifyTLS) > 0:
		d := s.verifyTLS[0]
		// The generated certificate names 127.0.0.1 and localhost, and
		// nginx checks the name of proxy_ssl_name (the proxied host by
		// default) with X509_check_host, which no rewrite keeps
		// meaning the same.
		return fmt.Sprintf("%s %s at %s verifies the upstream's certificate, which the run's generated one cannot pass under the name nginx checks", d.Name, d.Arg(0), d.Pos)
	}
	return ""
}

// backendCerts loads the run's generated pairs for the TLS backends:
// ECDSA first, RSA for the suites that need an RSA key (crypto/tls picks
// the first certificate the handshake can use).
func backendCerts(f *tlsFiles) ([]tls.Certificate, error) {
	var out []tls.Certificate
	for _, p := range [][2]string{{f.ecCert, f.ecKey}, {f.rsaCert, f.rsaKey}} {
		c, err := tls.LoadX509KeyPair(p[0], p[1])
		if err != nil {
			return nil, fmt.Errorf("load the generated pair %s: %w", p[0], err)
		}
		out = append(out, c)
	}
	return out, nil
}

// awaitHandshakes waits (at most a second) until no TLS backend is in
// the middle of a handshake: nginx answers 502 as soon as it sees the
// backend's alert, and the backend records the failure just after
// sending it, so the record can trail the response by a moment.
func awaitHandshakes(ctx context.Context, bs []*emulator.Backend) {
	deadline := time.Now().Add(time.Second)
	for _, b := range bs {
		for b.HandshakesPending() > 0 && time.Now().Before(deadline) {
			select {
			case <-ctx.Done():
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
}

package emulator

import (
	"context"
	"crypto/tls"
	"net"
	"time"
)

// tlsHandshakeTimeout bounds a backend's handshake, so that a peer that
// opens a connection and sends nothing does not hold a goroutine forever.
const tlsHandshakeTimeout = 10 * time.Second

// StartTLSBackend is StartBackend for a peer that nginx reaches over TLS
// (proxy_pass https://, grpc_pass grpcs://): every connection starts with
// a handshake, served with certs, and then speaks what a plain backend
// does. TLS is chosen by the caller, who knows the scheme nginx uses, not
// sniffed from the first byte: a ClientHello's 0x16 is also a valid
// uwsgi_modifier1 (protocolOf). Which versions and suites the backend
// accepts is set by LimitTLS; each handshake is recorded (Handshakes).
func StartTLSBackend(ctx context.Context, p Policy, certs []tls.Certificate) (*Backend, error) {
	b, err := startBackend(ctx, p, tcpNet{}, func(b *Backend) {
		b.tlsConf = &tls.Config{GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return b.tlsConfig(certs), nil
		}}
	})
	return b, err
}

// tlsConfig is the server configuration for the next handshake: certs
// and the current limits. Session tickets are off: a resumed session
// would skip the negotiation the limits are there to observe.
func (b *Backend) tlsConfig(certs []tls.Certificate) *tls.Config {
	c := &tls.Config{Certificates: certs, SessionTicketsDisabled: true}
	if l := b.tlsLimits.Load(); l != nil {
		c.MinVersion, c.MaxVersion = l.MinVersion, l.MaxVersion
		c.CipherSuites = append([]uint16(nil), l.CipherSuites...)
	}
	return c
}

// LimitTLS makes a TLS backend accept only the versions and suites of p
// (insecure suites included) in the handshakes that start from now on;
// nil restores Go's server defaults (TLS 1.2 and 1.3, its default suites).
func (b *Backend) LimitTLS(p *TLSProbe) { b.tlsLimits.Store(p) }

// Handshakes returns the outcomes of the handshakes after the first n, in
// the order they ended, and the total so far.
func (b *Backend) Handshakes(n int) ([]TLSOutcome, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	total := len(b.handshakes)
	if n >= total {
		return nil, total
	}
	return append([]TLSOutcome(nil), b.handshakes[n:]...), total
}

// HandshakesPending is the number of handshakes under way. A peer can
// act on a failed handshake (nginx answers 502) before the backend has
// recorded it, so whoever reads Handshakes after a request waits for this
// to reach 0.
func (b *Backend) HandshakesPending() int { return int(b.shaking.Load()) }

// startTLS runs the server side of a handshake on c and records how it
// ended; it returns the TLS connection, or nil when the handshake failed.
func (b *Backend) startTLS(c net.Conn) net.Conn {
	b.shaking.Add(1)
	defer b.shaking.Add(-1)
	tc := tls.Server(c, b.tlsConf)
	_ = tc.SetDeadline(time.Now().Add(tlsHandshakeTimeout))
	err := tc.Handshake()
	o := TLSOutcome{}
	if err != nil {
		o.Err = err.Error()
	} else {
		st := tc.ConnectionState()
		o.Version, o.CipherSuite = tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite)
	}
	b.mu.Lock()
	b.handshakes = append(b.handshakes, o)
	b.mu.Unlock()
	if err != nil {
		return nil
	}
	_ = tc.SetDeadline(time.Time{})
	return tc
}

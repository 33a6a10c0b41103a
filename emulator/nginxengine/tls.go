package nginxengine

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ngxlint/ngxlint/emulator"
)

// tlsFiles are the run's own TLS files, generated into its private
// directory: the user's certificates and keys are neither available nor
// allowed (the engine reads nothing outside the checked tree), and a
// handshake needs a certificate of some kind, not theirs. nginx pairs the
// n-th ssl_certificate with the n-th ssl_certificate_key
// (ngx_ssl_certificates) and serves each client the first pair whose key
// type the negotiated suite can use, hence an ECDSA and an RSA pair: the
// RSA one for the RSA-authenticated and RSA key exchange suites (the RC4
// and 3DES ones among them).
type tlsFiles struct {
	ecCert, ecKey, rsaCert, rsaKey string
	// ticketKey is 80 random bytes, the size ssl_session_ticket_key
	// reads for AES-256 tickets (ngx_ssl_session_ticket_keys).
	ticketKey string
}

// writeTLSFiles generates the pairs and the ticket key into dir, readable
// by the owner only, and returns their paths.
func writeTLSFiles(dir string) (*tlsFiles, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	f := &tlsFiles{
		ecCert: filepath.Join(dir, "ec.crt"), ecKey: filepath.Join(dir, "ec.key"),
		rsaCert: filepath.Join(dir, "rsa.crt"), rsaKey: filepath.Join(dir, "rsa.key"),
		ticketKey: filepath.Join(dir, "ticket.key"),
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	if err := writePair(f.ecCert, f.ecKey, ec, &ec.PublicKey); err != nil {
		return nil, fmt.Errorf("ECDSA certificate: %w", err)
	}
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	if err := writePair(f.rsaCert, f.rsaKey, rk, &rk.PublicKey); err != nil {
		return nil, fmt.Errorf("RSA certificate: %w", err)
	}
	ticket := make([]byte, 80)
	if _, err := rand.Read(ticket); err != nil {
		return nil, err
	}
	if err := os.WriteFile(f.ticketKey, ticket, 0o600); err != nil {
		return nil, err
	}
	return f, nil
}

// writePair writes a self-signed certificate for key, valid for a day
// around now, and the key in PKCS#8. It is also a CA certificate, so that
// the same file can stand for ssl_trusted_certificate and
// ssl_client_certificate, which nginx reads as CA lists.
func writePair(certPath, keyPath string, key, pub any) error {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "ngxlint engine"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, key)
	if err != nil {
		return err
	}
	kd, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}), 0o600)
}

// clientTLS is the client's TLS configuration for a request: the probe's
// versions and suites, or Go's defaults for a plain request to an ssl
// listener. The server's certificate is not verified: it is the run's
// own, generated a moment ago, so verifying it would prove nothing. SNI
// carries the request's host, as a browser's would, so that nginx picks
// the server{} by name for the handshake as it does in production.
func clientTLS(host string, p *emulator.TLSProbe) *tls.Config {
	c := &tls.Config{InsecureSkipVerify: true}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if net.ParseIP(strings.Trim(host, "[]")) == nil {
		c.ServerName = host
	}
	if p != nil {
		c.MinVersion, c.MaxVersion = p.MinVersion, p.MaxVersion
		c.CipherSuites = append([]uint16(nil), p.CipherSuites...)
	}
	return c
}

// tlsOutcome is what a finished or failed handshake shows.
func tlsOutcome(st tls.ConnectionState, err error) *emulator.TLSOutcome {
	if err != nil {
		return &emulator.TLSOutcome{Err: err.Error()}
	}
	return &emulator.TLSOutcome{Version: tls.VersionName(st.Version), CipherSuite: tls.CipherSuiteName(st.CipherSuite)}
}

// tlsFileDirective says what the run does with a directive naming a TLS
// file, "" for any other directive:
//
//   - "pair": ssl_certificate and ssl_certificate_key are removed, and the
//     generated pairs set at the top of their http{}, stream{} or mail{}
//     (every server inherits them; a pair per level would have to keep
//     nginx's pairing by position through every level);
//   - "cert", "key": the upstream side's client certificate
//     (proxy_ssl_certificate ...) becomes the ECDSA pair;
//   - "ca": a CA list (ssl_trusted_certificate, ssl_client_certificate)
//     becomes the ECDSA certificate, which no client certificate is
//     signed by, so that directives needing one still load;
//   - "ticket": ssl_session_ticket_key becomes the run's random key;
//   - "drop": the rest is removed: a CRL and a password file have no
//     stand-in that means anything, ssl_dhparam's DHE suites are not
//     offered by Go's client, and a stapled OCSP response is off with
//     ssl_stapling.
func tlsFileDirective(name string) string {
	switch name {
	case "ssl_certificate", "ssl_certificate_key":
		return "pair"
	case "ssl_session_ticket_key":
		return "ticket"
	case "ssl_dhparam", "ssl_stapling_file", "ssl_crl", "ssl_password_file":
		return "drop"
	case "ssl_trusted_certificate", "ssl_client_certificate":
		return "ca"
	}
	for _, p := range []string{"proxy_", "grpc_", "uwsgi_"} {
		base, ok := strings.CutPrefix(name, p)
		if !ok {
			continue
		}
		switch base {
		case "ssl_certificate":
			return "cert"
		case "ssl_certificate_key":
			return "key"
		case "ssl_trusted_certificate":
			return "ca"
		case "ssl_crl", "ssl_password_file":
			return "drop"
		}
	}
	return ""
}

// pairsText sets the generated pairs, ECDSA first.
func (f *tlsFiles) pairsText() string {
	q := func(p string) string { return quoteArg(filepath.ToSlash(p)) }
	return "ssl_certificate " + q(f.ecCert) + "; ssl_certificate_key " + q(f.ecKey) + "; ssl_certificate " + q(f.rsaCert) + "; ssl_certificate_key " + q(f.rsaKey) + ";"
}

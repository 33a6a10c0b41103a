package emulator

import (
	"crypto/tls"
	"strconv"
	"strings"
)

// TLSProbe asks a real-nginx engine to open a request's connection with a
// TLS handshake limited to some versions and cipher suites, and to report
// what the server negotiated or the alert it sent (RequestResult.TLS).
// The emulator models no handshake: it ignores the field, and rules that
// use it make no claim on the emulator's answer (requestCheck.realOnly).
// Versions and suites are crypto/tls's, so Go's client can offer no NULL,
// anonymous, export, single DES or MD5 suite; OpenSSLCiphers reaches the
// NULL and anonymous ones through the openssl command instead.
type TLSProbe struct {
	// MinVersion and MaxVersion bound the versions offered
	// (tls.VersionTLS10 ...); 0 leaves Go's default.
	MinVersion, MaxVersion uint16
	// CipherSuites, when set, are the only TLS 1.0-1.2 suites offered,
	// insecure ones included (tls.InsecureCipherSuites).
	CipherSuites []uint16
	// OpenSSLCiphers, when set, are words of the user's cipher string
	// that name NULL or anonymous TLS 1.0-1.2 suites: a family (aNULL,
	// eNULL, NULL, ADH, AECDH) or a suite's OpenSSL name. A real engine
	// offers the suites OpenSSL's own list has for them, with the
	// openssl s_client command, as Go cannot; CipherSuites is then unused.
	// The suite reported is OpenSSL's name ("AECDH-AES128-SHA").
	OpenSSLCiphers []string
}

// String describes the probe: "TLS 1.0-1.1", "TLS 1.2 with
// TLS_RSA_WITH_RC4_128_SHA and 2 more".
func (p *TLSProbe) String() string {
	if p == nil {
		return "plain"
	}
	s := "TLS"
	switch {
	case p.MinVersion == 0 && p.MaxVersion == 0:
	case p.MinVersion == p.MaxVersion:
		s = tls.VersionName(p.MinVersion)
	default:
		lo, hi := "1.2", "1.3" // Go's client defaults
		if p.MinVersion != 0 {
			lo = strings.TrimPrefix(tls.VersionName(p.MinVersion), "TLS ")
		}
		if p.MaxVersion != 0 {
			hi = strings.TrimPrefix(tls.VersionName(p.MaxVersion), "TLS ")
		}
		s = "TLS " + lo + "-" + hi
	}
	if n := len(p.OpenSSLCiphers); n > 0 {
		s += " with OpenSSL's " + strings.Join(p.OpenSSLCiphers[:min(n, 3)], ":")
		if n > 3 {
			s += " and " + strconv.Itoa(n-3) + " more"
		}
		return s
	}
	switch n := len(p.CipherSuites); {
	case n == 1:
		s += " with " + tls.CipherSuiteName(p.CipherSuites[0])
	case n > 1:
		s += " with " + tls.CipherSuiteName(p.CipherSuites[0]) + " and " + strconv.Itoa(n-1) + " more"
	}
	return s
}

// TLSOutcome is what a TLS handshake ended with: the negotiated version and
// suite, or the error (a server's alert reads "remote error: tls: ...").
type TLSOutcome struct {
	Version     string `json:"version,omitempty"`      // "TLS 1.0"
	CipherSuite string `json:"cipher_suite,omitempty"` // crypto/tls's name
	Err         string `json:"error,omitempty"`
}

// OK reports whether the handshake completed.
func (o *TLSOutcome) OK() bool { return o != nil && o.Err == "" && o.Version != "" }

func (o *TLSOutcome) String() string {
	switch {
	case o == nil:
		return "no handshake"
	case o.OK():
		return o.Version + " " + o.CipherSuite
	default:
		return "refused (" + o.Err + ")"
	}
}

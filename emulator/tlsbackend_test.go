package emulator

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"math/big"
	"strings"
	"testing"
	"time"
)

// TestTLSBackendLimits: a TLS backend accepts only the versions LimitTLS
// sets, records each handshake, and serves HTTP once one completes.
func TestTLSBackendLimits(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	b, err := StartTLSBackend(context.Background(), Policy{}, []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	get := func(v uint16) error {
		c, err := tls.Dial("tcp", b.Addr(), &tls.Config{InsecureSkipVerify: true, MinVersion: v, MaxVersion: v})
		if err != nil {
			return err
		}
		defer c.Close()
		if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")); err != nil {
			return err
		}
		line, err := bufio.NewReader(c).ReadString('\n')
		if err == nil && !strings.HasPrefix(line, "HTTP/1.1 200") {
			t.Errorf("TLS %x: answer %q", v, line)
		}
		return err
	}
	b.LimitTLS(&TLSProbe{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10})
	if err := get(tls.VersionTLS12); err == nil {
		t.Error("a TLS 1.2 client got through a TLS 1.0-only backend")
	}
	if err := get(tls.VersionTLS10); err != nil {
		t.Errorf("TLS 1.0 client: %v", err)
	}
	for b.HandshakesPending() > 0 {
		time.Sleep(time.Millisecond)
	}
	hs, n := b.Handshakes(0)
	if n != 2 || hs[0].OK() || !strings.Contains(hs[0].Err, "unsupported versions") || hs[1].Version != "TLS 1.0" {
		t.Errorf("handshakes %+v, want a refused TLS 1.2 then TLS 1.0", hs)
	}
	if st := b.Stats(); st.Requests != 1 {
		t.Errorf("requests %d, want 1", st.Requests)
	}
}

package nginxengine

import (
	"errors"
	"reflect"
	"testing"
)

// TestOpenSSLCipherList: the configuration's words become only names from
// OpenSSL's list; families select by its columns, and anything else,
// a shell-looking word included, selects nothing.
func TestOpenSSLCipherList(t *testing.T) {
	suites := []opensslSuite{
		{name: "ADH-AES128-SHA", kx: "DH", au: "None", enc: "AES(128)"},
		{name: "AECDH-AES128-SHA", kx: "ECDH", au: "None", enc: "AES(128)"},
		{name: "AECDH-NULL-SHA", kx: "ECDH", au: "None", enc: "None"},
		{name: "NULL-SHA256", kx: "RSA", au: "RSA", enc: "None"},
	}
	for _, c := range []struct {
		words, want []string
	}{
		{[]string{"aNULL"}, []string{"ADH-AES128-SHA", "AECDH-AES128-SHA", "AECDH-NULL-SHA"}},
		{[]string{"eNULL"}, []string{"AECDH-NULL-SHA", "NULL-SHA256"}},
		{[]string{"ADH", "AECDH"}, []string{"ADH-AES128-SHA", "AECDH-AES128-SHA", "AECDH-NULL-SHA"}},
		{[]string{"null-sha256", "AECDH-NULL-SHA"}, []string{"NULL-SHA256", "AECDH-NULL-SHA"}},
		{[]string{"$(touch x)", "NULL-SHA256;id", "RC4-SHA"}, nil},
	} {
		if got := opensslCipherList(c.words, suites); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: got %q, want %q", c.words, got, c.want)
		}
	}
}

// TestOpenSSLOutcome reads s_client's output as OpenSSL 3.0 prints it.
func TestOpenSSLOutcome(t *testing.T) {
	ok := "CONNECTED(00000003)\n---\nNew, TLSv1.0, Cipher is AECDH-AES128-SHA\nSSL-Session:\n    Protocol  : TLSv1.2\n    Cipher    : AECDH-AES128-SHA\n"
	refused := "40F7:error:0A000410:SSL routines:ssl3_read_bytes:sslv3 alert handshake failure:../ssl/record/rec_layer_s3.c:1584:SSL alert number 40\n"
	for _, c := range []struct {
		stdout, stderr, want string
	}{
		{ok, "", "TLS 1.2 AECDH-AES128-SHA"},
		{"CONNECTED(00000003)\n---\nNew, (NONE), Cipher is (NONE)\n", refused, "refused (remote error: tls: handshake failure)"},
		{"", "connect:errno=111\n", "refused (openssl s_client negotiated no suite: connect:errno=111)"},
	} {
		if got := opensslOutcome(c.stdout, c.stderr, errors.New("exit status 1")).String(); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
}

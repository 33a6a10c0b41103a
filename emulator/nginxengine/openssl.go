package nginxengine

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"time"

	"github.com/ngxlint/ngxlint/emulator"
)

// errNoOpenSSL is why a probe of NULL or anonymous suites cannot run: the
// openssl command that offers them is not installed.
var errNoOpenSSL = errors.New("the openssl command, which offers the NULL and anonymous suites Go's TLS cannot, is not installed")

// opensslTimeout bounds each openssl run: a handshake on loopback takes
// milliseconds, and a stuck one must not hold the engine's run.
const opensslTimeout = 5 * time.Second

// opensslBinary finds the openssl command: Debian's path first, so that a
// PATH entry cannot stand in for it, then PATH.
func opensslBinary() (string, error) {
	const debian = "/usr/bin/openssl"
	if fi, err := os.Stat(debian); err == nil && !fi.IsDir() {
		return debian, nil
	}
	p, err := exec.LookPath("openssl")
	if err != nil {
		return "", errNoOpenSSL
	}
	return p, nil
}

// opensslSuite is one line of "openssl ciphers -V": a suite's name and the
// key exchange, authentication and encryption columns its families are
// read from.
type opensslSuite struct{ name, version, kx, au, enc string }

// reSuiteName is what a suite name from OpenSSL's list may look like; a
// name is checked against it before it goes on a command line, so that
// nothing unexpected reaches openssl's -cipher even from its own output.
var reSuiteName = regexp.MustCompile(`^[A-Za-z0-9+-]+$`)

// opensslNullSuites lists the NULL and anonymous suites this OpenSSL has
// (at security level 0, where they are all allowed), TLS 1.3's left out:
// -cipher does not set them and they are neither NULL nor anonymous.
func opensslNullSuites(ctx context.Context, bin string) ([]opensslSuite, error) {
	ctx, cancel := context.WithTimeout(ctx, opensslTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "ciphers", "-V", "aNULL:eNULL:@SECLEVEL=0").Output()
	if err != nil {
		return nil, fmt.Errorf("openssl ciphers: %w", err)
	}
	var suites []opensslSuite
	for _, line := range strings.Split(string(out), "\n") {
		// "0xC0,0x18 - AECDH-AES128-SHA TLSv1 Kx=ECDH Au=None Enc=AES(128) Mac=SHA1"
		f := strings.Fields(line)
		if len(f) < 7 || f[1] != "-" || f[3] == "TLSv1.3" || !reSuiteName.MatchString(f[2]) {
			continue
		}
		s := opensslSuite{name: f[2], version: f[3]}
		for _, col := range f[4:] {
			k, v, _ := strings.Cut(col, "=")
			switch k {
			case "Kx":
				s.kx = v
			case "Au":
				s.au = v
			case "Enc":
				s.enc = v
			}
		}
		suites = append(suites, s)
	}
	return suites, nil
}

// opensslCipherList maps the probe's words onto OpenSSL's own list: a
// family word selects the suites whose columns match it, and a suite name
// only itself. The words come from the user's configuration, so only
// names read from OpenSSL's list come out; an empty list means none of
// the words names a NULL or anonymous suite this OpenSSL has.
func opensslCipherList(words []string, suites []opensslSuite) []string {
	var out []string
	seen := map[string]bool{}
	for _, w := range words {
		u := strings.ToUpper(strings.TrimPrefix(w, "+"))
		for _, s := range suites {
			var match bool
			switch u {
			case "ANULL":
				match = s.au == "None"
			case "ENULL", "NULL":
				match = s.enc == "None"
			case "ADH":
				match = s.au == "None" && s.kx == "DH"
			case "AECDH":
				match = s.au == "None" && s.kx == "ECDH"
			default:
				match = strings.EqualFold(w, s.name)
			}
			if match && !seen[s.name] {
				seen[s.name] = true
				out = append(out, s.name)
			}
		}
	}
	return out
}

// opensslVersionFlag is s_client's flag for the probe's versions: one
// version when the probe asks for exactly one, else no TLS 1.3, whose
// suites -cipher does not limit.
func opensslVersionFlag(p *emulator.TLSProbe) string {
	if p.MinVersion != 0 && p.MinVersion == p.MaxVersion {
		switch p.MinVersion {
		case tls.VersionTLS10:
			return "-tls1"
		case tls.VersionTLS11:
			return "-tls1_1"
		case tls.VersionTLS12:
			return "-tls1_2"
		}
	}
	return "-no_tls1_3"
}

var (
	// reNewCipher is s_client's summary line: "New, TLSv1.0, Cipher is
	// AECDH-AES128-SHA" (the version there is the suite's, not the
	// connection's) or "Cipher is (NONE)" after a failed handshake.
	reNewCipher = regexp.MustCompile(`(?m)^New, \S+, Cipher is (\S+)`)
	// reProtocol is the session's version: "    Protocol  : TLSv1.2".
	reProtocol = regexp.MustCompile(`(?m)^\s+Protocol\s*: (\S+)`)
	// reAlert is an alert the server sent, as OpenSSL's error queue
	// prints it: "...:ssl3_read_bytes:sslv3 alert handshake failure:...".
	reAlert = regexp.MustCompile(`(?:sslv3|tlsv1) alert ([a-z ]+?)(?::|$)`)
)

// opensslVersions maps OpenSSL's version names to crypto/tls's, so that
// the outcome reads as the Go probe's does.
var opensslVersions = map[string]uint16{"TLSv1": tls.VersionTLS10, "TLSv1.1": tls.VersionTLS11, "TLSv1.2": tls.VersionTLS12, "TLSv1.3": tls.VersionTLS13}

// opensslHandshake offers the probe's NULL and anonymous suites to nginx's
// listener at addr (the engine's loopback port) with openssl s_client and
// returns how the handshake ended. Only the handshake is done: stdin is
// empty, so s_client closes the connection once it is up. The argv holds
// no word of the configuration that is not a suite name from OpenSSL's
// own list; @SECLEVEL=0 keeps the client from refusing the suites itself.
func opensslHandshake(ctx context.Context, addr, host string, p *emulator.TLSProbe) (*emulator.TLSOutcome, error) {
	bin, err := opensslBinary()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", emulator.ErrNotReplayable, err)
	}
	suites, err := opensslNullSuites(ctx, bin)
	if err != nil {
		return nil, err
	}
	names := opensslCipherList(p.OpenSSLCiphers, suites)
	if len(names) == 0 {
		return nil, fmt.Errorf("%w: none of %s names a NULL or anonymous suite that %s has", emulator.ErrNotReplayable, strings.Join(p.OpenSSLCiphers, ":"), bin)
	}
	args := []string{"s_client", "-connect", addr, opensslVersionFlag(p), "-cipher", strings.Join(names, ":") + ":@SECLEVEL=0"}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	// SNI carries the request's host, as in clientTLS, when it is a name
	// s_client takes as one argument.
	if net.ParseIP(strings.Trim(host, "[]")) == nil && reSuiteName.MatchString(strings.ReplaceAll(host, ".", "-")) {
		args = append(args, "-servername", host)
	}
	ctx, cancel := context.WithTimeout(ctx, opensslTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(""), &stdout, &stderr
	runErr := cmd.Run()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("openssl s_client to %s: %w", addr, ctx.Err())
	}
	return opensslOutcome(stdout.String(), stderr.String(), runErr), nil
}

// opensslOutcome reads s_client's output: the negotiated suite and
// version, or the server's alert written as Go's client writes it
// ("remote error: tls: handshake failure"), so that rules read both
// probes' refusals alike.
func opensslOutcome(stdout, stderr string, runErr error) *emulator.TLSOutcome {
	if m := reNewCipher.FindStringSubmatch(stdout); m != nil && m[1] != "(NONE)" {
		o := &emulator.TLSOutcome{CipherSuite: m[1], Version: "TLS"}
		if v := reProtocol.FindStringSubmatch(stdout); v != nil {
			if id, ok := opensslVersions[v[1]]; ok {
				o.Version = tls.VersionName(id)
			}
		}
		return o
	}
	if m := reAlert.FindStringSubmatch(stderr); m != nil {
		return &emulator.TLSOutcome{Err: "remote error: tls: " + m[1]}
	}
	why := "openssl s_client negotiated no suite"
	if line := firstLine(strings.TrimSpace(stderr)); line != "" {
		why += ": " + line
	} else if runErr != nil {
		why += ": " + runErr.Error()
	}
	return &emulator.TLSOutcome{Err: why}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

package emulator

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// This file holds the test helpers that watch what the emulator does to the
// outside world: which sockets the process has open and where they point
// (read from /proc, so nothing is ever dialled to find out), and whether
// every goroutine a run started has ended.

// procSocket is one TCP socket of this process, as /proc/self/net/tcp{,6}
// lists it.
type procSocket struct {
	local, remote net.IP
	state         string
}

// ownSockets lists the TCP sockets this process holds: the socket inodes
// of /proc/self/fd matched against /proc/self/net/tcp and tcp6 (which list
// the whole network namespace). It returns an error where /proc is absent.
func ownSockets() ([]procSocket, error) {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil, err
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		l, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		if in, ok := strings.CutPrefix(l, "socket:["); ok {
			inodes[strings.TrimSuffix(in, "]")] = true
		}
	}
	var out []procSocket
	for _, table := range []string{"/proc/self/net/tcp", "/proc/self/net/tcp6"} {
		f, err := os.Open(table)
		if err != nil {
			if os.IsNotExist(err) && strings.HasSuffix(table, "6") {
				continue // no IPv6 in this kernel
			}
			return nil, err
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || !inodes[fields[9]] {
				continue
			}
			loc, err1 := procAddr(fields[1])
			rem, err2 := procAddr(fields[2])
			if err1 != nil || err2 != nil {
				f.Close()
				return nil, fmt.Errorf("%s: bad line %q", table, sc.Text())
			}
			out = append(out, procSocket{local: loc, remote: rem, state: fields[3]})
		}
		f.Close()
	}
	return out, nil
}

// procAddr decodes "0100007F:1F90": the IP as the kernel's 32-bit words in
// host (little-endian) byte order, then the port.
func procAddr(s string) (net.IP, error) {
	h, _, ok := strings.Cut(s, ":")
	if !ok {
		return nil, fmt.Errorf("no port in %q", s)
	}
	b, err := hex.DecodeString(h)
	if err != nil || (len(b) != 4 && len(b) != 16) {
		return nil, fmt.Errorf("bad address %q", s)
	}
	for i := 0; i < len(b); i += 4 {
		b[i], b[i+1], b[i+2], b[i+3] = b[i+3], b[i+2], b[i+1], b[i]
	}
	return net.IP(b), nil
}

// foreignSockets returns this process's sockets whose remote end is neither
// unset (listeners) nor loopback.
func foreignSockets() ([]procSocket, error) {
	socks, err := ownSockets()
	if err != nil {
		return nil, err
	}
	var bad []procSocket
	for _, s := range socks {
		if s.remote.IsUnspecified() || s.remote.IsLoopback() {
			continue
		}
		bad = append(bad, s)
	}
	return bad, nil
}

// settleGoroutines waits (up to about two seconds) for the goroutine count
// to come back to limit and returns the last count.
func settleGoroutines(limit int) int {
	n := runtime.NumGoroutine()
	for i := 0; i < 400 && n > limit; i++ {
		time.Sleep(5 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	return n
}

// checkGoroutines fails t when more goroutines run than before.
func checkGoroutines(t testing.TB, before int) {
	t.Helper()
	if after := settleGoroutines(before); after > before {
		buf := make([]byte, 1<<16)
		t.Errorf("goroutine leak: %d before, %d after\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
}

func TestProcAddr(t *testing.T) {
	for in, want := range map[string]string{
		"0100007F:1F90":                         "127.0.0.1",
		"08080808:0035":                         "8.8.8.8",
		"00000000000000000000000001000000:0050": "::1",
		"B80D0120000000000000000001000000:01BB": "2001:db8::1",
	} {
		ip, err := procAddr(in)
		if err != nil || !ip.Equal(net.ParseIP(want)) {
			t.Errorf("procAddr(%q) = %v, %v; want %s", in, ip, err, want)
		}
	}
}

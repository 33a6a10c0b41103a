package emulator

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
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
	inode         string
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
			out = append(out, procSocket{local: loc, remote: rem, state: fields[3], inode: fields[9]})
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

// TestNoForeignConnections runs scenarios whose configuration and balancer
// code name public, private, IPv6 and named peers, and watches the
// process's sockets while they run: every connection must be to
// 127.0.0.0/8 (the emulator's own listeners), and every listener and
// goroutine must be gone afterwards. Nothing here dials anything itself.
func TestNoForeignConnections(t *testing.T) {
	if _, err := ownSockets(); err != nil {
		t.Skipf("cannot read /proc: %v", err)
	}
	before := runtime.NumGoroutine()
	socketsBefore, _ := ownSockets()
	peers := []string{"8.8.8.8", "10.0.0.1:8080", "192.168.1.1", "[2001:db8::1]:443", "example.com", "1.1.1.1:53", "169.254.169.254"}
	luaCode := `
local b = require "ngx.balancer"
local peers = {
  {"8.8.8.8", 53}, {"10.0.0.1", 8080}, {"192.168.1.1", 80}, {"2001:db8::1", 443},
  {"[2001:db8::1]", 443}, {"example.com", 80}, {"169.254.169.254", 80}, {"1.1.1.1:53"},
}
ngx.ctx.i = (ngx.ctx.i or 0) + 1
local p = peers[(ngx.ctx.i - 1) % #peers + 1]
local ok, err = b.set_current_peer(p[1], p[2])
if not ok then ngx.log(ngx.ERR, "set_current_peer: ", err) end
b.set_more_tries(1)
`
	var servers []Server
	for _, p := range peers {
		servers = append(servers, Server{Addr: p})
	}
	var configs []Config
	for _, pol := range []string{"ok", "close", "reset", "status:502", "hang"} {
		c := luaConfig(prof(t, "1.22.1", "0.10.23", ""), luaCode, pol, 3)
		c.Upstream.Servers = servers
		c.Backends = map[string]Policy{"8.8.8.8": {Kind: PolicyHang}}
		c.Location.NextUpstream = []string{"error", "timeout", "http_502"}
		c.Timeout = 500 * time.Millisecond
		configs = append(configs, c)
		plain := rrConfig(prof(t, "1.22.1", "", ""), servers, map[string]string{"example.com": pol}, 3)
		plain.Location.NextUpstream = []string{"error", "timeout", "http_502"}
		plain.Timeout = 500 * time.Millisecond
		configs = append(configs, plain)
	}

	var mu sync.Mutex
	var dialled []string
	var foreign []procSocket
	loopSeen := 0 // connected loopback sockets seen: the watch works
	// memSeen: sockets seen while the in-memory transport ran (none may
	// exist: it opens no socket at all).
	memSeen := 0
	memPhase := false
	// leftover are the sockets still open when the memory half starts
	// (a TCP run's connection whose close is still on its way on a loaded
	// machine): the memory transport did not open them.
	leftover := map[string]bool{}
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			socks, err := ownSockets()
			if err != nil {
				continue
			}
			mu.Lock()
			for _, s := range socks {
				switch {
				case s.remote.IsUnspecified():
				case memPhase && !leftover[s.inode]:
					memSeen++
				case memPhase:
				case s.remote.IsLoopback():
					loopSeen++
				default:
					foreign = append(foreign, s)
				}
			}
			mu.Unlock()
		}
	}()
	// Loopback TCP first (the /proc watch must see its sockets), then the
	// in-memory transport, which must open no socket at all.
	runs := make([]Config, 0, 2*len(configs))
	for _, c := range configs {
		c.Transport = TransportTCP
		runs = append(runs, c)
	}
	// The memory half runs the first policy only: the runs mostly wait
	// out client timeouts, and whether a socket exists does not depend on
	// the policy.
	tcpRuns := len(runs)
	runs = append(runs, configs[:2]...)
	for i, c := range runs {
		if i == tcpRuns {
			// Let the watch finish its pass over the TCP runs' sockets
			// (closed ones may linger a moment) before it counts sockets
			// against the memory runs.
			for j := 0; j < 200; j++ {
				if cur, _ := ownSockets(); len(cur) <= len(socketsBefore) {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			cur, _ := ownSockets()
			mu.Lock()
			for _, s := range cur {
				leftover[s.inode] = true
			}
			memPhase = true
			mu.Unlock()
		}
		c.observeDial = func(a string) {
			mu.Lock()
			dialled = append(dialled, a)
			mu.Unlock()
		}
		res, err := Run(context.Background(), c)
		if err != nil {
			t.Fatalf("run %d (%s): %v", i, c.Transport, err)
		}
		if len(res.Backends) == 0 {
			t.Errorf("run %d (%s): no backends used", i, c.Transport)
		}
	}
	close(stop)
	<-watched
	if len(foreign) > 0 {
		t.Errorf("sockets to non-loopback addresses: %+v", foreign)
	}
	if len(dialled) == 0 {
		t.Fatal("no dial observed")
	}
	for _, a := range dialled {
		if !isLoopbackAddr(a) {
			t.Errorf("dialled %s", a)
		}
	}
	if loopSeen == 0 {
		t.Error("the /proc watch saw no loopback connection: it cannot see the emulator's sockets")
	}
	if memSeen > 0 {
		t.Errorf("%d socket sightings while the in-memory transport ran", memSeen)
	}
	t.Logf("%d dials, all to 127.0.0.1; %d loopback socket sightings in /proc", len(dialled), loopSeen)
	checkGoroutines(t, before)
	// Every socket the runs opened is closed: the set of open sockets is
	// back to what it was (TIME_WAIT entries have no descriptor).
	for i := 0; i < 200; i++ {
		after, _ := ownSockets()
		if len(after) <= len(socketsBefore) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	after, _ := ownSockets()
	t.Errorf("%d sockets open before, %d after: %+v", len(socketsBefore), len(after), after)
}

// TestDialGuard: the dial helper refuses anything that is not an IPv4
// loopback literal, before any socket exists.
func TestDialGuard(t *testing.T) {
	r := &run{}
	for _, a := range []string{"8.8.8.8:80", "10.0.0.1:80", "192.168.1.1:80", "[2001:db8::1]:443", "[::1]:80", "example.com:80", "localhost:80", "0.0.0.0:80", "127.0.0.1"} {
		if _, err := r.dial(context.Background(), time.Second, a); err == nil || !strings.Contains(err.Error(), "refusing to dial") {
			t.Errorf("dial %s: %v, want a refusal", a, err)
		}
	}
}

package nginxengine

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"golang.org/x/tools/txtar"

	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/emulator/fromconf"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// streamModule is Debian's libnginx-mod-stream.
const streamModule = "/usr/lib/nginx/modules/ngx_stream_module.so"

// streamCase is one scenario of testdata/streamdiff.
type streamCase struct {
	name     string
	conf     string
	backends map[string]emulator.Policy
	def      emulator.Policy
	sessions int
	timeout  time.Duration
	// expect is what real nginx was seen to do, per session: "CLIENT
	// SESSION ATTEMPTS" ("502 closed 3" reads: $status 502, the client
	// saw the connection closed, 3 upstream attempts).
	expect []string
}

func loadStreamCases(t *testing.T) []streamCase {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join("testdata", "streamdiff", "*.txtar"))
	if len(paths) == 0 {
		t.Fatal("no scenarios in testdata/streamdiff")
	}
	var out []streamCase
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		ar := txtar.Parse(data)
		c := streamCase{name: strings.TrimSuffix(filepath.Base(p), ".txtar"), backends: map[string]emulator.Policy{}, sessions: 1, timeout: 2 * time.Second}
		for _, f := range ar.Files {
			if f.Name == "nginx.conf" {
				c.conf = string(f.Data)
			}
		}
		sc := bufio.NewScanner(strings.NewReader(string(ar.Comment)))
		for sc.Scan() {
			key, val, ok := strings.Cut(sc.Text(), ":")
			if !ok || strings.ContainsAny(key, " \t") {
				continue
			}
			val = strings.TrimSpace(val)
			var err error
			switch key {
			case "backend":
				a, pol, _ := strings.Cut(val, "=")
				c.backends[a], err = emulator.ParsePolicy(pol)
			case "default-backend":
				c.def, err = emulator.ParsePolicy(val)
			case "sessions":
				c.sessions, err = strconv.Atoi(val)
			case "timeout":
				c.timeout, err = time.ParseDuration(val)
			case "expect-nginx":
				for _, e := range strings.Split(val, ";") {
					c.expect = append(c.expect, strings.TrimSpace(e))
				}
			}
			if err != nil {
				t.Fatalf("%s: %s: %v", p, key, err)
			}
		}
		if c.conf == "" {
			t.Fatalf("%s: no nginx.conf", p)
		}
		out = append(out, c)
	}
	return out
}

// streamSession is what one engine observed of one session.
type streamSession struct {
	client   string
	session  int
	peers    []string // config addresses, one per attempt
	conns    int
	requests int
}

func (s streamSession) String() string {
	return fmt.Sprintf("client %s, $status %d, attempts %v, %d upstream connections, %d upstream requests", s.client, s.session, s.peers, s.conns, s.requests)
}

// TestStreamDifferential runs every scenario of testdata/streamdiff through
// Debian's nginx with libnginx-mod-stream and through the emulator (built
// from the same configuration by nginxconf and fromconf), and requires
// the same observation for every session: what the client read, the
// session's $status, the peers tried in order ($upstream_addr), and the
// connections and requests each backend counted.
func TestStreamDifferential(t *testing.T) {
	bin := realNginx(t).Path
	if _, err := os.Stat(streamModule); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but %s is missing (install libnginx-mod-stream)", streamModule)
		}
		t.Skipf("skipping: %s is missing (apt-get install libnginx-mod-stream)", streamModule)
	}
	for _, c := range loadStreamCases(t) {
		t.Run(c.name, func(t *testing.T) {
			real, conf, byReal := runStreamNginx(t, bin, c)
			// The emulator reads the same configuration text nginx ran,
			// with the backends' real addresses: hash consistent places
			// its points by the server names as written.
			emu := runStreamEmulator(t, c, conf, byReal)
			if len(real) != len(emu) {
				t.Fatalf("nginx observed %d sessions, the emulator %d", len(real), len(emu))
			}
			for i := range real {
				t.Logf("session %d: nginx: %s", i+1, real[i])
				if real[i].String() != emu[i].String() {
					t.Errorf("session %d differs:\n  nginx:    %s\n  emulator: %s", i+1, real[i], emu[i])
				}
				if i < len(c.expect) {
					got := fmt.Sprintf("%d %s %d", real[i].session, real[i].client, len(real[i].peers))
					if got != c.expect[i] {
						t.Errorf("session %d: nginx did %q, the scenario recorded %q", i+1, got, c.expect[i])
					}
				}
			}
		})
	}
}

func runStreamEmulator(t *testing.T, c streamCase, conf string, byReal map[string]string) []streamSession {
	t.Helper()
	cfg := nginxconf.Load(fstest.MapFS{"nginx.conf": {Data: []byte(conf)}}, "nginx.conf", nginxconf.Options{Prefix: "/"})
	if err := cfg.Err(); err != nil {
		t.Fatal(err)
	}
	tg, err := fromconf.FindStream(nginxconf.BuildModel(cfg), "", "")
	if err != nil {
		t.Fatal(err)
	}
	ec, err := fromconf.Build(tg)
	if err != nil {
		t.Fatal(err)
	}
	ec.Backends = map[string]emulator.Policy{}
	for real, key := range byReal {
		if p, ok := c.backends[key]; ok {
			ec.Backends[real] = p
		}
	}
	ec.DefaultPolicy, ec.Timeout = c.def, c.timeout
	ec.Transport = emulator.TransportTCP
	for range c.sessions {
		ec.Requests = append(ec.Requests, emulator.Request{})
	}
	res, err := emulator.Run(context.Background(), ec)
	if err != nil {
		t.Fatal(err)
	}
	var out []streamSession
	for _, q := range res.Requests {
		s := streamSession{client: q.Status.String(), session: q.Session, conns: q.UpstreamConnections, requests: q.UpstreamRequests}
		for _, a := range q.Attempts {
			if k, ok := byReal[a.Peer]; ok {
				s.peers = append(s.peers, k)
			} else {
				s.peers = append(s.peers, a.Peer)
			}
		}
		out = append(out, s)
	}
	return out
}

var (
	reServerAddr = regexp.MustCompile(`(?m)^(\s*server\s+)([^\s;{]+)([\s;])`)
	reListen     = regexp.MustCompile(`(?m)^(\s*listen\s+)(\d+)(\s*;)`)
)

// runStreamNginx starts nginx on the scenario with every upstream server
// address mapped to a loopback emulated backend and the listener on a
// free loopback port, and observes each session.
func runStreamNginx(t *testing.T, bin string, c streamCase) (sessions []streamSession, conf string, byReal map[string]string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	// Backends, one per distinct server address, keyed as the emulator
	// keys them.
	backends := map[string]*emulator.Backend{}
	byReal = map[string]string{}
	conf = reServerAddr.ReplaceAllStringFunc(c.conf, func(m string) string {
		g := reServerAddr.FindStringSubmatch(m)
		key := emulator.NormAddr(g[2], 80)
		b := backends[key]
		if b == nil {
			pol := c.def
			if p, ok := c.backends[g[2]]; ok {
				pol = p
			}
			var err error
			if b, err = emulator.StartBackend(ctx, pol); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { b.Close() })
			backends[key] = b
			byReal[b.Addr()] = key
		}
		return g[1] + b.Addr() + g[3]
	})
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	front := l.Addr().String()
	l.Close()
	conf = reListen.ReplaceAllString(conf, "${1}"+front+"${3}")
	logFile := filepath.Join(dir, "stream.log")
	logged := strings.Replace(conf, "stream {", "stream {\n    log_format diff '$status|$upstream_addr';\n    access_log "+logFile+" diff;", 1)
	main := fmt.Sprintf("load_module %s;\ndaemon off;\nmaster_process off;\nworker_processes 1;\npid %s/nginx.pid;\nerror_log %s/error.log info;\nevents { worker_connections 64; }\n%s",
		streamModule, dir, dir, logged)
	// Containment: every address nginx will listen on or connect to is a
	// loopback one this test started.
	parsed := nginxconf.Load(fstest.MapFS{"nginx.conf": {Data: []byte(main)}}, "nginx.conf", nginxconf.Options{Prefix: "/"})
	parsed.Walk(func(d *nginxconf.Directive, parents []*nginxconf.Directive) bool {
		if (d.Name == "server" && !d.HasBlock) || d.Name == "listen" || d.Name == "proxy_pass" {
			host, _, err := net.SplitHostPort(d.Arg(0))
			if d.Name == "proxy_pass" && err != nil {
				return true // an upstream name
			}
			if err != nil || host != "127.0.0.1" {
				t.Fatalf("scenario would reach %q (%s %s): only loopback is allowed", d.Arg(0), d.Name, d.Pos)
			}
		}
		return true
	})
	confFile := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confFile, []byte(main), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, bin, "-p", dir, "-c", confFile)
	cmd.Env = nginxEnv(os.Environ())
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		// Ready when the port is taken. A probe connection would be a
		// session of its own and move the balancer.
		probe, err := net.Listen("tcp4", front)
		if err != nil {
			break
		}
		probe.Close()
		if time.Now().After(deadline) {
			el, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx did not listen on %s: %s %s", front, stderr.String(), el)
		}
		time.Sleep(20 * time.Millisecond)
	}
	logLines := func() []string {
		data, _ := os.ReadFile(logFile)
		return strings.Split(strings.TrimSpace(string(data)), "\n")
	}
	waitLines := func(n int) []string {
		end := time.Now().Add(c.timeout + 3*time.Second)
		for {
			ls := logLines()
			if len(ls) >= n && ls[0] != "" || time.Now().After(end) {
				return ls
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	seen := 0
	snapshot := func() (conns, reqs int) {
		for _, b := range backends {
			s := b.Stats()
			conns += s.Connections
			reqs += s.Requests
		}
		return
	}
	for range c.sessions {
		c0, r0 := snapshot()
		st, err := emulator.StreamSession(front, emulator.Request{}, c.timeout)
		if err != nil {
			t.Fatal(err)
		}
		ls := waitLines(seen + 1)
		if len(ls) <= seen {
			t.Fatalf("nginx logged no session end (log: %q)", ls)
		}
		line := ls[seen]
		seen++
		status, addrs, _ := strings.Cut(line, "|")
		s := streamSession{client: st.String()}
		s.session, _ = strconv.Atoi(status)
		if addrs != "" && addrs != "-" {
			for _, a := range strings.Split(addrs, ", ") {
				if k, ok := byReal[a]; ok {
					s.peers = append(s.peers, k)
				} else {
					s.peers = append(s.peers, a)
				}
			}
		}
		settleStream(snapshot)
		c1, r1 := snapshot()
		s.conns, s.requests = c1-c0, r1-r0
		sessions = append(sessions, s)
	}
	return sessions, conf, byReal
}

// settleStream waits until the backends' counters stop moving.
func settleStream(snapshot func() (int, int)) {
	c, r := snapshot()
	for range 20 {
		time.Sleep(5 * time.Millisecond)
		c2, r2 := snapshot()
		if c2 == c && r2 == r {
			return
		}
		c, r = c2, r2
	}
}

// TestStreamUDPNoRetry checks on Debian's nginx what NGX2104 says of UDP
// stream servers: with a first server that has no listener and
// proxy_next_upstream_tries 2, a datagram session is proxied to that
// server alone ($upstream_addr names one peer) and never moved to the
// second, which answers. connect() on a datagram socket does not fail;
// the refusal comes back as a recv() error after the session is set up.
func TestStreamUDPNoRetry(t *testing.T) {
	bin := realNginx(t).Path
	if _, err := os.Stat(streamModule); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but %s is missing (install libnginx-mod-stream)", streamModule)
		}
		t.Skipf("skipping: %s is missing", streamModule)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	// The answering server, and a port with nothing bound (bound and
	// released).
	answer, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer answer.Close()
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := answer.ReadFrom(buf)
			if err != nil {
				return
			}
			answer.WriteTo(append([]byte("pong:"), buf[:n]...), from)
		}
	}()
	freeUDP := func() string {
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().String()
	}
	dead, front := freeUDP(), freeUDP()
	logFile := filepath.Join(dir, "stream.log")
	conf := fmt.Sprintf(`load_module %s;
daemon off;
master_process off;
worker_processes 1;
pid %s/nginx.pid;
error_log %s/error.log info;
events { worker_connections 64; }
stream {
    log_format diff '$status|$upstream_addr';
    access_log %s diff;
    upstream dns {
        server %s;
        server %s;
    }
    server {
        listen %s udp;
        proxy_timeout 300ms;
        proxy_next_upstream_tries 2;
        proxy_pass dns;
    }
}
`, streamModule, dir, dir, logFile, dead, answer.LocalAddr(), front)
	confFile := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, bin, "-p", dir, "-c", confFile)
	cmd.Env = nginxEnv(os.Environ())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	for deadline := time.Now().Add(5 * time.Second); ; {
		probe, err := net.ListenPacket("udp4", front)
		if err != nil {
			break // nginx has it
		}
		probe.Close()
		if time.Now().After(deadline) {
			t.Fatal("nginx did not bind the UDP listener")
		}
		time.Sleep(20 * time.Millisecond)
	}
	c, err := net.Dial("udp4", front)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	c.Write([]byte("ping"))
	buf := make([]byte, 64)
	n, _ := c.Read(buf)
	var line string
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		data, _ := os.ReadFile(logFile)
		if line = strings.TrimSpace(string(data)); line != "" {
			break
		}
	}
	if line != "200|"+dead {
		t.Errorf("session logged %q, want one attempt to the dead peer %s (200|%s); the client read %q", line, dead, dead, buf[:n])
	}
	if strings.Contains(string(buf[:n]), "pong") {
		t.Errorf("the answering server was reached: %q", buf[:n])
	}
}

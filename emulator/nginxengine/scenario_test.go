package nginxengine

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"golang.org/x/tools/txtar"

	"github.com/ngxlint/ngxlint/emulator"
)

// diffCase is one scenario of testdata/diff: a txtar archive whose files are
// the configuration tree (nginx.conf is the main file) and whose comment
// holds the scenario header:
//
//	backend: ADDR=POLICY       (repeatable; per-peer policy)
//	default-backend: POLICY    (default ok)
//	requests: GET /a, POST /b  (emulator.ParseRequests syntax)
//	timeout: 1s                (client timeout per request)
//	max-attempts: N            (emulator side; scaled down for looping cases)
//	server: NAME               (server_name to target)
//	expect-nginx: 200 1 1; 502 1 2 8081,8082
//	                           (what real nginx does per request: status or
//	                            "timeout", upstream connections, upstream
//	                            requests, and optionally the peers the
//	                            request reached in order, a bare port
//	                            standing for 127.0.0.1:PORT, "-" for none;
//	                            counts may be omitted for timeout)
//
// Other comment lines are prose.
type diffCase struct {
	name        string
	fsys        fstest.MapFS
	backends    map[string]emulator.Policy
	def         emulator.Policy
	requests    []emulator.Request
	timeout     time.Duration
	maxAttempts int
	server      string
	expect      []expectation
}

type expectation struct {
	timeout     bool
	status      int
	conns, reqs int
	counts      bool // conns/reqs given
	peers       []string
	hasPeers    bool
}

func (e expectation) String() string {
	if e.timeout {
		return "timeout"
	}
	if !e.counts {
		return strconv.Itoa(e.status)
	}
	if e.hasPeers {
		return fmt.Sprintf("%d %d %d %s", e.status, e.conns, e.reqs, strings.Join(e.peers, ","))
	}
	return fmt.Sprintf("%d %d %d", e.status, e.conns, e.reqs)
}

func loadDiffCases(t *testing.T) []diffCase {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "diff", "*.txtar"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no scenarios in testdata/diff (%v)", err)
	}
	var out []diffCase
	for _, p := range paths {
		c, err := parseDiffCase(p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out = append(out, c)
	}
	return out
}

func parseDiffCase(p string) (diffCase, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return diffCase{}, err
	}
	ar := txtar.Parse(data)
	c := diffCase{
		name:     strings.TrimSuffix(filepath.Base(p), ".txtar"),
		fsys:     fstest.MapFS{},
		backends: map[string]emulator.Policy{},
		timeout:  3 * time.Second,
	}
	for _, f := range ar.Files {
		c.fsys[f.Name] = &fstest.MapFile{Data: f.Data}
	}
	if c.fsys["nginx.conf"] == nil {
		return c, fmt.Errorf("no nginx.conf section")
	}
	sc := bufio.NewScanner(strings.NewReader(string(ar.Comment)))
	line := 0
	for sc.Scan() {
		line++
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || strings.ContainsAny(key, " \t") {
			continue
		}
		val = strings.TrimSpace(val)
		bad := func(err error) error { return fmt.Errorf("%s:%d: %s: %w", p, line, key, err) }
		switch key {
		case "backend":
			addr, pol, ok := strings.Cut(val, "=")
			if !ok {
				return c, bad(fmt.Errorf("want ADDR=POLICY"))
			}
			pp, err := emulator.ParsePolicy(pol)
			if err != nil {
				return c, bad(err)
			}
			c.backends[strings.TrimSpace(addr)] = pp
		case "default-backend":
			pp, err := emulator.ParsePolicy(val)
			if err != nil {
				return c, bad(err)
			}
			c.def = pp
		case "requests":
			rs, err := emulator.ParseRequests(val)
			if err != nil {
				return c, bad(err)
			}
			c.requests = rs
		case "timeout":
			d, err := time.ParseDuration(val)
			if err != nil {
				return c, bad(err)
			}
			c.timeout = d
		case "max-attempts":
			n, err := strconv.Atoi(val)
			if err != nil {
				return c, bad(err)
			}
			c.maxAttempts = n
		case "server":
			c.server = val
		case "expect-nginx":
			for _, part := range strings.Split(val, ";") {
				f := strings.Fields(part)
				var e expectation
				switch {
				case len(f) == 1 && f[0] == "timeout":
					e.timeout = true
				case len(f) == 1 || len(f) == 3 || len(f) == 4:
					n, err := strconv.Atoi(f[0])
					if err != nil {
						return c, bad(err)
					}
					e.status = n
					if len(f) == 4 {
						e.hasPeers = true
						if f[3] != "-" {
							for _, p := range strings.Split(f[3], ",") {
								if !strings.Contains(p, ":") {
									p = "127.0.0.1:" + p
								}
								e.peers = append(e.peers, p)
							}
						}
					}
					if len(f) >= 3 {
						e.counts = true
						if e.conns, err = strconv.Atoi(f[1]); err != nil {
							return c, bad(err)
						}
						if e.reqs, err = strconv.Atoi(f[2]); err != nil {
							return c, bad(err)
						}
					}
				default:
					return c, bad(fmt.Errorf("want \"STATUS CONNS REQS [PEERS]\" or \"timeout\", got %q", part))
				}
				c.expect = append(c.expect, e)
			}
		}
	}
	if len(c.requests) == 0 {
		return c, fmt.Errorf("%s: no requests: line", p)
	}
	if c.expect != nil && len(c.expect) != len(c.requests) {
		return c, fmt.Errorf("%s: %d expectations for %d requests", p, len(c.expect), len(c.requests))
	}
	return c, nil
}

func (c diffCase) scenario() Scenario {
	return Scenario{
		ConfigFS: c.fsys, Main: "nginx.conf",
		Requests: c.requests, Backends: c.backends, DefaultPolicy: c.def,
		Timeout: c.timeout, Server: c.server,
	}
}

// checkExpect compares one request's observation with the scenario's
// recorded real-nginx behaviour.
func checkExpect(t *testing.T, engine string, i int, q emulator.RequestResult, e expectation) {
	t.Helper()
	if e.timeout {
		if !q.Status.Timeout || !q.Unbounded {
			t.Errorf("%s request %d (%s %s): got %s unbounded=%v, want timeout/unbounded", engine, i+1, q.Method, q.Path, q.Status, q.Unbounded)
		}
		return
	}
	got := expectation{status: q.Status.Code, conns: q.UpstreamConnections, reqs: q.UpstreamRequests, counts: e.counts,
		peers: q.Peers, hasPeers: e.hasPeers}
	if got.hasPeers && len(got.peers) == 0 {
		got.peers = []string{"-"}
	}
	want := e
	if want.hasPeers && len(want.peers) == 0 {
		want.peers = []string{"-"}
	}
	if q.Status.Timeout || got.status != e.status || (e.counts && (got.conns != e.conns || got.reqs != e.reqs)) ||
		(e.hasPeers && strings.Join(got.peers, ",") != strings.Join(want.peers, ",")) {
		t.Errorf("%s request %d (%s %s): got %s (timeout=%v), want %s", engine, i+1, q.Method, q.Path, got, q.Status.Timeout, want)
	}
}

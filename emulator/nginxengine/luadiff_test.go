package nginxengine

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/emulator/fromconf"
	"github.com/ngxlint/ngxlint/luacheck"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/versions"
)

// luaDiffCase is one scenario of testdata/luadiff: a diffCase (same
// header, see scenario_test.go) for balancers that need the emulator's
// OpenResty runtime (modules on lua_package_path, init code, shared dicts,
// cjson, lrucache, ngx.var from the request, ngx.ctx, timers), plus:
//
//	expect-peers: A B; A; -   (per request, the peers real nginx tried, in
//	                           order; "-" for none)
//	known-difference: REASON  (the engines are known to disagree; the case
//	                           is skipped with REASON while they do, and
//	                           fails once they agree)
type luaDiffCase struct {
	diffCase
	expectPeers [][]string
	known       string
}

func loadLuaDiffCases(t *testing.T) []luaDiffCase {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "luadiff", "*.txtar"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no scenarios in testdata/luadiff (%v)", err)
	}
	var out []luaDiffCase
	for _, p := range paths {
		dc, err := parseDiffCase(p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		c := luaDiffCase{diffCase: dc}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		// The extra keys live in the archive's comment, before the first
		// file marker.
		comment, _, _ := strings.Cut(string(data), "\n-- ")
		sc := bufio.NewScanner(strings.NewReader(comment))
		for sc.Scan() {
			key, val, ok := strings.Cut(sc.Text(), ":")
			if !ok {
				continue
			}
			val = strings.TrimSpace(val)
			switch key {
			case "expect-peers":
				for _, part := range strings.Split(val, ";") {
					f := strings.Fields(part)
					if len(f) == 1 && f[0] == "-" {
						f = nil
					}
					c.expectPeers = append(c.expectPeers, f)
				}
				if len(c.expectPeers) != len(c.requests) {
					t.Fatalf("%s: %d expect-peers for %d requests", p, len(c.expectPeers), len(c.requests))
				}
			case "known-difference":
				c.known = val
			}
		}
		out = append(out, c)
	}
	return out
}

// accessLogName is the log_format the test adds to each case's http{}
// block: real nginx does not report the peers it tried (Result.Attempts
// stays empty), but $upstream_addr lists them, in order, separated by
// ", " (ngx_http_upstream_addr_variable). The request headers the case
// sends are logged too, to see whether they reached nginx.
const accessLogName = "ngxlint_luadiff"

// flushPath is a location the test adds in front of the case's first
// location and requests once after the case's requests. The engine kills
// nginx as soon as the last response is read, and nginx writes the access
// log line of a request after its last byte is sent
// (ngx_http_free_request runs the log phase once the response is out), so
// the last request's line can be lost; one more request, served after
// that line is written (one process, one event loop), keeps it.
const flushPath = "/ngxlint-luadiff-flush"

// withPeerLog returns the case's tree with a log_format and an access_log
// added on the line of "http {", and the flush location on the line of the
// first location (so every line keeps its number), logging $upstream_addr
// and the headers named.
func withPeerLog(fsys fstest.MapFS, headers []string) (fstest.MapFS, error) {
	out := fstest.MapFS{}
	for k, v := range fsys {
		out[k] = v
	}
	conf := string(fsys["nginx.conf"].Data)
	i := strings.Index(conf, "http {")
	if i < 0 {
		return nil, fmt.Errorf(`nginx.conf has no "http {"`)
	}
	format := "$status|$upstream_addr"
	for _, h := range headers {
		format += "|$http_" + strings.ReplaceAll(strings.ToLower(h), "-", "_")
	}
	ins := fmt.Sprintf(" log_format %s %q; access_log logs/access.log %s;", accessLogName, format, accessLogName)
	i += len("http {")
	conf = conf[:i] + ins + conf[i:]
	j := strings.Index(conf, "location ")
	if j < 0 {
		return nil, fmt.Errorf("nginx.conf has no location")
	}
	conf = conf[:j] + "location = " + flushPath + " { return 204; } " + conf[j:]
	out["nginx.conf"] = &fstest.MapFile{Data: []byte(conf)}
	return out, nil
}

// reWrapperMap matches one entry of the generated ngx/balancer.lua's
// address map: ["10.0.0.1:8080"] = 40123,
var reWrapperMap = regexp.MustCompile(`\["([^"]+)"\] = (\d+),`)

// reAddrSep separates the entries of $upstream_addr: ", " between the
// tries of one upstream, " : " between upstreams of an internal redirect
// (ngx_http_upstream_addr_variable).
var reAddrSep = regexp.MustCompile(`, | : `)

// realPeers is what the test reads from a real run beside its Result.
type realPeers struct {
	// tried holds per request the peers of $upstream_addr, under the
	// addresses the configuration or the Lua code used.
	tried [][]string
	// headers holds per request the logged header values ("-" when the
	// header did not reach nginx).
	headers [][]string
	// status is the logged status, to check that line i is request i.
	status []int
}

// runReal runs the scenario through real nginx, keeping handles on the
// run's access.log and error.log and reading the generated wrapper's
// address map while nginx is up: the engine removes its directory at the
// end, and an open file outlives its name.
func runReal(t *testing.T, b *Binary, sc Scenario, nheaders int) (*Result, realPeers, error) {
	t.Helper()
	var access, errLog *os.File
	ports := map[int]string{}
	hk := hooks{started: func(pid int, tmp string) {
		access, _ = os.Open(filepath.Join(tmp, "run", "access.log"))
		errLog, _ = os.Open(filepath.Join(tmp, "run", "error.log"))
		if w, err := os.ReadFile(filepath.Join(tmp, "run", "lua", "ngx", "balancer.lua")); err == nil {
			for _, m := range reWrapperMap.FindAllStringSubmatch(string(w), -1) {
				p, _ := strconv.Atoi(m[2])
				ports[p] = m[1]
			}
		}
	}}
	res, err := b.run(context.Background(), sc, hk)
	var rp realPeers
	for _, f := range []*os.File{access, errLog} {
		if f != nil {
			defer f.Close()
		}
	}
	if err != nil {
		return nil, rp, err
	}
	if access == nil || errLog == nil {
		return nil, rp, fmt.Errorf("the run's logs could not be opened while nginx ran")
	}
	// Addresses the Lua code computed at run time went to spare backends;
	// the wrapper logs each mapping.
	el, _ := io.ReadAll(errLog)
	for _, m := range reWrapperLog.FindAllStringSubmatch(string(el), -1) {
		p, _ := strconv.Atoi(m[2])
		ports[p] = m[1]
	}
	al, _ := io.ReadAll(access)
	for _, line := range strings.Split(strings.TrimRight(string(al), "\n"), "\n") {
		fields := strings.Split(line, "|")
		if len(fields) < 2+nheaders {
			return nil, rp, fmt.Errorf("access.log line %q: want status, peers and %d headers", line, nheaders)
		}
		st, _ := strconv.Atoi(fields[0])
		rp.status = append(rp.status, st)
		var peers []string
		for _, a := range reAddrSep.Split(fields[1], -1) {
			if a == "-" || a == "" {
				continue
			}
			k := a
			if host, port, err := splitLoopback(a); err == nil && host == "127.0.0.1" {
				if orig, ok := ports[port]; ok {
					k = orig
				}
			}
			peers = append(peers, k)
		}
		rp.tried = append(rp.tried, peers)
		rp.headers = append(rp.headers, fields[2:])
	}
	return res, rp, nil
}

func splitLoopback(a string) (string, int, error) {
	i := strings.LastIndexByte(a, ':')
	if i < 0 {
		return "", 0, fmt.Errorf("no port in %q", a)
	}
	p, err := strconv.Atoi(a[i+1:])
	return a[:i], p, err
}

// luaEmulatorConfig builds the emulator's view of a case as the CLI does
// for a tree with modules: nginxconf follows require (luacheck.Requires)
// with the tree's root as nginx's prefix, as the engine copies it, and the
// tree is the sandbox's read-only file system.
func luaEmulatorConfig(c luaDiffCase, fsys fstest.MapFS, prof versions.Profile) (emulator.Config, error) {
	cfg := nginxconf.Load(fsys, "nginx.conf", nginxconf.Options{Prefix: "/", Requires: luacheck.Requires})
	if err := cfg.Err(); err != nil {
		return emulator.Config{}, err
	}
	tg, err := fromconf.Find(nginxconf.BuildModel(cfg), "", c.server)
	if err != nil {
		return emulator.Config{}, err
	}
	tg.Files = fsys
	ec, err := fromconf.Build(tg)
	if err != nil {
		return emulator.Config{}, err
	}
	ec.Profile = prof
	ec.Backends = c.backends
	ec.DefaultPolicy = c.def
	ec.Requests = c.requests
	ec.Timeout = c.timeout
	ec.MaxAttempts = c.maxAttempts
	return ec, nil
}

// emuPeers returns the peers the emulator connected to (or took from a
// cache) per request: attempts that never got a peer (a Lua error, no
// peer set) are not in $upstream_addr either.
func emuPeers(res *emulator.Result) [][]string {
	var out [][]string
	for _, q := range res.Requests {
		var ps []string
		for _, a := range q.Attempts {
			if a.Peer != "" {
				ps = append(ps, a.Peer)
			}
		}
		out = append(out, ps)
	}
	return out
}

func peersString(ps []string) string {
	if len(ps) == 0 {
		return "-"
	}
	return strings.Join(ps, " ")
}

// TestLuaDifferential is issue 15's differential test: balancers that use
// the OpenResty runtime (modules found through lua_package_path with
// $prefix, init_by_lua* and init_worker_by_lua* state, shared dicts,
// cjson, resty.lrucache, ngx.var from the request, ngx.ctx across phases
// and retries, ngx.crc32_long, timers) run through Debian's nginx with
// lua-nginx-module, lua-resty-core, lua-cjson and lua-resty-lrucache and
// through the emulator. Per request the status, the upstream connections
// and requests, and the sequence of peers tried must be the same, and so
// must each backend's totals.
func TestLuaDifferential(t *testing.T) {
	b := realNginx(t)
	for _, c := range loadLuaDiffCases(t) {
		t.Run(c.name, func(t *testing.T) {
			var names []string
			seen := map[string]bool{}
			for _, rq := range c.requests {
				for _, h := range rq.Headers {
					if k := strings.ToLower(h.Name); !seen[k] {
						seen[k] = true
						names = append(names, k)
					}
				}
			}
			fsys, err := withPeerLog(c.fsys, names)
			if err != nil {
				t.Fatal(err)
			}
			sc := c.scenario()
			sc.ConfigFS = fsys
			sc.Requests = append(append([]emulator.Request(nil), c.requests...), emulator.Request{Method: "GET", Path: flushPath})
			real, rp, err := runReal(t, b, sc, len(names))
			if err != nil {
				t.Fatalf("nginx: %v", err)
			}
			if q := real.Requests[len(real.Requests)-1]; q.Status.Code != 204 || q.UpstreamConnections != 0 {
				t.Fatalf("flush request: %s, want 204 without upstream", observation(q.RequestResult))
			}
			real.Requests = real.Requests[:len(c.requests)]
			if len(rp.tried) < len(c.requests) {
				t.Fatalf("access.log has %d lines for %d requests", len(rp.tried), len(c.requests))
			}
			for i, q := range real.Requests {
				if rp.status[i] != q.Status.Code {
					t.Fatalf("access.log line %d has status %d, request %d got %s", i+1, rp.status[i], i+1, q.Status)
				}
			}
			ec, err := luaEmulatorConfig(c, fsys, b.Profile)
			if err != nil {
				t.Fatalf("emulator config: %v", err)
			}
			emu, err := emulator.Run(context.Background(), ec)
			if err != nil {
				t.Fatalf("emulator: %v", err)
			}
			ep := emuPeers(emu)
			// The headers the case sends must have reached nginx, else
			// the real side ran another scenario: then the emulator is
			// held to the recorded real-nginx behaviour alone.
			for i, rq := range c.requests {
				for _, h := range rq.Headers {
					j := indexOf(names, strings.ToLower(h.Name))
					if got := rp.headers[i][j]; got != h.Value {
						for k, q := range emu.Requests {
							if k < len(c.expect) {
								checkExpect(t, "emulator", k, q, c.expect[k])
							}
							if k < len(c.expectPeers) && peersString(ep[k]) != peersString(c.expectPeers[k]) {
								t.Errorf("emulator request %d (%s %s): tried %s, real nginx was seen to try %s", k+1, q.Method, q.Path, peersString(ep[k]), peersString(c.expectPeers[k]))
							}
						}
						t.Skipf("emulator checked against the recorded nginx behaviour only: request %d's header %s reached nginx as %q, not %q (the engine's client, client.go sendRequest, does not send emulator.Request.Headers)", i+1, h.Name, got, h.Value)
					}
				}
			}
			for i, q := range real.Requests {
				if i < len(c.expect) {
					checkExpect(t, "nginx", i, q.RequestResult, c.expect[i])
				}
				if i < len(c.expectPeers) && peersString(rp.tried[i]) != peersString(c.expectPeers[i]) {
					t.Errorf("nginx request %d (%s %s): tried %s, recorded %s", i+1, q.Method, q.Path, peersString(rp.tried[i]), peersString(c.expectPeers[i]))
				}
			}
			var diffs []string
			for _, d := range Compare(real, emu) {
				msg := d.String()
				if d.Request >= 0 {
					msg += fmt.Sprintf("\n  nginx error.log: %v\n  emulator trace:\n%s", real.Requests[d.Request].ErrorLog, trace(emu.Requests[d.Request]))
				}
				diffs = append(diffs, msg)
			}
			for i := range c.requests {
				if peersString(ep[i]) != peersString(rp.tried[i]) {
					diffs = append(diffs, fmt.Sprintf("request %d (%s %s): nginx tried %s; emulator tried %s\n  emulator trace:\n%s",
						i+1, c.requests[i].Method, c.requests[i].Path, peersString(rp.tried[i]), peersString(ep[i]), trace(emu.Requests[i])))
				}
			}
			if w := emu.Worker; w != nil && w.StartError != "" {
				diffs = append(diffs, "emulator: the worker did not start: "+w.StartError)
			}
			switch {
			case c.known != "" && len(diffs) > 0:
				t.Skipf("known difference (%s):\n%s", c.known, strings.Join(diffs, "\n"))
			case c.known != "":
				t.Errorf("marked known-difference (%s) but both engines agree: remove the mark", c.known)
			}
			for _, d := range diffs {
				t.Error(d)
			}
		})
	}
}

func indexOf(xs []string, x string) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return -1
}

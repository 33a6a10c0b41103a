package nginxengine

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/emulator/fromconf"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/versions"
)

// emulatorConfig builds the emulator's view of a scenario the way the CLI
// does (nginxconf model → fromconf), with the versions of the real binary.
func emulatorConfig(c diffCase, prof versions.Profile) (emulator.Config, error) {
	cfg := nginxconf.Load(c.fsys, "nginx.conf", nginxconf.Options{Prefix: "/"})
	if err := cfg.Err(); err != nil {
		return emulator.Config{}, err
	}
	tg, err := fromconf.Find(nginxconf.BuildModel(cfg), "", c.server)
	if err != nil {
		return emulator.Config{}, err
	}
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

// TestDifferential is the ground truth of issue 3: every scenario of
// testdata/diff runs through real nginx (the referee) and through the Go
// emulator with the profile read from that binary, and the per-request
// status, upstream connections and upstream requests (and each backend's
// totals) must be identical — except where real nginx loops until the
// client timeout, where the emulator must report the request unbounded.
// Each scenario's expect-nginx line (what real nginx was seen to do) is
// checked too.
func TestDifferential(t *testing.T) {
	b := realNginx(t)
	if b.Profile.NotifyPatch || b.Profile.StatusCodePatch {
		t.Logf("binary profile has OpenResty patches: %+v", b.Profile)
	}
	for _, c := range loadDiffCases(t) {
		t.Run(c.name, func(t *testing.T) {
			real, err := b.Run(context.Background(), c.scenario())
			if err != nil {
				t.Fatalf("nginx: %v", err)
			}
			t.Logf("nginx: %s", real.Summary())
			// The recorded real-nginx behaviour, checked on its own so that
			// a change in the harness or in nginx shows apart from the
			// emulator comparison.
			for i, q := range real.Requests {
				if i < len(c.expect) {
					checkExpect(t, "nginx", i, q.RequestResult, c.expect[i])
				}
			}
			ec, err := emulatorConfig(c, b.Profile)
			if err != nil {
				t.Fatalf("emulator config: %v", err)
			}
			emu, err := emulator.Run(context.Background(), ec)
			if err != nil {
				t.Fatalf("emulator: %v", err)
			}
			for _, d := range Compare(real, emu) {
				msg := d.String()
				if d.Request >= 0 {
					msg += fmt.Sprintf("\n  nginx error.log: %v\n  emulator trace:\n%s", real.Requests[d.Request].ErrorLog, trace(emu.Requests[d.Request]))
				}
				t.Error(msg)
			}
		})
	}
}

func trace(e emulator.RequestResult) string {
	var s string
	for j, a := range e.Attempts {
		if j == 20 {
			s += fmt.Sprintf("    ... %d more\n", len(e.Attempts)-j)
			break
		}
		s += fmt.Sprintf("    #%d %s cached=%v %s %s\n", j+1, a.Peer, a.Cached, a.Outcome, a.FT)
	}
	return s + "    => " + e.Why
}

// TestCompare checks the comparison itself on hand-made results, so that a
// Compare that always agreed could not make TestDifferential pass.
func TestCompare(t *testing.T) {
	prof := emulator.ResultProfile{Nginx: "1.22.1", LuaNginxModule: "0.10.23"}
	rq := func(code int, timeout, unbounded bool, conns, reqs int) emulator.RequestResult {
		return emulator.RequestResult{Method: "GET", Path: "/", Status: emulator.Status{Code: code, Timeout: timeout},
			Unbounded: unbounded, UpstreamConnections: conns, UpstreamRequests: reqs}
	}
	real := &Result{Profile: prof, Requests: []RequestResult{
		{RequestResult: rq(200, false, false, 1, 1)},
		{RequestResult: rq(502, false, false, 1, 2)},
		{RequestResult: rq(0, true, true, 5000, 5000)},
	}}
	emu := &emulator.Result{Profile: prof, Requests: []emulator.RequestResult{
		rq(200, false, false, 1, 1), rq(502, false, false, 1, 2), rq(0, true, true, 300, 300),
	}}
	if d := Compare(real, emu); len(d) != 0 {
		t.Errorf("identical observations differ: %v", d)
	}
	emu.Requests[1].UpstreamRequests = 1
	emu.Requests[2] = rq(502, false, false, 2, 2)
	emu.Profile.LuaNginxModule = "0.10.0"
	d := Compare(real, emu)
	if len(d) != 3 || d[0].Request != -1 || d[1].Request != 1 || d[2].Request != 2 {
		t.Fatalf("differences: %v", d)
	}
	if !strings.Contains(d[2].String(), "nginx timeout") || !strings.Contains(d[2].String(), "emulator 502") {
		t.Errorf("loop difference: %s", d[2])
	}

	// The peers a request reached are compared in order.
	emu.Requests[1].UpstreamRequests = 2
	emu.Profile = prof
	real.Requests[0].Peers = []string{"127.0.0.1:8081", "127.0.0.1:8082"}
	emu.Requests[0].Peers = []string{"127.0.0.1:8082", "127.0.0.1:8081"}
	if d := Compare(real, emu); len(d) != 2 || d[0].Request != 0 || !strings.Contains(d[0].String(), "peers 127.0.0.1:8081 127.0.0.1:8082") {
		t.Errorf("peer order difference not reported: %v", d)
	}
	emu.Requests[0].Peers = real.Requests[0].Peers

	// Backend totals are compared when no request looped; an address
	// without traffic on either side is ignored.
	real.Requests, emu.Requests = real.Requests[:2], emu.Requests[:2]
	emu.Profile = prof
	emu.Requests[1].UpstreamRequests = 2
	real.Backends = []emulator.BackendStats{{Address: "127.0.0.1:8080", Connections: 2, Requests: 3}, {Address: "0.0.0.1:80"}}
	emu.Backends = []emulator.BackendStats{{Address: "127.0.0.1:8080", Connections: 2, Requests: 3}}
	if d := Compare(real, emu); len(d) != 0 {
		t.Errorf("same backend totals differ: %v", d)
	}
	emu.Backends = append(emu.Backends, emulator.BackendStats{Address: "127.0.0.1:8081", Connections: 1, Requests: 1})
	if d := Compare(real, emu); len(d) != 1 || !strings.Contains(d[0].String(), "127.0.0.1:8081") {
		t.Errorf("extra busy backend not reported: %v", d)
	}
}

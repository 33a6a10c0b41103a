package nginxengine

import (
	"context"
	"fmt"
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
// status, upstream connections and upstream requests must be identical —
// except where real nginx loops until the client timeout, where the
// emulator must report the request unbounded.
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
			ec, err := emulatorConfig(c, b.Profile)
			if err != nil {
				t.Fatalf("emulator config: %v", err)
			}
			emu, err := emulator.Run(context.Background(), ec)
			if err != nil {
				t.Fatalf("emulator: %v", err)
			}
			if real.Profile != emu.Profile {
				t.Errorf("profiles differ: nginx %+v, emulator %+v", real.Profile, emu.Profile)
			}
			if len(emu.Requests) != len(real.Requests) {
				t.Fatalf("emulator answered %d requests, nginx %d", len(emu.Requests), len(real.Requests))
			}
			for i := range real.Requests {
				r, e := real.Requests[i], emu.Requests[i]
				if d := compareRequest(r.RequestResult, e); d != "" {
					t.Errorf("request %d (%s %s): %s\n  nginx error.log: %v\n  emulator trace:\n%s",
						i+1, r.Method, r.Path, d, r.ErrorLog, trace(e))
				}
			}
		})
	}
}

// compareRequest returns "" when the emulator observed what nginx did.
func compareRequest(r, e emulator.RequestResult) string {
	if r.Status.Timeout {
		// nginx looped until the client gave up; the emulator must cut the
		// loop and say so (its counts are bounded by MaxAttempts).
		if !e.Unbounded {
			return fmt.Sprintf("nginx timed out after %d upstream connections (a loop), emulator ended with %s after %d connections, not unbounded",
				r.UpstreamConnections, e.Status, e.UpstreamConnections)
		}
		return ""
	}
	if e.Unbounded || e.Status != r.Status || e.UpstreamConnections != r.UpstreamConnections || e.UpstreamRequests != r.UpstreamRequests {
		return fmt.Sprintf("nginx %s with %d conns / %d reqs; emulator %s with %d conns / %d reqs (unbounded=%v)",
			r.Status, r.UpstreamConnections, r.UpstreamRequests, e.Status, e.UpstreamConnections, e.UpstreamRequests, e.Unbounded)
	}
	return ""
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

package rules

import (
	"context"
	"testing"
	"time"

	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/emulator/fromconf"
	"github.com/ngxlint/ngxlint/versions"
)

// These tests write down knowledge-file behaviour the emulator once did not
// reproduce. A test for a gap that is still open calls emuGap, which skips
// it with the reason so the gap stays visible; the three below are fixed
// and run always.

// emuGap runs the test body only when NGXLINT_EMULATOR_GAPS is set, so the
// expectations can be checked by hand against a fixed emulator.
func emuGap(t *testing.T, why string) {
	t.Helper()
	if testingGaps() {
		return
	}
	t.Skip("emulator bug: " + why)
}

func testingGaps() bool { return envSet("NGXLINT_EMULATOR_GAPS") }

// TestEmulatorGapExitWithoutRestyCore: LNM-EXIT-FFI needs resty.core.
// lua-nginx-module v0.10.0-v0.10.2's C ngx.exit (ngx_http_lua_ngx_exit)
// lists NGX_HTTP_LUA_CONTEXT_BALANCER; only the FFI ngx_http_lua_ffi_exit
// lacked it (22566ed9: "ngx.exit() could not be used in the context of
// balancer_by_lua* when lua-resty-core was used"). Without
// Config.RestyCoreLoaded the C exit runs and records the code.
func TestEmulatorGapExitWithoutRestyCore(t *testing.T) {
	p, _ := versions.Resolve("1.9.7", "0.10.2", "")
	cfg := emulator.Config{Profile: p,
		Upstream:      emulator.Upstream{Name: "b", Servers: []emulator.Server{{Addr: "0.0.0.1"}}, BalancerLua: `ngx.exit(503)`},
		Requests:      []emulator.Request{{Method: "GET", Path: "/"}},
		MaxAttempts:   5,
		Timeout:       5 * time.Second,
		DefaultPolicy: emulator.Policy{Kind: emulator.PolicyOK}}
	res, err := emulator.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if o := res.Requests[0].Attempts[0].Outcome; o != emulator.OutcomeLuaExit {
		t.Errorf("outcome %q, want %q (the C ngx.exit accepts the balancer context)", o, emulator.OutcomeLuaExit)
	}
}

// TestEmulatorGapKAHostGT32: LNM-KA-HOST-GT32. On lua-nginx-module
// 0.10.27-0.10.28 a host longer than 32 bytes made the Lua pool store the
// address text instead of the host (18ce5fbd), so nothing is reused.
func TestEmulatorGapKAHostGT32(t *testing.T) {
	ds := analyzeVer(t, VerLNMKAHostGT32, VerLNMKAHostGT32.Doc.Bad, "openresty=1.27.1.1")
	if len(ds) != 1 {
		t.Fatalf("want 1 finding, got %d", len(ds))
	}
	s := ds[0].Confirm.(verScenario)
	r := s.runOn(context.Background(), s.profile, false)
	if r.err != nil || !r.shows {
		t.Errorf("want no reuse on 0.10.27 with a 35-byte host: %s %v", r.summary, r.err)
	}
	f := s.runOn(context.Background(), s.twinProfileOf(), true)
	if f.err != nil || f.shows {
		t.Errorf("want reuse on the fixed twin (%s): %s %v", f.profile, f.summary, f.err)
	}
}

// TestEmulatorGapNoPeerSetGlobal: LNM-NO-PEER-SET-GLOBAL. With two
// server-less balancer upstreams, only the last parsed answers 500 "no peer
// set"; in the first, a path without set_current_peer connects to the
// placeholder 0.0.0.1:80 (fromconf sets Upstream.PlaceholderShadowed).
func TestEmulatorGapNoPeerSetGlobal(t *testing.T) {
	ds := analyzeVer(t, VerLNMNoPeerSetGlobal, VerLNMNoPeerSetGlobal.Doc.Bad, "openresty=1.27.1.1")
	if len(ds) != 1 {
		t.Fatalf("want 1 finding, got %d", len(ds))
	}
	m := modelOf(t, VerLNMNoPeerSetGlobal.Doc.Bad)
	u := m.HTTP.UpstreamByName["a"]
	cfg, err := fromconf.Build(fromconf.Target{Upstream: u})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Profile, _ = versions.Resolve("", "", "1.27.1.1")
	cfg.Requests = []emulator.Request{{Method: "GET", Path: "/"}}
	cfg.MaxAttempts, cfg.Timeout = 5, 5*time.Second
	res, err := emulator.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if o := res.Requests[0].Attempts[0].Outcome; o == emulator.OutcomeNoPeer {
		t.Errorf("upstream \"a\" (not the last parsed) answered \"no peer set\"; nginx connects to 0.0.0.1:80 there")
	}
}

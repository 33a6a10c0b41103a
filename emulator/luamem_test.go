package emulator

import (
	"strings"
	"testing"
	"time"
)

// TestVMMemoryAcrossRuns (issue 14, item 7): a balancer that keeps a
// little more on every run, in any place that outlives a run, is stopped
// once what its VM holds passes the per-VM bound, although no single run
// comes near the per-run watch; later runs of that VM fail without
// starting. Code that only makes garbage is not stopped. The bound is
// lowered to 8 MB and each run keeps 1 MB, so the test stays small.
func TestVMMemoryAcrossRuns(t *testing.T) {
	const peer = "\nassert(require('ngx.balancer').set_current_peer('10.0.0.5', 80))"
	for _, c := range []struct {
		name, code string
		trips      bool
	}{
		{"_G table", `local t = _G.keep or {} _G.keep = t t[#t + 1] = string.rep("x", 2^20) .. #t`, true},
		{"upvalue", `_G.add = _G.add or (function() local t = {} return function(s) t[#t + 1] = s end end)()
_G.n = (_G.n or 0) + 1 _G.add(string.rep("x", 2^20) .. _G.n)`, true},
		{"ngx.shared", `local d = ngx.shared.cache local n = (d:get("n") or 0) + 1 d:set("n", n) d:set(n, string.rep("x", 2^20) .. n)`, true},
		{"string metatable", `local m = getmetatable("") m.n = (m.n or 0) + 1 m[m.n] = string.rep("x", 2^20) .. m.n`, true},
		// gopher-lua keeps a key set to nil in its key list.
		{"deleted keys", `local t = _G.k or {} _G.k = t _G.n = (_G.n or 0) + 1 local key = string.rep("k", 2^20) .. _G.n t[key] = true t[key] = nil`, true},
		{"captures", `local t = _G.keep or {} _G.keep = t t[#t + 1] = string.match(string.rep("x", 2^20) .. #t, "^(.*)$")`, true},
		// A short piece of a long string does not keep the long one.
		{"short substrings", `local t = _G.keep or {} _G.keep = t local s = string.rep("x", 2^20) .. #t t[#t + 1] = s:sub(1, 10) t[#t + 2] = s:match("^(x)")`, false},
		{"garbage only", `local s = string.rep("x", 2^20) .. math.random() local t = {} for i = 1, 1000 do t[i] = i end`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := luaConfig(prof(t, "1.22.1", "0.10.23", ""), c.code+peer, "ok", 20)
			cfg.luaVMMemory = 8 << 20
			// A zone larger than the VM bound, so that the zone's own
			// size (its LRU eviction) does not cap what the dict keeps.
			cfg.Lua.SharedDicts = map[string]int64{"cache": 1 << 30}
			cfg.LuaTimeout = 10 * time.Second // memory, not speed, is under test
			res := runCfg(t, cfg)
			first := -1
			for i, q := range res.Requests {
				failed := q.Status.Code != 200
				if failed && first < 0 {
					first = i
				}
				if first >= 0 {
					if !failed || len(q.Attempts) == 0 || q.Attempts[0].Outcome != OutcomeLuaMemory {
						t.Fatalf("request %d after the bound was hit: %v\n%s", i, q.Status, attemptLogs(q))
					}
					if logs := attemptLogs(q); !strings.Contains(logs, "per-VM memory bound") || !strings.Contains(logs, "8 MB") {
						t.Errorf("request %d: log does not name the bound:\n%s", i, logs)
					}
				}
			}
			switch {
			case !c.trips && first >= 0:
				t.Errorf("request %d failed: %v\n%s", first, res.Requests[first].Status, attemptLogs(res.Requests[first]))
			case c.trips && first < 0:
				t.Errorf("20 runs keeping 1 MB each passed an 8 MB per-VM bound")
			case c.trips && first < 4:
				t.Errorf("stopped at run %d, before the VM held near 8 MB", first+1)
			}
		})
	}
}

// TestFootprintDeepNesting: the walk (an explicit stack, not recursion)
// reaches and counts every table of a deep chain.
func TestFootprintDeepNesting(t *testing.T) {
	e := testEngine(t)
	if err := e.L.DoString(`local t = {} for i = 1, 1e5 do t = {t} end deep = t`); err != nil {
		t.Fatal(err)
	}
	if got := e.footprint(nil, 1<<40) - e.vmBase; got < 1e5*memObject {
		t.Errorf("footprint of 100,000 nested tables: %d bytes", got)
	}
}

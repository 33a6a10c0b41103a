package rules

import (
	"context"
	"strings"
	"testing"

	"github.com/ngxlint/ngxlint/analyzer"
)

// crashingBalancer is a balancer that fails on its first line in the
// emulator (its module is not there), behind settings several rules with
// scenarios fire on.
const crashingBalancer = `http {
    upstream app {
        server 0.0.0.1;
        balancer_by_lua_block {
            local peers = require "app.peers"
            local b = require "ngx.balancer"
            b.set_current_peer(peers.pick())
        }
        keepalive 8;
    }
    server {
        listen 80;
        location / {
            proxy_pass http://app;
            proxy_next_upstream error timeout http_502;
            proxy_next_upstream_tries 3;
        }
    }
}
`

// TestLuaFailureIsNeverAnObservation: when the user's balancer fails in the
// emulator, no confirmation may say confirmed or not-reproduced (issue 15
// item 5: a crash on the first line read "confirmed: 1 attempt, got 500").
func TestLuaFailureIsNeverAnObservation(t *testing.T) {
	for _, spec := range []string{"nginx=1.22.1,lnm=0.10.23", "openresty=1.9.7.3", ""} {
		var confirmed int
		for _, r := range Registry().All() {
			for _, d := range analyzeVer(t, r, crashingBalancer, spec) {
				if d.Confirm == nil {
					continue
				}
				c := d.Confirm.Confirm(context.Background())
				confirmed++
				if c.Status == analyzer.Confirmed || c.Status == analyzer.NotReproduced {
					t.Errorf("%s %s (%s): status %s on a balancer that failed: %s", spec, d.Rule.ID, d.Message[:min(60, len(d.Message))], c.Status, c.Summary)
					continue
				}
				if c.Status == analyzer.ConfirmError && !strings.Contains(c.Reason, "Lua failed") {
					t.Errorf("%s %s: error without the Lua failure: %s", spec, d.Rule.ID, c.Reason)
				}
			}
		}
		if confirmed == 0 {
			t.Errorf("%s: no finding with a scenario on the fixture; the test shows nothing", spec)
		}
	}
}

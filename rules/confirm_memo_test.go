package rules

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/versions"
)

// countingRunner is the emulator, counting the scenarios it is handed.
type countingRunner struct{ n *atomic.Int64 }

func (r countingRunner) Run(ctx context.Context, sc emulator.Scenario) (*emulator.Result, error) {
	r.n.Add(1)
	return emulator.Builtin.Run(ctx, sc)
}

func (countingRunner) ConfigOnly() {}

// locationRunner counts too but, like the real-nginx engine, reads the
// configuration on disk: its Result depends on the target location.
// It holds, not embeds, a countingRunner, so it is not ConfigOnly.
type locationRunner struct{ counter countingRunner }

func (r locationRunner) Run(ctx context.Context, sc emulator.Scenario) (*emulator.Result, error) {
	return r.counter.Run(ctx, sc)
}

// Forty locations proxying to one upstream without keepalive headers give
// forty NGX2002 findings whose scenarios are the same emulation: it runs
// once, and every finding is confirmed from it. One location that differs
// (a different proxy_read_timeout) is its own scenario.
func TestIdenticalScenariosRunOnce(t *testing.T) {
	var b strings.Builder
	b.WriteString(`events {}
http {
    upstream app {
        server 127.0.0.1:8080;
        keepalive 16;
    }
    server {
        listen 80;
`)
	const same = 40
	for i := range same {
		fmt.Fprintf(&b, "        location /l%d { proxy_set_header X-Id %d; proxy_pass http://app; }\n", i, i)
	}
	b.WriteString("        location /slow { proxy_read_timeout 3s; proxy_pass http://app; }\n    }\n}\n")
	dir := t.TempDir()
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := nginxconf.LoadFile(path, nginxconf.Options{})
	if err := cfg.Err(); err != nil {
		t.Fatal(err)
	}
	prof, _ := versions.Resolve("1.22.1", "0.10.23", "")
	for _, tc := range []struct {
		name   string
		runner func(*atomic.Int64) emulator.Runner
		want   int64
	}{
		{"config-only runner", func(n *atomic.Int64) emulator.Runner { return countingRunner{n} }, 2},
		{"runner reading the location", func(n *atomic.Int64) emulator.Runner { return locationRunner{countingRunner{n}} }, same + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var n atomic.Int64
			res := analyzer.Run(cfg, nginxconf.BuildModel(cfg), []*analyzer.Rule{KeepaliveNotEffective},
				analyzer.Options{Profile: prof, Engine: analyzer.Engine{Runner: tc.runner(&n)}})
			if len(res.Diagnostics) != same+1 {
				t.Fatalf("want %d NGX2002 findings, got %d", same+1, len(res.Diagnostics))
			}
			analyzer.ConfirmAll(context.Background(), res.Diagnostics, 4)
			for _, d := range res.Diagnostics {
				if d.Confirmation.Status != analyzer.Confirmed {
					t.Errorf("%s at %s: %s %s", d.Rule.ID, d.Pos, d.Confirmation.Status, d.Confirmation.Reason)
				}
			}
			if got := n.Load(); got != tc.want {
				t.Errorf("the runner ran %d scenarios, want %d", got, tc.want)
			}
		})
	}
}

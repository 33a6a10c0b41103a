package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// idleConf keeps upstream connections idle for at most 100ms.
const idleConf = `http {
    upstream app {
        server 10.0.0.1:8080;
        keepalive 4;
        keepalive_timeout 100ms;
    }
    server {
        listen 80;
        location / {
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
`

// TestEmulateIdleTime: --requests' +IDLE and --gap say how long the client
// waits before a request, so keepalive_timeout becomes observable: back to
// back, the second request reuses the pooled connection; 300ms apart, the
// 100ms idle timer has closed it.
func TestEmulateIdleTime(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "nginx.conf")
	writeTestFile(t, conf, idleConf)
	conns := func(args ...string) []int {
		t.Helper()
		args = append(append([]string{"emulate", "--no-config", "--versions", "nginx=1.22.1", "--backend", "ok", "--format", "json"}, args...), conf)
		code, out, errs := runBounded(t, args...)
		if code != ExitClean {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, errs)
		}
		var r struct {
			Requests []struct {
				Conns int `json:"upstream_connections"`
			} `json:"requests"`
		}
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("bad JSON: %v\n%s", err, out)
		}
		var n []int
		for _, q := range r.Requests {
			n = append(n, q.Conns)
		}
		return n
	}
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"back to back", []string{"--requests", "GET /, GET /"}, "[1 0]"},
		{"+300ms in --requests", []string{"--requests", "GET /, +300ms GET /"}, "[1 1]"},
		{"--gap", []string{"--requests", "GET /, GET /, GET /", "--gap", "300ms"}, "[1 1 1]"},
		{"+IDLE wins over --gap", []string{"--requests", "GET /, +50ms GET /", "--gap", "300ms"}, "[1 0]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := fmt.Sprint(conns(c.args...)); got != c.want {
				t.Errorf("upstream connections per request %s, want %s", got, c.want)
			}
		})
	}
	for _, bad := range [][]string{{"--gap", "-1s"}, {"--gap", "2h"}, {"--requests", "GET /, +soon GET /"}} {
		args := append([]string{"emulate", "--no-config", "--backend", "ok"}, append(bad, conf)...)
		if code, _, errs := runBounded(t, args...); code != ExitUsage || !strings.Contains(errs, bad[0]) {
			t.Errorf("%v: exit %d, want %d naming %s\n%s", bad, code, ExitUsage, bad[0], errs)
		}
	}
}

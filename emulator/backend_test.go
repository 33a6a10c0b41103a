package emulator

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestParsePolicy(t *testing.T) {
	for _, s := range []string{"ok", "first-only", "one-per-conn", "close", "reset", "hang", "status:503", "echo"} {
		p, err := ParsePolicy(s)
		if err != nil {
			t.Fatalf("ParsePolicy(%q): %v", s, err)
		}
		if p.String() != s {
			t.Errorf("ParsePolicy(%q).String() = %q", s, p.String())
		}
	}
	for _, s := range []string{"", "okay", "status:", "status:99", "status:600", "status:abc"} {
		if _, err := ParsePolicy(s); err == nil {
			t.Errorf("ParsePolicy(%q): no error", s)
		}
	}
}

func TestParseRequests(t *testing.T) {
	got, err := ParseRequests("GET /r1, post /r2,/r3")
	if err != nil {
		t.Fatal(err)
	}
	want := []Request{{Method: "GET", Path: "/r1"}, {Method: "POST", Path: "/r2"}, {Method: "GET", Path: "/r3"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for _, bad := range []string{"", "GET r1", "GET /a /b"} {
		if _, err := ParseRequests(bad); err == nil {
			t.Errorf("ParseRequests(%q): no error", bad)
		}
	}
}

// exchange sends requests on one connection and returns, per request, the
// status or "eof"/"reset"/"timeout".
func exchange(t *testing.T, addr string, n int) []string {
	t.Helper()
	c, err := net.Dial("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	var out []string
	for i := 0; i < n; i++ {
		c.SetDeadline(time.Now().Add(200 * time.Millisecond))
		body := "a=b"
		fmt.Fprintf(c, "POST /%d HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", i, len(body), body)
		m, err := readHead(br, false)
		switch {
		case err == nil:
			n, _ := bodyLength(m, false)
			readBody(br, n)
			out = append(out, fmt.Sprint(m.Status))
			continue
		case isTimeout(err):
			out = append(out, "timeout")
		case strings.Contains(err.Error(), "reset"):
			out = append(out, "reset")
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			out = append(out, "eof")
		default:
			out = append(out, err.Error())
		}
		return out
	}
	return out
}

func TestBackendPolicies(t *testing.T) {
	tests := []struct {
		policy    string
		conns     [][]string // per connection, what each request got; a connection stops at the first non-status
		wantConns int
		wantReqs  int
	}{
		{"ok", [][]string{{"200", "200"}, {"200"}}, 2, 3},
		{"first-only", [][]string{{"200", "eof"}, {"eof"}}, 2, 3},
		{"one-per-conn", [][]string{{"200", "eof"}, {"200", "eof"}}, 2, 4},
		{"close", [][]string{{"eof"}}, 1, 1},
		{"reset", [][]string{{"reset"}}, 1, 1},
		{"hang", [][]string{{"timeout"}}, 1, 1},
		{"status:503", [][]string{{"503", "503"}}, 1, 2},
	}
	for _, tt := range tests {
		t.Run(tt.policy, func(t *testing.T) {
			p, _ := ParsePolicy(tt.policy)
			b, err := StartBackend(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			for i, want := range tt.conns {
				got := exchange(t, b.Addr(), len(want))
				if strings.Join(got, ",") != strings.Join(want, ",") {
					t.Errorf("connection %d: got %v, want %v", i+1, got, want)
				}
			}
			// The backend counts before it reacts, so the counts are final.
			s := b.Stats()
			if s.Connections != tt.wantConns || s.Requests != tt.wantReqs || s.Policy != tt.policy {
				t.Errorf("stats %+v, want %d connections, %d requests", s, tt.wantConns, tt.wantReqs)
			}
		})
	}
}

// TestResultJSON checks the CLI contract's shape.
func TestResultJSON(t *testing.T) {
	res := runCfg(t, seedConfig(prof(t, "1.9.7", "0.10.0", ""), "first-only"))
	b, err := res.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	keys := func(v any) string {
		var ks []string
		for k := range v.(map[string]any) {
			ks = append(ks, k)
		}
		return fmt.Sprint(sortStrings(ks))
	}
	if got := keys(m); got != "[backends engine lua_failed profile requests worker]" {
		t.Errorf("top-level keys %s", got)
	}
	if got := keys(m["profile"]); got != "[lua_nginx_module nginx openresty]" {
		t.Errorf("profile keys %s", got)
	}
	reqs := m["requests"].([]any)
	if got := keys(reqs[0]); got != "[attempts method path peers status unbounded upstream_connections upstream_requests]" {
		t.Errorf("request keys %s", got)
	}
	if got := keys(reqs[0].(map[string]any)["attempts"].([]any)[0]); got != "[cached ft outcome peer]" {
		t.Errorf("attempt keys %s", got)
	}
	if got := keys(m["backends"].([]any)[0]); got != "[address connections policy requests]" {
		t.Errorf("backend keys %s", got)
	}
	if reqs[0].(map[string]any)["status"] != 200.0 || reqs[1].(map[string]any)["status"] != "timeout" {
		t.Errorf("statuses %v, %v", reqs[0].(map[string]any)["status"], reqs[1].(map[string]any)["status"])
	}
	var back Result
	if err := json.Unmarshal(b, &back); err != nil || !back.Requests[1].Status.Timeout {
		t.Errorf("round trip: %v %+v", err, back.Requests[1].Status)
	}
	var txt strings.Builder
	res.WriteText(&txt)
	for _, want := range []string{"UNBOUNDED", "pc->cached is still 1", "cached connection", "fresh connection", "tries left", "first-only"} {
		if !strings.Contains(txt.String(), want) {
			t.Errorf("text trace lacks %q", want)
		}
	}
}

func sortStrings(s []string) []string {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s
}

// TestNoLeaks runs the scenarios that stop early (capped loop, client
// timeout on a hanging backend, Lua deadline) and checks that every
// goroutine Run started has ended.
func TestNoLeaks(t *testing.T) {
	settle := func(limit int) int {
		n := runtime.NumGoroutine()
		for i := 0; i < 200 && n > limit; i++ {
			time.Sleep(5 * time.Millisecond)
			n = runtime.NumGoroutine()
		}
		return n
	}
	before := runtime.NumGoroutine()
	hang := rrConfig(prof(t, "1.22.1", "", ""), []Server{{Addr: "10.0.0.1"}}, map[string]string{"10.0.0.1": "hang"}, 1)
	hang.Timeout = 100 * time.Millisecond
	for _, cfg := range []Config{
		seedConfig(prof(t, "1.9.7", "0.10.0", ""), "first-only"),
		hang,
		luaConfig(prof(t, "1.22.1", "0.10.23", ""), "while true do end", "ok", 1),
	} {
		start := time.Now()
		runCfg(t, cfg)
		t.Logf("run took %s", time.Since(start))
	}
	if after := settle(before); after > before {
		buf := make([]byte, 1<<16)
		t.Errorf("goroutines: %d before, %d after\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
}

func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, seedConfig(prof(t, "1.9.7", "0.10.0", ""), "first-only")); err == nil {
		t.Error("Run with a cancelled context: no error")
	}
}

func TestConfigErrors(t *testing.T) {
	p := prof(t, "1.22.1", "0.10.23", "")
	bad := []Config{
		{Profile: p, Upstream: Upstream{Servers: []Server{{Addr: "10.0.0.1"}}}},                                                  // no requests
		{Profile: p, Upstream: Upstream{}, Requests: []Request{{}}},                                                              // no servers
		{Profile: p, Upstream: Upstream{Servers: []Server{{Addr: "10.0.0.1"}}, BalancerLua: "if then"}, Requests: []Request{{}}}, // syntax
		{Profile: prof(t, "1.9.7", "0.9.20", ""), Upstream: Upstream{Servers: []Server{{Addr: "10.0.0.1"}}, BalancerLua: "local x"}, Requests: []Request{{}}},
		{Profile: p, Upstream: Upstream{Servers: []Server{{Addr: "10.0.0.1"}}}, Location: Location{NextUpstream: []string{"bogus"}}, Requests: []Request{{}}},
	}
	for i, c := range bad {
		if _, err := Run(context.Background(), c); err == nil {
			t.Errorf("config %d: no error", i)
		}
	}
}

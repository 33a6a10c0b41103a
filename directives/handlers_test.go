package directives

import (
	"strings"
	"testing"

	"github.com/ngxlint/ngxlint/versions"
)

// TestParseListenAddresses pins how listen addresses compare and which
// ones are refused without resolving anything.
func TestParseListenAddresses(t *testing.T) {
	http := Lookup("listen")[0]
	if http.Module != "ngx_http_core_module" {
		t.Fatalf("first listen entry is %s", http.Module)
	}
	for _, c := range []struct {
		arg, addr, err string
		version        string
	}{
		{arg: "8080", addr: "0.0.0.0:8080"},
		{arg: "*:8080", addr: "0.0.0.0:8080"},
		{arg: "0.0.0.0:8080", addr: "0.0.0.0:8080"},
		{arg: "127.000.0.1:80", addr: "127.0.0.1:80"},
		{arg: "127.0.0.1", addr: "127.0.0.1:80"},
		{arg: "[::]:443", addr: "[::]:443"},
		{arg: "[0::0]", addr: "[::]:80"},
		{arg: "unix:/run/a.sock", addr: "unix:/run/a.sock"},
		{arg: "localhost:80"},
		{arg: "api-1"},
		{arg: "8000-8010"},
		{arg: "8000-8010", version: "1.14.0"},
		{arg: "8080q", err: "host not found"},
		{arg: "8080q:80", err: "host not found"},
		{arg: "65536", err: "invalid port"},
		{arg: "65536", version: "1.0.10", addr: "0.0.0.0:65536"},
		{arg: "1.2.3.4:", err: "invalid port"},
		{arg: "[::1]x", err: "invalid host"},
		{arg: "[::1", err: "invalid host"},
		{arg: "[]:80", err: "no host"},
		{arg: "a/b", err: "invalid host"},
		{arg: "a?b", err: "invalid host"},
		{arg: "unix:", err: "no path in the unix domain socket"},
		{arg: "unix:/" + strings.Repeat("a", 107), err: "too long path in the unix domain socket"},
		{arg: "9-8", err: "invalid port range"},
		{arg: "x-8"},
	} {
		var p versions.Profile
		if c.version != "" {
			p.Nginx = versions.MustParse(c.version)
		}
		l, prob := ParseListen(http, []string{c.arg}, p)
		got := ""
		if prob != nil {
			got = prob.Message
		}
		switch {
		case c.err == "" && prob != nil:
			t.Errorf("listen %s (nginx %q): %s", c.arg, c.version, got)
		case c.err != "" && !strings.HasPrefix(got, c.err+" in "):
			t.Errorf("listen %s (nginx %q): got %q, want %q", c.arg, c.version, got, c.err)
		case prob == nil && l.Addr != c.addr:
			t.Errorf("listen %s (nginx %q): address %q, want %q", c.arg, c.version, l.Addr, c.addr)
		}
	}
}

// FuzzCheckHandler: configurations are untrusted; the handler checks
// must not panic on any argument list.
func FuzzCheckHandler(f *testing.F) {
	for _, s := range []string{"8080", "[", "[]", "[::]:", "unix:", "a b", "ipv6only=o", "so_keepalive=:::", "=", "= =", "weight=", "8-", "-", ":"} {
		f.Add(s)
	}
	var entries []Directive
	for key := range handlerChecks {
		for _, e := range Lookup(key[1]) {
			if e.Module == key[0] {
				entries = append(entries, e)
			}
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		args := strings.Split(s, " ")
		for _, e := range entries {
			for _, p := range []versions.Profile{{}, {Nginx: versions.MustParse("1.0.0")}} {
				e.CheckHandler(args, p)
				e.IsParameter(s)
				if e.Name == "listen" {
					ParseListen(e, args, p)
				}
			}
		}
	})
}

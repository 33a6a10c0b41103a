package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ngxlint/ngxlint/format"
	"github.com/ngxlint/ngxlint/rules"
)

// TestSecReplayOnRealNginx: with --engine nginx and both, each request-path
// finding's own crafted request is replayed on Debian's nginx, whose
// response decides the status (issue 21). SEC2001's request must put the
// injected Set-Cookie in real nginx's response head, SEC1001's must get a
// response without the dropped header; the SEC1011 finding in a location
// answered by return is let through by real nginx too, but before the
// access phase, so it is not-reproduced there, while in /open/ (static)
// real nginx lets 127.0.0.1 through although only 10.0.0.0/8 is allowed. SEC1012's request with
// ?debug=1 gets a static 404 where the same request without it reaches
// try_files' @app.
func TestSecReplayOnRealNginx(t *testing.T) {
	bin := replayNginx(t)
	conf := replayConf(t, `events {}
http {
    server {
        listen 80;
        server_name victim.test;
        add_header X-Frame-Options DENY always;
        location ~ ^/v1/(?<action>[^.]*)\.json$ {
            add_header X-Action $action;
            return 200 "ok";
        }
        location /admin/ {
            allow 10.0.0.0/8;
            return 200 "a";
        }
        location /open/ {
            allow 10.0.0.0/8;
        }
        location /t {
            try_files $uri @app;
            if ($arg_debug) {
                set $debug 1;
            }
        }
        location @app {
            return 200 "app";
        }
    }
}
`)
	for _, engine := range []string{"nginx", "both"} {
		got := map[string]string{}
		for _, f := range replayed(t, bin, engine, conf, "SEC1001,SEC1011,SEC1012,SEC2001") {
			c := f.Confirmation
			if !strings.Contains(c.Profile, "1.22") {
				t.Errorf("%s: %s was not judged on nginx 1.22: profile %q", engine, f.Rule, c.Profile)
			}
			got[f.Rule] = strings.TrimPrefix(got[f.Rule]+","+c.Status, ",")
			head, _ := c.Observed["response_head"].(string)
			switch f.Rule {
			case "SEC2001":
				if !strings.Contains(head, "\r\nSet-Cookie: ngxlint=injected") {
					t.Errorf("%s: SEC2001 head from nginx lacks the injected header: %q", engine, head)
				}
			case "SEC1001":
				if head == "" || strings.Contains(strings.ToLower(head), "x-frame-options") {
					t.Errorf("%s: SEC1001 head from nginx: %q", engine, head)
				}
			}
		}
		want := map[string]string{"SEC2001": "confirmed", "SEC1001": "confirmed", "SEC1011": "not-reproduced,confirmed", "SEC1012": "confirmed"}
		for id, st := range want {
			if got[id] != st {
				t.Errorf("%s: %s %q, want %q", engine, id, got[id], st)
			}
		}
	}
}

// TestSecReplayAccessOnRealNginx: SEC1022's requests (from 127.0.0.1,
// which the location's rules deny; without credentials for auth_basic)
// get the return's 200 from Debian's nginx, SEC1024's request reads
// stub_status's counters, and SEC2008's redirect goes to /new/ with the
// capture empty (issue 21).
func TestSecReplayAccessOnRealNginx(t *testing.T) {
	bin := replayNginx(t)
	conf := replayConf(t, `events {}
http {
    server {
        listen 80;
        server_name victim.test;
        location = /health {
            allow 10.0.0.0/8;
            deny all;
            return 200 "ok";
        }
        location /private/ {
            auth_basic "staff";
            auth_basic_user_file htpasswd-missing;
            return 200 "secret";
        }
        location = /nginx_status {
            stub_status;
        }
        location /old/ {
            rewrite ^/old/ /new/$1 permanent;
        }
    }
}
`)
	for _, engine := range []string{"nginx", "both"} {
		got := map[string]string{}
		for _, f := range replayed(t, bin, engine, conf, "SEC1022,SEC1024,SEC2008") {
			c := f.Confirmation
			if !strings.Contains(c.Profile, "1.22") {
				t.Errorf("%s: %s was not judged on nginx 1.22: profile %q", engine, f.Rule, c.Profile)
			}
			got[f.Rule] = strings.TrimPrefix(got[f.Rule]+","+c.Status, ",")
			head, _ := c.Observed["response_head"].(string)
			switch f.Rule {
			case "SEC1022", "SEC1024":
				if !strings.HasPrefix(head, "HTTP/1.1 200") {
					t.Errorf("%s: %s head from nginx: %q", engine, f.Rule, head)
				}
			case "SEC2008":
				if !strings.Contains(head, "/new/\r\n") {
					t.Errorf("%s: SEC2008 head from nginx has no Location to /new/: %q", engine, head)
				}
			}
		}
		want := map[string]string{"SEC1022": "confirmed,confirmed", "SEC1024": "confirmed", "SEC2008": "confirmed"}
		for id, st := range want {
			if got[id] != st {
				t.Errorf("%s: %s %q, want %q", engine, id, got[id], st)
			}
		}
	}
}

// TestSecReplayFromAddressOnRealNginx: the crafted requests of SEC1011,
// SEC1022 and SEC1024 come from 192.0.2.1 when the rules name 127.0.0.1;
// the real engine gives that address to Debian's nginx through the realip
// module it adds to its copy, and nginx's access phase decides as the
// emulator's does. A configuration that uses realip itself is refused for
// those requests, with the reason.
func TestSecReplayFromAddressOnRealNginx(t *testing.T) {
	bin := replayNginx(t)
	const base = `events {}
http {
%s
    server {
        listen 80;
        server_name victim.test;
        location /open/ {
            allow 127.0.0.1;
        }
        location = /health {
            allow 127.0.0.1;
            deny all;
            return 200 "ok";
        }
        location = /nginx_status {
            deny 127.0.0.1;
            stub_status;
        }
    }
}
`
	for _, c := range []struct {
		name, extra, want, reason string
	}{
		{name: "realip injected", want: "confirmed"},
		{name: "own realip", extra: "    set_real_ip_from 10.0.0.0/8;", want: "not-confirmable", reason: "uses the realip module itself"},
	} {
		dir := t.TempDir()
		conf := filepath.Join(dir, "nginx.conf")
		if err := os.WriteFile(conf, []byte(strings.Replace(base, "%s", c.extra, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, engine := range []string{"nginx", "both"} {
			got := map[string]string{}
			for _, f := range replayed(t, bin, engine, conf, "SEC1011,SEC1022,SEC1024") {
				cf := f.Confirmation
				got[f.Rule] = cf.Status
				if !strings.Contains(cf.Summary+cf.Reason, "192.0.2.1") {
					t.Errorf("%s %s: %s was not replayed from 192.0.2.1: %s | %s", c.name, engine, f.Rule, cf.Summary, cf.Reason)
				}
				if c.reason != "" && !strings.Contains(cf.Reason, c.reason) {
					t.Errorf("%s %s: %s reason %q does not say %q", c.name, engine, f.Rule, cf.Reason, c.reason)
				}
				if cf.Status == "confirmed" && !strings.Contains(cf.Profile, "1.22") {
					t.Errorf("%s %s: %s not judged on nginx 1.22: %q", c.name, engine, f.Rule, cf.Profile)
				}
			}
			for _, id := range []string{"SEC1011", "SEC1022", "SEC1024"} {
				if got[id] != c.want {
					t.Errorf("%s %s: %s %q, want %q", c.name, engine, id, got[id], c.want)
				}
			}
		}
	}
}

// TestSecReplayServerSelectionOnRealNginx: SEC2001 findings in a server
// named only by a regex and in the default server of a socket several
// servers share are replayed with a Host that selects that server
// (emulator.HostFor): a subject generated from the regex, and for the
// default server a name no server lists. Real nginx's answer carries the
// injected header from the finding's own location, which the other
// servers do not have. A regex server whose names are all taken by
// another server's wildcard is refused, with the reason.
func TestSecReplayServerSelectionOnRealNginx(t *testing.T) {
	bin := replayNginx(t)
	conf := replayConf(t, `events {}
http {
    server {
        listen 80;
        server_name victim.test *.shadow.test;
        location / { return 200 "plain"; }
    }
    server {
        listen 80;
        server_name ~^api\d+\.example\.com$;
        location ~ ^/v1/(?<action>[^.]*)\.json$ {
            add_header X-Action $action;
            return 200 "regex";
        }
    }
    server {
        listen 80 default_server;
        server_name _;
        location ~ ^/v2/(?<op>[^.]*)\.json$ {
            add_header X-Op $op;
            return 200 "default";
        }
    }
    server {
        listen 80;
        server_name ~^api\.shadow\.test$;
        location ~ ^/v3/(?<x>[^.]*)\.json$ {
            add_header X-X $x;
            return 200 "shadowed";
        }
    }
}
`)
	for _, engine := range []string{"nginx", "both"} {
		got := map[string]string{}
		for _, f := range replayed(t, bin, engine, conf, "SEC2001") {
			cf := f.Confirmation
			var hdr string
			for p, h := range map[string]string{"/v1/": "X-Action", "/v2/": "X-Op", "/v3/": "X-X"} {
				if strings.Contains(cf.Summary+cf.Reason, p) {
					hdr = h
				}
			}
			got[hdr] = cf.Status
			switch hdr {
			case "X-Action", "X-Op":
				head, _ := cf.Observed["response_head"].(string)
				host := map[string]string{"X-Action": "[Host: api0.example.com]", "X-Op": "[Host: localhost]"}[hdr]
				if !strings.Contains(head, hdr+": ") || !strings.Contains(head, "\r\nSet-Cookie: ngxlint=injected") || !strings.Contains(cf.Summary, host) {
					t.Errorf("%s: %s finding not answered by its own server with %s: %s | %q", engine, hdr, host, cf.Summary, head)
				}
			case "X-X":
				if !strings.Contains(cf.Reason, "another server's name takes precedence") {
					t.Errorf("%s: shadowed server's reason: %q", engine, cf.Reason)
				}
			}
		}
		want := map[string]string{"X-Action": "confirmed", "X-Op": "confirmed", "X-X": "not-confirmable"}
		for h, st := range want {
			if got[h] != st {
				t.Errorf("%s: finding with %s: %q, want %q", engine, h, got[h], st)
			}
		}
	}
}

// TestSecSSRFReplayOnRealNginx: SEC2003's crafted requests are replayed
// on Debian's nginx with every resolver pointed at the engine's DNS stub
// (NXDOMAIN for everything, nothing forwarded): nginx asking it for the
// canary name chosen by the request confirms the finding, for a URI
// capture and for a query argument. With Lua in the configuration, which
// could set the variable or the header to an address, it is not
// confirmable there, with the reason.
func TestSecSSRFReplayOnRealNginx(t *testing.T) {
	bin := replayNginx(t)
	const base = `events {}
http {
    resolver 192.0.2.53;
%s
    server {
        listen 80;
        server_name victim.test;
        location ~ ^/fetch/([^/]+)/(.*)$ {
            proxy_pass http://$1/$2;
        }
        location /go {
            proxy_pass http://$arg_to;
        }
        location ~ ^/via/([^/]+)$ {
            set $u http://$1/x;
            proxy_pass $u;
        }
        location /self/ {
            proxy_pass http://$host$request_uri;
        }
    }
}
`
	for _, c := range []struct {
		name, extra, want, reason string
	}{
		{name: "request variables", want: "confirmed,confirmed,confirmed,confirmed"},
		{name: "lua", extra: "    init_by_lua_block { }", want: "not-confirmable,not-confirmable,not-confirmable,not-confirmable", reason: "init_by_lua_block, which can change request headers or variables"},
	} {
		dir := t.TempDir()
		conf := filepath.Join(dir, "nginx.conf")
		if err := os.WriteFile(conf, []byte(strings.Replace(base, "%s", c.extra, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, engine := range []string{"nginx", "both"} {
			var got []string
			for _, f := range replayed(t, bin, engine, conf, "SEC2003") {
				cf := f.Confirmation
				got = append(got, cf.Status)
				if cf.Status == "confirmed" {
					res, _ := cf.Observed["resolved"].([]any)
					if len(res) == 0 || res[0] != "ngxlint-ssrf.test" || !strings.Contains(cf.Summary, "asked DNS for ngxlint-ssrf.test") {
						t.Errorf("%s %s: confirmed without the DNS stub's evidence: %s %v", c.name, engine, cf.Summary, cf.Observed)
					}
				}
				if c.reason != "" && !strings.Contains(cf.Reason, c.reason) {
					t.Errorf("%s %s: reason %q does not say %q", c.name, engine, cf.Reason, c.reason)
				}
			}
			if strings.Join(got, ",") != c.want {
				t.Errorf("%s %s: %v, want %s", c.name, engine, got, c.want)
			}
		}
	}
}

// TestSecFileReplayOnRealNginx: SEC2004's and SEC1023's requests read a
// synthetic file tree, which the real engine writes into its run
// directory with every root and alias pointed there (issue 21): Debian's
// nginx answers the traversal with the secret next to the alias directory
// and "root /" with the synthetic /etc/passwd (33 bytes, not the host's).
// The same configuration with an alias built from a capture is refused as
// not confirmable, with the reason, rather than run.
func TestSecFileReplayOnRealNginx(t *testing.T) {
	bin := replayNginx(t)
	const base = `events {}
http {
    server {
        listen 80;
        server_name victim.test;
        root /;
        location /static {
            alias /srv/app/static/;
        }
%s
    }
}
`
	for _, c := range []struct {
		name, extra string
		want        string // status of both findings
		reason      string
	}{
		{name: "plain", want: "confirmed"},
		{name: "alias with variable", extra: `        location ~ ^/u/(.*)$ { alias /home/$1; }`, want: "not-confirmable", reason: "the path has variables"},
	} {
		dir := t.TempDir()
		conf := filepath.Join(dir, "nginx.conf")
		if err := os.WriteFile(conf, []byte(strings.Replace(base, "%s", c.extra, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, engine := range []string{"nginx", "both"} {
			got := map[string]string{}
			for _, f := range replayed(t, bin, engine, conf, "SEC1023,SEC2004") {
				cf := f.Confirmation
				got[f.Rule] = cf.Status
				if c.reason != "" && !strings.Contains(cf.Reason, c.reason) {
					t.Errorf("%s %s: %s reason %q does not say %q", c.name, engine, f.Rule, cf.Reason, c.reason)
				}
				if cf.Status != "confirmed" {
					continue
				}
				head, _ := cf.Observed["response_head"].(string)
				if !strings.HasPrefix(head, "HTTP/1.1 200") || !strings.Contains(head, "\r\nContent-Length: 33\r\n") || !strings.Contains(cf.Profile, "1.22") {
					t.Errorf("%s %s: %s not served the synthetic file by nginx 1.22: %q %q", c.name, engine, f.Rule, cf.Profile, head)
				}
			}
			for _, id := range []string{"SEC1023", "SEC2004"} {
				if got[id] != c.want {
					t.Errorf("%s %s: %s %q, want %q", c.name, engine, id, got[id], c.want)
				}
			}
		}
	}
}

// replayNginx is Debian's nginx for the replay tests: they skip without it,
// and fail in CI, which installs it.
func replayNginx(t *testing.T) string {
	t.Helper()
	const bin = "/usr/sbin/nginx"
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI needs nginx: %v", err)
		}
		t.Skip("no nginx at " + bin)
	}
	return bin
}

// replayConf writes a configuration for a replay test into a temporary
// directory and returns its path.
func replayConf(t *testing.T, text string) string {
	t.Helper()
	conf := filepath.Join(t.TempDir(), "nginx.conf")
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return conf
}

// replayed runs check --confirm with the real engine (engine "nginx" or
// "both") and the rules enable on conf, expects findings (exit 1), and
// returns them, each checked to carry a confirmation judged by a request
// replayed on the real binary. flags go before conf (--fail-on info, for
// rules whose findings are info).
func replayed(t *testing.T, bin, engine, conf, enable string, flags ...string) []format.Finding {
	t.Helper()
	args := append([]string{"check", "--no-config", "--confirm", "--engine", engine, "--nginx-binary", bin, "--format", "json",
		"--enable", enable}, flags...)
	code, out, errs := run(t, append(args, conf)...)
	if code != ExitFindings {
		t.Fatalf("%s: exit %d\n%s\n%s", engine, code, out, errs)
	}
	fs := decodeCheck(t, out).Findings
	for _, f := range fs {
		c := f.Confirmation
		t.Logf("%s: %s %s [%s] %s | %s", engine, f.Rule, c.Status, c.Engine, c.Summary, c.Reason)
		if c.Status == "" || !strings.HasPrefix(c.Engine, "nginx") || !strings.Contains(c.Engine, "request replay") {
			t.Errorf("%s: %s was not judged on real nginx: status %q, engine %q", engine, f.Rule, c.Status, c.Engine)
		}
	}
	return fs
}

// TestSecArrayDropReplayOnRealNginx: SEC1002's requests go to Debian's
// nginx with echo backends (policy "echo"), whose answer is the request
// head nginx sent upstream. In the rule's Bad example the backend of
// /api/ gets no X-Forwarded-For or X-Forwarded-Proto and the default Host
// ($proxy_host, the loopback backend) instead of victim.test; in /hide/
// the backend's X-Powered-By, which the http level hides, reaches the
// client. A location that sets every inherited header again, and the
// rule's Good example, give no SEC1002 at all.
func TestSecArrayDropReplayOnRealNginx(t *testing.T) {
	bin := replayNginx(t)
	conf := replayConf(t, `events {}
http {
    proxy_hide_header X-Powered-By;
    server {
        listen 80;
        server_name victim.test;
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        location /api/ {
            proxy_set_header X-Request-Id $request_id;
            proxy_pass http://127.0.0.1:8080;
        }
        location /full/ {
            proxy_set_header host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Request-Id $request_id;
            proxy_pass http://127.0.0.1:8080;
        }
        location /hide/ {
            proxy_hide_header X-Runtime;
            proxy_pass http://127.0.0.1:8080;
        }
    }
}
`)
	for _, engine := range []string{"nginx", "both"} {
		var got []string
		for _, f := range replayed(t, bin, engine, conf, "SEC1002") {
			c := f.Confirmation
			got = append(got, fmt.Sprintf("%d:%s", f.Line, c.Status))
			if !strings.Contains(c.Profile, "1.22") {
				t.Errorf("%s: line %d was not judged on nginx 1.22: profile %q", engine, f.Line, c.Profile)
			}
			if d, ok := c.Observed["engine_differences"]; ok {
				t.Errorf("%s: line %d: the engines differ: %v", engine, f.Line, d)
			}
			sent, _ := c.Observed["upstream_request"].(string)
			head, _ := c.Observed["response_head"].(string)
			switch f.Line {
			case 11:
				// What nginx really sent upstream, read back from the
				// echo backend's body.
				if !strings.Contains(c.Summary, "no X-Forwarded-For, X-Forwarded-Proto") || !strings.Contains(c.Summary, "not victim.test") ||
					!strings.HasPrefix(sent, "GET /api/ HTTP/1.0\r\n") || strings.Contains(sent, "X-Forwarded-For") || strings.Contains(sent, "Host: victim.test") {
					t.Errorf("%s: /api/ summary %q, upstream request %q", engine, c.Summary, sent)
				}
			case 22:
				if !strings.Contains(head, "\r\nX-Powered-By: ngxlint-reflected\r\n") || !strings.Contains(c.Summary, "X-Powered-By") {
					t.Errorf("%s: /hide/ summary %q, head %q", engine, c.Summary, head)
				}
			}
		}
		if want := "11:confirmed 22:confirmed"; strings.Join(got, " ") != want {
			t.Errorf("%s: SEC1002 findings %q, want %q (none for /full/)", engine, strings.Join(got, " "), want)
		}
	}
	good := replayConf(t, "events {}\n"+rules.ArrayDirectiveDropped.Doc.Good)
	if code, out, errs := run(t, "check", "--no-config", "--confirm", "--engine", "nginx", "--nginx-binary", bin,
		"--enable", "SEC1002", good); code != ExitClean {
		t.Errorf("Good example: exit %d\n%s\n%s", code, out, errs)
	}
}

package main

import (
	"fmt"
	"strings"
	"testing"
)

// TestSecOriginReplayOnRealNginx: SEC2006's hostile Origin and its control
// (an unrelated origin) both go to Debian's nginx, for an if check and for
// a map key whose variable feeds add_header: real nginx must answer the
// hostile origin with Access-Control-Allow-Origin and the control without
// it (issue 21).
func TestSecOriginReplayOnRealNginx(t *testing.T) {
	bin := replayNginx(t)
	conf := replayConf(t, `events {}
http {
    map $http_origin $cors_origin {
        default "";
        ~https://app\.example\.com $http_origin;
    }
    server {
        listen 80;
        server_name victim.test;
        location /api/ {
            add_header Access-Control-Allow-Origin $cors_origin;
            return 204;
        }
        location /b {
            if ($http_origin ~ "https://example.com") {
                add_header Access-Control-Allow-Origin $http_origin;
            }
            return 204;
        }
    }
}
`)
	for _, engine := range []string{"nginx", "both"} {
		n := 0
		for _, f := range replayed(t, bin, engine, conf, "SEC2006") {
			c := f.Confirmation
			n++
			if c.Status != "confirmed" {
				t.Errorf("%s: %s at line %d: %s (%s %s)", engine, f.Rule, f.Line, c.Status, c.Summary, c.Reason)
			}
			head, _ := c.Observed["response_head"].(string)
			if !strings.Contains(head, "Access-Control-Allow-Origin: https://") || !strings.Contains(head, "ngxlint-evil.test") {
				t.Errorf("%s: line %d: real nginx's head lacks the hostile origin's header: %q", engine, f.Line, head)
			}
			if !strings.Contains(c.Summary, "unrelated origin: 204 with no extra header") {
				t.Errorf("%s: line %d: the control was not answered without the header: %q", engine, f.Line, c.Summary)
			}
		}
		if n != 2 {
			t.Errorf("%s: %d SEC2006 findings, want 2 (the map key and the if)", engine, n)
		}
	}
}

// TestSecRefererReplayOnRealNginx: SEC2006 on a valid_referers regex.
// Debian's nginx gets "Referer: https://" and the hostile subject, and an
// unrelated Referer as the control: the unanchored ~example\.com lets the
// hostile one through to the 200 and refuses the control with the 403 of
// "if ($invalid_referer)", as the emulator predicts (no engine
// difference). The anchored regex of /safe/ gives no finding.
func TestSecRefererReplayOnRealNginx(t *testing.T) {
	bin := replayNginx(t)
	conf := replayConf(t, `events {}
http {
    server {
        listen 80;
        server_name victim.test;
        location /img/ {
            valid_referers none blocked server_names ~example\.com;
            if ($invalid_referer) { return 403; }
            return 200 "img";
        }
        location /safe/ {
            valid_referers server_names ~^(www\.)?example\.org/;
            if ($invalid_referer) { return 403; }
            return 200 "safe";
        }
    }
}
`)
	for _, engine := range []string{"nginx", "both"} {
		fs := replayed(t, bin, engine, conf, "SEC2006")
		if len(fs) != 1 || fs[0].Line != 7 {
			for _, f := range fs {
				t.Logf("finding at line %d: %s", f.Line, f.Message)
			}
			t.Fatalf("%s: %d SEC2006 findings, want 1 at line 7 (the unanchored regex only)", engine, len(fs))
		}
		c := fs[0].Confirmation
		if c.Status != "confirmed" {
			t.Fatalf("%s: %s (%s %s)", engine, c.Status, c.Summary, c.Reason)
		}
		if req, _ := c.Observed["request"].(string); !strings.Contains(req, "[Referer: https://example.com.ngxlint-evil.test") {
			t.Errorf("%s: the hostile request was %q", engine, req)
		}
		if st := fmt.Sprint(c.Observed["status"]); st != "200" {
			t.Errorf("%s: real nginx answered the hostile Referer with %s, want 200", engine, st)
		}
		if !strings.Contains(c.Summary, "unrelated Referer: 403") {
			t.Errorf("%s: the control was not refused: %q", engine, c.Summary)
		}
		if d, ok := c.Observed["engine_differences"]; ok || strings.Contains(c.Reason, "engines differ") {
			t.Errorf("%s: the engines differ: %v %s", engine, d, c.Reason)
		}
	}
}

// TestSecProxyPassURIReplayOnRealNginx: SEC2005's requests go through
// Debian's nginx to the echo backend, whose body is the request line
// nginx sent: "/api../ngxlint" must reach it as "/v1/../ngxlint" (the
// missing slash), and a %3F in a regex capture or in $uri as a decoded
// '?' (issue 21).
func TestSecProxyPassURIReplayOnRealNginx(t *testing.T) {
	bin := replayNginx(t)
	conf := replayConf(t, `events {}
http {
    server {
        listen 80;
        server_name victim.test;
        location /api {
            proxy_pass http://127.0.0.1:8080/v1/;
        }
        location ~ ^/files/([a-z].*)$ {
            proxy_pass http://127.0.0.1:8080/store/$1;
        }
        location /docs/ {
            proxy_pass http://127.0.0.1:8080/v2$uri;
        }
    }
}
`)
	want := map[int]string{7: "/v1/../ngxlint", 10: "/store/ngxlint?x=1", 13: "/v2/docs/ngxlint?x=1"}
	for _, engine := range []string{"nginx", "both"} {
		seen := map[int]bool{}
		for _, f := range replayed(t, bin, engine, conf, "SEC2005") {
			c := f.Confirmation
			seen[f.Line] = true
			if c.Status != "confirmed" {
				t.Errorf("%s: line %d: %s (%s %s)", engine, f.Line, c.Status, c.Summary, c.Reason)
			}
			if w := want[f.Line]; w == "" || !strings.Contains(c.Summary, "the backend was asked for "+w) {
				t.Errorf("%s: line %d: summary %q, want the backend asked for %q", engine, f.Line, c.Summary, w)
			}
		}
		for line := range want {
			if !seen[line] {
				t.Errorf("%s: no SEC2005 finding at line %d", engine, line)
			}
		}
	}
}

// TestSecUpstreamHostReplayOnRealNginx: SEC2002 on proxy_set_header Host
// $http_host: Debian's nginx accepts "Host: victim.test:@ngxlint-evil.test",
// routes it to the server, and hands the echo backend that Host as it is
// (issue 21).
func TestSecUpstreamHostReplayOnRealNginx(t *testing.T) {
	bin := replayNginx(t)
	conf := replayConf(t, `events {}
http {
    server {
        listen 80;
        server_name victim.test;
        proxy_set_header Host $http_host;
        location /api/ {
            proxy_pass http://127.0.0.1:8080;
        }
    }
}
`)
	for _, engine := range []string{"nginx", "both"} {
		fs := replayed(t, bin, engine, conf, "SEC2002")
		if len(fs) != 1 {
			t.Fatalf("%s: %d SEC2002 findings, want 1", engine, len(fs))
		}
		c := fs[0].Confirmation
		if c.Status != "confirmed" || !strings.Contains(c.Summary, "the backend got Host: victim.test:@ngxlint-evil.test") {
			t.Errorf("%s: %s: %q (%s)", engine, c.Status, c.Summary, c.Reason)
		}
	}
}

// TestSecServerTokensReplayOnRealNginx: SEC1010's request to the server
// with server_tokens on gets Debian's "Server: nginx/1.22.1"; the server
// with it off gets no finding (issue 21).
func TestSecServerTokensReplayOnRealNginx(t *testing.T) {
	bin := replayNginx(t)
	conf := replayConf(t, `events {}
http {
    server {
        listen 80;
        server_name victim.test;
        server_tokens on;
        location / { return 200 "x"; }
    }
    server {
        listen 81;
        server_name quiet.test;
        server_tokens off;
        location / { return 200 "y"; }
    }
}
`)
	for _, engine := range []string{"nginx", "both"} {
		fs := replayed(t, bin, engine, conf, "SEC1010")
		if len(fs) != 1 {
			t.Fatalf("%s: %d SEC1010 findings, want 1", engine, len(fs))
		}
		c := fs[0].Confirmation
		if c.Status != "confirmed" || !strings.Contains(c.Summary, "Server: nginx/1.22") {
			t.Errorf("%s: %s: %q (%s)", engine, c.Status, c.Summary, c.Reason)
		}
		if engine == "both" && strings.Contains(c.Reason, "engines differ") {
			t.Errorf("both: the engines differ: %s", c.Reason)
		}
	}
}

// TestSecNoResolverReplayOnRealNginx: SEC1016's request gets 502 from
// Debian's nginx ("no resolver defined to resolve localhost"), while a
// URL that finds the upstream another proxy_pass created is not reported
// (issue 21).
func TestSecNoResolverReplayOnRealNginx(t *testing.T) {
	bin := replayNginx(t)
	conf := replayConf(t, `events {}
http {
    server {
        listen 80;
        server_name victim.test;
        location /a {
            proxy_pass http://localhost:8080$request_uri;
        }
        location /f {
            proxy_pass http://127.0.0.1:8081;
        }
        location /g {
            proxy_pass http://127.0.0.1:8081$request_uri;
        }
    }
}
`)
	for _, engine := range []string{"nginx", "both"} {
		fs := replayed(t, bin, engine, conf, "SEC1016")
		if len(fs) != 1 || fs[0].Line != 7 {
			t.Fatalf("%s: want one SEC1016 finding at line 7, got %d", engine, len(fs))
		}
		c := fs[0].Confirmation
		if c.Status != "confirmed" || !strings.HasPrefix(fmt.Sprint(c.Observed["response_head"]), "HTTP/1.1 502") {
			t.Errorf("%s: %s: %q (%s), head %q", engine, c.Status, c.Summary, c.Reason, c.Observed["response_head"])
		}
	}
}

// TestSecRegexReDoSReplayOnRealNginx: SEC2007's crafted subjects make
// Debian's nginx (PCRE2, pcre_jit off by default) give up on the regex at
// its match limit (pcre2_match -47): a location regex, a rewrite and an
// if on a header each answer the attack 500 and the same request without
// the failing byte otherwise. The emulator makes no claim (RE2 runs in
// linear time), so no engine difference is recorded. A map key (nginx
// takes its default on the error) and a server_name on a socket with two
// servers (nginx closes the connection) are confirmed by the alert nginx
// logged for the attack and not for the control; a server_name alone on
// its socket without a capture is never run, so not confirmable; a benign
// regex gives no finding (issue 21).
func TestSecRegexReDoSReplayOnRealNginx(t *testing.T) {
	bin := replayNginx(t)
	conf := replayConf(t, `events {}
http {
    map $http_x_tag $m {
        ~^(a+)+$ 1;
        default 0;
    }
    server {
        listen 80;
        server_name victim.test;
        location ~ ^/(a+)+$ {
            return 200 "loc";
        }
        location /b {
            if ($http_x_name ~ "^(\w+\s?)*$") {
                return 403;
            }
            return 200 "b";
        }
        location /r/ {
            rewrite ^/r/((?:ab|a)*)*$ /x;
            return 204;
        }
        location ~ ^/docs(/[a-z0-9-]+)*/?$ {
            return 200 "docs $m";
        }
    }
    server {
        listen 80;
        server_name ~^(\w+\.?)+example\.com$;
        return 200 "regex";
    }
    server {
        listen 81;
        server_name ~^(?:b+)+$;
        return 200 "alone";
    }
}
`)
	as := strings.Repeat("a", 26)
	want := map[int]string{
		10: "GET /" + as + "%21 [Host: victim.test] -> 500 (PCRE gave up: match limit); without the failing byte: 200",
		14: "GET /b [Host: victim.test] [x-name: " + as + "!] -> 500 (PCRE gave up: match limit); without the failing byte: 403",
		20: "GET /r/" + strings.Repeat("ab", 26) + "%21 [Host: victim.test] -> 500 (PCRE gave up: match limit); without the failing byte: 204",
		// The map takes its default on the error: only the log shows it.
		4: "GET /docs [Host: victim.test] [x-tag: " + as + "!] -> logged \"pcre2_match() failed: -47\" (match limit); control: none",
		// On a socket with two servers nginx runs the regex on the Host,
		// and closes the connection on the error: only the log shows it.
		29: "GET / [Host: " + as + "!example.com] -> logged \"pcre2_match() failed: -47\" (match limit); control: none",
	}
	// The alert ngx_http_regex_exec writes, naming the subject and the regex.
	wantLog := map[int]string{
		// nginx 1.22 names a map regex with bytes of freed memory.
		4:  `pcre2_match() failed: -47 on "` + as + `!" using "`,
		10: `pcre2_match() failed: -47 on "/` + as + `!" using "^/(a+)+$"`,
		29: `pcre2_match() failed: -47 on "` + as + `!example.com" using "`,
	}
	for _, engine := range []string{"nginx", "both"} {
		code, out, errs := run(t, "check", "--no-config", "--confirm", "--engine", engine, "--nginx-binary", bin, "--format", "json",
			"--enable", "SEC2007", conf)
		if code != ExitFindings {
			t.Fatalf("%s: exit %d\n%s\n%s", engine, code, out, errs)
		}
		seen := map[int]bool{}
		for _, f := range decodeCheck(t, out).Findings {
			c := f.Confirmation
			t.Logf("%s: line %d %s [%s] %s | %s", engine, f.Line, c.Status, c.Engine, c.Summary, c.Reason)
			seen[f.Line] = true
			if f.Line == 34 {
				// Alone on its socket with no capture: nginx never runs it.
				if c.Status != "not-confirmable" || !strings.Contains(c.Reason, "never runs this regex") {
					t.Errorf("%s: lone server_name: %s %q", engine, c.Status, c.Reason)
				}
				continue
			}
			w, ok := want[f.Line]
			if !ok {
				t.Errorf("%s: unexpected SEC2007 at line %d", engine, f.Line)
				continue
			}
			if c.Status != "confirmed" || c.Summary != w || !strings.HasPrefix(c.Engine, "nginx") {
				t.Errorf("%s: line %d: %s [%s] %q (%s), want confirmed %q", engine, f.Line, c.Status, c.Engine, c.Summary, c.Reason, w)
			}
			if st, _ := c.Observed["status"].(float64); st != 500 && f.Line != 4 && f.Line != 29 {
				t.Errorf("%s: line %d: real nginx's status %v, want 500", engine, f.Line, c.Observed["status"])
			}
			if wl, ok := wantLog[f.Line]; ok {
				logged, _ := c.Observed["error_log"].([]any)
				found := false
				for _, l := range logged {
					if s, _ := l.(string); strings.Contains(s, "[alert]") && strings.Contains(s, wl) {
						found = true
						t.Logf("%s: line %d: nginx logged: %s", engine, f.Line, s)
					}
				}
				if !found {
					t.Errorf("%s: line %d: error_log %q, want an alert with %q", engine, f.Line, logged, wl)
				}
			}
			if _, differ := c.Observed["engine_differences"]; differ || strings.Contains(c.Reason, "engines differ") {
				t.Errorf("%s: line %d: an engine difference reported although the emulator makes no claim: %s", engine, f.Line, c.Reason)
			}
			if len(c.Summary) > 160 {
				t.Errorf("%s: line %d: summary of %d characters", engine, f.Line, len(c.Summary))
			}
		}
		for line := range want {
			if !seen[line] {
				t.Errorf("%s: no SEC2007 finding at line %d", engine, line)
			}
		}
	}
}

// TestSecRegexReDoSReplayJITOnRealNginx: with pcre_jit on, PCRE2's JIT
// honours the same match limit, and Debian's nginx answers the attack 500
// too; an if on $request_uri gets its subject raw in the request line; and
// an if in an exact location the crafted path cannot reach is not sent to
// real nginx at all (its answer would be no evidence).
func TestSecRegexReDoSReplayJITOnRealNginx(t *testing.T) {
	bin := replayNginx(t)
	conf := replayConf(t, `pcre_jit on;
events {}
http {
    server {
        listen 80;
        server_name victim.test;
        location ~ ^/(a+)+$ { return 200 "loc"; }
        location / {
            if ($request_uri ~ "^/ru/(\w+\s?)*$") { return 403; }
            return 200;
        }
        location = /e { if ($uri ~ "^/e(a+)+$") { return 403; } return 200; }
    }
}
`)
	as := strings.Repeat("a", 26)
	want := map[int]string{
		7:  "confirmed: GET /" + as + "%21 [Host: victim.test] -> 500 (PCRE gave up: match limit); without the failing byte: 200",
		9:  "confirmed: GET /ru/" + as + "! [Host: victim.test] -> 500 (PCRE gave up: match limit); without the failing byte: 403",
		12: "not-confirmable: ",
	}
	code, out, errs := run(t, "check", "--no-config", "--confirm", "--engine", "nginx", "--nginx-binary", bin, "--format", "json",
		"--enable", "SEC2007", conf)
	if code != ExitFindings {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	fs := decodeCheck(t, out).Findings
	if len(fs) != len(want) {
		t.Errorf("%d findings, want %d", len(fs), len(want))
	}
	for _, f := range fs {
		c := f.Confirmation
		t.Logf("line %d %s [%s] %s | %s", f.Line, c.Status, c.Engine, c.Summary, c.Reason)
		if got := c.Status + ": " + c.Summary; got != want[f.Line] {
			t.Errorf("line %d: %q, want %q", f.Line, got, want[f.Line])
		}
		if f.Line == 12 && !strings.Contains(c.Reason, "real nginx is not asked: the emulator routes no crafted request where the finding is") {
			t.Errorf("line 12: reason %q", c.Reason)
		}
	}
}

// TestSecFastCGIParamDropReplayOnRealNginx: SEC1002's fastcgi_param
// finding goes to Debian's nginx, whose FastCGI backends answer with the
// params they received (policy "echo"). The tree lacks fastcgi_params,
// so the engine writes the stock file into its copy; the .php location
// that sets only SCRIPT_FILENAME sends no QUERY_STRING, REQUEST_METHOD...
// on both engines, and a location that includes the file again gets no
// finding.
func TestSecFastCGIParamDropReplayOnRealNginx(t *testing.T) {
	bin := replayNginx(t)
	conf := replayConf(t, `events {}
http {
    server {
        listen 80;
        server_name victim.test;
        root /srv/www;
        include fastcgi_params;
        location ~ \.php$ {
            fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
            fastcgi_pass 127.0.0.1:9000;
        }
        location /full/ {
            include fastcgi_params;
            fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
            fastcgi_pass 127.0.0.1:9000;
        }
    }
}
`)
	for _, engine := range []string{"nginx", "both"} {
		fs := replayed(t, bin, engine, conf, "SEC1002")
		if len(fs) != 1 || fs[0].Line != 9 {
			t.Fatalf("%s: want one SEC1002 finding at line 9, got %d", engine, len(fs))
		}
		c := fs[0].Confirmation
		if c.Status != "confirmed" || !strings.Contains(c.Summary, "the FastCGI backend got no QUERY_STRING, REQUEST_METHOD") {
			t.Errorf("%s: %s: %q (%s)", engine, c.Status, c.Summary, c.Reason)
		}
		if d, ok := c.Observed["engine_differences"]; ok || strings.Contains(c.Reason, "engines differ") {
			t.Errorf("%s: the engines differ: %v %s", engine, d, c.Reason)
		}
		// What nginx really sent, read back from the backend's answer:
		// the level's own param, none of the stock file's.
		sent := fmt.Sprint(c.Observed["upstream_params"])
		if !strings.Contains(sent, "SCRIPT_FILENAME") || !strings.Contains(sent, "/srv/www/") || strings.Contains(sent, "REQUEST_METHOD") {
			t.Errorf("%s: params nginx sent: %s", engine, sent)
		}
	}
}

// TestSecUwsgiSCGIParamDropReplayOnRealNginx: SEC1002's uwsgi_param and
// scgi_param findings go to Debian's nginx, whose backends answer uwsgi
// and SCGI with the params they received (policy "echo"). The tree lacks
// uwsgi_params and scgi_params, so the engine writes the stock files
// into its copy; a location that sets only SCRIPT_NAME sends none of the
// stock params on both engines, and a location that includes the file
// again gets no finding.
func TestSecUwsgiSCGIParamDropReplayOnRealNginx(t *testing.T) {
	bin := replayNginx(t)
	conf := replayConf(t, `events {}
http {
    server {
        listen 80;
        server_name victim.test;
        include uwsgi_params;
        include scgi_params;
        location /app/ {
            uwsgi_param SCRIPT_NAME /app;
            uwsgi_pass 127.0.0.1:9000;
        }
        location /cgi/ {
            scgi_param SCRIPT_NAME /cgi;
            scgi_pass 127.0.0.1:9001;
        }
        location /full/ {
            include uwsgi_params;
            uwsgi_param SCRIPT_NAME /full;
            uwsgi_pass 127.0.0.1:9000;
        }
    }
}
`)
	want := map[int]string{
		9:  "the uwsgi backend got no QUERY_STRING, REQUEST_METHOD",
		13: "the SCGI backend got no REQUEST_METHOD, REQUEST_URI",
	}
	for _, engine := range []string{"nginx", "both"} {
		fs := replayed(t, bin, engine, conf, "SEC1002")
		if len(fs) != 2 {
			t.Fatalf("%s: want two SEC1002 findings (lines 9, 13), got %d", engine, len(fs))
		}
		for _, f := range fs {
			c := f.Confirmation
			t.Logf("%s: line %d: %s: %s", engine, f.Line, c.Status, c.Summary)
			if w, ok := want[f.Line]; !ok || c.Status != "confirmed" || !strings.Contains(c.Summary, w) {
				t.Errorf("%s: line %d: %s: %q (%s), want confirmed with %q", engine, f.Line, c.Status, c.Summary, c.Reason, w)
			}
			if len(c.Summary) > 160 {
				t.Errorf("%s: line %d: summary of %d chars", engine, f.Line, len(c.Summary))
			}
			if d, ok := c.Observed["engine_differences"]; ok || strings.Contains(c.Reason, "engines differ") {
				t.Errorf("%s: line %d: the engines differ: %v %s", engine, f.Line, d, c.Reason)
			}
			sent := fmt.Sprint(c.Observed["upstream_params"])
			if !strings.Contains(sent, "SCRIPT_NAME") || strings.Contains(sent, "REQUEST_METHOD") {
				t.Errorf("%s: line %d: params nginx sent: %s", engine, f.Line, sent)
			}
		}
	}
}

// TestSecGRPCHeaderDropReplayOnRealNginx: SEC1002's grpc_set_header and
// grpc_hide_header findings go to Debian's nginx, whose backends answer
// grpc_pass's HTTP/2 (h2c) with the request head they read and reflect
// the headers asked for (policy "echo"): the location with its own
// grpc_set_header sends no X-Real-IP and :authority is grpc_pass's
// address, not $host; the one with its own grpc_hide_header lets the
// backend's X-Powered-By through; on both engines alike.
func TestSecGRPCHeaderDropReplayOnRealNginx(t *testing.T) {
	bin := replayNginx(t)
	conf := replayConf(t, `events {}
http {
    server {
        listen 80;
        server_name victim.test;
        grpc_set_header Host $host;
        grpc_set_header X-Real-IP $remote_addr;
        grpc_hide_header X-Powered-By;
        location /api/ {
            grpc_set_header X-Request-Id $request_id;
            grpc_pass grpc://127.0.0.1:50051;
        }
        location /svc/ {
            grpc_hide_header X-Internal;
            grpc_pass grpc://127.0.0.1:50052;
        }
    }
}
`)
	want := map[int]string{
		10: "the backend got no X-Real-IP; Host: 127.0.0.1:",
		14: "with the backend's X-Powered-By",
	}
	for _, engine := range []string{"nginx", "both"} {
		fs := replayed(t, bin, engine, conf, "SEC1002")
		if len(fs) != 2 {
			t.Fatalf("%s: want two SEC1002 findings (lines 10, 14), got %d", engine, len(fs))
		}
		for _, f := range fs {
			c := f.Confirmation
			t.Logf("%s: line %d: %s: %s", engine, f.Line, c.Status, c.Summary)
			if w, ok := want[f.Line]; !ok || c.Status != "confirmed" || !strings.Contains(c.Summary, w) {
				t.Errorf("%s: line %d: %s: %q (%s), want confirmed with %q", engine, f.Line, c.Status, c.Summary, c.Reason, w)
			}
			if len(c.Summary) > 160 {
				t.Errorf("%s: line %d: summary of %d chars", engine, f.Line, len(c.Summary))
			}
			if d, ok := c.Observed["engine_differences"]; ok || strings.Contains(c.Reason, "engines differ") {
				t.Errorf("%s: line %d: the engines differ: %v %s", engine, f.Line, d, c.Reason)
			}
		}
	}
}

// TestSecParamsHideHeaderDropReplayOnRealNginx: SEC1002's
// fastcgi_hide_header, uwsgi_hide_header and scgi_hide_header findings go
// to Debian's nginx, whose echo backends answer each params protocol with
// a response header for every HTTP_X_NGXLINT_REFLECT_* param (the
// client's X-Ngxlint-Reflect-* headers): a location with its own hide
// list lets the backend's X-Powered-By through (FastCGI's dropped
// X-Accel-Buffering, hidden by default anyway, is not asked for), and
// one that drops uwsgi_hide_header Status lets the backend's Status
// through (only the uwsgi module does not hide it by default); on both
// engines alike.
func TestSecParamsHideHeaderDropReplayOnRealNginx(t *testing.T) {
	bin := replayNginx(t)
	conf := replayConf(t, `events {}
http {
    server {
        listen 80;
        server_name victim.test;
        fastcgi_hide_header X-Powered-By;
        fastcgi_hide_header X-Accel-Buffering;
        uwsgi_hide_header X-Powered-By;
        uwsgi_hide_header Status;
        scgi_hide_header X-Powered-By;
        location /php/ {
            fastcgi_hide_header X-Debug;
            fastcgi_pass 127.0.0.1:9000;
        }
        location /app/ {
            uwsgi_hide_header X-Debug;
            uwsgi_pass 127.0.0.1:9001;
        }
        location /cgi/ {
            scgi_hide_header X-Debug;
            scgi_pass 127.0.0.1:9002;
        }
        location /status/ {
            uwsgi_hide_header X-Powered-By;
            uwsgi_pass 127.0.0.1:9001;
        }
    }
}
`)
	want := map[int]string{
		12: "confirmed: GET /php/ [Host: victim.test] [X-Ngxlint-Reflect-X-Powered-By: ngxlint-reflected] -> 200 with the backend's X-Powered-By",
		16: "confirmed: GET /app/ [Host: victim.test] [X-Ngxlint-Reflect-X-Powered-By: ngxlint-reflected] -> 200 with the backend's X-Powered-By",
		20: "confirmed: GET /cgi/ [Host: victim.test] [X-Ngxlint-Reflect-X-Powered-By: ngxlint-reflected] -> 200 with the backend's X-Powered-By",
		24: "confirmed: GET /status/ [Host: victim.test] [X-Ngxlint-Reflect-Status: ngxlint-reflected] -> 200 with the backend's Status",
	}
	for _, engine := range []string{"nginx", "both"} {
		// The findings are info: --fail-on info makes them exit 1.
		fs := replayed(t, bin, engine, conf, "SEC1002", "--fail-on", "info")
		if len(fs) != len(want) {
			t.Fatalf("%s: want SEC1002 findings on lines 12, 16, 20, 24, got %d", engine, len(fs))
		}
		for _, f := range fs {
			c := f.Confirmation
			t.Logf("%s: line %d: %s: %s (%s)", engine, f.Line, c.Status, c.Summary, c.Reason)
			if w, ok := want[f.Line]; !ok || !strings.HasPrefix(c.Status+": "+c.Summary+c.Reason, w) {
				t.Errorf("%s: line %d: %s: %q (%s), want %q", engine, f.Line, c.Status, c.Summary, c.Reason, w)
			}
			if len(c.Summary) > 160 {
				t.Errorf("%s: line %d: summary of %d chars", engine, f.Line, len(c.Summary))
			}
			if d, ok := c.Observed["engine_differences"]; ok || strings.Contains(c.Reason, "engines differ") {
				t.Errorf("%s: line %d: the engines differ: %v %s", engine, f.Line, d, c.Reason)
			}
		}
	}
}

// TestSecFastCGILocationHideReplayOnRealNginx: a dropped
// fastcgi_hide_header Location lets the backend's Location through, and
// nginx, following CGI semantics, makes the answer 302 when the backend
// sends no Status (ngx_http_fastcgi_process_header); the SCGI echo sends a
// Status, so its answer stays 200. Both engines must agree.
func TestSecFastCGILocationHideReplayOnRealNginx(t *testing.T) {
	bin := replayNginx(t)
	conf := replayConf(t, `events {}
http {
    fastcgi_hide_header Location;
    scgi_hide_header Location;
    server {
        listen 80;
        server_name victim.test;
        location /php/ {
            fastcgi_hide_header X-Other;
            fastcgi_pass 127.0.0.1:9000;
        }
        location /cgi/ {
            scgi_hide_header X-Other;
            scgi_pass 127.0.0.1:9001;
        }
    }
}
`)
	want := map[int]string{10: "302 with the backend's Location", 14: "200 with the backend's Location"}
	for _, engine := range []string{"nginx", "both"} {
		fs := replayed(t, bin, engine, conf, "SEC1002", "--fail-on", "info")
		if len(fs) != len(want) {
			t.Fatalf("%s: %d findings, want %d", engine, len(fs), len(want))
		}
		for _, f := range fs {
			c := f.Confirmation
			if c.Status != "confirmed" || !strings.HasSuffix(c.Summary, want[f.Line]) {
				t.Errorf("%s: line %d: %s %q (%s), want confirmed ending %q", engine, f.Line, c.Status, c.Summary, c.Reason, want[f.Line])
			}
			if d, ok := c.Observed["engine_differences"]; ok {
				t.Errorf("%s: line %d: engines differ: %v", engine, f.Line, d)
			}
		}
	}
}

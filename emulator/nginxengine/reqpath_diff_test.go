package nginxengine

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"golang.org/x/tools/txtar"

	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/reqmodel"
)

// TestRequestPathDifferential sends each scenario of testdata/reqpath to
// Debian's nginx and to the emulator's request path (emulator.Serve) and
// compares what a client reads: the status, the body of a 200, and the
// headers the security rules look at (Location without its scheme://host
// prefix, Set-Cookie, and every X-* and ACAO header). Each scenario's
// expect line pins what real nginx did, so a change in nginx or in the
// harness shows apart from an emulator difference.
func TestRequestPathDifferential(t *testing.T) {
	b := realNginx(t)
	files, _ := filepath.Glob("testdata/reqpath/*.txtar")
	if len(files) == 0 {
		t.Fatal("no testdata/reqpath cases")
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(f)
			if err != nil {
				t.Fatal(err)
			}
			hdr := map[string]string{}
			for _, l := range strings.Split(string(ar.Comment), "\n") {
				if k, v, ok := strings.Cut(l, ":"); ok && (k == "requests" || k == "expect") {
					hdr[k] = strings.TrimSpace(v)
				}
			}
			reqs, err := emulator.ParseRequests(hdr["requests"])
			if err != nil {
				t.Fatal(err)
			}
			mfs := fstest.MapFS{}
			for _, af := range ar.Files {
				mfs[af.Name] = &fstest.MapFile{Data: af.Data, Mode: 0o644}
			}
			ok, _ := emulator.ParsePolicy("ok")
			real, err := b.Run(context.Background(), Scenario{ConfigFS: mfs, Main: "nginx.conf", Requests: reqs,
				Server: "victim.test", DefaultPolicy: ok, Timeout: 3 * time.Second})
			if err != nil {
				t.Fatalf("nginx: %v", err)
			}
			cfg := nginxconf.Load(mfs, "nginx.conf", nginxconf.Options{Prefix: "/"})
			if err := cfg.Err(); err != nil {
				t.Fatal(err)
			}
			m := nginxconf.BuildModel(cfg)
			site := emulator.Site{Server: m.HTTP.Servers[0], Analysis: reqmodel.NewAnalysis(m), Files: mfs,
				NginxVersion: real.Profile.Nginx}
			expects := strings.Split(hdr["expect"], ";")
			for i, rq := range reqs {
				rr := real.Requests[i]
				if rr.Head == "" {
					t.Errorf("%s: nginx gave no response (%s)", rq.Path, rr.Why)
					continue
				}
				_, rh := emulator.ParseHead(rr.Head)
				x := emulator.Serve(site, withHost(rq))
				// A proxied request's body is the loopback backend's,
				// which the request path does not emulate.
				proxied := x.Upstream != ""
				realObs := observe(rr.Status.Code, rr.Head, rh, rr.Body, proxied)
				emuObs := observe(x.Status, x.Head, x.Headers, x.Body, proxied)
				t.Logf("%s %s: nginx %s | emulator %s (location %q, file %q)", rq.Method, rq.Path, realObs, emuObs, x.Location, x.File)
				if realObs != emuObs {
					t.Errorf("%s %s:\n nginx:    %s\n emulator: %s\n trace: %s\n head: %q", orDefault(rq.Method, "GET"), rq.Path, realObs, emuObs, strings.Join(x.Trace, "; "), rr.Head)
				}
				if i < len(expects) {
					checkReqExpect(t, rq.Path, strings.TrimSpace(expects[i]), rr.Status.Code, rr.Head, rh, rr.Body)
				}
			}
		})
	}
}

// withHost gives a request the Host header the real-nginx engine sends
// (the scenario's server name) unless it has its own.
func withHost(rq emulator.Request) emulator.Request {
	for _, h := range rq.Headers {
		if strings.EqualFold(h.Name, "host") {
			return rq
		}
	}
	rq.Headers = append([]emulator.Header{{Name: "Host", Value: "victim.test"}}, rq.Headers...)
	return rq
}

// observe is the comparable part of a response. Besides the headers
// named in TestRequestPathDifferential's comment and Server (server_tokens,
// SEC1010) it counts the
// Content-Type lines when there is more than one (add_header
// Content-Type, SEC1004) and the head's continuation lines (a value with a
// line break, SEC1003); the Content-Type value itself is left out, since
// the request path does not model default_type and types.
func observe(status int, head string, hs []emulator.Header, body string, proxied bool) string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(status))
	if status == 200 && len(body) < 200 && !proxied {
		if strings.HasPrefix(body, "Active connections:") {
			// stub_status: the emulator models the page's lines, not
			// the counters, which count the engine's own probes too.
			body = strings.Map(func(r rune) rune {
				if r >= '0' && r <= '9' {
					return 'N'
				}
				return r
			}, body)
		}
		b.WriteString(" body=" + strings.TrimSpace(body))
	}
	if n := countHeader(hs, "content-type"); n > 1 {
		b.WriteString(" #content-type=" + strconv.Itoa(n))
	}
	if n := foldedLines(head); n > 0 {
		b.WriteString(" folded=" + strconv.Itoa(n))
	}
	for _, h := range hs {
		n := strings.ToLower(h.Name)
		v := h.Value
		switch {
		case n == "location":
			v = stripOrigin(v)
		case n == "set-cookie", strings.HasPrefix(n, "x-"), n == "acao", n == "www-authenticate", n == "server":
		default:
			continue
		}
		b.WriteString(" " + n + "=" + v)
	}
	return b.String()
}

// stripOrigin drops "http://host[:port]" from a Location nginx made
// absolute: the port is the run's ephemeral one.
func stripOrigin(v string) string {
	if rest, ok := strings.CutPrefix(v, "http://"); ok {
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			return rest[i:]
		}
	}
	return v
}

func countHeader(hs []emulator.Header, name string) int {
	n := 0
	for _, h := range hs {
		if strings.EqualFold(h.Name, name) {
			n++
		}
	}
	return n
}

// foldedLines counts the head's lines that start with a blank: the
// continuation of a header value (obs-fold).
func foldedLines(head string) int {
	n := 0
	for _, l := range strings.Split(head, "\n")[1:] {
		if strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t") {
			n++
		}
	}
	return n
}

// checkReqExpect checks "STATUS [body=TEXT] [Name=Value] [#Name=N]
// [folded=N]...": an empty Value means the header must be absent, #Name
// counts the header's lines, folded the head's continuation lines.
func checkReqExpect(t *testing.T, p, exp string, status int, head string, hs []emulator.Header, body string) {
	t.Helper()
	f := strings.Fields(exp)
	if len(f) == 0 {
		return
	}
	if f[0] != strconv.Itoa(status) {
		t.Errorf("%s: nginx status %d, expected %s", p, status, f[0])
	}
	for _, kv := range f[1:] {
		k, v, _ := strings.Cut(kv, "=")
		if k == "body" {
			if strings.TrimSpace(body) != v {
				t.Errorf("%s: nginx body %q, expected %q", p, body, v)
			}
			continue
		}
		if k == "folded" {
			if got := strconv.Itoa(foldedLines(head)); got != v {
				t.Errorf("%s: nginx head has %s continuation lines, expected %s: %q", p, got, v, head)
			}
			continue
		}
		if name, ok := strings.CutPrefix(k, "#"); ok {
			if got := strconv.Itoa(countHeader(hs, name)); got != v {
				t.Errorf("%s: nginx sent %s %s lines, expected %s", p, got, name, v)
			}
			continue
		}
		var got []string
		for _, h := range hs {
			if strings.EqualFold(h.Name, k) {
				got = append(got, h.Value)
			}
		}
		switch {
		case v == "" && len(got) > 0:
			t.Errorf("%s: nginx sent %s: %q, expected none", p, k, got)
		case v != "" && len(got) > 0 && strings.EqualFold(k, "location") && stripOrigin(got[0]) == v:
			// A relative redirect made absolute carries the run's port.
		case v != "" && (len(got) == 0 || got[0] != v):
			t.Errorf("%s: nginx %s = %q, expected %q", p, k, got, v)
		}
	}
}

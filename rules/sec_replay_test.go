package rules

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// fakeNginx stands in for nginxengine.Runner: it answers every request
// with head and body and records the scenario it was given.
type fakeNginx struct {
	head, body string
	got        *[]emulator.Scenario
}

func (f fakeNginx) Run(_ context.Context, sc emulator.Scenario) (*emulator.Result, error) {
	*f.got = append(*f.got, sc)
	res := &emulator.Result{Engine: "nginx", Binary: "/fake/nginx"}
	for _, rq := range sc.Config.Requests {
		res.Requests = append(res.Requests, emulator.RequestResult{Method: rq.Method, Path: rq.Path, Head: f.head, Body: f.body})
	}
	return res, nil
}

// TestRealReplayDecides: with a real engine, the finding's own crafted
// requests go to it unchanged, for the finding's server, and its answer
// decides the status: a head without the injected header makes SEC2001
// not-reproduced although the emulator showed it, and the disagreement
// is recorded as an engine difference. A configuration that is not on
// disk cannot be replayed and is not-confirmable, never confirmed.
func TestRealReplayDecides(t *testing.T) {
	conf := `http {
    server {
        listen 80;
        server_name victim.test;
        location ~ ^/v1/(?<action>[^.]*)\.json$ {
            add_header X-Action $action;
            return 200 "ok";
        }
    }
}
`
	for _, c := range []struct {
		name, main, head, want string
		differs                bool
	}{
		{name: "clean head", main: "/etc/nginx/nginx.conf", head: "HTTP/1.1 200 OK\r\nServer: nginx\r\nX-Action: \r\n\r\n", want: analyzer.NotReproduced, differs: true},
		{name: "injected head", main: "/etc/nginx/nginx.conf", head: "HTTP/1.1 200 OK\r\nX-Action: \r\nSet-Cookie: ngxlint=injected\r\n\r\n", want: analyzer.Confirmed},
		{name: "not on disk", main: "", head: "HTTP/1.1 200 OK\r\nSet-Cookie: ngxlint=injected\r\n\r\n", want: analyzer.NotConfirmable},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := nginxconf.Load(fstest.MapFS{"nginx.conf": {Data: []byte(conf)}}, "nginx.conf", nginxconf.Options{})
			if err := cfg.Err(); err != nil {
				t.Fatal(err)
			}
			cfg.Main.AbsPath = c.main
			var got []emulator.Scenario
			res := analyzer.Run(cfg, nginxconf.BuildModel(cfg), []*analyzer.Rule{HTTPSplitting},
				analyzer.Options{Engine: analyzer.Engine{Runner: fakeNginx{head: c.head, got: &got}}})
			if len(res.Diagnostics) != 1 || res.Diagnostics[0].Confirm == nil {
				t.Fatalf("want one SEC2001 finding with a confirmer, got %d", len(res.Diagnostics))
			}
			conf := res.Diagnostics[0].Confirm.Confirm(context.Background())
			t.Logf("%s [%s]: %s | %s", conf.Status, conf.Engine, conf.Summary, conf.Reason)
			if conf.Status != c.want {
				t.Errorf("status %s, want %s", conf.Status, c.want)
			}
			_, differs := conf.Observed["engine_differences"]
			if differs != c.differs {
				t.Errorf("engine_differences recorded: %v, want %v (%v)", differs, c.differs, conf.Observed)
			}
			if c.main == "" {
				if len(got) != 0 {
					t.Errorf("a configuration not on disk was sent to the runner")
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("runner called %d times, want 1", len(got))
			}
			sc := got[0]
			if sc.ConfigFile != c.main || sc.Location != nil || sc.Server == nil || sc.Server.ServerNames[0] != "victim.test" {
				t.Errorf("scenario: file %q, location %v, server %v", sc.ConfigFile, sc.Location, sc.Server)
			}
			rq := sc.Config.Requests[0]
			if !strings.Contains(rq.Path, "%0D%0ASet-Cookie") {
				t.Errorf("the crafted request was not sent as crafted: %q", rq.Path)
			}
		})
	}
}

// TestArrayDropParamsReplay: SEC1002's fastcgi_param check goes to the
// real engine with the echo policy and is judged on the FastCGI echo
// body it answers with: a list without the stock params confirms, an
// answer that is no such list (an HTTP echo, an error page) never does.
// The uwsgi_param check is replayed alike, on the uwsgi echo's list, and
// another protocol's list does not count.
func TestArrayDropParamsReplay(t *testing.T) {
	run := func(conf string, f fakeNginx) analyzer.Confirmation {
		t.Helper()
		cfg := nginxconf.Load(fstest.MapFS{"nginx.conf": {Data: []byte(conf)}}, "nginx.conf", nginxconf.Options{})
		cfg.Main.AbsPath = "/etc/nginx/nginx.conf"
		res := analyzer.Run(cfg, nginxconf.BuildModel(cfg), []*analyzer.Rule{ArrayDirectiveDropped},
			analyzer.Options{Engine: analyzer.Engine{Runner: f}})
		if len(res.Diagnostics) != 1 || res.Diagnostics[0].Confirm == nil {
			t.Fatalf("want one SEC1002 finding with a confirmer, got %d", len(res.Diagnostics))
		}
		c := res.Diagnostics[0].Confirm.Confirm(context.Background())
		t.Logf("%s [%s]: %s | %s", c.Status, c.Engine, c.Summary, c.Reason)
		return c
	}
	fcgi := `http {
    server {
        listen 80;
        server_name victim.test;
        include fastcgi_params;
        location ~ \.php$ {
            fastcgi_param SCRIPT_FILENAME /srv$fastcgi_script_name;
            fastcgi_pass 127.0.0.1:9000;
        }
    }
}
`
	head := "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n"
	var got []emulator.Scenario
	c := run(fcgi, fakeNginx{head: head, body: emulator.ParamsEcho(emulator.ProtoFastCGI, []emulator.Header{{Name: "SCRIPT_FILENAME", Value: "/srv/.php"}}), got: &got})
	if c.Status != analyzer.Confirmed || !strings.Contains(c.Summary, "the FastCGI backend got no QUERY_STRING") || strings.Contains(c.Reason, "engines differ") {
		t.Errorf("FastCGI echo without the stock params: %s %q (%s), want confirmed", c.Status, c.Summary, c.Reason)
	}
	if len(got) != 1 || got[0].Config.DefaultPolicy.Kind != emulator.PolicyEcho {
		t.Errorf("scenarios %+v: want one, with the echo policy", got)
	}
	c = run(fcgi, fakeNginx{head: head, body: "GET /.php HTTP/1.0\r\n\r\n", got: &got})
	if c.Status != analyzer.NotReproduced || !strings.Contains(c.Summary, "not an answer of the FastCGI echo backend") {
		t.Errorf("an HTTP answer: %s %q, want not-reproduced", c.Status, c.Summary)
	}

	uwsgi := strings.NewReplacer("fastcgi_params", "uwsgi_params", "fastcgi_param", "uwsgi_param", "fastcgi_pass", "uwsgi_pass").Replace(fcgi)
	got = nil
	c = run(uwsgi, fakeNginx{head: head, body: emulator.ParamsEcho(emulator.ProtoUwsgi, []emulator.Header{{Name: "SCRIPT_FILENAME", Value: "/srv/.php"}}), got: &got})
	if c.Status != analyzer.Confirmed || !strings.Contains(c.Summary, "the uwsgi backend got no QUERY_STRING") || strings.Contains(c.Reason, "engines differ") {
		t.Errorf("uwsgi echo without the stock params: %s %q (%s), want confirmed", c.Status, c.Summary, c.Reason)
	}
	if len(got) != 1 || got[0].Config.DefaultPolicy.Kind != emulator.PolicyEcho {
		t.Errorf("scenarios %+v: want one, with the echo policy", got)
	}
	// Another protocol's list is no answer of this level's backend.
	c = run(uwsgi, fakeNginx{head: head, body: emulator.ParamsEcho(emulator.ProtoSCGI, nil), got: &got})
	if c.Status != analyzer.NotReproduced || !strings.Contains(c.Summary, "not an answer of the uwsgi echo backend") {
		t.Errorf("an SCGI list for uwsgi_pass: %s %q, want not-reproduced", c.Status, c.Summary)
	}
}

// TestArrayDropParamsHideHeader: SEC1002's fastcgi_hide_header and
// scgi_hide_header checks ask the params echo for the dropped header. The
// emulator alone confirms a dropped X-Powered-By; a level that drops only
// what the module hides by default (FastCGI's Status, X-Accel-*) is not
// confirmable; on the real engine an answer that carries the header but
// is no echo of the level's protocol does not count.
func TestArrayDropParamsHideHeader(t *testing.T) {
	run := func(conf string, opts analyzer.Options) analyzer.Confirmation {
		t.Helper()
		cfg := nginxconf.Load(fstest.MapFS{"nginx.conf": {Data: []byte(conf)}}, "nginx.conf", nginxconf.Options{})
		cfg.Main.AbsPath = "/etc/nginx/nginx.conf"
		res := analyzer.Run(cfg, nginxconf.BuildModel(cfg), []*analyzer.Rule{ArrayDirectiveDropped}, opts)
		if len(res.Diagnostics) != 1 || res.Diagnostics[0].Confirm == nil {
			t.Fatalf("want one SEC1002 finding with a confirmer, got %d", len(res.Diagnostics))
		}
		c := res.Diagnostics[0].Confirm.Confirm(context.Background())
		t.Logf("%s [%s]: %s | %s", c.Status, c.Engine, c.Summary, c.Reason)
		return c
	}
	conf := func(module, inherited string) string {
		return `http {
    server {
        listen 80;
        server_name victim.test;
        ` + module + `_hide_header ` + inherited + `;
        location /app/ {
            ` + module + `_hide_header X-Debug;
            ` + module + `_pass 127.0.0.1:9000;
        }
    }
}
`
	}
	c := run(conf("fastcgi", "X-Powered-By"), analyzer.Options{})
	if c.Status != analyzer.Confirmed || !strings.HasSuffix(c.Summary, "-> 200 with the backend's X-Powered-By") {
		t.Errorf("fastcgi, dropped X-Powered-By: %s %q, want confirmed", c.Status, c.Summary)
	}
	c = run(conf("fastcgi", "X-Accel-Buffering"), analyzer.Options{})
	if c.Status != analyzer.NotConfirmable || !strings.Contains(c.Reason, "hides the dropped headers by default") {
		t.Errorf("fastcgi, dropped X-Accel-Buffering: %s %q, want not-confirmable", c.Status, c.Reason)
	}
	head := "HTTP/1.1 200 OK\r\nX-Powered-By: ngxlint-reflected\r\n\r\n"
	var got []emulator.Scenario
	c = run(conf("scgi", "X-Powered-By"), analyzer.Options{Engine: analyzer.Engine{Runner: fakeNginx{head: head, body: emulator.ParamsEcho(emulator.ProtoFastCGI, nil), got: &got}}})
	if c.Status == analyzer.Confirmed || !strings.Contains(c.Summary, "not an answer of the echo backend") {
		t.Errorf("scgi, a FastCGI list with the header: %s %q, want not confirmed", c.Status, c.Summary)
	}
	c = run(conf("scgi", "X-Powered-By"), analyzer.Options{Engine: analyzer.Engine{Runner: fakeNginx{head: head, body: emulator.ParamsEcho(emulator.ProtoSCGI, nil), got: &got}}})
	if c.Status != analyzer.Confirmed || strings.Contains(c.Reason, "engines differ") {
		t.Errorf("scgi, its list with the header: %s %q (%s), want confirmed", c.Status, c.Summary, c.Reason)
	}
}

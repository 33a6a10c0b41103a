package retry

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/emulator/fromconf"
	"github.com/ngxlint/ngxlint/luacheck"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/versions"
)

// modelCase is one configuration whose predicted worst-case attempts are
// checked against what the emulator observes while every attempt fails.
type modelCase struct {
	name     string
	versions [3]string // nginx, lnm, openresty
	upstream string    // the upstream block's body
	location string    // extra location directives
	// warmup: send a GET first against "first-only" backends so the pool
	// holds a connection the backend will close (the cached-failure path);
	// otherwise every backend reads and closes ("close").
	warmup        bool
	wantAttempts  int
	wantUnbounded bool
}

var modelCases = []modelCase{
	{name: "rr single", versions: [3]string{"1.22.1"}, upstream: "server 10.0.0.1:8080;", wantAttempts: 1},
	{name: "rr three", versions: [3]string{"1.22.1"}, upstream: "server 10.0.0.1:8080; server 10.0.0.2:8080; server 10.0.0.3:8080;", wantAttempts: 3},
	{name: "rr two plus backup", versions: [3]string{"1.22.1"}, upstream: "server 10.0.0.1:8080; server 10.0.0.2:8080; server 10.0.0.3:8080 backup;", wantAttempts: 3},
	{name: "rr down 1.9.7", versions: [3]string{"1.9.7"}, upstream: "server 10.0.0.1:8080; server 10.0.0.2:8080; server 10.0.0.3:8080 down;", wantAttempts: 2},
	{name: "rr down 1.22.1", versions: [3]string{"1.22.1"}, upstream: "server 10.0.0.1:8080; server 10.0.0.2:8080; server 10.0.0.3:8080 down;", wantAttempts: 2},
	{name: "rr three capped", versions: [3]string{"1.22.1"}, upstream: "server 10.0.0.1:8080; server 10.0.0.2:8080; server 10.0.0.3:8080;", location: "proxy_next_upstream_tries 2;", wantAttempts: 2},
	{name: "rr three off", versions: [3]string{"1.22.1"}, upstream: "server 10.0.0.1:8080; server 10.0.0.2:8080; server 10.0.0.3:8080;", location: "proxy_next_upstream off;", wantAttempts: 1},
	{name: "rr keepalive stale", versions: [3]string{"1.22.1"}, upstream: "server 10.0.0.1:8080; keepalive 1;", location: `proxy_http_version 1.1; proxy_set_header Connection "";`, warmup: true, wantAttempts: 2},
	{name: "rr keepalive stale off 1.9.7", versions: [3]string{"1.9.7"}, upstream: "server 10.0.0.1:8080; keepalive 1;", location: `proxy_http_version 1.1; proxy_set_header Connection ""; proxy_next_upstream off;`, warmup: true, wantAttempts: 2},
	{name: "rr keepalive stale off 1.22.1", versions: [3]string{"1.22.1"}, upstream: "server 10.0.0.1:8080; keepalive 1;", location: `proxy_http_version 1.1; proxy_set_header Connection ""; proxy_next_upstream off;`, warmup: true, wantAttempts: 1},
	{name: "rr keepalive, http/1.0", versions: [3]string{"1.22.1"}, upstream: "server 10.0.0.1:8080; keepalive 1;", warmup: true, wantAttempts: 1},
	{name: "lua no more tries", versions: [3]string{"1.22.1", "0.10.23"}, upstream: luaUpstream(""), wantAttempts: 1},
	{name: "lua guarded", versions: [3]string{"1.22.1", "0.10.23"}, upstream: luaUpstream("if not b.get_last_failure() then b.set_more_tries(2) end"), wantAttempts: 3},
	{name: "lua unguarded capped", versions: [3]string{"1.22.1", "0.10.23"}, upstream: luaUpstream("b.set_more_tries(1)"), location: "proxy_next_upstream_tries 5;", wantAttempts: 5},
	{name: "lua unguarded", versions: [3]string{"1.22.1", "0.10.23"}, upstream: luaUpstream("b.set_more_tries(1)"), wantUnbounded: true},
	{name: "lua unguarded zero-limit bug", versions: [3]string{"1.11.2", "0.10.7"}, upstream: luaUpstream("b.set_more_tries(1)"), wantAttempts: 1},
	{name: "lua keepalive seed bug", versions: [3]string{"1.9.7", "0.10.0"}, upstream: luaUpstream("") + " keepalive 1;", location: `proxy_http_version 1.1; proxy_set_header Connection "";`, warmup: true, wantUnbounded: true},
	{name: "lua keepalive fixed", versions: [3]string{"1.22.1", "0.10.23"}, upstream: luaUpstream("") + " keepalive 1;", location: `proxy_http_version 1.1; proxy_set_header Connection "";`, warmup: true, wantAttempts: 2},
	{name: "lua keepalive notify patch", versions: [3]string{"", "", "1.29.2.4"}, upstream: luaUpstream("") + " keepalive 1;", location: `proxy_http_version 1.1; proxy_set_header Connection "";`, warmup: true, wantAttempts: 1},
}

func luaUpstream(more string) string {
	return `server 0.0.0.1; balancer_by_lua_block { local b = require "ngx.balancer" ` + more + ` assert(b.set_current_peer("127.0.0.1", 8080)) }`
}

// TestModelAgainstEmulator compares the predicted worst-case attempts with
// the emulator's observed attempts on every case.
func TestModelAgainstEmulator(t *testing.T) {
	for _, tc := range modelCases {
		t.Run(tc.name, func(t *testing.T) {
			conf := "http {\n upstream u { " + tc.upstream + " }\n server { listen 80; location / { proxy_pass http://u; " + tc.location + " } }\n}\n"
			cfg := nginxconf.Load(fstest.MapFS{"nginx.conf": {Data: []byte(conf)}}, "nginx.conf", nginxconf.Options{})
			if err := cfg.Err(); err != nil {
				t.Fatal(err)
			}
			target, err := fromconf.Find(nginxconf.BuildModel(cfg), "u", "")
			if err != nil {
				t.Fatal(err)
			}
			prof, err := versions.Resolve(tc.versions[0], tc.versions[1], tc.versions[2])
			if err != nil {
				t.Fatal(err)
			}
			var bal *luacheck.Result
			if b := target.Upstream.Balancer; b != nil {
				bal = luacheck.Analyze(b.Lua, luacheck.Options{})
			}
			p := Predict(FromModel(prof, target.Upstream, target.Location, bal))
			if p.Unbounded != tc.wantUnbounded || (!tc.wantUnbounded && p.Attempts != tc.wantAttempts) {
				t.Errorf("model predicts %s, want attempts %d unbounded %v\n%s", p, tc.wantAttempts, tc.wantUnbounded, strings.Join(p.Steps, "\n"))
			}

			ec, err := fromconf.Build(target)
			if err != nil {
				t.Fatal(err)
			}
			ec.Profile = prof.Concrete()
			ec.MaxAttempts, ec.Timeout = 200, 5*time.Second
			ec.DefaultPolicy, _ = emulator.ParsePolicy("close")
			ec.Requests = []emulator.Request{{Method: "GET", Path: "/"}}
			if tc.warmup {
				ec.DefaultPolicy, _ = emulator.ParsePolicy("first-only")
				ec.Requests = append(ec.Requests, emulator.Request{Method: "GET", Path: "/"})
			}
			res, err := emulator.Run(context.Background(), ec)
			if err != nil {
				t.Fatal(err)
			}
			q := res.Requests[len(res.Requests)-1]
			attempts := 0
			for _, a := range q.Attempts {
				if a.Outcome != emulator.OutcomeNoLive {
					attempts++
				}
			}
			if q.Unbounded != p.Unbounded || (!p.Unbounded && attempts != p.Attempts) {
				var b strings.Builder
				res.WriteText(&b)
				t.Errorf("emulator made %d attempts (unbounded %v); the model predicted %s\nmodel:\n%s\nemulator:\n%s", attempts, q.Unbounded, p, strings.Join(p.Steps, "\n"), b.String())
			}
		})
	}
}

func TestResendPrediction(t *testing.T) {
	cases := []struct {
		name string
		in   Input
		want bool
	}{
		{"non_idempotent two servers", Input{Profile: prof(t, "1.22.1"), Primaries: 2, Mask: []string{"error", "non_idempotent"}}, true},
		{"default mask two servers", Input{Profile: prof(t, "1.22.1"), Primaries: 2, Mask: []string{"error", "timeout"}}, false},
		{"old nginx two servers", Input{Profile: prof(t, "1.9.7"), Primaries: 2, Mask: []string{"error", "timeout"}}, true},
		{"old nginx keepalive off", Input{Profile: prof(t, "1.9.12"), Primaries: 1, Keepalive: 4, Mask: []string{"off"}}, true},
		{"new nginx keepalive off", Input{Profile: prof(t, "1.9.13"), Primaries: 1, Keepalive: 4, Mask: []string{"off"}}, false},
		// A small body that came with the header is re-sent even with
		// proxy_request_buffering off (emulator TestUnbufferedRetry; the
		// real-nginx scenario i20-unbuffered-post-retried).
		{"non_idempotent unbuffered", Input{Profile: prof(t, "1.22.1"), Primaries: 2, Mask: []string{"error", "non_idempotent"}, Unbuffered: true}, true},
	}
	for _, c := range cases {
		if got := Predict(c.in).Resend; got != c.want {
			t.Errorf("%s: resend %v, want %v", c.name, got, c.want)
		}
	}
}

func prof(t *testing.T, nginx string) versions.Profile {
	p, err := versions.Resolve(nginx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSettingsKeyCoversEveryField: the rules share one prediction between
// inputs with equal keys, so changing any field but the profile must
// change the key (a field added to Input and forgotten in SettingsKey
// fails here).
func TestSettingsKeyCoversEveryField(t *testing.T) {
	base := Input{Primaries: 2, Backups: 1, Down: 1, Balancer: true, MoreTries: []MoreTries{{Guarded: true, N: 2}},
		EnableKeepalive: true, Keepalive: 8, LuaPool: 32, Mask: []string{"error", "timeout"}, Tries: 3, Timeout: "5s", Unbuffered: true}
	k0 := base.SettingsKey()
	typ := reflect.TypeOf(base)
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		if f.Name == "Profile" {
			continue
		}
		in := base
		in.MoreTries = slices.Clone(base.MoreTries)
		in.Mask = slices.Clone(base.Mask)
		v := reflect.ValueOf(&in).Elem().Field(i)
		switch f.Name {
		case "MoreTries":
			in.MoreTries[0].N = 3
			if k := in.SettingsKey(); k == k0 {
				t.Errorf("MoreTries N change: same key %q", k)
			}
			in.MoreTries[0].N, in.MoreTries[0].Guarded = 2, false
		case "Mask":
			in.Mask = []string{"error", "timeout", "non_idempotent"}
		default:
			switch v.Kind() {
			case reflect.Int:
				v.SetInt(v.Int() + 1)
			case reflect.Bool:
				v.SetBool(!v.Bool())
			case reflect.String:
				v.SetString(v.String() + "0")
			default:
				t.Fatalf("field %s of kind %s: extend this test", f.Name, v.Kind())
			}
		}
		if k := in.SettingsKey(); k == k0 {
			t.Errorf("changing %s leaves the key %q", f.Name, k)
		}
	}
}

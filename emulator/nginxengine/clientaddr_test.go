package nginxengine

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/reqmodel"
)

// clientAddrConf answers with the client address nginx sees, and has an
// access list and a geo that decide by it (a static file behind
// the access list: a return would answer before the access phase).
const clientAddrConf = `events {}
http {
    geo $zone {
        default        outside;
        127.0.0.0/8    loop;
        10.0.0.0/8     office;
    }
    server {
        listen 80;
        server_name victim.test;
        location /addr {
            return 200 "$remote_addr $zone";
        }
        root files;
        location /office/ {
            allow 10.0.0.0/8;
            deny all;
        }
%s
    }
}
`

// TestClientAddressRealNginx: a request from another 127.0.0.0/8 address
// comes from it (the client binds its socket there), and one from an
// address off loopback reaches nginx through the realip module the engine
// adds, so $remote_addr, geo and allow/deny see it; the emulator's request
// path gives the same answers.
func TestClientAddressRealNginx(t *testing.T) {
	b := realNginx(t)
	conf := strings.Replace(clientAddrConf, "%s", "", 1)
	mfs := fstest.MapFS{"nginx.conf": {Data: []byte(conf)}, "files/office/a.txt": {Data: []byte("in")}}
	reqs := []emulator.Request{
		{Path: "/addr"},
		{Path: "/addr", RemoteAddr: "127.0.0.2"},
		{Path: "/addr", RemoteAddr: "10.1.2.3"},
		{Path: "/addr", RemoteAddr: "203.0.113.5"},
		{Path: "/addr", RemoteAddr: "2001:db8::1"},
		{Path: "/office/a.txt", RemoteAddr: "10.1.2.3"},
		{Path: "/office/a.txt", RemoteAddr: "203.0.113.5"},
		{Path: "/office/a.txt", RemoteAddr: "127.0.0.2"},
	}
	wantBody := []string{"127.0.0.1 loop", "127.0.0.2 loop", "10.1.2.3 office", "203.0.113.5 outside", "2001:db8::1 outside", "in", "", ""}
	wantStatus := []int{200, 200, 200, 200, 200, 200, 403, 403}
	ok, _ := emulator.ParsePolicy("ok")
	res, err := b.Run(context.Background(), Scenario{ConfigFS: mfs, Main: "nginx.conf", Requests: reqs,
		Server: "victim.test", DefaultPolicy: ok, Timeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	injected := false
	for _, rw := range res.Rewrites {
		injected = injected || strings.Contains(rw.After, "real_ip_header "+clientAddrHeader)
	}
	if !injected {
		t.Errorf("no realip injection among the rewrites: %v", res.Rewrites)
	}
	cfg := nginxconf.Load(mfs, "nginx.conf", nginxconf.Options{Prefix: "/"})
	m := nginxconf.BuildModel(cfg)
	site := emulator.Site{Server: m.HTTP.Servers[0], Analysis: reqmodel.NewAnalysis(m), Files: mfs}
	for i, rq := range reqs {
		rr := res.Requests[i]
		body := ""
		if rr.Status.Code == 200 {
			body = rr.Body
		}
		t.Logf("%s from %q: %d %q", rq.Path, rq.RemoteAddr, rr.Status.Code, body)
		if rr.Status.Code != wantStatus[i] || body != wantBody[i] {
			t.Errorf("%s from %q: nginx %d %q, want %d %q", rq.Path, rq.RemoteAddr, rr.Status.Code, body, wantStatus[i], wantBody[i])
		}
		// The emulator does not model geo: compare the address only.
		x := emulator.Serve(site, withHost(rq))
		if x.Status != rr.Status.Code || x.Status == 200 && strings.Fields(x.Body + " ")[0] != strings.Fields(body)[0] {
			t.Errorf("%s from %q: emulator %d %q, nginx %d %q", rq.Path, rq.RemoteAddr, x.Status, x.Body, rr.Status.Code, body)
		}
	}
}

// TestClientAddressRefused: a request from an address off loopback is
// not replayed on a configuration where the realip injection would change
// more than the client address; a loopback one still is.
func TestClientAddressRefused(t *testing.T) {
	b := realNginx(t)
	for _, c := range []struct{ name, extra, reason string }{
		{"own realip", "        set_real_ip_from 192.168.0.0/16;", "uses the realip module itself"},
		{"reads the header", `        location /h { return 200 "$http_x_ngxlint_client_addr"; }`, "$http_x_ngxlint_client_addr"},
		{"realip_remote_addr", `        location /h { return 200 "$realip_remote_addr"; }`, "$realip_remote_addr"},
		{"lua", `        location /h { content_by_lua_block { ngx.say(ngx.req.get_headers()["x"]) } }`, "Lua code can read every request header"},
	} {
		t.Run(c.name, func(t *testing.T) {
			conf := strings.Replace(clientAddrConf, "%s", c.extra, 1)
			sc := Scenario{ConfigFS: fstest.MapFS{"nginx.conf": {Data: []byte(conf)}}, Main: "nginx.conf",
				Requests: []emulator.Request{{Path: "/addr", RemoteAddr: "10.1.2.3"}}, Server: "victim.test", Timeout: 3 * time.Second}
			_, err := b.Run(context.Background(), sc)
			if !errors.Is(err, emulator.ErrNotReplayable) || !strings.Contains(err.Error(), c.reason) {
				t.Fatalf("want a refusal saying %q, got %v", c.reason, err)
			}
			t.Log(err)
			sc.Requests[0].RemoteAddr = "127.0.0.3"
			res, err := b.Run(context.Background(), sc)
			if err != nil {
				t.Fatalf("a loopback client address: %v", err)
			}
			if got := res.Requests[0].Body; got != "127.0.0.3 loop" {
				t.Errorf("loopback client: body %q", got)
			}
		})
	}
}

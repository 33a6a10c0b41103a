package nginxconf

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"golang.org/x/tools/txtar"
)

func loadModel(t *testing.T, file string) *Model {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	fsys := fstest.MapFS{}
	for _, f := range txtar.Parse(data).Files {
		fsys[f.Name] = &fstest.MapFile{Data: f.Data}
	}
	cfg := Load(fsys, "nginx.conf", Options{})
	if err := cfg.Err(); err != nil {
		t.Fatalf("load: %v", err)
	}
	checkInvariants(t, cfg)
	return BuildModel(cfg)
}

func locationByPath(t *testing.T, s *Server, path string) *Location {
	t.Helper()
	for _, l := range s.AllLocations {
		if l.Path == path {
			return l
		}
	}
	t.Fatalf("no location %q", path)
	return nil
}

func headerNames(ds []*Directive) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Arg(0))
	}
	return out
}

func TestModelInheritance(t *testing.T) {
	m := loadModel(t, "testdata/model/inheritance.txtar")
	if m.HTTP == nil || len(m.HTTP.Servers) != 1 {
		t.Fatalf("want one http server, got %+v", m.HTTP)
	}
	s := m.HTTP.Servers[0]
	if got := strings.Join(s.ServerNames, ","); got != "a.example,b.example" {
		t.Errorf("server names %q", got)
	}
	if len(s.Listen) != 1 || s.Listen[0].Arg(0) != "80" {
		t.Errorf("listen %v", s.Listen)
	}
	if len(s.Locations) != 5 || len(s.AllLocations) != 6 {
		t.Errorf("locations: top %d all %d, want 5 and 6", len(s.Locations), len(s.AllLocations))
	}

	inh := locationByPath(t, s, "/inherit")
	if v := inh.Proxy.HTTPVersion; v == nil || v.Arg(0) != "1.1" || v.Pos.Line != 2 {
		t.Errorf("/inherit proxy_http_version = %v, want http-level 1.1 at line 2", v)
	}
	if got := headerNames(inh.Proxy.SetHeaders); !slices.Equal(got, []string{"Connection", "X-Http"}) {
		t.Errorf("/inherit headers %v", got)
	}
	if v, d, ok := inh.Proxy.Header("connection"); !ok || v != "" || d == nil {
		t.Errorf("/inherit Connection = %q %v %v, want cleared", v, d, ok)
	}
	if got := inh.Proxy.NextUpstreamValues; !slices.Equal(got, []string{"error", "timeout", "http_502"}) {
		t.Errorf("/inherit next_upstream %v", got)
	}
	if d := inh.Proxy.NextUpstreamTries; d == nil || d.Arg(0) != "3" {
		t.Errorf("/inherit tries %v (server level)", d)
	}
	if p := inh.Proxy.Pass; p == nil || p.Upstream == nil || p.Upstream.Name != "backend" || p.Scheme != "http" {
		t.Errorf("/inherit proxy_pass %+v", p)
	}

	own := locationByPath(t, s, "/own")
	// All-or-nothing: one proxy_set_header at this level drops both
	// inherited ones, so Connection falls back to nginx's "close".
	if got := headerNames(own.Proxy.SetHeaders); !slices.Equal(got, []string{"Host"}) {
		t.Errorf("/own headers %v, want only Host", got)
	}
	if v, d, _ := own.Proxy.Header("Connection"); v != "close" || d != nil {
		t.Errorf("/own Connection = %q %v, want default close", v, d)
	}
	if v := own.Proxy.HTTPVersion; v == nil || v.Arg(0) != "1.0" {
		t.Errorf("/own http version %v", v)
	}
	if p := own.Proxy.Pass; p == nil || p.Upstream == nil || p.Upstream.Name != "backend" || p.HostHasVariables {
		t.Errorf("/own proxy_pass http://backend$request_uri: %+v", p)
	}

	nested := locationByPath(t, s, "/own/nested")
	if nested.Parent != own {
		t.Errorf("nested parent %v", nested.Parent)
	}
	if got := headerNames(nested.Proxy.SetHeaders); !slices.Equal(got, []string{"Host"}) {
		t.Errorf("nested headers %v, want inherited from /own", got)
	}
	if got := nested.Proxy.NextUpstreamValues; !slices.Equal(got, []string{"off"}) {
		t.Errorf("nested next_upstream %v", got)
	}
	if v := nested.Proxy.HTTPVersion; v == nil || v.Arg(0) != "1.0" {
		t.Errorf("nested http version %v, want /own's 1.0", v)
	}
	if p := nested.Proxy.Pass; p == nil || !p.HostHasVariables || p.Upstream != nil {
		t.Errorf("nested proxy_pass http://$target: %+v", p)
	}

	exact := locationByPath(t, s, "/exact")
	if exact.Modifier != "=" {
		t.Errorf("modifier %q", exact.Modifier)
	}
	if got := headerNames(exact.Proxy.SetHeaders); !slices.Equal(got, []string{"X-Inc"}) {
		t.Errorf("/exact headers from include %v", got)
	}
	if p := exact.Proxy.Pass; p == nil || p.Scheme != "https" || p.Host != "backend" || p.Upstream == nil {
		t.Errorf("/exact proxy_pass %+v", p)
	}
	if l := locationByPath(t, s, `\.php$`); l.Modifier != "~*" || l.Proxy.Pass != nil {
		t.Errorf("regex location %+v", l)
	}
	if l := locationByPath(t, s, "named"); l.Modifier != "@" {
		t.Errorf("named location modifier %q", l.Modifier)
	}

	u := m.HTTP.UpstreamByName["backend"]
	if u == nil || len(u.Servers) != 2 {
		t.Fatalf("upstream backend %+v", u)
	}
	s0, s1 := u.Servers[0], u.Servers[1]
	if s0.Address != "10.0.0.1:80" || s0.Weight != 5 || s0.MaxFails != 2 || s0.FailTimeout != "3s" || s0.Backup {
		t.Errorf("server 0 %+v", s0)
	}
	if !s1.Backup || s1.Weight != 0 {
		t.Errorf("server 1 %+v", s1)
	}
}

func TestModelUpstreamOrder(t *testing.T) {
	m := loadModel(t, "testdata/model/upstream_order.txtar")
	early := m.HTTP.UpstreamByName["early"]
	if early.Keepalive == nil || early.Balancer == nil || !early.Before(early.Keepalive, early.Balancer) {
		t.Errorf("early: keepalive should come before the balancer")
	}
	if early.Method != early.Balancer {
		t.Errorf("early: method %v", early.Method)
	}
	late := m.HTTP.UpstreamByName["late"]
	if late.Balancer == nil || late.Balancer.File.Path != "lb.conf" {
		t.Fatalf("late: balancer from include: %+v", late.Balancer)
	}
	if !late.Before(late.Balancer, late.Keepalive) || late.Before(late.Keepalive, late.Balancer) {
		t.Errorf("late: balancer (included) should come before keepalive")
	}
	if late.KeepaliveRequests.Arg(0) != "100" || late.KeepaliveTimeout.Arg(0) != "30s" || late.KeepaliveTime.Arg(0) != "1h" {
		t.Errorf("late keepalive_* %v %v %v", late.KeepaliveRequests, late.KeepaliveTimeout, late.KeepaliveTime)
	}
	if got := late.Index(late.Balancer); got != 1 {
		t.Errorf("late balancer index %d, want 1 (server, balancer, keepalive...)", got)
	}
	hashed := m.HTTP.UpstreamByName["hashed"]
	if hashed.Method == nil || hashed.Method.Name != "hash" || !hashed.Before(hashed.Keepalive, hashed.Method) {
		t.Errorf("hashed method %v", hashed.Method)
	}
	if s := hashed.Servers[0]; s.MaxConns != 7 || !s.Down {
		t.Errorf("hashed server %+v", s)
	}

	// Lua chunks with where they run.
	var got []string
	for _, r := range m.Lua {
		where := r.Subsystem
		if r.Upstream != nil {
			where += " upstream " + r.Upstream.Name
		}
		if r.Location != nil {
			where += " location " + r.Location.Path
		}
		if r.Server != nil {
			where += " server"
		}
		got = append(got, r.Context+" @"+where)
	}
	want := []string{
		"balancer_by_lua @http upstream early",
		"balancer_by_lua @http upstream late",
		"content_by_lua @http location / server",
		"preread_by_lua @stream server",
	}
	if !slices.Equal(got, want) {
		t.Errorf("lua refs\n got %q\nwant %q", got, want)
	}

	if m.Stream == nil || len(m.Stream.Servers) != 1 {
		t.Fatalf("stream %+v", m.Stream)
	}
	if p := m.Stream.Servers[0].Proxy; p == nil || p.Upstream == nil || p.Upstream.Name != "tcp" || p.Upstream.Context != m.Stream {
		t.Errorf("stream proxy_pass %+v", p)
	}
}

// TestModelManyServers covers the parallel part of BuildModel (servers are
// filled on every processor once there are enough of them): each
// location gets its own server's inherited settings, names and listen,
// and proxy_pass finds its upstream. `go test -race` checks the sharing.
func TestModelManyServers(t *testing.T) {
	const n = 300
	var b strings.Builder
	b.WriteString("events {}\nhttp {\n  proxy_next_upstream error;\n")
	for i := range n {
		if i%4 == 0 {
			fmt.Fprintf(&b, "  upstream u%d { server 127.0.0.1:%d; balancer_by_lua_block { return } }\n", i, 1000+i)
		} else {
			fmt.Fprintf(&b, "  upstream u%d { server 127.0.0.1:%d; }\n", i, 1000+i)
		}
		if i%3 == 0 {
			fmt.Fprintf(&b, "  server { listen %d; location /lua { content_by_lua_block { ngx.say(%d) } } }\n", 5000+i, i)
		}
		fmt.Fprintf(&b, "  server {\n    listen %d;\n    server_name s%d.example;\n", 2000+i, i)
		if i%2 == 0 {
			fmt.Fprintf(&b, "    proxy_next_upstream_tries %d;\n", i+1)
		}
		fmt.Fprintf(&b, "    location /a { proxy_pass http://u%d; }\n    location /b { proxy_next_upstream http_50%d; proxy_pass http://u%d; }\n  }\n", i, i%5, i)
	}
	b.WriteString("}\n")
	cfg := Load(fstest.MapFS{"nginx.conf": {Data: []byte(b.String())}}, "nginx.conf", Options{})
	if err := cfg.Err(); err != nil {
		t.Fatal(err)
	}
	m := BuildModel(cfg)
	// The Lua chunks are listed in document order, the balancers of the
	// http level interleaved with the servers' content handlers.
	if want := n/4 + n/3; len(m.Lua) != want {
		t.Fatalf("%d Lua chunks, want %d", len(m.Lua), want)
	}
	for i := 1; i < len(m.Lua); i++ {
		if m.Lua[i-1].Directive.Pos.Offset >= m.Lua[i].Directive.Pos.Offset {
			t.Fatalf("Lua chunk %d (%s) listed after %s", i, m.Lua[i].Directive.Pos, m.Lua[i-1].Directive.Pos)
		}
		if r := m.Lua[i]; (r.Upstream != nil) == (r.Location != nil) || r.Location != nil && r.Location.Path != "/lua" {
			t.Fatalf("Lua chunk %s: upstream %v, location %v", r.Directive.Pos, r.Upstream, r.Location)
		}
	}
	var servers []*Server
	for _, s := range m.HTTP.Servers {
		if len(s.Locations) > 0 && s.Locations[0].Path != "/lua" {
			servers = append(servers, s)
		}
	}
	if len(servers) != n {
		t.Fatalf("%d servers, want %d", len(servers), n)
	}
	for i, s := range servers {
		if got, want := strings.Join(s.ServerNames, ","), fmt.Sprintf("s%d.example", i); got != want {
			t.Errorf("server %d: names %q, want %q", i, got, want)
		}
		if len(s.Listen) != 1 || s.Listen[0].Arg(0) != strconv.Itoa(2000+i) {
			t.Errorf("server %d: listen %v", i, s.Listen)
		}
		a, bl := locationByPath(t, s, "/a"), locationByPath(t, s, "/b")
		if got := strings.Join(a.Proxy.NextUpstreamValues, " "); got != "error" {
			t.Errorf("server %d /a: proxy_next_upstream %q, want the http level's", i, got)
		}
		if got, want := strings.Join(bl.Proxy.NextUpstreamValues, " "), fmt.Sprintf("http_50%d", i%5); got != want {
			t.Errorf("server %d /b: proxy_next_upstream %q, want %q", i, got, want)
		}
		tries := a.Proxy.NextUpstreamTries
		if (i%2 == 0) != (tries != nil) || tries != nil && tries.Arg(0) != strconv.Itoa(i+1) {
			t.Errorf("server %d: proxy_next_upstream_tries %v", i, tries)
		}
		for _, l := range []*Location{a, bl} {
			if l.Proxy.Pass == nil || l.Proxy.Pass.Upstream == nil || l.Proxy.Pass.Upstream.Name != fmt.Sprintf("u%d", i) {
				t.Errorf("server %d %s: proxy_pass upstream %+v", i, l.Path, l.Proxy.Pass)
			}
		}
	}
}

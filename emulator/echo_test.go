package emulator

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/reqmodel"
)

// TestEchoBackend: the echo backend's body is the request head it read,
// which ParseEcho reads back, and a ReflectPrefix header comes back as a
// response header; names that are not tokens and more than echoMaxReflect
// are not reflected.
func TestEchoBackend(t *testing.T) {
	p, _ := ParsePolicy("echo")
	b, err := StartBackend(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c, err := net.Dial("tcp4", b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := "GET /a?b=1 HTTP/1.0\r\nHost: up\r\nX-Forwarded-For: 10.0.0.1\r\n" + ReflectPrefix + "X-Powered-By: php\r\n" + ReflectPrefix + "Bad(Name): v\r\n"
	for i := 0; i < echoMaxReflect+2; i++ {
		req += ReflectPrefix + "X-N" + strings.Repeat("n", i) + ": v\r\n"
	}
	if _, err := io.WriteString(c, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	line, hs, ok := ParseEcho(string(body))
	if !ok || line != "GET /a?b=1 HTTP/1.0" || len(hs) != 4+echoMaxReflect+2 || hs[1] != (Header{"X-Forwarded-For", "10.0.0.1"}) {
		t.Errorf("echo body read back as %q %v %v from %q", line, hs, ok, body)
	}
	if got := resp.Header.Get("X-Powered-By"); got != "php" {
		t.Errorf("X-Powered-By = %q, want the reflected php", got)
	}
	if n := len(resp.Header.Values("Bad(Name)")); n != 0 {
		t.Errorf("a name that is not a token was reflected")
	}
	reflected := 0
	for k := range resp.Header {
		if strings.HasPrefix(k, "X-N") || k == "X-Powered-By" {
			reflected++
		}
	}
	if reflected != echoMaxReflect {
		t.Errorf("%d headers reflected, want the cap %d", reflected, echoMaxReflect)
	}
	if _, _, ok := ParseEcho("<html>404</html>"); ok {
		t.Errorf("an error page read as an echo")
	}
}

// TestUpstreamRequest: the head proxy_pass sends is the level's own
// proxy_set_header list (all-or-nothing), then the module's defaults it
// does not name, then the client's headers no entry names; empty values
// are not sent. The echo backend's reflected headers reach the client
// unless the level's hide list (or the default one) hides them, and
// fastcgi_pass's params include a stock fastcgi_params of the level.
func TestUpstreamRequest(t *testing.T) {
	conf := `http {
    proxy_hide_header X-Powered-By;
    server {
        listen 80;
        server_name victim.test;
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        location /api/ {
            proxy_set_header X-Request-Id $request_id;
            proxy_set_header X-Empty $http_x_none;
            proxy_pass http://127.0.0.1:8080;
        }
        location /inherits/ {
            proxy_pass http://backend;
        }
        location /hide/ {
            proxy_hide_header X-Runtime;
            proxy_pass_request_headers on;
            proxy_pass http://127.0.0.1:8080;
        }
        location /nohdr/ {
            proxy_pass_request_headers off;
            proxy_pass http://127.0.0.1:8080;
        }
        location ~ \.php$ {
            include fastcgi_params;
            fastcgi_param SCRIPT_FILENAME /srv$fastcgi_script_name;
            fastcgi_param HTTPS $https if_not_empty;
            fastcgi_pass 127.0.0.1:9000;
        }
    }
}
`
	cfg := nginxconf.Load(fstest.MapFS{"nginx.conf": {Data: []byte(conf)}}, "nginx.conf", nginxconf.Options{})
	m := nginxconf.BuildModel(cfg)
	site := Site{Server: m.HTTP.Servers[0], Analysis: reqmodel.NewAnalysis(m), EchoBackend: true}
	client := []Header{{"Host", "victim.test"}, {"X-Forwarded-For", "1.2.3.4"}, {"TE", "trailers"}, {"Foo_Bar", "1"},
		{ReflectPrefix + "X-Powered-By", "php"}, {ReflectPrefix + "X-Runtime", "9"}, {ReflectPrefix + "Server", "app"}}
	head := func(ur *UpstreamRequest) string {
		var b []string
		for _, h := range ur.Headers {
			if !strings.HasPrefix(h.Name, ReflectPrefix) {
				b = append(b, h.Name+": "+h.Value)
			}
		}
		return ur.Line + " | " + strings.Join(b, " | ")
	}
	for _, c := range []struct{ path, want, client string }{
		{"/api/x?a=1", "GET /api/x?a=1 HTTP/1.0 | X-Request-Id: 00000000000000000000000000000000 | Host: 127.0.0.1:8080 | Connection: close | X-Forwarded-For: 1.2.3.4", ""},
		{"/inherits/", "GET /inherits/ HTTP/1.0 | Host: victim.test | X-Forwarded-For: 1.2.3.4, 127.0.0.1 | Connection: close", "X-Powered-By=[]"},
		{"/hide/", "GET /hide/ HTTP/1.0 | Host: victim.test | X-Forwarded-For: 1.2.3.4, 127.0.0.1 | Connection: close", "X-Powered-By=[php]"},
		{"/nohdr/", "GET /nohdr/ HTTP/1.0 | Host: victim.test | X-Forwarded-For: 1.2.3.4, 127.0.0.1 | Connection: close", "X-Powered-By=[]"},
	} {
		x := Serve(site, Request{Path: c.path, Headers: client})
		if x.UpstreamRequest == nil {
			t.Fatalf("%s: not proxied: %v", c.path, x.Trace)
		}
		if got := head(x.UpstreamRequest); got != c.want {
			t.Errorf("%s: upstream head\n got %s\nwant %s", c.path, got, c.want)
		}
		line, hs, ok := ParseEcho(x.Body)
		if !ok || line != x.UpstreamRequest.Line || len(hs) != len(x.UpstreamRequest.Headers) {
			t.Errorf("%s: body is not the echoed head: %q", c.path, x.Body)
		}
		if c.client != "" {
			k, _, _ := strings.Cut(c.client, "=")
			if got := k + "=" + "[" + strings.Join(x.Header(k), " ") + "]"; got != c.client {
				t.Errorf("%s: client reads %s, want %s", c.path, got, c.client)
			}
		}
		if len(x.Header("Server")) != 1 || (len(x.Header("X-Runtime")) == 0) != (c.path == "/hide/" || c.path == "/nohdr/") {
			t.Errorf("%s: the backend's Server (hidden by default) passed, or X-Runtime passed where hidden (or the reverse): %q", c.path, x.Head)
		}
	}
	if v, exact := Serve(site, Request{Path: "/api/", Headers: client}).Eval("$host $request_id"); v != "victim.test 00000000000000000000000000000000" || exact {
		t.Errorf("Eval = %q, %v; want the value, inexact ($request_id is random in nginx)", v, exact)
	}
	if v, exact := Serve(site, Request{Path: "/api/", Headers: client}).Eval("$scheme://$host"); v != "http://victim.test" || !exact {
		t.Errorf("Eval = %q, %v; want exact", v, exact)
	}
	x := Serve(site, Request{Path: "/a.php", Headers: client})
	var names []string
	for _, p := range x.UpstreamParams {
		names = append(names, p.Name)
	}
	// Configuration order, as ngx_http_fastcgi_init_params compiles them
	// (fcgi_diff_test.go shows Debian's nginx sends them so).
	if got := strings.Join(names, " "); !strings.HasPrefix(got, "QUERY_STRING REQUEST_METHOD") || !strings.HasSuffix(got, "REDIRECT_STATUS SCRIPT_FILENAME") || strings.Contains(got, "HTTPS") {
		t.Errorf("fastcgi params %s: want the stock file's, then the level's own, without the empty if_not_empty HTTPS", got)
	}
	// The echo body: those params, then the client's headers as HTTP_*
	// (Foo_Bar, an invalid name, never reaches the module).
	proto, ps, ok := ParseParamsEcho(x.Body)
	n := len(x.UpstreamParams)
	if !ok || proto != ProtoFastCGI || len(ps) != n+6 || ps[n] != (Header{"HTTP_HOST", "victim.test"}) || ps[n+2] != (Header{"HTTP_TE", "trailers"}) || strings.Contains(x.Body, "FOO_BAR") {
		t.Errorf("FastCGI echo body %q: want the params, then 6 HTTP_* headers", x.Body)
	}

}

// TestReflectedParams: a params echo turns each HTTP_X_NGXLINT_REFLECT_
// param into a response header named with dashes and title-cased words,
// the prefix being ReflectPrefix as nginx passes a client header on;
// Content-Type and Content-Length (the echo's own), names that are not
// tokens and values with a control byte are left out, and at most
// echoMaxReflect are sent.
func TestReflectedParams(t *testing.T) {
	if want := "HTTP_" + strings.ToUpper(strings.ReplaceAll(ReflectPrefix, "-", "_")); ParamReflectPrefix != want {
		t.Fatalf("ParamReflectPrefix %q, want %q", ParamReflectPrefix, want)
	}
	ps := []Header{{"HTTP_X_NGXLINT_REFLECT_X_POWERED_BY", "php"}, {"HTTP_X_NGXLINT_REFLECT_STATUS", "200 OK"},
		{"HTTP_X_NGXLINT_REFLECT_CONTENT_TYPE", "x/y"}, {"HTTP_X_NGXLINT_REFLECT_content_length", "9"},
		{"HTTP_X_NGXLINT_REFLECT_", "empty name"}, {"HTTP_X_NGXLINT_REFLECT_A(B", "v"}, {"HTTP_X_NGXLINT_REFLECT_X_NL", "a\nb"},
		{"HTTP_X_OTHER", "o"}, {"X_NGXLINT_REFLECT_SERVER", "not from the client"}}
	for i := 0; i < 2*echoMaxReflect; i++ {
		ps = append(ps, Header{ParamReflectPrefix + "X_N" + strconv.Itoa(i), "v"})
	}
	got := ReflectedParams(ps)
	if len(got) != echoMaxReflect {
		t.Fatalf("%d headers, want the cap %d: %v", len(got), echoMaxReflect, got)
	}
	want := []Header{{"X-Powered-By", "php"}, {"Status", "200 OK"}, {"X-N0", "v"}}
	for i, w := range want {
		if got[i] != w {
			t.Errorf("header %d: %v, want %v", i, got[i], w)
		}
	}
}

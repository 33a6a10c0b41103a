// Package emulator runs one upstream and one location the way a chosen
// nginx / lua-nginx-module / OpenResty version would, against emulated
// misbehaving backends, and reports what it observed per client request:
// status, upstream connections and requests, and a per-attempt trace.
// Client, nginx and backends talk HTTP/1.1 over in-memory connections that
// behave as loopback TCP does (Config.Transport, TransportMemory: no socket
// at all), or over real TCP on 127.0.0.1 (TransportTCP); the Result is the
// same on both.
//
// It owns the model of nginx's upstream machinery (init_request, connect,
// ngx_http_upstream_next in its pre-1.9.13 and later forms, test_next, round
// robin and the hash, ip_hash, least_conn and random methods, the keepalive
// module with its limits, unbuffered request bodies), of an emulated clock
// that idle time between requests moves forward (Request.After), of
// lua-nginx-module's balancer by version
// (the user's balancer_by_lua* code runs in a sandboxed gopher-lua VM with
// ngx.balancer, ngx.ctx, ngx.var, ngx.log, ngx.exit), the backend policies
// (PolicyNames: ok, first-only, one-per-conn, close, reset, hang,
// status:NNN, ok-close, invalid-header, big-header, big-body, slow:D,
// refused, accept-close, echo) that other engines reuse, and the Result JSON
// contract of `ngxlint emulate`. With Config.Stream it runs a stream{}
// server instead (stream.go): TCP sessions through the same balancers,
// with ngx_stream_proxy_module's retry rules (connect failures only).
//
// It also owns nginx's request path for one server{} as far as the
// security rules need it (reqpath*.go, Serve): URI normalisation, location
// selection, the rewrite module, add_header, the proxy_pass upstream URI
// and request head (proxy_set_header, and the echo backend's answer through
// proxy_hide_header with Site.EchoBackend), the FastCGI, uwsgi and SCGI
// params (and the echo backend's list of them with Site.EchoBackend; the
// backends answer FastCGI, uwsgi, SCGI and h2c too, fcgi.go, cgi.go,
// h2c.go), grpc_pass's HTTP/2 head, root/alias
// against an in-memory file tree, and the referer module's
// $invalid_referer (reqpath_referer.go); the answer is read back
// with the same lenient parser (ParseHead) the real-nginx engine uses, so
// an injected header shows the same way on both.
//
// It does not parse configurations (the caller builds a Config from
// nginxconf's model), does not decide whether an observation is a bug (the
// rules package compares observations with a scenario's expectation), and
// never dials any address but the loopback (or in-memory) backends it
// started itself.
package emulator

package luacheck

import (
	"slices"
	"strings"
)

// The stream subsystem (stream-lua-nginx-module) has its own API table,
// streamapi_gen.go, generated from internal/apigen/streamfacts.json: the
// contexts each API's checks in stream-lua-nginx-module's own C allow,
// per release. It covers only the APIs such a check decides (ngx.say,
// ngx.req.socket, cosockets, ngx.sleep, ngx.thread.*, ngx.balancer.*, ...);
// an API decided by lua-resty-core's Lua alone, or absent from the
// module, is not in it and stays AllowUnknown in stream: the http table
// must not judge stream code (ngx.req.get_headers exists in one and not
// in the other).

// streamPeriod is one API's verdict from stream-lua release from on.
type streamPeriod struct {
	from     string
	contexts []string
	impl     string
	sources  []string
}

// streamPeriodAt returns the API's period holding release version ("" or
// unreadable: the latest), and false when the API has no stream facts or
// version predates its first period.
func streamPeriodAt(name, version string) (*streamPeriod, bool) {
	ps := streamAPIs[name]
	if len(ps) == 0 {
		return nil, false
	}
	if _, ok := parseVersion(version); !ok {
		return &ps[len(ps)-1], true
	}
	if VersionLess(version, ps[0].from) {
		return nil, false
	}
	p := &ps[0]
	for i := range ps {
		if !VersionLess(version, ps[i].from) {
			p = &ps[i]
		}
	}
	return p, true
}

// streamPhasesAt returns the phases stream-lua release version knows.
func streamPhasesAt(version string) []string {
	pf := phaseFacts{phases: streamPhaseSets}
	return pf.phasesAt(version)
}

// IsAllowedInStream tells whether the API may be used in the context in
// the stream subsystem with stream-lua-nginx-module release version
// ("0.0.17", "v0.0.17"; "" for the latest read). It is AllowUnknown when
// the stream facts do not cover the API, when version predates the API's
// first period, or when the release does not know the phase.
func IsAllowedInStream(name, context, version string) Allowance {
	ctx := NormalizeContext(context)
	p, ok := streamPeriodAt(name, version)
	if !ok || ctx == "" {
		return AllowUnknown
	}
	if slices.Contains(p.contexts, ctx) {
		return Allowed
	}
	if slices.Contains(streamPhasesAt(version), ctx) {
		return Disallowed
	}
	return AllowUnknown
}

// StreamRefusalAt describes how the API refuses the context in the stream
// subsystem at release version; ok is false when the stream facts do not
// cover the API. stream-lua's ngx_stream_lua_check_context raises "API
// disabled in the context of <phase>" as lua-nginx-module's does; in
// init_by_lua* there is no request yet.
func StreamRefusalAt(name, context, version string) (Refusal, bool) {
	ctx := NormalizeContext(context)
	p, ok := streamPeriodAt(name, version)
	if !ok || ctx == "" {
		return Refusal{}, false
	}
	r := Refusal{Impl: p.impl, Sources: p.sources}
	noreq := false
	for _, s := range p.sources {
		noreq = noreq || strings.HasSuffix(s, " needs a request")
	}
	switch {
	case ctx == "init_by_lua*" && noreq:
		r.Message = "no request found"
	case strings.HasPrefix(name, "ngx.balancer.") && (ctx == "init_worker_by_lua*" || ctx == "ngx.timer.*"):
		r.Message = "no upstream found"
	default:
		r.Message = "API disabled in the context of " + contextName(ctx)
	}
	return r, true
}

// StreamContexts returns the contexts the stream facts allow the API in at
// the latest release read, nil when they do not cover it.
func StreamContexts(name string) []string {
	if p, ok := streamPeriodAt(name, ""); ok {
		return p.contexts
	}
	return nil
}

// streamUnavailable are the ngx.balancer functions lua-resty-core does not
// provide to the stream subsystem, with the error a stream chunk gets:
// lib/ngx/balancer.lua (read at a103a6f) defines recreate_request and
// set_upstream_tls under `if subsystem == 'http'` only, and since v0.1.29
// (d981e1b) gives stream an enable_keepalive that raises (before, the
// field was nil as well).
var streamUnavailable = map[string]string{
	"ngx.balancer.enable_keepalive": "'enable_keepalive' not yet implemented in stream subsystem",
	"ngx.balancer.recreate_request": "attempt to call field 'recreate_request' (a nil value)",
	"ngx.balancer.set_upstream_tls": "attempt to call field 'set_upstream_tls' (a nil value)",
}

// StreamUnavailable returns the error an API that the stream subsystem
// does not have raises there, and whether it is one.
func StreamUnavailable(name string) (string, bool) {
	msg, ok := streamUnavailable[name]
	return msg, ok
}

// StreamPeerHostError is what lua-resty-core's stream set_current_peer
// raises when given the third (host) argument (lib/ngx/balancer.lua: the
// stream branch refuses it).
const StreamPeerHostError = "bad argument #3 to 'set_current_peer' ('host' not yet implemented in stream subsystem)"

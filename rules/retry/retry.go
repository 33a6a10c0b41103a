// Package retry is the retry model of one location: from the upstream's
// servers or Lua balancer, the location's proxy_next_upstream settings and
// the declared versions, it predicts the worst-case number of upstream
// attempts one client request can cost and whether a non-idempotent request
// (POST, LOCK, PATCH) can reach a backend twice. The semantics follow
// nginx's ngx_http_upstream_init_request / _next, the round robin and
// keepalive modules and lua-nginx-module's balancer as the knowledge file
// (docs/knowledge.md §3) describes them; the rules
// report from it and the emulator checks it.
package retry

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ngxlint/ngxlint/luacheck"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/versions"
)

// Input is everything the model needs, extracted from the configuration.
type Input struct {
	Profile versions.Profile
	// Servers counts the upstream's server lines.
	Primaries, Backups, Down int
	// Balancer is set for balancer_by_lua upstreams; MoreTries lists its
	// set_more_tries calls.
	Balancer  bool
	MoreTries []MoreTries
	// EnableKeepalive: the balancer uses the Lua pool (LNM >= 0.10.27).
	EnableKeepalive bool
	// Keepalive is the number of connections the nginx pool keeps for
	// this location's requests (0: none, or not effective).
	Keepalive int
	// LuaPool is balancer_keepalive's size (default 32) when EnableKeepalive.
	LuaPool int
	// Mask is the effective proxy_next_upstream (nginx's default "error
	// timeout" when unset); Tries and Timeout are proxy_next_upstream_tries
	// and _timeout (0 = unlimited).
	Mask    []string
	Tries   int
	Timeout string
	// Unbuffered: proxy_request_buffering off. It stops a retry only when
	// the body was still arriving when the upstream was contacted: a
	// request whose body came with its header (or that has none) is
	// retried as with buffering on (ngx_http_read_client_request_body
	// clears r->request_body_no_buffering; the emulator models the same).
	Unbuffered bool
}

// SettingsKey identifies everything in the input but the profile: two
// inputs with the same key under the same profile get the same prediction.
// A large configuration has thousands of locations and a handful of
// distinct retry setups, so the rules predict once per key.
func (in Input) SettingsKey() string {
	b := make([]byte, 0, 64)
	for _, n := range []int{in.Primaries, in.Backups, in.Down, in.Keepalive, in.LuaPool, in.Tries} {
		b = strconv.AppendInt(b, int64(n), 10)
		b = append(b, ',')
	}
	b = strconv.AppendBool(b, in.Balancer)
	b = strconv.AppendBool(b, in.EnableKeepalive)
	b = strconv.AppendBool(b, in.Unbuffered)
	for _, mt := range in.MoreTries {
		b = append(b, ";mt="...)
		b = strconv.AppendBool(b, mt.Guarded)
		b = strconv.AppendInt(b, int64(mt.N), 10)
	}
	b = append(b, ";timeout="...)
	b = append(b, in.Timeout...)
	b = append(b, ";mask="...)
	for _, m := range in.Mask {
		b = append(b, m...)
		b = append(b, ' ')
	}
	return string(b)
}

// MoreTries is one set_more_tries call.
type MoreTries struct {
	Guarded bool
	// N is the literal argument, or 1 when it is not a literal.
	N int
}

// Prediction is the model's answer for one location.
type Prediction struct {
	// InitialTries is peer.tries after init_request (after the cap).
	InitialTries int
	// Attempts is the worst-case number of upstream attempts per request
	// while every attempt fails with a retryable error; meaningless when
	// Unbounded.
	Attempts  int
	Unbounded bool
	// BoundedByTimeout: Unbounded in count, but proxy_next_upstream_timeout
	// stops it.
	BoundedByTimeout bool
	// CachedExtra is how many of those attempts are the free retries a
	// failed cached keepalive connection gets (tries++).
	CachedExtra int
	// RetriesErrors: a connection error or timeout is retried at all.
	RetriesErrors bool
	// Resend: a POST/LOCK/PATCH can be sent to a backend twice; Why says
	// how, When in a few words a finding's headline ends with (" before
	// nginx 1.9.13", ", if on nginx < 1.9.13", " with non_idempotent").
	Resend     bool
	ResendWhy  string
	ResendWhen string
	// Steps explain the prediction, one line each, for explain-retries.
	Steps []string
}

func (p *Prediction) step(format string, args ...any) {
	p.Steps = append(p.Steps, fmt.Sprintf(format, args...))
}

// defaultMask is nginx's proxy_next_upstream default (never written).
var defaultMask = []string{"error", "timeout"}

// NextUpstreamMask returns l's effective proxy_next_upstream values, or
// nginx's default "error timeout" when no level sets it. Callers must not
// modify them: the default is one shared slice, not a copy per location.
func NextUpstreamMask(l *nginxconf.Location) []string {
	if l.Proxy.NextUpstream == nil {
		return defaultMask[:2:2]
	}
	return l.Proxy.NextUpstreamValues
}

// FromModel builds the Input of a location proxying to an upstream.
// balancer may be nil (no balancer_by_lua, or its Lua could not be read).
func FromModel(prof versions.Profile, u *nginxconf.Upstream, l *nginxconf.Location, balancer *luacheck.Result) Input {
	in := Input{Profile: prof, Mask: NextUpstreamMask(l)}
	for _, s := range u.Servers {
		switch {
		case s.Backup:
			in.Backups++
		default:
			in.Primaries++
		}
		if s.Down {
			in.Down++
		}
	}
	if u.Balancer != nil {
		in.Balancer = true
		if balancer != nil && balancer.Balancer != nil {
			for _, mt := range balancer.Balancer.MoreTries {
				n := 1
				if len(mt.Call.Args) > 0 && mt.Call.Args[0].Kind == luacheck.ArgNumber {
					if v, err := strconv.Atoi(mt.Call.Args[0].Value); err == nil {
						n = v
					}
				}
				in.MoreTries = append(in.MoreTries, MoreTries{Guarded: mt.Guarded, N: n})
			}
			in.EnableKeepalive = len(balancer.Balancer.EnableKeepalive) > 0
		}
		in.LuaPool = 32
		if ds := u.Own("balancer_keepalive"); len(ds) > 0 {
			if n, err := strconv.Atoi(ds[len(ds)-1].Arg(0)); err == nil {
				in.LuaPool = n
			}
		}
	}
	in.Keepalive = keepaliveFor(prof, u, l)
	if d := l.Proxy.NextUpstreamTries; d != nil {
		in.Tries, _ = strconv.Atoi(d.Arg(0))
	}
	if d := l.Proxy.NextUpstreamTimeout; d != nil && d.Arg(0) != "0" && d.Arg(0) != "0s" {
		in.Timeout = d.Arg(0)
	}
	if d := l.Proxy.RequestBuffering; d != nil && d.Arg(0) == "off" {
		in.Unbuffered = true
	}
	return in
}

// keepaliveFor is the nginx keepalive pool size that serves l's requests:
// the directive (not lost to a later balancing method before 1.29.7), or 32
// by default from 1.29.7; 0 when l sends HTTP/1.0 or "Connection: close".
func keepaliveFor(p versions.Profile, u *nginxconf.Upstream, l *nginxconf.Location) int {
	if KeepaliveLostByOrder(u, p) != nil || !KeepsConnections(l, p) {
		return 0
	}
	return KeepaliveCount(u, p)
}

func has(vals []string, v string) bool {
	for _, x := range vals {
		if x == v {
			return true
		}
	}
	return false
}

// Predict runs the model. Unknown versions take the worse of the
// behaviours, and the steps say so.
func Predict(in Input) Prediction {
	var p Prediction
	prof := in.Profile
	nginxKnown, lnmKnown := prof.HasNginx(), prof.HasLNM()
	oldNext := nginxKnown && prof.Nginx.Less("1.9.13") // NGX-CACHED-BYPASS
	if !nginxKnown && lnmKnown && prof.LNM.Less("0.10.1") {
		oldNext = true // lua-nginx-module 0.10.0 only builds against nginx <= 1.9.12
	}
	off := has(in.Mask, "off")
	p.RetriesErrors = !off && (has(in.Mask, "error") || has(in.Mask, "timeout"))

	// Initial tries: ngx_http_upstream_tries (primaries + backups; from
	// 1.19.6 without `down` servers, cfa669151), or the Lua balancer's
	// server lines.
	tries := in.Primaries + in.Backups
	if in.Down > 0 && (!nginxKnown || !versions.DownCountsInTries(prof.Nginx)) {
		tries -= in.Down
		if !nginxKnown {
			tries += in.Down // unknown: the older, larger count is the worst case
		}
	}
	if tries < 1 {
		tries = 1
	}
	single := !in.Balancer && in.Primaries == 1 && in.Backups == 0
	switch {
	case in.Balancer:
		p.step("balancer_by_lua: tries start at the number of server lines (%d); only set_more_tries adds more", tries)
	case single:
		p.step("round robin with a single server: tries = 1, and a failure sets tries = 0 (no retry on a fresh connection)")
	default:
		p.step("round robin: tries = %d (primaries + backups%s)", tries, downNote(in.Down, prof))
	}
	if in.Tries > 0 && tries > in.Tries {
		p.step("proxy_next_upstream_tries %d caps the initial tries (%d -> %d)", in.Tries, tries, in.Tries)
		tries = in.Tries
	}
	p.InitialTries = tries

	// Attempts on fresh connections: round robin tries each live peer at
	// most once per request (the tried bitmap), then returns NGX_BUSY ("no
	// live upstreams"), so down servers counted in tries add no attempt.
	attempts := tries
	if live := in.Primaries + in.Backups - in.Down; !in.Balancer && live < attempts {
		attempts = max(live, 1)
	}
	if single {
		attempts = 1
	}
	if in.Balancer {
		var guardedSum int
		unguarded := false
		for _, mt := range in.MoreTries {
			if mt.Guarded {
				guardedSum += mt.N
			} else {
				unguarded = true
			}
		}
		zeroLimitBug := lnmKnown && prof.LNM.AtLeast("0.10.0") && prof.LNM.Less("0.10.8")
		switch {
		case len(in.MoreTries) == 0:
		case zeroLimitBug && in.Tries == 0:
			// LNM-MORETRIES-ZERO-LIMIT (fixed in 0.10.8, da11870d): with no
			// limit, count becomes 0 - total_tries and tries go down.
			p.step("set_more_tries on lua-nginx-module %s with proxy_next_upstream_tries unset reduces the tries (zero-limit bug): no retry", prof.LNM)
			attempts = 1
		case unguarded && in.Tries == 0:
			p.step("set_more_tries runs on every attempt and proxy_next_upstream_tries is unset: every failure grants another try")
			p.Unbounded = true
		case unguarded:
			p.step("set_more_tries runs on every attempt, capped by proxy_next_upstream_tries %d", in.Tries)
			attempts = in.Tries
		default:
			total := tries + guardedSum
			if in.Tries > 0 && total > in.Tries {
				total = in.Tries
			}
			p.step("guarded set_more_tries adds %d (assumed to run once per request): %d tries", guardedSum, total)
			attempts = total
		}
	}
	if !p.RetriesErrors && !p.Unbounded {
		if attempts > 1 {
			p.step("proxy_next_upstream %s does not retry connection errors or timeouts", strings.Join(in.Mask, " "))
		}
		attempts = 1
	}
	if !p.RetriesErrors && p.Unbounded {
		p.Unbounded = false
		attempts = 1
		p.step("proxy_next_upstream %s: the tries are never used for connection errors", strings.Join(in.Mask, " "))
	}

	// Free retries of failed cached connections: ngx_http_upstream_next's
	// tries++ for a cached FT_ERROR.
	pool := in.Keepalive
	if in.EnableKeepalive && (!lnmKnown || prof.LNM.AtLeast("0.10.27")) {
		pool = in.LuaPool
	}
	if pool > 0 {
		switch {
		case in.Balancer && lnmKnown && prof.LNM.AtLeast("0.10.0") && prof.LNM.Less("0.10.1") && (oldNext || !nginxKnown || p.RetriesErrors):
			// LNM-CACHED-HOTLOOP: pc->cached is never cleared.
			p.step("lua-nginx-module %s never clears pc->cached: every failure counts as a cached one and retries for free (the seed bug)", prof.LNM)
			p.Unbounded = true
		case in.Balancer && prof.NotifyPatch && (!lnmKnown || prof.LNM.AtLeast("0.10.27")):
			p.step("the OpenResty notify patch takes back the free retry of a failed cached connection")
		case oldNext || (!off && has(in.Mask, "error")):
			// The cached branch is for FT_ERROR only; from 1.9.13 the mask
			// must allow "error" for the retry to happen.
			p.CachedExtra = pool
			how := "tries++ for a failed cached connection"
			if oldNext {
				how += ", regardless of proxy_next_upstream (nginx <= 1.9.12)"
			}
			p.step("up to %d stale pooled connection(s) can fail first, each retried for free (%s)", pool, how)
		}
	}
	p.Attempts = attempts + p.CachedExtra
	if p.Unbounded && in.Timeout != "" {
		p.BoundedByTimeout = true
		p.step("proxy_next_upstream_timeout %s bounds the loop in time, not in count", in.Timeout)
	}

	// Non-idempotent requests.
	switch {
	case oldNext && (p.Attempts > 1 || p.Unbounded):
		p.Resend = true
		p.ResendWhy = "before nginx 1.9.13 a POST is retried like any request"
		p.ResendWhen = " before nginx 1.9.13"
		if !p.RetriesErrors {
			p.ResendWhy = "before nginx 1.9.13 a failed reused keepalive connection is retried whatever proxy_next_upstream says"
		}
	case !nginxKnown && p.CachedExtra > 0:
		p.Resend = true
		p.ResendWhy = "on nginx < 1.9.13 a failed reused keepalive connection is retried whatever proxy_next_upstream says"
		p.ResendWhen = ", if on nginx < 1.9.13"
	case has(in.Mask, "non_idempotent") && !off && (p.Attempts > 1 || p.Unbounded):
		p.Resend = true
		p.ResendWhy = "proxy_next_upstream has non_idempotent"
		p.ResendWhen = " with non_idempotent"
		if in.Unbuffered {
			p.ResendWhy += " (proxy_request_buffering off stops it only for a body still arriving when the upstream is contacted, not for one that came with the header)"
		}
	}
	if p.Resend {
		p.step("a POST/LOCK/PATCH can reach a backend twice: %s", p.ResendWhy)
	} else if p.Attempts > 1 || p.Unbounded {
		p.step("POST/LOCK/PATCH are not retried once sent (non_idempotent is not in proxy_next_upstream)")
	}
	return p
}

func downNote(down int, prof versions.Profile) string {
	if down == 0 {
		return ""
	}
	if prof.HasNginx() && !versions.DownCountsInTries(prof.Nginx) {
		return fmt.Sprintf(", not counting %d down", down)
	}
	return fmt.Sprintf(", counting %d down server(s) as nginx < 1.19.6 does", down)
}

// String renders the worst case: "7", "unbounded", "unbounded (timeout)".
func (p Prediction) String() string {
	switch {
	case p.Unbounded && p.BoundedByTimeout:
		return "unbounded (timeout-limited)"
	case p.Unbounded:
		return "unbounded"
	}
	return strconv.Itoa(p.Attempts)
}

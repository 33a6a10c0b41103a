package rules

// Shared machinery of the known-bug advisor (the VER rules, issue 6): the
// version gate of each knowledge-file entry, the wording of findings on a
// known and on an unknown version, and the confirmation scenario that runs
// the configuration on the affected profile and on a fixed twin.

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/emulator/fromconf"
	"github.com/ngxlint/ngxlint/luacheck"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/rules/retry"
	"github.com/ngxlint/ngxlint/versions"
)

// exposure says whether a profile has a bug.
type exposure int

const (
	notExposed exposure = iota
	exposed
	// versionUnknown: the versions the bug depends on were not declared.
	// The rule still reports, at info, naming the affected versions.
	versionUnknown
)

// verBug is the version gate of one entry of the knowledge file
// (docs/knowledge.md, sections 1 and 2).
type verBug struct {
	// kid is the knowledge-file id, e.g. "LNM-SSL-CRASH".
	kid string
	// affects names the affected releases for messages, e.g.
	// "lua-nginx-module 0.10.0 (OpenResty 1.9.7.2-1.9.7.3)".
	affects string
	// fixed names the first fixed release; "" means no release fixes it.
	fixed string
	// exposure decides from the profile.
	exposure func(versions.Profile) exposure
	// changeAt is set for behaviour changes (not bugs): the nginx version
	// from which the configuration behaves differently. Upgrade classifies
	// such findings as "changes behaviour" when the upgrade crosses it.
	changeAt string
	// example is an affected profile ("openresty=1.9.7.3"), on which the
	// confirmation runs when the declared versions are unknown.
	example string
}

// lnmRange is exposed when from <= lua-nginx-module < to ("" = open).
func lnmRange(from, to string) func(versions.Profile) exposure {
	return func(p versions.Profile) exposure {
		if !p.HasLNM() {
			return versionUnknown
		}
		if p.LNM.InRange(from, to) {
			return exposed
		}
		return notExposed
	}
}

// nginxRange is exposed when from <= nginx < to ("" = open).
func nginxRange(from, to string) func(versions.Profile) exposure {
	return func(p versions.Profile) exposure {
		if !p.HasNginx() {
			return versionUnknown
		}
		if p.Nginx.InRange(from, to) {
			return exposed
		}
		return notExposed
	}
}

// notifyPatched reports whether the profile runs OpenResty's
// balancer_pool_max_retry nginx patch together with a lua-nginx-module that
// registers the notify hook (>= 0.10.27). Stock nginx never has the patch:
// a declared nginx or lua-nginx-module without an OpenResty version is
// stock (versions.Profile: patch flags are only set for bundles).
func notifyPatched(p versions.Profile) exposure {
	switch {
	case p.IsOpenResty() && !p.HasLNM():
		return versionUnknown // an OpenResty release missing from the table
	case p.IsOpenResty():
		if p.NotifyPatch && p.LNM.AtLeast("0.10.27") {
			return exposed
		}
		return notExposed
	case p.HasNginx() || p.HasLNM():
		return notExposed
	}
	return versionUnknown
}

// profileName names the profile the way a finding mentions it.
func profileName(p versions.Profile, component string) string {
	switch component {
	case "nginx":
		if p.IsOpenResty() {
			return "OpenResty " + p.OpenResty.String() + " (nginx " + p.Nginx.String() + ")"
		}
		return "nginx " + p.Nginx.String()
	case "slua":
		// Only an OpenResty bundle says which stream-lua it ships
		// (sluaRange is versionUnknown otherwise).
		v, _ := p.StreamLua()
		return "OpenResty " + p.OpenResty.String() + " (stream-lua-nginx-module " + v.String() + ")"
	default:
		if p.IsOpenResty() {
			return "OpenResty " + p.OpenResty.String() + " (lua-nginx-module " + p.LNM.String() + ")"
		}
		return "lua-nginx-module " + p.LNM.String()
	}
}

// component says which version a bug's gate reads, for messages.
func (b verBug) component() string {
	switch {
	case strings.HasPrefix(b.kid, "NGX-"):
		return "nginx"
	case strings.HasPrefix(b.kid, "SLUA-"):
		return "slua"
	}
	return "lnm"
}

// shortProfile names the declared release a finding's headline mentions:
// the OpenResty bundle, or the component the bug's gate reads.
func shortProfile(p versions.Profile, component string) string {
	switch {
	case p.IsOpenResty():
		return "OpenResty " + p.OpenResty.String()
	case component == "nginx":
		return "nginx " + p.Nginx.String()
	}
	return "lua-nginx-module " + p.LNM.String()
}

// shortAffects is the affected range a conditional headline names: the
// affects text up to its parenthesised detail ("nginx <= 1.19.5" of
// "nginx <= 1.19.5 (OpenResty <= 1.19.3.2)"); the whole text is in the
// details and in Diagnostic.Conditional.
func (b verBug) shortAffects() string {
	short, _, _ := strings.Cut(b.affects, " (")
	return short
}

// frame returns what a finding's headline ends with and its version
// story, the second half of its details. The headline is the rule's own
// words plus the release it concerns ("..., on OpenResty 1.21.4.1", "...,
// if on nginx <= 1.19.5"); every affected and fixed release, the commits and
// the knowledge-file id are in the details (issue 18: with them the
// messages were 255-750 characters). A rule with thousands of findings
// computes the frame once and concatenates each message in one
// allocation.
func (b verBug) frame(p versions.Profile, e exposure) (suf, story string) {
	switch {
	case b.changeAt != "" && e == versionUnknown:
		// A behaviour change: the rule's headline says what nginx >=
		// changeAt does; Conditional says it matters from nginx <
		// changeAt.
		story = "This changes when a configuration running on nginx < " + b.changeAt + " moves to nginx >= " + b.changeAt + "."
	case b.changeAt != "":
		story = "This changes when moving from " + profileName(p, "nginx") + " to nginx >= " + b.changeAt + "."
	case e == versionUnknown:
		suf = ", if on " + b.shortAffects()
		story = "Affected: " + b.affects + "."
	default:
		suf = ", on " + shortProfile(p, b.component())
		story = "You run " + profileName(p, b.component()) + "; affected: " + b.affects + "."
	}
	switch {
	case b.changeAt != "":
	case b.fixed != "":
		story += " Fixed in " + b.fixed + "."
	default:
		story += " No release fixes it."
	}
	return suf, story + " Knowledge entry " + b.kid + " (docs/knowledge.md)."
}

// gate returns the profile's exposure, or notExposed when the rule should
// stay silent.
func (b verBug) gate(p versions.Profile) exposure { return b.exposure(p) }

// report fills d's headline (head plus the release), details (why plus

// the version story) and severity and reports it: on an unknown version
// the severity drops to info.
func (b verBug) report(pass *analyzer.Pass, e exposure, d *analyzer.Diagnostic, head, why string) {
	suf, story := b.frame(pass.Profile, e)
	b.reportMessage(pass, e, d, head+suf, joinDetails(why, story))
}

// joinDetails joins the sentences of a finding's details.
func joinDetails(parts ...string) string {
	var b strings.Builder
	for _, s := range parts {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s)
		if !strings.HasSuffix(s, ".") {
			b.WriteByte('.')
		}
	}
	return b.String()
}

// reportMessage is report with the headline and details already worded.
func (b verBug) reportMessage(pass *analyzer.Pass, e exposure, d *analyzer.Diagnostic, msg, details string) {
	d.Message, d.Details = msg, details
	if e == versionUnknown {
		d.Severity = analyzer.Info
		d.Conditional = b.affects
		if b.changeAt != "" {
			d.Conditional = "nginx < " + b.changeAt
		}
	}
	pass.Report(d)
}

// confirmProfile is the profile a scenario runs on: the declared one, or
// the bug's example profile when the declared versions are unknown.
func (b verBug) confirmProfile(p versions.Profile, e exposure) versions.Profile {
	if e == versionUnknown && b.example != "" {
		if q, err := resolveSpec(b.example); err == nil {
			return q
		}
	}
	return p
}

// resolveSpec resolves "openresty=1.9.7.3" or "nginx=1.9.7,lnm=0.10.0".
func resolveSpec(s string) (versions.Profile, error) {
	var ng, lnm, or string
	for _, kv := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		switch strings.TrimSpace(k) {
		case "nginx":
			ng = v
		case "lnm":
			lnm = v
		case "openresty":
			or = v
		}
	}
	return versions.Resolve(ng, lnm, or)
}

// ---- fixed twins ----

// twinLNM is the same nginx with lua-nginx-module v (an OpenResty bundle
// becomes "its nginx, patches included, with that module").
func twinLNM(v string) func(versions.Profile) versions.Profile {
	return func(p versions.Profile) versions.Profile {
		q := p
		q.OpenResty, q.Core = versions.Version{}, versions.Version{}
		q.LNM = versions.MustParse(v)
		return q
	}
}

// twinNginx is nginx v with the same lua-nginx-module.
func twinNginx(v string) func(versions.Profile) versions.Profile {
	return func(p versions.Profile) versions.Profile {
		q := p
		q.OpenResty = versions.Version{}
		q.Nginx = versions.MustParse(v)
		return q
	}
}

// ---- confirmation ----

// verScenario runs a finding's configuration in the emulator. Confirmed
// means the judge saw the effect on the affected profile and, when a fixed
// twin is given, did not see it on the twin: the emulator observed the
// difference the rule predicts.
type verScenario struct {
	env      confirmEnv
	target   fromconf.Target
	profile  versions.Profile
	policy   string
	requests string
	// maxAttempts and timeout bound each client request (defaults 50 and
	// 5s).
	maxAttempts int
	timeout     time.Duration
	// tweak adjusts the emulator configuration of every run.
	tweak func(*emulator.Config)
	// judge reports whether the run shows the rule's effect.
	judge func(*emulator.Result) (bool, string)
	// twin is the fixed counterpart: the profile (twinProfile) and/or a
	// configuration change (twinConfig, e.g. keepalive moved after the
	// balancer). Nil twinProfile and twinConfig: no twin.
	twinProfile func(versions.Profile) versions.Profile
	twinConfig  func(*emulator.Config)
	twinName    string
	// luaErrorIsEffect is set when the bug shows as a Lua error (a
	// lua-nginx-module API refusing the balancer context): the judge then
	// reads the error, instead of the run being an error (luaFailure).
	luaErrorIsEffect bool
}

// sideResult is one emulation of a scenario.
type sideResult struct {
	profile versions.Profile
	res     *emulator.Result
	shows   bool
	summary string
	err     error
}

// runOn emulates the scenario on profile p (made concrete), with the twin
// configuration change when twin is set.
func (s verScenario) runOn(ctx context.Context, p versions.Profile, twin bool) sideResult {
	out := sideResult{profile: p.Concrete()}
	cfg, worker, err := s.env.build(s.target)
	if err != nil {
		out.err = err
		return out
	}
	cfg.Profile = out.profile
	pol, err := emulator.ParsePolicy(s.policy)
	if err != nil {
		out.err = err
		return out
	}
	cfg.DefaultPolicy = pol
	if cfg.Requests, err = emulator.ParseRequests(s.requests); err != nil {
		out.err = err
		return out
	}
	cfg.MaxAttempts = s.maxAttempts
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 50
	}
	cfg.Timeout = s.timeout
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	if s.tweak != nil {
		s.tweak(&cfg)
	}
	if twin && s.twinConfig != nil {
		s.twinConfig(&cfg)
	}
	// VER scenarios run in the emulator whatever the engine: they emulate
	// versions other than the binary's.
	env := s.env
	env.runner = emulator.Builtin
	res, err := env.run(ctx, worker, emulator.Scenario{Config: cfg})
	if err != nil {
		out.err = err
		return out
	}
	out.res = res
	out.shows, out.summary = s.judge(res)
	return out
}

// twinProfileOf returns the profile the twin runs on.
func (s verScenario) twinProfileOf() versions.Profile {
	p := s.profile.Concrete()
	if s.twinProfile != nil {
		p = s.twinProfile(p)
	}
	return p
}

func (s verScenario) hasTwin() bool { return s.twinProfile != nil || s.twinConfig != nil }

// Confirm implements analyzer.Confirmer.
func (s verScenario) Confirm(ctx context.Context) analyzer.Confirmation {
	a := s.runOn(ctx, s.profile, false)
	out := analyzer.Confirmation{Engine: "emulator", Profile: a.profile.String()}
	if a.err == nil && !s.luaErrorIsEffect {
		if st, why := luaFailure(a.res); st != "" {
			out.Status, out.Reason = st, why
			return out
		}
	}
	if a.err != nil {
		out.Status, out.Reason = analyzer.ConfirmError, a.err.Error()
		return out
	}
	out.Observed = observed(a.res, s.policy)
	var b strings.Builder
	a.res.WriteText(&b)
	out.Summary = a.summary
	ok := a.shows
	if s.hasTwin() {
		f := s.runOn(ctx, s.twinProfileOf(), true)
		if f.err == nil && !s.luaErrorIsEffect {
			if st, why := luaFailure(f.res); st != "" {
				out.Status, out.Reason = st, "fixed twin: "+why
				return out
			}
		}
		if f.err != nil {
			out.Status, out.Reason = analyzer.ConfirmError, "fixed twin: "+f.err.Error()
			return out
		}
		name := s.twinName
		if name == "" {
			name = s.describe(f.profile)
		}
		out.Summary = fmt.Sprintf("%s; on %s: %s", a.summary, name, f.summary)
		out.Observed["fixed"] = observed(f.res, s.policy)
		out.Observed["fixed_profile"] = name
		b.WriteString("\n--- fixed twin: " + name + " ---\n")
		f.res.WriteText(&b)
		ok = ok && !f.shows
	}
	out.Trace = b.String()
	out.Status = analyzer.NotReproduced
	if ok {
		out.Status = analyzer.Confirmed
	}
	return out
}

// describe names a profile for a summary; without a Lua balancer only the
// nginx version matters.
func (s verScenario) describe(p versions.Profile) string {
	if s.target.Upstream != nil && s.target.Upstream.Balancer == nil && !p.IsOpenResty() {
		return "nginx " + p.Nginx.String()
	}
	return p.String()
}

// withProfile re-targets the scenario: Upgrade runs it on both profiles.
func (s verScenario) withProfile(p versions.Profile) verScenario {
	s.profile = p
	return s
}

// ---- observations used by judges ----

// failedCached reports whether attempt a reused a pooled connection that
// failed with an error (the backend closed or reset it).
func failedCached(a emulator.Attempt) bool {
	return a.Cached && (a.Outcome == emulator.OutcomeClosed || a.Outcome == emulator.OutcomeReset)
}

// retriedAfterCached reports the first request in which a failed pooled
// connection was followed by another attempt.
func retriedAfterCached(r *emulator.Result) (int, bool) {
	for i, q := range r.Requests {
		for j, a := range q.Attempts {
			if failedCached(a) && j+1 < len(q.Attempts) {
				return i, true
			}
		}
	}
	return -1, false
}

// noReuse reports whether every request succeeded on a connection of its
// own, i.e. no connection was reused.
func noReuse(r *emulator.Result) (bool, string) {
	conns, ok := 0, true
	for _, q := range r.Requests {
		conns += q.UpstreamConnections
		ok = ok && q.Status.Code == 200
	}
	s := fmt.Sprintf("%d requests opened %s", len(r.Requests), plural(conns, "upstream connection"))
	if ok && conns >= len(r.Requests) {
		return true, s + ", none reused"
	}
	if !ok {
		return false, r.Summary()
	}
	return false, s + ", connections reused"
}

// attemptLogHas reports whether an attempt or request log line contains s.
func attemptLogHas(r *emulator.Result, s string) bool {
	for _, q := range r.Requests {
		for _, l := range q.Log {
			if strings.Contains(l, s) {
				return true
			}
		}
		for _, a := range q.Attempts {
			for _, l := range a.Log {
				if strings.Contains(l, s) {
					return true
				}
			}
		}
	}
	return false
}

// ---- configuration facts ----

// balancerFacts returns the ngx.balancer facts of u's balancer code, nil
// when u has no loadable balancer_by_lua*.
func balancerFacts(pass *analyzer.Pass, u *nginxconf.Upstream) (*luacheck.Result, *luacheck.BalancerFacts) {
	if u.Balancer == nil || u.Balancer.Lua == nil || u.Balancer.Lua.LoadError != "" {
		return nil, nil
	}
	res := luaFacts(pass, u.Balancer.Lua)
	if len(res.SyntaxErrors) > 0 || res.Balancer == nil {
		return res, nil
	}
	return res, res.Balancer
}

// nginxPooled reports whether nginx's keepalive module caches u's
// connections on p: a keepalive directive that is not lost by its order,
// or the default from nginx 1.29.7.
func nginxPooled(u *nginxconf.Upstream, p versions.Profile) bool {
	return retry.KeepaliveCount(u, p) > 0 && retry.KeepaliveLostByOrder(u, p) == nil
}

// pooledLocations are the locations proxying to u that can reuse upstream
// connections (HTTP/1.1 without Connection: close).
func pooledLocations(m *nginxconf.Model, u *nginxconf.Upstream, p versions.Profile) []*nginxconf.Location {
	var out []*nginxconf.Location
	for _, l := range locationsUsing(m, u) {
		if retry.KeepsConnections(l, p) {
			out = append(out, l)
		}
	}
	return out
}

// keepalivePlace is where a finding about u's pooled connections is
// reported: the keepalive directive, or the upstream block when keepalive
// is on by default (nginx >= 1.29.7).
func keepalivePlace(u *nginxconf.Upstream) (nginxconf.Pos, nginxconf.Pos) {
	if u.Keepalive != nil {
		return u.Keepalive.Pos, u.Keepalive.End
	}
	return u.Directive.Pos, u.Directive.Pos
}

// maxRelated bounds the related positions of one finding: an upstream used
// by 500,000 locations must not turn one finding into megabytes of output.
const maxRelated = 10

// proxiedFrom relates a finding to the proxy_pass lines that use it, the
// first maxRelated of them, the last one saying how many more there are.
func proxiedFrom(ls []*nginxconf.Location) []analyzer.Related {
	var out []analyzer.Related
	for i, l := range ls {
		msg := "proxied from here"
		if i == maxRelated-1 && len(ls) > maxRelated {
			msg = fmt.Sprintf("proxied from here, and from %d more locations", len(ls)-maxRelated)
		}
		out = append(out, analyzer.Related{Pos: l.Proxy.Pass.Directive.Pos, End: l.Proxy.Pass.Directive.End, Message: msg})
		if i == maxRelated-1 {
			break
		}
	}
	return out
}

// usesVariable reports the first directive whose arguments mention $name.
func usesVariable(cfg *nginxconf.Config, name string) *nginxconf.Directive {
	var found *nginxconf.Directive
	re := regexp.MustCompile(`\$\{?` + regexp.QuoteMeta(name) + `\b`)
	if cfg == nil {
		return nil
	}
	cfg.Walk(func(d *nginxconf.Directive, _ []*nginxconf.Directive) bool {
		if found != nil {
			return false
		}
		for _, a := range d.Args {
			if re.MatchString(a.Value) {
				found = d
				return false
			}
		}
		return true
	})
	return found
}

var restyCoreRE = regexp.MustCompile(`require\s*\(?\s*["']resty\.core["']`)

// loadsRestyCore reports whether any Lua chunk requires "resty.core".
func loadsRestyCore(m *nginxconf.Model) bool {
	for _, r := range analysableLua(m) {
		if restyCoreRE.MatchString(r.Chunk.Code) {
			return true
		}
	}
	return false
}

// argNumber returns a call argument's integer value: a number literal or
// an ngx.HTTP_* / ngx.* status constant.
func argNumber(c *nginxconf.LuaChunk, a luacheck.Arg) (int, bool) {
	var s string
	switch a.Kind {
	case luacheck.ArgNumber:
		s = a.Value
	case luacheck.ArgOther:
		s = strings.TrimSpace(chunkText(c, a.Pos, a.End))
		if v, ok := ngxConstants[s]; ok {
			return v, true
		}
		return 0, false
	default:
		return 0, false
	}
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		return 0, false
	}
	return n, true
}

// chunkText is the source text of a chunk between two positions in it.
func chunkText(c *nginxconf.LuaChunk, pos, end nginxconf.Pos) string {
	if c == nil || pos.File != c.Pos.File || c.RawOffsets != nil {
		return ""
	}
	i, j := pos.Offset-c.Pos.Offset, end.Offset-c.Pos.Offset
	if i < 0 || j > len(c.Code) || i > j {
		return ""
	}
	return c.Code[i:j]
}

// ngxConstants are the ngx.* status constants a balancer passes to
// ngx.exit (lua-nginx-module ngx_http_lua_inject_http_consts).
var ngxConstants = map[string]int{
	"ngx.OK": 0, "ngx.ERROR": -1, "ngx.DECLINED": -5,
	"ngx.HTTP_BAD_REQUEST": 400, "ngx.HTTP_UNAUTHORIZED": 401, "ngx.HTTP_FORBIDDEN": 403,
	"ngx.HTTP_NOT_FOUND": 404, "ngx.HTTP_NOT_ALLOWED": 405, "ngx.HTTP_TOO_MANY_REQUESTS": 429,
	"ngx.HTTP_INTERNAL_SERVER_ERROR": 500, "ngx.HTTP_BAD_GATEWAY": 502,
	"ngx.HTTP_SERVICE_UNAVAILABLE": 503, "ngx.HTTP_GATEWAY_TIMEOUT": 504,
}

// moreThanOneTry reports whether requests to u can have a second attempt
// at all: several servers that are not down, or a balancer that grants
// more tries.
func moreThanOneTry(pass *analyzer.Pass, u *nginxconf.Upstream) bool {
	if u.Balancer != nil {
		_, bf := balancerFacts(pass, u)
		return bf != nil && len(bf.MoreTries) > 0
	}
	n := 0
	for _, s := range u.Servers {
		if !s.Down {
			n++
		}
	}
	return n >= 2
}

package rules

import (
	"context"
	"fmt"
	"io/fs"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/emulator/fromconf"
	"github.com/ngxlint/ngxlint/luacheck"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/versions"
)

// luaFacts returns luacheck's analysis of a chunk, computed once per run
// and shared by every rule. The first call analyses every chunk of the
// configuration in parallel (warmLua), so that rules, which all walk the
// chunks in the same order, do not queue behind each other on one chunk.
func luaFacts(pass *analyzer.Pass, c *nginxconf.LuaChunk) *luacheck.Result {
	warmLua(pass)
	return pass.Fact(luaKey{c}, func() any { return analyzeLua(pass.Profile, c, chunkSubsystem(pass, c)) }).(*luacheck.Result)
}

// chunkSubsystem is "stream" for a chunk of the stream{} block ("" for
// http, the main level, and modules, which are analysed once whoever
// requires them).
func chunkSubsystem(pass *analyzer.Pass, c *nginxconf.LuaChunk) string {
	type subKey struct{}
	m := pass.Fact(subKey{}, func() any {
		out := map[*nginxconf.LuaChunk]string{}
		if pass.Model != nil {
			for _, r := range pass.Model.Lua {
				if r.Subsystem == "stream" {
					out[r.Chunk] = "stream"
				}
			}
		}
		return out
	}).(map[*nginxconf.LuaChunk]string)
	return m[c]
}

type luaKey struct{ c *nginxconf.LuaChunk }

func analyzeLua(p versions.Profile, c *nginxconf.LuaChunk, subsystem string) *luacheck.Result {
	opts := luacheck.Options{Subsystem: subsystem}
	if p.HasLNM() {
		opts.LuaNginxModuleVersion = p.LNM.String()
	}
	if !p.Core.IsZero() {
		opts.LuaRestyCoreVersion = p.Core.String()
	}
	return luacheck.Analyze(c, opts)
}

// PrewarmLua analyses every loaded Lua chunk of cfg into facts, as the
// rules of a run with profile p and Options.Facts = facts will ask for
// them. The CLI calls it in a goroutine while it builds the model, which
// uses one processor: the Lua analysis, a large share of a check's work
// on OpenResty configurations, then runs on the others. It returns when
// every chunk is done.
func PrewarmLua(facts *analyzer.Facts, cfg *nginxconf.Config, p versions.Profile) {
	type job struct {
		c   *nginxconf.LuaChunk
		sub string
	}
	var chunks []job
	cfg.Walk(func(d *nginxconf.Directive, parents []*nginxconf.Directive) bool {
		if d.Lua != nil && d.Lua.LoadError == "" {
			j := job{c: d.Lua}
			// As the model says (LuaRef.Subsystem): inside the top-level
			// stream block.
			if len(parents) > 0 && parents[0].Name == "stream" {
				j.sub = "stream"
			}
			chunks = append(chunks, j)
		}
		return true
	})
	forEachParallel(chunks, func(j job) {
		defer func() { _ = recover() }() // see analyzeLuaOnce
		facts.Get(luaKey{j.c}, func() any { return analyzeLua(p, j.c, j.sub) })
	})
}

// forEachParallel calls fn for every item on GOMAXPROCS workers.
func forEachParallel[T any](items []T, fn func(T)) {
	jobs := make(chan T)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(items)) {
		wg.Go(func() {
			for it := range jobs {
				fn(it)
			}
		})
	}
	for _, it := range items {
		jobs <- it
	}
	close(jobs)
	wg.Wait()
}

// warmLua computes the luacheck facts of every analysable chunk once per
// run, on GOMAXPROCS workers; later luaFacts calls find them memoised.
// Chunks are independent (luacheck.Analyze reads only its chunk), so the
// order they are computed in does not change any result.
func warmLua(pass *analyzer.Pass) {
	type warmKey struct{}
	pass.Fact(warmKey{}, func() any {
		forEachParallel(analysableLua(pass.Model), func(r *nginxconf.LuaRef) { analyzeLuaOnce(pass, r.Chunk, r.Subsystem) })
		return true
	})
}

// analyzeLuaOnce memoises one chunk's facts on a warm-up worker. A panic
// (luacheck.Analyze recovers its own; this is a guard) leaves the fact
// nil, and the rule that reads it then fails as an internal error in its
// own goroutine, where the driver recovers it, instead of killing the run.
func analyzeLuaOnce(pass *analyzer.Pass, c *nginxconf.LuaChunk, subsystem string) {
	defer func() { _ = recover() }()
	if subsystem != "stream" {
		subsystem = ""
	}
	pass.Fact(luaKey{c}, func() any { return analyzeLua(pass.Profile, c, subsystem) })
}

// analysableLua lists the model's Lua chunks whose code was loaded.
func analysableLua(m *nginxconf.Model) []*nginxconf.LuaRef {
	var out []*nginxconf.LuaRef
	for _, r := range m.Lua {
		if r.Chunk != nil && r.Chunk.LoadError == "" {
			out = append(out, r)
		}
	}
	return out
}

// httpUpstreams returns the http context's upstream blocks.
func httpUpstreams(m *nginxconf.Model) []*nginxconf.Upstream {
	if m == nil || m.HTTP == nil {
		return nil
	}
	return m.HTTP.Upstreams
}

// locationsUsing returns the locations whose own proxy_pass names u, in
// nginx order (from the model's index: scanning every location for every
// upstream was quadratic and the top cost on large configurations).
func locationsUsing(_ *nginxconf.Model, u *nginxconf.Upstream) []*nginxconf.Location {
	return u.UsedBy
}

func hasValue(vals []string, v string) bool {
	for _, x := range vals {
		if x == v {
			return true
		}
	}
	return false
}

// lineIndent returns the whitespace that starts d's line, for edits that
// insert sibling directives.
func lineIndent(d *nginxconf.Directive) string {
	data := d.File.Data
	start := d.Pos.Offset
	for start > 0 && data[start-1] != '\n' {
		start--
	}
	i := start
	for i < len(data) && (data[i] == ' ' || data[i] == '\t') {
		i++
	}
	return string(data[start:i])
}

// lineEnd returns the position just after the newline that ends the line
// d ends on (or the end of the file).
func lineEnd(d *nginxconf.Directive) nginxconf.Pos {
	data := d.File.Data
	i := d.End.Offset
	for i < len(data) && data[i] != '\n' {
		i++
	}
	if i < len(data) {
		i++
	}
	return d.File.PosAt(i)
}

// confirmEnv says which engine confirms findings (pass.Engine, chosen by
// the caller's flags, never by rule settings: those come from the
// repository's .ngxlint.yaml) and the main configuration file the real
// engine copies.
type confirmEnv struct {
	runner   emulator.Runner
	mainPath string
	// config gives the emulator the Lua modules the configuration loads,
	// files the checked tree, fixtures the world outside it.
	config   *nginxconf.Config
	files    fs.FS
	pathMap  []nginxconf.PathMapping
	fixtures analyzer.Fixtures
	// workers memoizes fromconf.NewWorker per http block for the run:
	// on a large configuration, walking the http block per scenario was
	// quadratic (1,500 scenarios x 5,500 directives).
	workers *workerMemo
	// runs shares the Result of identical scenarios (confirm_memo.go).
	runs *runMemo
}

type workerMemo struct {
	mu sync.Mutex
	m  map[*nginxconf.Context]*fromconf.Worker
}

func (w *workerMemo) get(t fromconf.Target) *fromconf.Worker {
	if w == nil || t.Upstream == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if wk, ok := w.m[t.Upstream.Context]; ok {
		return wk
	}
	wk := fromconf.NewWorker(t)
	w.m[t.Upstream.Context] = wk
	return wk
}

func envOf(pass *analyzer.Pass) confirmEnv {
	type workersKey struct{}
	type runsKey struct{}
	e := confirmEnv{runner: pass.Engine.Runner,
		config: pass.Config, files: pass.Engine.Files, pathMap: pass.Engine.PathMap, fixtures: pass.Engine.Fixtures,
		workers: pass.Fact(workersKey{}, func() any { return &workerMemo{m: map[*nginxconf.Context]*fromconf.Worker{}} }).(*workerMemo),
		runs:    pass.Fact(runsKey{}, func() any { return &runMemo{m: map[[32]byte]*memoRun{}} }).(*runMemo)}
	if pass.Config != nil && pass.Config.Main != nil {
		e.mainPath = pass.Config.Main.AbsPath
	}
	return e
}

// build is fromconf.Build of t with what the environment gives every
// scenario: the configuration's modules, the checked tree, the fixtures.
// It also returns the shared worker it used (nil when none), part of the
// scenario's key (scenarioKey).
func (e confirmEnv) build(t fromconf.Target) (emulator.Config, *fromconf.Worker, error) {
	if t.Config == nil {
		t.Config = e.config
	}
	if t.Files == nil {
		t.Files, t.PathMap = e.files, e.pathMap
	}
	if t.Worker == nil && t.Config == e.config {
		t.Worker = e.workers.get(t)
	}
	cfg, err := fromconf.Build(t)
	if err != nil {
		return cfg, nil, err
	}
	f := e.fixtures
	cfg.Fixtures = emulator.Fixtures{SharedDicts: f.SharedDicts, Env: f.Env, Vars: f.Vars}
	for name, m := range f.Modules {
		if cfg.Fixtures.Modules == nil {
			cfg.Fixtures.Modules = map[string]emulator.LuaSource{}
		}
		cfg.Fixtures.Modules[name] = emulator.LuaSource{Code: m.Code, File: m.File, Line: 1, Column: 1, Name: name}
	}
	return cfg, t.Worker, nil
}

// run runs a scenario through the environment's runner (the emulator when
// none), sharing the Result with every identical scenario of the check.
func (e confirmEnv) run(ctx context.Context, worker *fromconf.Worker, sc emulator.Scenario) (*emulator.Result, error) {
	runner := e.runner
	if runner == nil {
		runner = emulator.Builtin
	}
	if e.runs == nil || worker == nil {
		return runner.Run(ctx, sc)
	}
	return e.runs.run(ctx, scenarioKey(worker, sc.Config, runner, sc), func() (*emulator.Result, error) {
		return runner.Run(ctx, sc)
	})
}

// hotLoopCap is how many upstream attempts one client request may make in
// a confirmation before the emulator cuts it and reports it unbounded. A
// loop is proven by hitting the cap with the tries never running out (the
// trace shows them); 200 attempts take about 30 ms on loopback, so a
// confirmation stays well inside an interactive run, while no bounded
// scenario of these rules comes near it.
const hotLoopCap = 200

// scenario describes how a rule confirms a finding in the emulator.
type scenario struct {
	env      confirmEnv
	target   fromconf.Target
	profile  versions.Profile
	policy   string // backend policy for every peer
	requests string
	// maxAttempts and timeout bound each client request.
	maxAttempts int
	timeout     time.Duration
	// judge decides from the observation whether the rule's prediction
	// held, and writes the summary line.
	judge func(*emulator.Result) (bool, string)
}

// confirmer builds the emulator.Config now (so a broken config surfaces
// as a confirmation error, not a panic later) and runs it when asked.
func (s scenario) confirmer() analyzer.Confirmer {
	return analyzer.ConfirmFunc(func(ctx context.Context) analyzer.Confirmation {
		prof := s.profile.Concrete()
		out := analyzer.Confirmation{Engine: "emulator", Profile: prof.String()}
		cfg, worker, err := s.env.build(s.target)
		if err != nil {
			out.Status, out.Reason = analyzer.ConfirmError, err.Error()
			return out
		}
		cfg.Profile = prof
		pol, err := emulator.ParsePolicy(s.policy)
		if err != nil {
			out.Status, out.Reason = analyzer.ConfirmError, err.Error()
			return out
		}
		cfg.DefaultPolicy = pol
		if cfg.Requests, err = emulator.ParseRequests(s.requests); err != nil {
			out.Status, out.Reason = analyzer.ConfirmError, err.Error()
			return out
		}
		cfg.MaxAttempts = s.maxAttempts
		if cfg.MaxAttempts == 0 {
			cfg.MaxAttempts = hotLoopCap
		}
		cfg.Timeout = s.timeout
		if cfg.Timeout == 0 {
			cfg.Timeout = 5 * time.Second
		}
		res, err := s.env.run(ctx, worker, emulator.Scenario{Config: cfg, ConfigFile: s.env.mainPath, Location: s.target.Location})
		if err == nil && res.Engine != "" && res.Engine != "emulator" {
			out.Engine = res.Engine
			out.Profile = fmt.Sprintf("nginx %s, lua-nginx-module %s (%s)", res.Profile.Nginx, res.Profile.LuaNginxModule, res.Binary)
		}
		if err != nil {
			out.Status, out.Reason = analyzer.ConfirmError, err.Error()
			return out
		}
		diffs := res.Differences
		if st, why := luaFailure(res); st != "" {
			// The scenario needs the user's balancer to pick peers; a run
			// where it failed observed the sandbox, not the finding.
			out.Status, out.Reason = st, why
			out.Observed = observed(res, s.policy)
			var b strings.Builder
			res.WriteText(&b)
			out.Trace = b.String()
			return out
		}
		ok, summary := s.judge(res)
		out.Status = analyzer.NotReproduced
		if ok {
			out.Status = analyzer.Confirmed
		}
		out.Summary = summary
		out.Observed = observed(res, s.policy)
		if len(diffs) > 0 {
			// A difference between real nginx and the emulator is a bug in
			// the emulator: say so loudly rather than pick a side silently.
			out.Observed["engine_differences"] = diffs
			summary += fmt.Sprintf("; EMULATOR DIFFERS FROM NGINX: %s", strings.Join(diffs, "; "))
		}
		var b strings.Builder
		res.WriteText(&b)
		out.Trace = b.String()
		return out
	})
}

// luaFailure says why a run cannot confirm or refute anything: the user's
// Lua failed in it (an init chunk, or any request: an error, the deadline
// or a memory bound), it reached for the world outside the configuration
// (a refused cosocket, resty.http, DNS: production would have behaved
// otherwise), or the request was answered before the upstream (by
// access_by_lua*). It returns the status (error or not-confirmable) and the
// reason, naming the user's file:line and what would let the code run; ""
// when the run is an observation.
func luaFailure(res *emulator.Result) (status, reason string) {
	const help = "; provide what it needs as fixtures (.ngxlint.yaml emulate: shared_dicts, env, modules, vars, or path_map for install paths) or run --engine nginx on a trusted checkout"
	if w := res.Worker; w != nil && w.StartError != "" {
		return analyzer.ConfirmError, "the configuration's init Lua failed in the emulator (" + w.StartError + "), so nginx would not start and the scenario did not run" + help
	}
	for i, q := range res.Requests {
		if q.LuaError != "" {
			return analyzer.ConfirmError, fmt.Sprintf("the balancer's Lua failed in the emulator (request %d: %s), so the scenario did not run as the finding needs", i+1, q.LuaError) + hintText(res) + help
		}
		for _, a := range q.Attempts {
			switch a.Outcome {
			case emulator.OutcomeLuaError, emulator.OutcomeLuaTimeout, emulator.OutcomeLuaMemory:
				msg := a.Outcome
				for _, l := range a.Log {
					if strings.Contains(l, "failed to run") || strings.Contains(l, "error") {
						msg = strings.TrimSpace(l)
						break
					}
				}
				return analyzer.ConfirmError, fmt.Sprintf("the balancer's Lua failed in the emulator (request %d: %s), so the scenario did not run as the finding needs", i+1, msg) + hintText(res) + help
			}
		}
	}
	if len(res.ExternalDeps) > 0 {
		d := res.ExternalDeps[0]
		return analyzer.NotConfirmable, fmt.Sprintf("the Lua reaches outside the configuration (%s at %s, in %s), which the emulator refuses, so its peers are not the ones production would pick", d.What, d.Where, d.Phase) + help
	}
	for i, q := range res.Requests {
		if q.AnsweredBy != "" {
			return analyzer.NotConfirmable, fmt.Sprintf("request %d was answered by %s before reaching the upstream, so the scenario never reached it; give the request what that code expects (--requests headers, fixtures)", i+1, q.AnsweredBy)
		}
	}
	// The real engine does not know which phase answered: a scenario in
	// which no request made a single upstream attempt never reached what
	// the finding is about (an auth check, a return, a limit answered
	// first).
	reached := false
	for _, q := range res.Requests {
		// The real engine counts what its backends saw, not attempts.
		reached = reached || len(q.Attempts) > 0 || q.UpstreamRequests > 0 || q.UpstreamConnections > 0
	}
	if len(res.Requests) > 0 && !reached {
		return analyzer.NotConfirmable, fmt.Sprintf("no request reached the upstream (the first got %s before any upstream attempt: an access check, a return or a limit answered it), so the scenario says nothing about the finding; give the requests what the location expects", res.Requests[0].Status)
	}
	return "", ""
}

func hintText(res *emulator.Result) string {
	if len(res.Hints) == 0 {
		return ""
	}
	return "; " + strings.Join(res.Hints, "; ")
}

// observed is the machine-readable part of a confirmation.
func observed(res *emulator.Result, policy string) map[string]any {
	var reqs []map[string]any
	conns, reads, unbounded := 0, 0, false
	for _, q := range res.Requests {
		reqs = append(reqs, map[string]any{"method": q.Method, "path": q.Path, "status": q.Status,
			"attempts": len(q.Attempts), "upstream_connections": q.UpstreamConnections,
			"upstream_requests": q.UpstreamRequests, "unbounded": q.Unbounded})
		conns += q.UpstreamConnections
		reads += q.UpstreamRequests
		unbounded = unbounded || q.Unbounded
	}
	return map[string]any{"backend_policy": policy, "requests": reqs, "upstream_connections": conns,
		"upstream_requests": reads, "unbounded": unbounded}
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// capitalise starts a sentence of a finding's details with a capital
// letter ("on nginx 1.22.1 ..." becomes "On nginx 1.22.1 ...").
//
// A sentence that starts with a name ("proxy_next_upstream has ...",
// "ngx.exit ...") keeps it as written.
func capitalise(s string) string {
	word, _, _ := strings.Cut(s, " ")
	if s == "" || s[0] < 'a' || s[0] > 'z' || strings.ContainsAny(word, "_.$(") {
		return s
	}

	return string(s[0]-'a'+'A') + s[1:]
}

type directiveIndexKey struct{}

// directiveIndex is the run's configuration flattened once
// (nginxconf.Index): a rule that reads a few directive names anywhere in
// the tree reads their lists instead of walking the whole tree again.
func directiveIndex(pass *analyzer.Pass) *nginxconf.Index {
	return pass.Fact(directiveIndexKey{}, func() any { return nginxconf.NewIndex(pass.Config) }).(*nginxconf.Index)
}

// inValueBlock reports whether the innermost enclosing block holds keys and
// values (map, geo...): a "rewrite" there is a key, not a directive.
func inValueBlock(parents []*nginxconf.Directive) bool {
	return len(parents) > 0 && valueBlock(parents[len(parents)-1].Name)
}

package nginxengine

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/user"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/versions"
)

// Scenario is one run: a configuration tree, the backend behaviours and the
// client requests. It mirrors the emulator's scenario so that the same
// inputs can be given to both engines.
type Scenario struct {
	// ConfigFS holds the configuration tree; Main names the main file in
	// it. The whole tree is copied into the temporary prefix, whose root
	// stands for nginx's prefix (-p), so relative include, *_by_lua_file
	// and load_module paths resolve as they do under the tree's root.
	ConfigFS fs.FS
	Main     string

	// Requests are sent in order, one client connection each.
	Requests []emulator.Request
	// Backends maps a peer address as written in the configuration or
	// passed to set_current_peer to its policy; other peers get
	// DefaultPolicy.
	Backends      map[string]emulator.Policy
	DefaultPolicy emulator.Policy

	// Timeout bounds each client request (default 10s). A request that
	// hits it is reported with status "timeout" and unbounded, as the
	// emulator reports one it had to cut.
	Timeout time.Duration
	// Server selects the http server{} by server_name (default: the first
	// one with a proxy_pass) and is sent as the Host header.
	Server string
	// ServerIndex, when not 0, selects the ServerIndex-th http server{}
	// in configuration order instead, whatever its names: requests get a
	// Host that selects it (emulator.HostFor), or the run is refused.
	ServerIndex int
	// StreamIndex, when not 0, selects the StreamIndex-th stream server{}
	// instead of an http one. A stream server speaks no protocol the
	// engine knows, so its requests must each carry a TLSProbe and are
	// a handshake on its ssl listener and nothing more: the outcome is
	// RequestResult.TLS, with no HTTP request sent and no response read.
	StreamIndex int
	// RequestHosts accepts a proxy_pass whose host is a request variable
	// (requesthost.go): every resolver becomes a DNS stub on loopback
	// that answers NXDOMAIN, and each request's Resolved lists the names
	// nginx asked it for.
	RequestHosts bool
	// LNMVersion overrides the lua-nginx-module version read from the
	// binary (Debian's dynamic module does not print it in -V).
	LNMVersion string
	// Spares is the number of extra backends for addresses that Lua
	// computes at run time (default 4).
	Spares int
	// Files is a synthetic file tree (paths relative to "/"), written
	// under the run's private directory; every root and alias is pointed
	// into it (files.go).
	Files fs.FS
}

// Result has the JSON shape of emulator.Result with "engine":"nginx", plus
// the per-request error.log counts and the list of rewrites.
type Result struct {
	Engine   string                  `json:"engine"`
	Profile  emulator.ResultProfile  `json:"profile"`
	Requests []RequestResult         `json:"requests"`
	Backends []emulator.BackendStats `json:"backends"`
	// Rewrites lists every change made to the configuration.
	Rewrites []Rewrite `json:"rewrites"`
	// Notes are remarks: assumed versions, unmapped addresses.
	Notes []string `json:"notes,omitempty"`
	// Binary is the nginx binary that ran.
	Binary string `json:"binary"`
}

// RequestResult is emulator.RequestResult plus the error.log lines counted
// while the request was served. Attempts stay empty: real nginx does not
// expose them without a debug log.
type RequestResult struct {
	emulator.RequestResult
	ErrorLog map[string]int `json:"error_log"`
}

// logPatterns are the error.log messages counted per request, each from
// the nginx or lua-nginx-module source that logs it.
var logPatterns = []string{
	"upstream prematurely closed connection", // ngx_http_upstream_process_header, recv() == 0
	"no live upstreams",                      // ngx_http_upstream_connect, NGX_BUSY
	"failed to run balancer_by_lua",          // ngx_http_lua_balancer_by_chunk
	"reduced tries due to limit",             // only if the user's Lua logs set_more_tries' warning
	"upstream timed out",                     // ngx_http_upstream_next, FT_TIMEOUT
	"connect() failed",                       // ngx_event_connect_peer
	"recv() failed",                          // e.g. connection reset by peer
	"lua balancer: no peer set",              // LNM >= 0.10.27 placeholder
	"client prematurely closed connection",
}

// Emulator returns the result as an emulator.Result (for its text trace),
// with the error.log counts as request log lines.
func (r *Result) Emulator() *emulator.Result {
	out := &emulator.Result{Engine: r.Engine, Profile: r.Profile, Backends: r.Backends, Notes: r.Notes}
	for _, q := range r.Requests {
		e := q.RequestResult
		e.Log = append([]string(nil), e.Log...)
		for _, p := range logPatterns {
			if n := q.ErrorLog[p]; n > 0 {
				e.Log = append(e.Log, fmt.Sprintf("error.log: %q x%d", p, n))
			}
		}
		out.Requests = append(out.Requests, e)
	}
	return out
}

// TreeFor returns the tree to copy for a main configuration file on disk,
// and the main file's path in it: the nginx prefix as nginxconf guesses it
// (the parent of a directory named "conf", as in <prefix>/conf/nginx.conf,
// else the file's own directory).
func TreeFor(configPath string) (fs.FS, string, error) {
	abs, err := filepath.Abs(configPath)
	if err != nil {
		return nil, "", err
	}
	if st, err := os.Stat(abs); err != nil {
		return nil, "", err
	} else if st.IsDir() {
		return nil, "", fmt.Errorf("%s is a directory, not a configuration file", configPath)
	}
	root := filepath.Dir(abs)
	if filepath.Base(root) == "conf" {
		root = filepath.Dir(root)
	}
	rel, err := filepath.Rel(root, abs)
	if err != nil {
		return nil, "", err
	}
	return os.DirFS(root), filepath.ToSlash(rel), nil
}

// Run probes binary and runs sc through it. See (*Binary).Run.
func Run(ctx context.Context, binary string, sc Scenario) (*Result, error) {
	b, err := Probe(ctx, binary, sc.LNMVersion)
	if err != nil {
		return nil, err
	}
	return b.Run(ctx, sc)
}

// hooks lets tests observe a run while nginx is up.
type hooks struct {
	started func(pid int, prefix string)
}

// Run runs sc through the binary: it copies and rewrites the configuration
// into a private temporary directory, starts one loopback backend per peer
// address, checks that the rewritten configuration keeps nginx on loopback
// (an *UncontainedError otherwise), checks it with `nginx -t`, starts nginx
// in its own session, sends the requests and reports what the backends and
// error.log saw. nginx's session, and any process that escaped it, is
// killed and the directory removed before Run returns, whatever happens.
func (b *Binary) Run(ctx context.Context, sc Scenario) (*Result, error) {
	return b.run(ctx, sc, hooks{})
}

func (b *Binary) run(ctx context.Context, sc Scenario, hk hooks) (res *Result, err error) {
	if sc.ConfigFS == nil || sc.Main == "" {
		return nil, fmt.Errorf("scenario: no configuration")
	}
	if len(sc.Requests) == 0 {
		return nil, fmt.Errorf("scenario: no requests")
	}
	timeout := sc.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	spares := sc.Spares
	if spares <= 0 {
		spares = 4
	}
	// The whole run is bounded: startup, each request with its settle
	// time, and shutdown.
	var idle time.Duration
	for _, rq := range sc.Requests {
		idle += rq.After
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second+idle+time.Duration(len(sc.Requests))*(timeout+3*time.Second))
	defer cancel()

	cfg := nginxconf.Load(sc.ConfigFS, sc.Main, nginxconf.Options{Prefix: "/"})
	var loadNotes, fatal []string
	for _, e := range cfg.Errors {
		// An include the tree does not hold (typically an absolute
		// /etc/nginx/mime.types) is read by nginx from the real system;
		// nginx -T below is the judge of whether it exists.
		if strings.HasPrefix(e.Msg, "include ") {
			loadNotes = append(loadNotes, e.Error()+" (left to nginx, which reads it from the system)")
			continue
		}
		fatal = append(fatal, e.Error())
	}
	if cfg.Main == nil || len(fatal) > 0 {
		return nil, fmt.Errorf("load %s:\n%s", sc.Main, strings.Join(fatal, "\n"))
	}
	var extra []string
	for k := range sc.Backends {
		extra = append(extra, k)
	}
	sort.Strings(extra)
	sn, err := scanConfig(cfg, sc.Server, sc.ServerIndex, sc.StreamIndex, extra)
	if err != nil {
		return nil, err
	}
	// A TLS probe goes to the target server's ssl listener.
	tlsKey, hasTLS := sn.targetTLSListenKey()
	for _, rq := range sc.Requests {
		if rq.TLS != nil && !hasTLS {
			return nil, fmt.Errorf("%w: a TLS handshake was asked for, and the server has no ssl listener", emulator.ErrNotReplayable)
		}
		if sc.StreamIndex > 0 && rq.TLS == nil {
			return nil, fmt.Errorf("%w: a stream server is only probed by TLS handshakes, and a request carries none", emulator.ErrNotReplayable)
		}
		if rq.TLS != nil && len(rq.TLS.OpenSSLCiphers) > 0 {
			// Known before nginx is started for nothing.
			if _, err := opensslBinary(); err != nil {
				return nil, fmt.Errorf("%w: %w", emulator.ErrNotReplayable, err)
			}
		}
	}
	// How each request's client address reaches nginx (clientaddr.go).
	origins := make([]clientFrom, len(sc.Requests))
	useRealip := false
	for i, rq := range sc.Requests {
		if origins[i], err = clientOrigin(rq.RemoteAddr); err != nil {
			return nil, fmt.Errorf("%w: %v", emulator.ErrNotReplayable, err)
		}
		for _, h := range rq.Headers {
			if strings.EqualFold(h.Name, clientAddrHeader) {
				return nil, fmt.Errorf("%w: the request carries the engine's own header %s", emulator.ErrNotReplayable, clientAddrHeader)
			}
		}
		useRealip = useRealip || origins[i].header != ""
	}
	if sc.RequestHosts {
		for i, rq := range sc.Requests {
			if why := requestHostBlocker(rq, requestHost(rq, sn.targetHost), userAgent, origins[i].header, origins[i].local); why != "" {
				return nil, fmt.Errorf("%w: the proxied host comes from the request, and %s %s could make it an address: %s", emulator.ErrNotReplayable, orDefault(rq.Method, "GET"), shortArg(rq.Path), why)
			}
		}
	}
	if useRealip {
		if !strings.Contains(b.V, "--with-http_realip_module") {
			return nil, fmt.Errorf("%w: a request comes from an address off loopback, which needs the realip module, and %s is built without it", emulator.ErrNotReplayable, b.Path)
		}
		if why := realipBlockers(cfg); len(why) > 0 {
			return nil, fmt.Errorf("%w: a request comes from an address off loopback, which the engine gives nginx through the realip module, but %s", emulator.ErrNotReplayable, strings.Join(why, "; "))
		}
	}
	prof, lnmSource := b.Profile, b.LNMSource
	lnm := sc.LNMVersion
	switch {
	case lnm != "":
		lnmSource = "the scenario"
	case sn.luaModuleArg != "" && lnmSource != "-V":
		// The module the configuration loads is the one that runs; read
		// its version rather than the one found in the default directory.
		mp := sn.luaModuleArg
		if !filepath.IsAbs(mp) {
			mp = filepath.Join(b.Prefix, mp)
		}
		if v := moduleVersion(mp); v != "" {
			lnm, lnmSource = v, "module file "+mp+" (load_module in the configuration)"
		}
	}
	if lnm != "" {
		p, _, err := versions.FromNginxV(b.V, lnm)
		if err != nil {
			return nil, err
		}
		prof = p
	}

	tmp, unlock, err := newRunDir()
	if err != nil {
		return nil, fmt.Errorf("temporary directory: %w", err)
	}
	defer func() {
		rerr := os.RemoveAll(tmp)
		unlock()
		if rerr != nil && err == nil {
			err = fmt.Errorf("remove temporary prefix: %w", rerr)
		}
	}()
	prefix := filepath.Join(tmp, "prefix")
	run := filepath.Join(tmp, "run")
	for _, d := range []string{prefix, run, filepath.Join(run, "lua", "ngx")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}

	upstreamTLS := wantsUpstreamTLS(sc.Requests)
	if upstreamTLS {
		if why := sn.upstreamTLSBlocker(); why != "" {
			return nil, fmt.Errorf("%w: the upstream's TLS handshake was asked for, and %s", emulator.ErrNotReplayable, why)
		}
	}
	var tlsf *tlsFiles
	if sn.needsTLS() || upstreamTLS {
		// Generated into the private directory, never read from the
		// user's paths (tls.go).
		if tlsf, err = writeTLSFiles(filepath.Join(run, "tls")); err != nil {
			return nil, fmt.Errorf("generate the run's TLS certificates: %w", err)
		}
	}
	var certs []tls.Certificate
	if upstreamTLS {
		if certs, err = backendCerts(tlsf); err != nil {
			return nil, err
		}
	}

	// Backends: one per distinct address, like the emulator, plus spares.
	type be struct {
		key string
		b   *emulator.Backend
	}
	var backends []be
	defer func() {
		for _, x := range backends {
			x.b.Close()
		}
	}()
	peerPorts := map[string]int{}
	// plog records which backend read each request, as the emulator's
	// does, for the per-request sequence of peers.
	var plog emulator.PeerLog
	var tlsBackends []*emulator.Backend
	for _, k := range sn.peerKeys {
		var bk *emulator.Backend
		if upstreamTLS && sn.peerTLS[k] {
			bk, err = emulator.StartTLSBackend(ctx, policyFor(sc, k), certs)
			tlsBackends = append(tlsBackends, bk)
		} else {
			bk, err = emulator.StartBackend(ctx, policyFor(sc, k))
		}
		if err != nil {
			return nil, err
		}
		bk.LogTo(&plog, k)
		backends = append(backends, be{k, bk})
		peerPorts[k] = portOf(bk.Addr())
	}
	var sparePorts []int
	for i := 0; i < spares; i++ {
		bk, err := emulator.StartBackend(ctx, sc.DefaultPolicy)
		if err != nil {
			return nil, err
		}
		backends = append(backends, be{"", bk})
		p := portOf(bk.Addr())
		bk.LogTo(&plog, spareName(p))
		sparePorts = append(sparePorts, p)
	}
	var dns *dnsStub
	if sc.RequestHosts {
		if dns, err = startDNSStub(ctx); err != nil {
			return nil, fmt.Errorf("DNS stub: %w", err)
		}
		defer dns.close()
	}
	sinkPort, err := closedPort()
	if err != nil {
		return nil, err
	}

	// Listen ports: held open until just before nginx starts, so no other
	// process of ours takes them meanwhile.
	listenPorts := map[string]int{}
	var holders []net.Listener
	releasePorts := func() {
		for _, l := range holders {
			l.Close()
		}
		holders = nil
	}
	defer releasePorts()
	for _, k := range sn.listenKeys {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		holders = append(holders, l)
		listenPorts[k] = portOf(l.Addr().String())
	}

	if err := copyTree(sc.ConfigFS, prefix); err != nil {
		return nil, fmt.Errorf("copy configuration: %w", err)
	}
	// Stock params files the tree does not hold (stock.go), before the
	// containment check reads the copy.
	stock := stockIncludes(cfg, path.Clean(sc.Main))
	if err := writeStock(prefix, stock); err != nil {
		return nil, err
	}
	var synthRoot string
	if sc.Files != nil {
		synth, err := readSynthetic(sc.Files)
		if err != nil {
			return nil, err
		}
		synthRoot = filesRoot(tmp)
		if err := writeSynthetic(synthRoot, synth); err != nil {
			return nil, fmt.Errorf("write the synthetic file tree: %w", err)
		}
	}
	files, rewrites, err := sn.apply(rewriteInput{tls: tlsf, upstreamTLS: upstreamTLS,
		run: run, listenPorts: listenPorts, peerPorts: peerPorts, bin: b, filesRoot: synthRoot, realip: useRealip,
		resolver: func() string {
			if dns != nil {
				return dns.addr()
			}
			return ""
		}(),
		fsHas: func(p string) bool { _, err := fs.Stat(sc.ConfigFS, path.Clean(p)); return err == nil },
		userOK: func(name, group string) bool {
			if os.Geteuid() != 0 {
				return false
			}
			_, uerr := user.Lookup(name)
			_, gerr := user.LookupGroup(group)
			return uerr == nil && gerr == nil
		},
	})
	if err != nil {
		return nil, err
	}
	for p, data := range files {
		if err := os.WriteFile(filepath.Join(prefix, filepath.FromSlash(p)), data, 0o644); err != nil {
			return nil, err
		}
	}
	if sn.usesLua {
		w := balancerWrapper(luaDir(run)+"/", peerPorts, sparePorts, sinkPort)
		if err := os.WriteFile(filepath.Join(run, "lua", "ngx", "balancer.lua"), []byte(w), 0o644); err != nil {
			return nil, err
		}
	}

	for i := range rewrites {
		// The directory is gone when the report is read; name it.
		rewrites[i].After = strings.ReplaceAll(rewrites[i].After, tmp, "$TMP")
	}
	res = &Result{
		Engine: "nginx", Binary: b.Path, Rewrites: rewrites,
		Profile: emulator.ResultProfile{
			Nginx: verString(prof.Nginx), LuaNginxModule: verString(prof.LNM),
			OpenResty: verString(prof.OpenResty),
		},
	}
	if lnm == "" {
		res.Notes = append(res.Notes, b.Notes...)
	}
	if lnmSource != "" && b.HasLua() {
		res.Notes = append(res.Notes, "lua-nginx-module "+prof.LNM.String()+" from "+lnmSource)
	}
	res.Notes = append(res.Notes, loadNotes...)
	for _, f := range stock {
		res.Notes = append(res.Notes, f.note)
	}

	mainPath := filepath.Join(prefix, filepath.FromSlash(path.Clean(sc.Main)))
	errLog := filepath.Join(run, "error.log")
	args := []string{"-p", prefix + "/", "-c", mainPath}
	if b.HasErrorLogFlag {
		args = append(args, "-e", errLog)
	}
	display := func(s string) string {
		s = strings.ReplaceAll(s, prefix+"/", "")
		return strings.ReplaceAll(s, tmp, "$TMP")
	}

	// The guarantee that nginx stays on loopback comes from here: the
	// tree nginx will read (the rewritten copy, and any file an absolute
	// include reaches outside it) is parsed again and every directive
	// that opens a socket is checked. It must come before `nginx -t`,
	// which already binds the listeners (ngx_init_cycle opens them in
	// test mode too) and runs init_by_lua.
	if problems, loadErrs := checkContained(os.DirFS("/"), mainPath, prefix, tmp, sc.RequestHosts); len(problems)+len(loadErrs) > 0 {
		ue := &UncontainedError{}
		for _, e := range loadErrs {
			ue.Problems = append(ue.Problems, Uncontained{Pos: sn.origPos(e.Pos, prefix, tmp),
				Reason: "the configuration nginx would read does not load, so it cannot be checked: " + display(e.Msg)})
		}
		for _, u := range problems {
			u.Pos = sn.origPos(u.Pos, prefix, tmp)
			ue.Problems = append(ue.Problems, u)
		}
		if sc.RequestHosts {
			// The caller asked for a request-chosen host: a refusal is
			// the answer "not replayable", with the reasons.
			return nil, fmt.Errorf("%w: %s", emulator.ErrNotReplayable, display(ue.Error()))
		}
		return nil, ue
	}
	if synthRoot != "" {
		// The same reading of what nginx will load, for the synthetic
		// tree. A refusal here is not an error of the run: the caller
		// reports the finding not confirmable on real nginx, with why.
		cfg := nginxconf.Load(os.DirFS("/"), strings.TrimPrefix(mainPath, "/"), nginxconf.Options{Prefix: prefix})
		if problems := checkConfined(cfg, synthRoot); len(problems) > 0 {
			var why []string
			for _, u := range problems {
				u.Pos = sn.origPos(u.Pos, prefix, tmp)
				why = append(why, display(u.String()))
			}
			return nil, fmt.Errorf("%w: the configuration could serve files outside the synthetic tree: %s", emulator.ErrNotReplayable, strings.Join(why, "; "))
		}
	}

	if note := beginContainment(); note != "" {
		res.Notes = append(res.Notes, note)
	}
	defer func() {
		if n := endContainment(); n > 0 && err == nil {
			err = fmt.Errorf("%d process(es) started by nginx could not be killed", n)
		}
	}()

	// nginx -t reports what nginx itself rejects, with its own message,
	// before the real start.
	tctx, tcancel := context.WithTimeout(ctx, 15*time.Second)
	out, terr := runGroup(tctx, prefix, b.Path, append([]string{"-t"}, args...)...)
	tcancel()
	if terr != nil {
		return nil, fmt.Errorf("nginx -t rejected the rewritten configuration (%v):\n%s", terr, display(errorLines(out)))
	}

	// ngx_init_cycle writes the pid file in test mode too; the real start
	// is detected by the pid file appearing, so remove the test's.
	pidFile := filepath.Join(run, "nginx.pid")
	if err := os.Remove(pidFile); err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	releasePorts()
	p, err := startProc(ctx, prefix, b.Path, args...)
	if err != nil {
		return nil, err
	}
	defer p.stop()
	if err := waitForFile(ctx, p, pidFile); err != nil {
		logData, _ := os.ReadFile(errLog)
		return nil, fmt.Errorf("%w:\n%s%s", err, display(errorLines(string(logData))), display(errorLines(p.output.String())))
	}
	if hk.started != nil {
		hk.started(p.pid(), tmp)
	}

	target := net.JoinHostPort("127.0.0.1", strconv.Itoa(listenPorts[sn.targetListenKey()]))
	snapshot := func() []emulator.BackendStats {
		out := make([]emulator.BackendStats, len(backends))
		for i, x := range backends {
			out[i] = x.b.Stats()
		}
		return out
	}
	var logOff int64
	if st, err := os.Stat(errLog); err == nil {
		logOff = st.Size()
	}
	runtimePeers := map[int]string{} // spare port -> address Lua passed
	for ri, rq := range sc.Requests {
		p0 := plog.Len()
		d0 := 0
		if dns != nil {
			d0 = dns.len()
		}
		if rq.After > 0 {
			// Real nginx needs real idle time: its timers run on its own
			// clock (the emulator moves an emulated one instead).
			select {
			case <-ctx.Done():
				return nil, fmt.Errorf("idle %s before %s %s: %w", rq.After, rq.Method, rq.Path, ctx.Err())
			case <-time.After(rq.After):
			}
		}
		// Each TLS backend takes the request's limits for the handshakes
		// nginx makes while serving it (requests are sent one by one).
		hs0 := make([]int, len(tlsBackends))
		for i, tb := range tlsBackends {
			tb.LimitTLS(rq.UpstreamTLS)
			_, hs0[i] = tb.Handshakes(0)
		}
		before := snapshot()
		addr, host := target, requestHost(rq, sn.targetHost)
		var tc *tls.Config
		switch {
		case rq.TLS != nil:
			addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(listenPorts[tlsKey]))
			tc = clientTLS(host, rq.TLS)
		case sn.tlsListen[sn.targetListenKey()]:
			tc = clientTLS(host, nil)
		}
		var resp response
		var rerr error
		if rq.TLS != nil && len(rq.TLS.OpenSSLCiphers) > 0 {
			// openssl s_client does the handshake alone, as on a stream
			// server: the negotiated suite is the evidence, and no request
			// follows it.
			o, herr := opensslHandshake(ctx, addr, host, rq.TLS)
			if herr != nil {
				return nil, fmt.Errorf("%s %s: %w", orDefault(rq.Method, "GET"), orDefault(rq.Path, "/"), herr)
			}
			resp.tls = o
			if !o.OK() {
				rerr = fmt.Errorf("TLS handshake: %s", o.Err)
			}
		} else {
			resp, rerr = exchange(ctx, addr, sn.targetHost, origins[ri], rq, timeout, tc, sn.stream)
		}
		code := resp.status
		rr := RequestResult{RequestResult: emulator.RequestResult{Method: orDefault(rq.Method, "GET"), Path: orDefault(rq.Path, "/"), Attempts: []emulator.Attempt{},
			Head: resp.head, Body: resp.body, TLS: resp.tls}}
		switch {
		case rerr == nil:
			rr.Status = emulator.Status{Code: code}
		case errors.Is(rerr, errClientTimeout):
			rr.Status = emulator.Status{Timeout: true}
			rr.Unbounded = true
			rr.Why = fmt.Sprintf("no response within the client timeout %s", timeout)
			// nginx stops once it notices the client went away; wait for
			// the backends to go quiet so the next request starts clean.
			settle(ctx, snapshot)
		default:
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%s %s: %w", rr.Method, rr.Path, ctx.Err())
			}
			rr.Why = "no HTTP response: " + rerr.Error()
		}
		if done, werr := p.exited(); done {
			logData, _ := os.ReadFile(errLog)
			return nil, fmt.Errorf("nginx exited during %s %s (%v):\n%s", rr.Method, rr.Path, werr, display(errorLines(string(logData))))
		}
		after := snapshot()
		for i := range after {
			rr.UpstreamConnections += after[i].Connections - before[i].Connections
			rr.UpstreamRequests += after[i].Requests - before[i].Requests
		}
		awaitHandshakes(ctx, tlsBackends)
		for i, tb := range tlsBackends {
			hs, _ := tb.Handshakes(hs0[i])
			rr.UpstreamTLS = append(rr.UpstreamTLS, hs...)
		}
		var chunk string
		chunk, logOff = readFrom(errLog, logOff)
		rr.ErrorLog = countLog(chunk)
		rr.ErrorLogLines = severeLines(chunk)
		if dns != nil {
			rr.Resolved = dns.since(d0)
		}
		for _, m := range reWrapperLog.FindAllStringSubmatch(chunk, -1) {
			if port, err := strconv.Atoi(m[2]); err == nil {
				runtimePeers[port] = m[1]
			}
		}
		for _, name := range plog.Since(p0) {
			// A spare stands for the address Lua passed at run time.
			for port, k := range runtimePeers {
				if name == spareName(port) {
					name = k
				}
			}
			rr.Peers = append(rr.Peers, name)
		}
		res.Requests = append(res.Requests, rr)
	}

	for _, x := range backends {
		st := x.b.Stats()
		st.Address = x.key
		if x.key == "" {
			k, used := runtimePeers[portOf(x.b.Addr())]
			if !used {
				continue
			}
			st.Address = k
		}
		res.Backends = append(res.Backends, st)
	}
	if n := len(runtimePeers); n > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("%d address(es) passed to set_current_peer at run time were mapped to spare backends", n))
	}
	for port, k := range runtimePeers {
		if port == sinkPort {
			res.Notes = append(res.Notes, "no spare backend left for "+k+": it was sent to a closed loopback port")
		}
	}
	return res, nil
}

// spareName names a spare backend in the peer log until the wrapper's log
// says which address it stood for.
func spareName(port int) string { return "spare:" + strconv.Itoa(port) }

func policyFor(sc Scenario, key string) emulator.Policy {
	for k, p := range sc.Backends {
		if k == key || normPeer(k, 80) == key {
			return p
		}
	}
	return sc.DefaultPolicy
}

func portOf(addr string) int {
	_, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return n
}

// closedPort returns a loopback port nothing listens on (it was just
// released), where connects are refused.
func closedPort() (int, error) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	p := portOf(l.Addr().String())
	l.Close()
	return p, nil
}

// settle waits until the backends' counters stop changing (bounded).
func settle(ctx context.Context, snapshot func() []emulator.BackendStats) {
	prev := snapshot()
	stable := 0
	for i := 0; i < 100 && stable < 3; i++ {
		select {
		case <-ctx.Done():
			return
		case <-time.After(20 * time.Millisecond):
		}
		cur := snapshot()
		same := true
		for j := range cur {
			if cur[j] != prev[j] {
				same = false
			}
		}
		if same {
			stable++
		} else {
			stable = 0
		}
		prev = cur
	}
}

func countLog(chunk string) map[string]int {
	m := map[string]int{}
	for _, line := range strings.Split(chunk, "\n") {
		for _, p := range logPatterns {
			if strings.Contains(line, p) {
				m[p]++
			}
		}
	}
	return m
}

func readFrom(file string, off int64) (string, int64) {
	f, err := os.Open(file)
	if err != nil {
		return "", off
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return "", off
	}
	// A looping request can log a lot; 64 MiB is more than any scenario
	// needs and bounds memory.
	data, _ := io.ReadAll(io.LimitReader(f, 64<<20))
	return string(data), off + int64(len(data))
}

// severe reports whether an error.log line is of level warn or above.
func severe(l string) bool {
	return strings.Contains(l, "[emerg]") || strings.Contains(l, "[alert]") || strings.Contains(l, "[crit]") ||
		strings.Contains(l, "[error]") || strings.Contains(l, "[warn]")
}

// Bounds of the lines kept per request (RequestResult.ErrorLogLines): a
// request that loops can log thousands, and the evidence a rule looks for
// is in the first few.
const (
	maxLogLines   = 64
	maxLogLineLen = 4096
)

// severeLines returns the lines of chunk of level warn and above, the
// first maxLogLines, each cut at maxLogLineLen bytes.
func severeLines(chunk string) []string {
	var out []string
	for _, l := range strings.Split(chunk, "\n") {
		if !severe(l) {
			continue
		}
		if len(out) == maxLogLines {
			break
		}
		if len(l) > maxLogLineLen {
			l = l[:maxLogLineLen]
		}
		out = append(out, escapeControls(l))
	}
	return out
}

// escapeControls writes control bytes as \xNN: nginx logs some strings
// as raw bytes (a map regex's name is read from freed memory, NULs), and
// the lines end up in JSON and on terminals.
func escapeControls(l string) string {
	if !strings.ContainsFunc(l, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }) {
		return l
	}
	var b strings.Builder
	for i := 0; i < len(l); i++ {
		if c := l[i]; c < ' ' && c != '\t' || c == 0x7f {
			fmt.Fprintf(&b, "\\x%02x", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// errorLines keeps the lines of nginx output worth showing: messages of
// level warn and above and nginx's own "nginx: ..." lines.
func errorLines(out string) string {
	var b strings.Builder
	for _, l := range strings.Split(out, "\n") {
		if severe(l) ||
			(strings.HasPrefix(l, "nginx: ") && !strings.Contains(l, "syntax is ok") && !strings.Contains(l, "test is successful")) {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	if b.Len() == 0 {
		return out
	}
	return b.String()
}

// copyTree copies every regular file of fsys under dir, refusing trees too
// large to be a configuration.
func copyTree(fsys fs.FS, dir string) error {
	const maxFiles, maxBytes = 20000, 256 << 20
	nfiles, nbytes := 0, int64(0)
	return fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		nfiles++
		nbytes += info.Size()
		if nfiles > maxFiles || nbytes > maxBytes {
			return fmt.Errorf("configuration tree too large (more than %d files or %d MiB)", maxFiles, maxBytes>>20)
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	})
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func verString(v versions.Version) string {
	if v.IsZero() {
		return ""
	}
	return v.String()
}

package rules

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/reqmodel"
)

// The SEC2xxx rules (issue 21 part B: injection and spoofing) share the
// request model: what each variable can hold in each location
// (reqmodel.Analysis, computed once per run and per location) and the
// emulator's request path, which sends each finding's crafted request.

type secAnalysisKey struct{}

// secAnalysis is the run's request model.
func secAnalysis(pass *analyzer.Pass) *reqmodel.Analysis {
	return pass.Fact(secAnalysisKey{}, func() any { return reqmodel.NewAnalysis(pass.Model) }).(*reqmodel.Analysis)
}

// secSite is where a directive applies: the server, the location (nil at
// server level) and what variables hold there.
type secSite struct {
	srv *nginxconf.Server
	loc *nginxconf.Location
	a   *reqmodel.Analysis
}

// vars is what variables hold at s, computed on first use (most
// directives are of no interest to the rules, and most locations have
// none that are).
func (s secSite) vars() *reqmodel.Vars {
	if s.loc != nil {
		return s.a.Location(s.loc)
	}
	return s.a.Server(s.srv)
}

// eachHTTPDirective calls fn for every directive written in a server or a
// location of the http context, if blocks included, with where it applies.
func eachHTTPDirective(pass *analyzer.Pass, fn func(s secSite, d *nginxconf.Directive)) {
	if pass.Model == nil || pass.Model.HTTP == nil {
		return
	}
	a := secAnalysis(pass)
	var walk func(s secSite, ds []*nginxconf.Directive)
	walk = func(s secSite, ds []*nginxconf.Directive) {
		for _, d := range ds {
			fn(s, d)
			if d.Name == "if" {
				walk(s, reqmodel.Flatten(d.Block))
			}
		}
	}
	for _, srv := range pass.Model.HTTP.Servers {
		walk(secSite{srv: srv, a: a}, srv.Directives)
		for _, l := range srv.AllLocations {
			walk(secSite{srv: srv, loc: l, a: a}, l.Directives)
		}
	}
}

// isRedirectReturn reports whether a return directive sends a Location
// and returns the argument holding it.
func isRedirectReturn(d *nginxconf.Directive) (int, bool) {
	switch len(d.Args) {
	case 1:
		v := d.Arg(0)
		if strings.HasPrefix(v, "http://") || strings.HasPrefix(v, "https://") || strings.HasPrefix(v, "$scheme") {
			return 0, true
		}
	case 2:
		switch d.Arg(0) {
		case "301", "302", "303", "307", "308":
			return 1, true
		}
	}
	return 0, false
}

// isRedirectRewrite reports whether a rewrite answers with a redirect.
func isRedirectRewrite(d *nginxconf.Directive) bool {
	if len(d.Args) < 2 {
		return false
	}
	r, f := d.Arg(1), d.Arg(2)
	return f == "redirect" || f == "permanent" || strings.HasPrefix(r, "http://") || strings.HasPrefix(r, "https://") || strings.HasPrefix(r, "$scheme")
}

// serverHost is the Host the crafted requests carry: one that makes
// nginx select srv among the configuration's servers on its listen
// socket (emulator.HostFor: a plain name, a name built for a wildcard or
// a regex, or, for the socket's default server, a name nobody lists).
// When there is none, the first plain server_name or "localhost" stands
// in for the emulator, which is given the server directly, and
// realReplay refuses (hostWhy).
func serverHost(pass *analyzer.Pass, srv *nginxconf.Server) string {
	if h, _ := hostWhy(pass, srv); h != "" {
		return h
	}
	for _, n := range srv.ServerNames {
		if n != "" && n != "_" && !strings.ContainsAny(n, "*~$") {
			return n
		}
	}
	return "localhost"
}

type hostKey struct{ srv *nginxconf.Server }

// hostWhy is emulator.HostFor on the pass's http servers, once per
// server and run.
func hostWhy(pass *analyzer.Pass, srv *nginxconf.Server) (string, string) {
	if pass.Model == nil || pass.Model.HTTP == nil {
		return "", "no http servers"
	}
	hw := pass.Fact(hostKey{srv}, func() any {
		h, why := emulator.HostFor(pass.Model.HTTP.Servers, srv)
		return [2]string{h, why}
	}).([2]string)
	return hw[0], hw[1]
}

// routeTo returns request paths that reach l: its own path for prefix and
// exact locations, a generated subject for a regex one.
func routeTo(a *reqmodel.Analysis, l *nginxconf.Location) []string {
	if l == nil {
		return []string{"/"}
	}
	switch l.Modifier {
	case "", "=", "^~":
		return []string{reqmodel.PercentEncode(l.Path)}
	case "~", "~*":
		re := a.Router(l.Server).LocationRegex(l)
		if s, ok := re.Witness(0, ""); ok && strings.HasPrefix(s, "/") {
			return []string{reqmodel.PercentEncode(s)}
		}
		if s, ok := re.Witness(0, ""); ok {
			return []string{reqmodel.PercentEncode("/" + s)}
		}
	}
	return nil
}

// requestCheck is a crafted request and what its response must show.
type requestCheck struct {
	req emulator.Request
	// shows reports whether the response shows the finding, and says what
	// it saw. It judges what a client reads (status, head, body), so the
	// same check judges the emulator's answer and real nginx's.
	shows func(x *emulator.Exchange) (bool, string)
	// routed, when set, is what only the emulator reports about how the
	// request was handled (the location, the access decision) and must
	// hold too for the emulator's answer to count. Real nginx's answer is
	// judged by shows, on a request whose emulated handling met routed:
	// a response alone cannot tell, say, a client let through by the
	// access phase from one answered by a return before it, and the
	// differential suite shows that both engines route alike.
	routed func(x *emulator.Exchange) (bool, string)
	// control, when contrast is set, is a second request sent alongside
	// (the same one without what triggers the finding); contrast then
	// judges the pair instead of shows.
	control  *emulator.Request
	contrast func(x, ctrl *emulator.Exchange) (bool, string)
	// echo makes the proxied backend the echo backend, in the emulator
	// (Site.EchoBackend) and on real nginx (policy "echo"): the response
	// shows the request head the proxy sent and the headers the request
	// asked it to send back.
	echo bool
	// realOnly, when set, says why the emulator cannot show the finding
	// although it can route the requests (SEC2007: RE2 cannot backtrack):
	// the emulator's verdict is not-confirmable with this reason and only
	// real nginx's answer, judged by contrast with the control, decides.
	// routed is then judged on the emulator's answer to the control, the
	// request the emulator handles as real nginx does.
	realOnly string
	// why, when set, says why real nginx's answer that does not show the
	// finding does not (the confirmation's Reason): a TLS handshake's
	// alert names a cause the summary has no room for.
	why func(x, ctrl *emulator.Exchange) string
	// answerless marks a check whose request nginx may close without an
	// answer and that judges what real nginx logged instead (SEC2007 on
	// server_name): the replay judges it even with no response.
	answerless bool
	// requestHost marks an SSRF check: the request chooses the proxied
	// host. The real engine then accepts the variable host only under
	// its containment conditions (emulator.Scenario.RequestHosts), and is
	// sent the request only if the emulator's answer shows the finding,
	// i.e. predicts the canary host.
	requestHost bool
}

// judge is the check's verdict on an answer and, for a contrast, its
// control's.
func (c requestCheck) judge(x, ctrl *emulator.Exchange) (bool, string) {
	if c.contrast != nil {
		return c.contrast(x, ctrl)
	}
	return c.shows(x)
}

// requestConfirmer sends the crafted requests to srv through the
// emulator's request path (emulator.Serve) until one shows the finding.
// Every request stays in memory; files come from files (a synthetic tree
// for alias and root findings, nil otherwise), which the real engine
// writes into its own run directory, with every root and alias pointed
// there, or refuses (emulator.Scenario.Files). With a real-nginx engine
// (pass.Engine.Runner, chosen by the caller's flags) the same requests are
// then replayed on the binary (realReplay) and its answer decides.
func requestConfirmer(pass *analyzer.Pass, srv *nginxconf.Server, files fs.FS, checks []requestCheck) analyzer.Confirmer {
	a := secAnalysis(pass)
	host := serverHost(pass, srv)
	env := envOf(pass)
	_, builtin := env.runner.(emulator.ConfigOnlyRunner)
	realRunner := env.runner != nil && !builtin
	site := emulator.Site{Server: srv, Analysis: a, Files: files}
	if !pass.Profile.Nginx.IsZero() {
		site.NginxVersion = pass.Profile.Nginx.String()
	}
	for _, c := range checks {
		site.EchoBackend = site.EchoBackend || c.echo
	}
	return analyzer.ConfirmFunc(func(ctx context.Context) analyzer.Confirmation {
		out := analyzer.Confirmation{Engine: "emulator (request path)", Status: analyzer.NotReproduced}
		if len(checks) == 0 {
			out.Status, out.Reason = analyzer.NotConfirmable, "no request could be crafted that reaches this directive"
			return out
		}
		var tried, unmod, realOnly []string
		reqs := make([]emulator.Request, len(checks))
		ctrls := make([]*emulator.Request, len(checks))
		// routedOK[i]: the emulator handled request i where the finding
		// is (realReplay trusts real nginx's answer only then).
		routedOK := make([]bool, len(checks))
		// predicted[i]: the emulator's answer to request i shows the
		// finding (what an SSRF check's replay needs).
		predicted := make([]bool, len(checks))
		for i, c := range checks {
			if ctx.Err() != nil {
				out.Status, out.Reason = analyzer.ConfirmError, ctx.Err().Error()
				return out
			}
			rq := c.req
			line := requestLine(rq) // before the default Host: it says nothing
			hasHost := false
			for _, h := range rq.Headers {
				hasHost = hasHost || strings.EqualFold(h.Name, "host")
			}
			if !hasHost {
				rq.Headers = append([]emulator.Header{{Name: "Host", Value: host}}, rq.Headers...)
			}
			reqs[i] = rq
			if c.control != nil {
				ctrl := *c.control
				ctrl.Headers = withHostHeader(ctrl.Headers, host)
				ctrls[i] = &ctrl
			}
			if out.Status == analyzer.Confirmed && !realRunner {
				break
			}
			x := emulator.Serve(site, rq)
			routedOK[i] = true
			var rwhy string
			if c.routed != nil {
				rx := x
				if c.realOnly != "" && ctrls[i] != nil {
					rx = emulator.Serve(site, *ctrls[i])
				}
				routedOK[i], rwhy = c.routed(rx)
			}
			if c.realOnly != "" {
				// The emulator makes no claim: its answer is not judged.
				realOnly = append(realOnly, c.realOnly)
				if !routedOK[i] {
					tried = append(tried, line+" -> "+rwhy)
				}
				continue
			}
			if c.requestHost {
				predicted[i], _ = c.shows(x)
			}
			if out.Status == analyzer.Confirmed {
				continue // served only for routedOK, for the replay
			}
			var cx *emulator.Exchange
			if ctrls[i] != nil {
				cx = emulator.Serve(site, *ctrls[i])
			}
			ok, saw := c.judge(x, cx)
			if ok && !routedOK[i] {
				ok, saw = false, rwhy
			} else if ok && rwhy != "" {
				saw = rwhy
			}
			tried = append(tried, line+" -> "+saw)
			unmod = append(unmod, x.Unmodelled...)
			if ok {
				out.Status = analyzer.Confirmed
				out.Summary = line + " -> " + saw
				out.Observed = map[string]any{"request": requestLine(rq), "status": x.Status, "location": x.Location, "response_head": x.Head}
				if x.File != "" {
					out.Observed["file"] = x.File
				}
				if x.Upstream != "" {
					out.Observed["upstream"] = x.Upstream
				}
				if ur := x.UpstreamRequest; ur != nil && c.echo {
					out.Observed["upstream_request"] = emulator.EchoHead(ur.Line, ur.Headers)
				}
				if len(x.UpstreamParams) > 0 {
					out.Observed["upstream_params"] = x.UpstreamParams
				}
				out.Trace = strings.Join(x.Trace, "\n")
			}
		}
		if out.Status != analyzer.Confirmed {
			out.Summary = strings.Join(tried, "; ")
			if len(unmod) > 0 {
				out.Reason = "the request met what the emulator does not model: " + strings.Join(dedupe(unmod), ", ")
			}
			if len(realOnly) == len(checks) {
				out.Status, out.Reason = analyzer.NotConfirmable, strings.Join(dedupe(realOnly), "; ")
				if out.Summary == "" {
					out.Summary = "crafted " + requestLine(checks[0].req)
				}
			}
		}
		if !realRunner {
			return out
		}
		_, hostProblem := hostWhy(pass, srv)
		return realReplay(ctx, env, srv, hostProblem, files, checks, reqs, ctrls, routedOK, predicted, out)
	})
}

// realReplay sends a finding's crafted requests, as they are, to the real
// nginx of env (nginxengine.Runner or Both, which copy the configuration,
// move every listener and upstream to loopback and refuse anything else)
// and judges each response with the same check. Real nginx decides the
// status; where it disagrees with the emulator's verdict emu, the
// difference is recorded (an emulator bug). A request the real engine
// cannot send as crafted is not replayed, and if none can be the finding
// is not confirmable there, never confirmed.
func realReplay(ctx context.Context, env confirmEnv, srv *nginxconf.Server, hostProblem string, files fs.FS, checks []requestCheck, reqs []emulator.Request, ctrls []*emulator.Request, routedOK, predicted []bool, emu analyzer.Confirmation) analyzer.Confirmation {
	out := analyzer.Confirmation{Engine: "nginx (request replay)", Status: analyzer.NotConfirmable}
	emuLine := emu.Status + ": " + emu.Summary
	switch {
	case env.mainPath == "":
		out.Reason = "the configuration is not on disk, so the real nginx cannot run it; emulator " + emuLine
		return out
	case hostProblem != "":
		out.Reason = "no Host selects the server on real nginx: " + hostProblem + "; emulator " + emuLine
		return out
	}
	// sent holds the requests in order, each check's control right after
	// it; idx[j] is the check of sent[j], ctl[j] marks a control.
	// A request's RemoteAddr goes with it: the engine's client connects
	// from a 127.0.0.0/8 address itself and has nginx's realip module
	// give it any other, or refuses (ErrNotReplayable, with why).
	var sent []emulator.Request
	var idx []int
	var ctl []bool
	unrouted := false
	policy := "ok"
	requestHosts := false
	for i, rq := range reqs {
		if checks[i].realOnly != "" && !routedOK[i] {
			// Only real nginx could show it, and its answer would be
			// no evidence: the request does not reach the finding.
			unrouted = true
			continue
		}
		if checks[i].echo {
			policy = "echo"
		}
		if checks[i].requestHost {
			requestHosts = true
			if !predicted[i] {
				// Only a request the emulator routes to the canary
				// host goes to real nginx (requestCheck.requestHost).
				continue
			}
		}
		sent, idx, ctl = append(sent, rq), append(idx, i), append(ctl, false)
		if ctrls[i] != nil {
			sent, idx, ctl = append(sent, *ctrls[i]), append(idx, i), append(ctl, true)
		}
	}
	if len(sent) == 0 && unrouted {
		out.Reason = "real nginx is not asked: the emulator routes no crafted request where the finding is; emulator " + emuLine
		return out
	}
	if len(sent) == 0 {
		out.Reason = "no crafted request makes the emulator proxy to the canary host, and only such a request is sent to real nginx; emulator " + emuLine
		return out
	}
	pol, _ := emulator.ParsePolicy(policy)
	res, err := env.runner.Run(ctx, emulator.Scenario{Config: emulator.Config{Requests: sent, DefaultPolicy: pol},
		ConfigFile: env.mainPath, Server: srv, Files: files, RequestHosts: requestHosts})
	if errors.Is(err, emulator.ErrNotReplayable) {
		out.Reason = "real nginx: " + err.Error() + "; emulator " + emuLine
		return out
	}
	if err != nil {
		out.Status, out.Reason = analyzer.ConfirmError, "real nginx: "+err.Error()
		return out
	}
	out.Engine = res.Engine + " (request replay)"
	out.Profile = fmt.Sprintf("nginx %s (%s)", res.Profile.Nginx, res.Binary)
	out.Status = analyzer.NotReproduced
	var tried, whys []string
	exchange := func(j int) *emulator.Exchange {
		rr, rq := res.Requests[j], sent[j]
		st, hs := emulator.ParseHead(rr.Head)
		return &emulator.Exchange{Method: orGET(rq.Method), Target: rq.Path, Status: st, Head: rr.Head, Headers: hs, Body: rr.Body, Resolved: rr.Resolved, TLS: rr.TLS, UpstreamTLS: rr.UpstreamTLS, ErrorLog: rr.ErrorLogLines}
	}
	for j, rr := range res.Requests {
		if j >= len(idx) {
			break
		}
		if ctl[j] {
			continue // judged with its request
		}
		rq := sent[j]
		// A refused TLS handshake has no response, and is the answer.
		if rr.Head == "" && rr.TLS == nil && !checks[idx[j]].answerless {
			tried = append(tried, requestLine(rq)+" -> no response ("+rr.Why+")")
			continue
		}
		x := exchange(j)
		var cx *emulator.Exchange
		if j+1 < len(res.Requests) && j+1 < len(ctl) && ctl[j+1] {
			if res.Requests[j+1].Head == "" && res.Requests[j+1].TLS == nil {
				tried = append(tried, requestLine(sent[j+1])+" (control) -> no response ("+res.Requests[j+1].Why+")")
				continue
			}
			cx = exchange(j + 1)
		}
		shown, saw := checks[idx[j]].judge(x, cx)
		if why := checks[idx[j]].why; why != nil && !shown {
			whys = append(whys, why(x, cx))
		}
		if shown && !routedOK[idx[j]] {
			shown, saw = false, saw+", but the emulator shows the request is not handled where the finding is, so the answer is no evidence"
		}
		tried = append(tried, requestLine(rq)+" -> "+saw)
		if shown {
			out.Status = analyzer.Confirmed
			out.Summary = requestLine(rq) + " -> " + saw
			out.Observed = map[string]any{"request": requestLine(rq), "status": x.Status, "response_head": rr.Head}
			if _, _, echoed := emulator.ParseEcho(rr.Body); echoed && checks[idx[j]].echo {
				out.Observed["upstream_request"] = rr.Body
			}
			if _, ps, echoed := emulator.ParseParamsEcho(rr.Body); echoed && checks[idx[j]].echo {
				out.Observed["upstream_params"] = ps
			}
			if len(rr.Resolved) > 0 {
				out.Observed["resolved"] = rr.Resolved
			}
			if len(rr.ErrorLogLines) > 0 {
				// What nginx logged while serving it: the evidence a
				// check judged by the log rests on, context for the rest.
				out.Observed["error_log"] = rr.ErrorLogLines
			}
			break
		}
	}
	if out.Status != analyzer.Confirmed {
		out.Summary = strings.Join(tried, "; ")
		out.Reason = strings.Join(dedupe(whys), "; ")
	}
	// An emulator that made no claim (every check realOnly, or none it
	// could judge) cannot disagree.
	if emu.Status != analyzer.NotConfirmable && (out.Status == analyzer.Confirmed) != (emu.Status == analyzer.Confirmed) {
		diff := "real nginx " + out.Status + ", emulator " + emuLine
		if out.Observed == nil {
			out.Observed = map[string]any{}
		}
		out.Observed["engine_differences"] = []string{diff}
		out.Reason = strings.TrimPrefix(out.Reason+"; engines differ (an emulator bug): "+diff, "; ")
	}
	return out
}

// withHostHeader adds Host: host unless the headers carry one.
func withHostHeader(hs []emulator.Header, host string) []emulator.Header {
	for _, h := range hs {
		if strings.EqualFold(h.Name, "host") {
			return hs
		}
	}
	return append([]emulator.Header{{Name: "Host", Value: host}}, hs...)
}

func orGET(m string) string {
	if m == "" {
		return "GET"
	}
	return m
}

func dedupe(ss []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// requestLine writes a request as "GET /path Header: value".
func requestLine(rq emulator.Request) string {
	m := rq.Method
	if m == "" {
		m = "GET"
	}
	s := m + " " + rq.Path
	if rq.Path == "" && rq.TLS != nil {
		// A stream server's probe: a handshake and no request.
		s = "handshake"
	}
	if rq.TLS != nil {
		s += " over " + rq.TLS.String()
	}
	if rq.RemoteAddr != "" {
		s += " from " + rq.RemoteAddr
	}
	for _, h := range rq.Headers {
		s += fmt.Sprintf(" [%s: %s]", h.Name, h.Value)
	}
	return s
}

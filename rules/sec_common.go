package rules

import (
	"context"
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

// serverHost is a name that routes to srv: its first plain server_name.
func serverHost(srv *nginxconf.Server) string {
	for _, n := range srv.ServerNames {
		if n != "" && n != "_" && !strings.ContainsAny(n, "*~$") {
			return n
		}
	}
	return "localhost"
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
	// it saw.
	shows func(x *emulator.Exchange) (bool, string)
}

// requestConfirmer sends the crafted requests to srv through the
// emulator's request path (emulator.Serve) until one shows the finding.
// Every request stays in memory; files come from files (a synthetic tree
// for alias findings, nil otherwise).
func requestConfirmer(pass *analyzer.Pass, srv *nginxconf.Server, files fs.FS, checks []requestCheck) analyzer.Confirmer {
	a := secAnalysis(pass)
	host := serverHost(srv)
	return analyzer.ConfirmFunc(func(ctx context.Context) analyzer.Confirmation {
		out := analyzer.Confirmation{Engine: "emulator (request path)", Status: analyzer.NotReproduced}
		if len(checks) == 0 {
			out.Status, out.Reason = analyzer.NotConfirmable, "no request could be crafted that reaches this directive"
			return out
		}
		var tried, unmod []string
		for _, c := range checks {
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
			x := emulator.Serve(emulator.Site{Server: srv, Analysis: a, Files: files}, rq)
			ok, saw := c.shows(x)
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
				out.Trace = strings.Join(x.Trace, "\n")
				return out
			}
		}
		out.Summary = strings.Join(tried, "; ")
		if len(unmod) > 0 {
			out.Reason = "the request met what the emulator does not model: " + strings.Join(dedupe(unmod), ", ")
		}
		return out
	})
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
	for _, h := range rq.Headers {
		s += fmt.Sprintf(" [%s: %s]", h.Name, h.Value)
	}
	return s
}

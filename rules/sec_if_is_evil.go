package rules

import (
	"fmt"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/reqmodel"
)

// IfIsEvil flags the known-broken uses of "if" inside a location: not
// every "if", only those where nginx does something other than what the
// configuration reads as.
var IfIsEvil = &analyzer.Rule{
	ID:       "SEC1012",
	Slug:     "if-is-evil",
	Severity: analyzer.Warning,
	Doc: analyzer.Doc{
		Title: "\"if\" in a location that silently disables try_files or another if's settings",
		Text: `An "if" inside a location is a nested location of its own: when its condition is true the request
is handled with the if block's configuration (ngx_http_rewrite_if; ngx_http_core_find_config_phase switches
r->loc_conf to it). Two consequences that the nginx wiki's "If is evil" page shows and that are flagged here:

  - try_files stops working: it is a phase handler that reads the current configuration, and the if block
    has none. "location / { try_files $uri @app; if ($arg_debug) { set $x 1; } }" never falls back to @app
    when ?debug is given.
  - of two "if" blocks that both match, only the last one's settings apply: the first one's add_header,
    expires, proxy_* or limit_rate are lost.

An if that ends the request with "return" (the safe pattern, e.g. answering an OPTIONS preflight) is never
flagged, nor an if that only rewrites with "last", "redirect" or "permanent". Other directives in an if are
left alone: they do what they say while the if matches (SEC1001 covers add_header dropping inherited
headers there).`,
		Bad: `http {
    server {
        listen 80;
        location / {
            try_files $uri $uri/ @app;
            if ($arg_debug) {
                set $debug 1;
            }
        }
        location @app {
            proxy_pass http://127.0.0.1:8080;
        }
    }
}
`,
		Good: `http {
    map $arg_debug $debug {
        default 0;
        ~. 1;
    }
    server {
        listen 80;
        location / {
            try_files $uri $uri/ @app;
        }
        location @app {
            proxy_pass http://127.0.0.1:8080;
        }
    }
}
`,
		Since:      "0.3.0",
		References: []string{"https://www.nginx.com/resources/wiki/start/topics/depth/ifisevil/", "nginx src/http/modules/ngx_http_rewrite_module.c ngx_http_rewrite_if", "gixy if_is_evil"},
		Confirmation: `confirmed by the emulator's request path when a request can be crafted that makes the condition true
(a bare or compared $arg_*, $http_*, $cookie_* or $request_method, or a regex on them with a plain witness):
for try_files, that request and the same one without the condition must get different answers while the
emulator shows try_files skipped; for two ifs, a request matching both must lack the first if's add_header.
With --engine nginx or both the requests are replayed on the real binary. Not confirmable when the condition
is of another form, or when the first if's lost settings are not add_header (a response does not show
them). Differential suite: emulator/nginxengine/testdata/reqpath/ifevil.txtar.`,
	},
	Run: func(pass *analyzer.Pass) error {
		if pass.Config == nil {
			return nil
		}
		levels := secLevelsOf(pass).all
		ifsOf := map[*secLevel][]*secLevel{}
		for _, l := range levels {
			if l.kind == "if" && l.parent != nil {
				ifsOf[l.parent] = append(ifsOf[l.parent], l)
			}
		}
		for _, loc := range levels {
			ifs := ifsOf[loc]
			if len(ifs) == 0 {
				continue
			}
			var live []*secLevel // ifs the request can continue in
			for _, f := range ifs {
				if !endsRequest(f.block) {
					live = append(live, f)
				}
			}
			if tf := loc.own("try_files"); len(tf) > 0 {
				for _, f := range live {
					pass.Report(&analyzer.Diagnostic{Pos: f.block.Pos, End: f.block.BlockOpen,
						Message: fmt.Sprintf("when if %s matches, try_files of %s is not applied", quoteArgs(f.block), loc.describe()),
						Details: "An if block is a nested location with its own configuration, which has no try_files; the request is served as if try_files were absent. Set a variable with map instead, or end the if with return.",
						Related: []analyzer.Related{{Pos: tf[0].d.Pos, End: tf[0].d.End, Message: "this try_files is skipped while the if matches"}},
						Confirm: ifTryFilesConfirm(pass, loc, f)})
				}
			}
			var setting []*secLevel // live ifs with settings of their own
			for _, f := range live {
				if hasSettings(f.block) {
					setting = append(setting, f)
				}
			}
			for i, f := range setting[min(1, len(setting)):] {
				prev := setting[i]
				pass.Report(&analyzer.Diagnostic{Pos: f.block.Pos, End: f.block.BlockOpen,
					Message: fmt.Sprintf("if %s and the if before it can both match; then only this one's settings apply", quoteArgs(f.block)),
					Details: "Each matching if replaces the request's configuration with its own block; the earlier block's settings are lost, not combined.",
					Related: []analyzer.Related{{Pos: prev.block.Pos, End: prev.block.BlockOpen, Message: "this if's settings are lost when both match"}},
					Confirm: ifPairConfirm(pass, loc, prev, f)})
			}
		}
		return nil
	},
}

// ifTryFilesConfirm sends a request to loc that makes f's condition true,
// with the same request without it as the control: the answers must
// differ, and the emulator must show that try_files was skipped.
func ifTryFilesConfirm(pass *analyzer.Pass, loc, f *secLevel) analyzer.Confirmer {
	p, ok := levelPlace(pass, loc)
	if !ok {
		return notConfirmable("the if is in " + loc.describe() + ", which no request is routed to by its path alone")
	}
	var checks []requestCheck
	for _, path := range pathsInto(pass, p, "try_files") {
		base := emulator.Request{Path: path}
		rq, ok := satisfy(f.block, base)
		if !ok {
			return notConfirmable("no request is crafted for the condition " + quoteArgs(f.block))
		}
		checks = append(checks, requestCheck{req: rq, control: &base,
			contrast: func(x, ctrl *emulator.Exchange) (bool, string) {
				if x.Status == ctrl.Status && x.Body == ctrl.Body {
					return false, fmt.Sprintf("%d, as without the condition", x.Status)
				}
				return true, fmt.Sprintf("%d, where the same request without the condition gets %d (try_files applied)", x.Status, ctrl.Status)
			},
			routed: func(x *emulator.Exchange) (bool, string) {
				if !x.TryFilesSkipped {
					return false, fmt.Sprintf("%d, try_files not skipped", x.Status)
				}
				return true, ""
			}})
	}
	return requestConfirmer(pass, p.srv, nil, checks)
}

// ifPairConfirm sends a request to loc that makes both first's and
// second's conditions true: the response must lack the add_header that
// only the first sets.
func ifPairConfirm(pass *analyzer.Pass, loc, first, second *secLevel) analyzer.Confirmer {
	p, ok := levelPlace(pass, loc)
	if !ok {
		return notConfirmable("the ifs are in " + loc.describe() + ", which no request is routed to by its path alone")
	}
	var lost []secEntry
	for _, e := range first.own("add_header") {
		if len(droppedEntries(second.own("add_header"), []secEntry{e}, headerKey)) > 0 {
			lost = append(lost, e)
		}
	}
	if len(lost) == 0 {
		return notConfirmable("the first if's lost settings are not add_header, which a response does not show")
	}
	var checks []requestCheck
	for _, path := range pathsInto(pass, p, "if") {
		rq, ok := satisfy(first.block, emulator.Request{Path: path})
		if ok {
			rq, ok = satisfy(second.block, rq)
		}
		if !ok {
			return notConfirmable("no request is crafted that makes both conditions true")
		}
		want := argsText(second.block)
		checks = append(checks, requestCheck{req: rq,
			shows: func(x *emulator.Exchange) (bool, string) {
				var missing []string
				for _, e := range lost {
					if emulator.AddHeaderApplies(x.Status, e.arg(2) == "always") && len(x.Header(e.arg(0))) == 0 {
						missing = append(missing, e.arg(0))
					}
				}
				if len(missing) == 0 {
					return false, fmt.Sprintf("%d, the first if's headers sent or not applicable", x.Status)
				}
				return true, fmt.Sprintf("%d without %s, which the first if adds", x.Status, strings.Join(missing, ", "))
			},
			routed: func(x *emulator.Exchange) (bool, string) {
				if x.If != want {
					return false, fmt.Sprintf("%d served by if %q, not %q", x.Status, x.If, want)
				}
				return true, ""
			}})
	}
	return requestConfirmer(pass, p.srv, nil, checks)
}

// argsText is a directive's arguments as written, joined by spaces, as
// emulator.Exchange.If names an if block.
func argsText(d *nginxconf.Directive) string {
	parts := make([]string, len(d.Args))
	for i, a := range d.Args {
		parts[i] = a.Value
	}
	return strings.Join(parts, " ")
}

// satisfy returns rq changed so that the if's condition holds: a query
// argument, a header, a cookie or the method set to a value that makes
// it true. ok is false for other conditions, and for values that would
// need escaping (the request must carry them verbatim: $arg_* is raw).
func satisfy(ifd *nginxconf.Directive, rq emulator.Request) (emulator.Request, bool) {
	c := reqmodel.ParseCond(ifd)
	if c == nil || strings.Count(c.Var, "$") != 1 || !strings.HasPrefix(c.Var, "$") {
		return rq, false
	}
	var val string
	switch c.Op {
	case "":
		val = "1"
	case "=":
		val = c.Value
		if strings.Contains(val, "$") || val == "" {
			return rq, false
		}
	case "!=":
		val = "ngxlint"
		if val == c.Value {
			val = "ngxlint2"
		}
	case "~", "~*":
		if c.Regex == nil || c.Regex.Err != nil {
			return rq, false
		}
		w, ok := c.Regex.Witness(0, "")
		if !ok || w == "" {
			return rq, false
		}
		val = w
	case "!~", "!~*":
		if c.Regex == nil || c.Regex.Err != nil || c.Regex.Match("ngxlint") != nil {
			return rq, false
		}
		val = "ngxlint"
	default:
		return rq, false
	}
	if !plainValue(val) {
		return rq, false
	}
	name := strings.ToLower(c.Var[1:])
	hs := append([]emulator.Header(nil), rq.Headers...)
	switch {
	case strings.HasPrefix(name, "arg_") && len(name) > 4:
		sep := "?"
		if strings.Contains(rq.Path, "?") {
			sep = "&"
		}
		rq.Path += sep + name[4:] + "=" + val
	case strings.HasPrefix(name, "http_") && len(name) > 5 && name != "http_host":
		rq.Headers = append(hs, emulator.Header{Name: strings.ReplaceAll(name[5:], "_", "-"), Value: val})
	case strings.HasPrefix(name, "cookie_") && len(name) > 7:
		rq.Headers = append(hs, emulator.Header{Name: "Cookie", Value: name[7:] + "=" + val})
	case name == "request_method":
		if strings.Trim(val, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
			return rq, false
		}
		rq.Method = val
	default:
		return rq, false
	}
	return rq, true
}

// plainValue reports whether v can be sent verbatim in a query string, a
// header and a cookie.
func plainValue(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~", c) >= 0) {
			return false
		}
	}
	return v != ""
}

// rewriteModule are the directives of the rewrite module, which run while
// the condition is evaluated and are not settings of the if block.
var rewriteModule = map[string]bool{"set": true, "rewrite": true, "return": true, "break": true, "if": true, "rewrite_log": true, "uninitialized_variable_warn": true}

// endsRequest reports whether an if block always leaves the location:
// a return, or a rewrite to another location (last, redirect, permanent).
func endsRequest(b *nginxconf.Directive) bool {
	ends := false
	for _, d := range reqmodel.Flatten(b.Block) {
		switch d.Name {
		case "return":
			ends = true
		case "rewrite":
			switch d.Arg(len(d.Args) - 1) {
			case "last", "redirect", "permanent":
				ends = true
			}
		}
	}
	return ends
}

// hasSettings reports whether an if block holds directives other than the
// rewrite module's.
func hasSettings(b *nginxconf.Directive) bool {
	has := false
	for _, d := range reqmodel.Flatten(b.Block) {
		if !rewriteModule[d.Name] && d.Name != "include" {
			has = true
		}
	}
	return has
}

package rules

import (
	"fmt"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/nginxconf"
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
		Since:        "0.3.0",
		References:   []string{"https://www.nginx.com/resources/wiki/start/topics/depth/ifisevil/", "nginx src/http/modules/ngx_http_rewrite_module.c ngx_http_rewrite_if", "gixy if_is_evil"},
		Confirmation: "not confirmable yet: the emulator does not model if blocks.",
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
			if tf := loc.own["try_files"]; len(tf) > 0 {
				for _, f := range live {
					pass.Report(&analyzer.Diagnostic{Pos: f.block.Pos, End: f.block.BlockOpen,
						Message: fmt.Sprintf("when if %s matches, try_files of %s is not applied", quoteArgs(f.block), loc.describe()),
						Details: "An if block is a nested location with its own configuration, which has no try_files; the request is served as if try_files were absent. Set a variable with map instead, or end the if with return.",
						Related: []analyzer.Related{{Pos: tf[0].d.Pos, End: tf[0].d.End, Message: "this try_files is skipped while the if matches"}}})
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
					Related: []analyzer.Related{{Pos: prev.block.Pos, End: prev.block.BlockOpen, Message: "this if's settings are lost when both match"}}})
			}
		}
		return nil
	},
}

// rewriteModule are the directives of the rewrite module, which run while
// the condition is evaluated and are not settings of the if block.
var rewriteModule = map[string]bool{"set": true, "rewrite": true, "return": true, "break": true, "if": true, "rewrite_log": true, "uninitialized_variable_warn": true}

// endsRequest reports whether an if block always leaves the location:
// a return, or a rewrite to another location (last, redirect, permanent).
func endsRequest(b *nginxconf.Directive) bool {
	ends := false
	walkBlock(b.Block, func(d *nginxconf.Directive) {
		switch d.Name {
		case "return":
			ends = true
		case "rewrite":
			switch d.Arg(len(d.Args) - 1) {
			case "last", "redirect", "permanent":
				ends = true
			}
		}
	})
	return ends
}

// hasSettings reports whether an if block holds directives other than the
// rewrite module's.
func hasSettings(b *nginxconf.Directive) bool {
	has := false
	walkBlock(b.Block, func(d *nginxconf.Directive) {
		if !rewriteModule[d.Name] && d.Name != "include" {
			has = true
		}
	})
	return has
}

// walkBlock calls fn on the directives of a block, includes expanded,
// without entering nested blocks.
func walkBlock(ds []*nginxconf.Directive, fn func(*nginxconf.Directive)) {
	for _, d := range ds {
		fn(d)
		for _, inc := range d.Included {
			walkBlock(inc.Directives, fn)
		}
	}
}

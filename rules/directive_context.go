package rules

import "github.com/ngxlint/ngxlint/analyzer"

// DirectiveContext reports directives written in a context their module
// does not accept them in: nginx -t says `"X" directive is not allowed
// here`.
var DirectiveContext = &analyzer.Rule{
	ID:       "NGX3002",
	Slug:     "directive-not-allowed-here",
	Severity: analyzer.Error,
	Doc: analyzer.Doc{
		Title: "directive not allowed here",
		Text: `Every directive declares the contexts it may appear in (main, events, http, server, location,
upstream, if, limit_except, stream, mail...); nginx refuses it anywhere else, for instance an
upstream block at the top level, proxy_pass in a server block, or worker_processes inside http.
The message names the contexts the directive is allowed in.

A file checked on its own that is meant to be included (conf.d/*.conf) is read in the context its
directives imply (http for upstream and server blocks, server for location and listen); when
nothing tells, its top level is not checked for context.`,
		Bad: `events {}
upstream backend {
    server 127.0.0.1:8080;
}
http {
    server {
        listen 80;
        location / {
            proxy_pass http://backend;
        }
    }
}
`,
		Good: `events {}
http {
    upstream backend {
        server 127.0.0.1:8080;
    }
    server {
        listen 80;
        location / {
            proxy_pass http://backend;
        }
    }
}
`,
		Since: "0.3.0",
		References: []string{"nginx src/core/ngx_conf_file.c ngx_conf_handler (\"is not allowed here\")",
			"https://nginx.org/en/docs/dirindex.html (each directive's Context line)"},
		Confirmation: "not confirmable: nginx refuses the configuration at start; there is no request to replay.",
	},
	Run: runDirectiveRule,
}

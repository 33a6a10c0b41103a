package rules

import "github.com/ngxlint/ngxlint/analyzer"

// DirectiveDuplicate reports a directive set twice in one block where
// nginx refuses that: nginx -t says `"X" directive is duplicate`.
var DirectiveDuplicate = &analyzer.Rule{
	ID:       "NGX3005",
	Slug:     "duplicate-directive",
	Severity: analyzer.Error,
	Doc: analyzer.Doc{
		Title: "directive is duplicate",
		Text: `Directives that hold one value (flags, times, sizes, numbers, enumerations, and many of the
modules' own handlers: proxy_pass, root, content_by_lua_block...) refuse a second occurrence in the
same block: the handler finds its field already set and returns "is duplicate". Directives that
accumulate (proxy_set_header, add_header, proxy_next_upstream, error_page...) are not reported.
A copy in an included file counts: nginx reads it as part of the block.

The same directive in an inner block (a location inside the server, an if inside the location)
overrides the outer one and is not a duplicate.`,
		Bad: `events {}
http {
    server {
        listen 80;
        location / {
            proxy_pass http://127.0.0.1:8080;
            proxy_read_timeout 30s;
            proxy_read_timeout 60s;
        }
    }
}
`,
		Good: `events {}
http {
    proxy_read_timeout 30s;
    server {
        listen 80;
        location / {
            proxy_pass http://127.0.0.1:8080;
            proxy_read_timeout 60s;
        }
    }
}
`,
		Since:        "0.3.0",
		References:   []string{"nginx src/core/ngx_conf_file.c ngx_conf_set_*_slot (\"is duplicate\")"},
		Confirmation: "not confirmable: nginx refuses the configuration at start; there is no request to replay.",
	},
	Run: runDirectiveRule,
}

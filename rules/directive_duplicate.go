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
overrides the outer one and is not a duplicate.

Some handlers refuse a repetition across blocks: an address a server already listens on ("a
duplicate listen 0.0.0.0:8080": 8080, *:8080 and 0.0.0.0:8080 are one address), default_server or
socket options (backlog=, reuseport...) on two listens of one address in different servers, a
lua_shared_dict name defined twice, a directory used by two *_cache_path directives.`,
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
		Since: "0.3.0",
		References: []string{"nginx src/core/ngx_conf_file.c ngx_conf_set_*_slot (\"is duplicate\")",
			"nginx src/http/ngx_http.c ngx_http_add_addresses, ngx_http_add_server",
			"nginx src/core/ngx_file.c ngx_add_path"},
		Confirmation: "not confirmable: nginx refuses the configuration at start; there is no request to replay.",
	},
	Run: runDirectiveRule,
}

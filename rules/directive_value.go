package rules

import "github.com/ngxlint/ngxlint/analyzer"

// DirectiveValue reports values nginx's slot parsers refuse (time, size,
// offset, number, on/off, enumerations, bit masks).
var DirectiveValue = &analyzer.Rule{
	ID:       "NGX3004",
	Slug:     "invalid-directive-value",
	Severity: analyzer.Error,
	Doc: analyzer.Doc{
		Title: "invalid value",
		Text: `Most directives parse their value with one of nginx's shared slot functions, which refuse a bad
value at start: on/off for flags (invalid value "yes" in "proxy_buffering" directive, it must be
"on" or "off"), times ("10x", units in decreasing order, no "ms" for second slots), sizes (k and m
only), offsets (k, m, g), numbers and their bounds, and the words of an enumeration or bit mask
(proxy_next_upstream, ssl_protocols...). The message is nginx's.

These slots do not expand variables: "proxy_read_timeout $timeout;" is refused by nginx too.

The handlers of some directives that parse their own arguments are followed too: listen's address
(host not found in "8080q", invalid port) and parameters (invalid parameter "a", by release: quic
from 1.25.0, spdy until 1.19.7), lua_shared_dict sizes, return codes, error_page codes,
worker_connections, worker_processes, the parameters of server in upstream (NGINX Plus's are
accepted), and a proxy_cache zone that no proxy_cache_path declares. A host name is refused only
when no resolver could know it, and a value with "$" where nginx expands none is taken for a
template's placeholder and left alone.`,
		Bad: `events {}
http {
    server {
        listen 80;
        location / {
            proxy_pass http://127.0.0.1:8080;
            proxy_buffering yes;
            proxy_read_timeout 30sec;
            proxy_next_upstream error timout;
        }
    }
}
`,
		Good: `events {}
http {
    server {
        listen 80;
        location / {
            proxy_pass http://127.0.0.1:8080;
            proxy_buffering on;
            proxy_read_timeout 30s;
            proxy_next_upstream error timeout;
        }
    }
}
`,
		Since: "0.3.0",
		References: []string{"nginx src/core/ngx_conf_file.c ngx_conf_set_*_slot, ngx_conf_check_num_bounds",
			"nginx src/http/ngx_http_core_module.c ngx_http_core_listen, src/core/ngx_inet.c ngx_parse_url",
			"lua-nginx-module src/ngx_http_lua_directive.c ngx_http_lua_shared_dict",
			"nginx src/core/ngx_parse.c ngx_parse_time, ngx_parse_size, ngx_parse_offset",
			"https://nginx.org/en/docs/syntax.html"},
		Confirmation: "not confirmable: nginx refuses the configuration at start; there is no request to replay.",
	},
	Run: runDirectiveRule,
}

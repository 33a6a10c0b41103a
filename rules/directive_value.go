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
Directives whose module parses its own value (proxy_pass, listen, return...) are not checked here.`,
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
			"nginx src/core/ngx_parse.c ngx_parse_time, ngx_parse_size, ngx_parse_offset",
			"https://nginx.org/en/docs/syntax.html"},
		Confirmation: "not confirmable: nginx refuses the configuration at start; there is no request to replay.",
	},
	Run: runDirectiveRule,
}

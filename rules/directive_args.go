package rules

import "github.com/ngxlint/ngxlint/analyzer"

// DirectiveArgs reports directives with an argument count their module
// does not accept: nginx -t says `invalid number of arguments in "X"
// directive`.
var DirectiveArgs = &analyzer.Rule{
	ID:       "NGX3003",
	Slug:     "invalid-number-of-arguments",
	Severity: analyzer.Error,
	Doc: analyzer.Doc{
		Title: "invalid number of arguments",
		Text: `Each directive declares how many arguments it takes (NGX_CONF_NOARGS, TAKE1..TAKE7 and their
combinations, FLAG: exactly one, 1MORE, 2MORE); nginx checks the count before it reads any value.
A forgotten argument (proxy_pass;), a stray word, or a value split by an unquoted space
(add_header X-Frame-Options SAMEORIGIN always extra;) is refused.`,
		Bad: `events {}
http {
    server {
        listen 80;
        location / {
            proxy_buffering off on;
            proxy_pass http://127.0.0.1:8080;
        }
    }
}
`,
		Good: `events {}
http {
    server {
        listen 80;
        location / {
            proxy_buffering off;
            proxy_pass http://127.0.0.1:8080;
        }
    }
}
`,
		Since:        "0.3.0",
		References:   []string{"nginx src/core/ngx_conf_file.c ngx_conf_handler (\"invalid number of arguments\")"},
		Confirmation: "not confirmable: nginx refuses the configuration at start; there is no request to replay.",
	},
	Run: runDirectiveRule,
}

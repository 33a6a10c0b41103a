package rules

import "github.com/ngxlint/ngxlint/analyzer"

// DirectiveVersion reports directives that the declared nginx or
// lua-nginx-module release does not have yet, or no longer has.
var DirectiveVersion = &analyzer.Rule{
	ID:       "NGX3007",
	Slug:     "directive-not-in-version",
	Severity: analyzer.Error,
	Doc: analyzer.Doc{
		Title: "directive not available in the declared version",
		Text: `When the nginx, OpenResty or lua-nginx-module version is declared (flags, .ngxlint.yaml, or
nginx -V), each directive is checked against the releases it exists in, read from the modules'
sources at every release tag: "http2 on;" needs nginx 1.25.1, "ssl on;" is gone since 1.25.1,
balancer_by_lua_block needs lua-nginx-module 0.10.0. nginx says unknown directive for both. With no
version declared nothing is reported.`,
		Bad: `events {}
http {
    server {
        listen 443 ssl;
        http2 on;
        ssl_certificate /etc/nginx/cert.pem;
        ssl_certificate_key /etc/nginx/key.pem;
    }
}
`,
		Good: `events {}
http {
    server {
        listen 443 ssl http2;
        ssl_certificate /etc/nginx/cert.pem;
        ssl_certificate_key /etc/nginx/key.pem;
    }
}
`,
		Versions:     "nginx=1.22.1",
		Since:        "0.3.0",
		References:   []string{"the directive table: directives/table_gen.go (Since/Until per directive, from nginx's release tags)"},
		Confirmation: "not confirmable: nginx refuses the configuration at start; there is no request to replay.",
	},
	Run: runDirectiveRule,
}

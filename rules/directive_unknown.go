package rules

import "github.com/ngxlint/ngxlint/analyzer"

// DirectiveUnknown reports directive names no module of the build
// declares: nginx -t says `unknown directive "X"`.
var DirectiveUnknown = &analyzer.Rule{
	ID:       "NGX3001",
	Slug:     "unknown-directive",
	Severity: analyzer.Error,
	Doc: analyzer.Doc{
		Title: "unknown directive",
		Text: `nginx refuses to start on a directive no module of the build declares ("unknown directive"). A
misspelt name (proxy_next_upsteam) is an error, with the known directive it is closest to (one edit
for names of up to four letters, two for longer ones, among those allowed where it is written).

A name nothing resembles is a warning: it may belong to a module ngxlint does not know. Declare such
a module's directives under modules.directives in .ngxlint.yaml and the warning goes away.

A directive of a known third-party module (lua-nginx-module, headers-more, echo, set-misc...) is
checked against what the build is declared to have: load_module lines of the configuration, the
modules bundled by a declared OpenResty release, and modules.load in .ngxlint.yaml. When the
configuration loads other modules with load_module but not this one, it is a warning (the module
may be compiled in); when modules.load lists the build's modules and not this one, an error. With
nothing declared and no load_module line, such directives are taken as compiled in.

Directives inside blocks whose contents are not directives (types, map, geo, split_clients,
charset_map, *_by_lua_block) are not checked.`,
		Bad: `events {}
http {
    server {
        listen 80;
        location / {
            proxy_pass http://127.0.0.1:8080;
            proxy_next_upsteam error timeout;
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
            proxy_next_upstream error timeout;
        }
    }
}
`,
		Since: "0.3.0",
		References: []string{"nginx src/core/ngx_conf_file.c ngx_conf_handler (\"unknown directive\")",
			"the directive table: directives/table_gen.go, generated from the modules' ngx_command_t arrays"},
		Confirmation: "not confirmable: nginx refuses the configuration at start; there is no request to replay.",
	},
	Run: runDirectiveRule,
}

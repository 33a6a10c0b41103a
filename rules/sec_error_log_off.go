package rules

import (
	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// ErrorLogOff flags "error_log off", which logs to a file named "off".
var ErrorLogOff = &analyzer.Rule{
	ID:       "SEC1015",
	Slug:     "error-log-off",
	Severity: analyzer.Warning,
	Doc: analyzer.Doc{
		Title: "error_log off writes the error log to a file named \"off\"",
		Text: `error_log has no "off": its first argument is a file name, so "error_log off;" writes every error
to a file called "off" in nginx's prefix (/usr/share/nginx/off on Debian; Debian's nginx 1.22.1 creates it
even on "nginx -t", tested), which grows unwatched and may be
served or fill the disk. Unlike access_log, which does accept off. To discard the error log write
"error_log /dev/null;" (the fix) or raise the level ("error_log /var/log/nginx/error.log crit;").`,
		Bad: `error_log off;
events {}
http {
    server {
        listen 80;
    }
}
`,
		Good: `error_log /var/log/nginx/error.log crit;
events {}
http {
    server {
        listen 80;
    }
}
`,
		Since:        "0.3.0",
		References:   []string{"https://nginx.org/en/docs/ngx_core_module.html#error_log", "gixy error_log_off"},
		Confirmation: "not confirmable: the effect is a file on disk.",
	},
	Run: func(pass *analyzer.Pass) error {
		if pass.Config == nil {
			return nil
		}
		directiveIndex(pass).Each(func(d *nginxconf.Directive, _ []*nginxconf.Directive) {
			if d.Name != "error_log" || len(d.Args) == 0 || d.Args[0].Value != "off" {
				return
			}
			a := d.Args[0]
			pass.Report(&analyzer.Diagnostic{Pos: d.Pos, End: d.End,
				Message: "error_log off writes errors to a file named \"off\" in nginx's prefix; error_log has no off",
				Details: "Write \"error_log /dev/null;\" to discard errors, or keep a file and raise the level (crit).",
				Fixes: []analyzer.SuggestedFix{{Message: "discard the error log",
					Edits: []analyzer.TextEdit{{Pos: a.Pos, End: a.End(), NewText: "/dev/null"}}}}})
		}, "error_log")
		return nil
	},
}

package rules

import (
	"fmt"
	"strconv"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// WorkerRlimitNofile flags a file-descriptor limit too small for the
// connections a worker may hold.
var WorkerRlimitNofile = &analyzer.Rule{
	ID:       "SEC1021",
	Slug:     "worker-rlimit-nofile",
	Severity: analyzer.Warning,
	Doc: analyzer.Doc{
		Title: "worker_rlimit_nofile is below what worker_connections needs",
		Text: `Every connection a worker holds is a file descriptor, plus its open files and log files.
worker_connections already counts every connection, those to proxied servers included (nginx's
documentation of worker_connections), so a proxied request does not need a second allowance. When
worker_rlimit_nofile is lower than worker_connections, a worker runs out of descriptors before it reaches
its connection limit: accept() fails with "Too many open files" and clients are refused under exactly the
load the setting was raised for.

Reported when worker_rlimit_nofile is set and is lower than worker_connections. Without
worker_rlimit_nofile the limit is the service manager's (systemd's LimitNOFILE), which the configuration
does not show.`,
		Bad: `worker_rlimit_nofile 1024;
events {
    worker_connections 4096;
}
http {
    server {
        listen 80;
    }
}
`,
		Good: `worker_rlimit_nofile 8192;
events {
    worker_connections 4096;
}
http {
    server {
        listen 80;
    }
}
`,
		Since:        "0.3.0",
		References:   []string{"https://nginx.org/en/docs/ngx_core_module.html#worker_rlimit_nofile", "https://nginx.org/en/docs/ngx_core_module.html#worker_connections", "Gixy-Next worker_rlimit_nofile_vs_connections"},
		Confirmation: "not confirmable: the effect needs thousands of connections.",
	},
	Run: func(pass *analyzer.Pass) error {
		if pass.Config == nil {
			return nil
		}
		var rlimit, conns *nginxconf.Directive
		directiveIndex(pass).Each(func(d *nginxconf.Directive, parents []*nginxconf.Directive) {
			switch d.Name {
			case "worker_rlimit_nofile":
				if len(parents) == 0 {
					rlimit = d
				}
			case "worker_connections":
				if len(parents) == 1 && parents[0].Name == "events" {
					conns = d
				}
			}
		}, "worker_rlimit_nofile", "worker_connections")
		if rlimit == nil || conns == nil {
			return nil
		}
		n, err1 := strconv.Atoi(rlimit.Arg(0))
		c, err2 := strconv.Atoi(conns.Arg(0))
		if err1 != nil || err2 != nil || n <= 0 || c <= 0 {
			return nil
		}
		if n < c {
			pass.Report(&analyzer.Diagnostic{Pos: rlimit.Pos, End: rlimit.End,
				Related: []analyzer.Related{{Pos: conns.Pos, End: conns.End, Message: "worker_connections set here"}},
				Message: fmt.Sprintf("worker_rlimit_nofile %d is below worker_connections %d: workers run out of file descriptors first", n, c),
				Details: "Each connection, to clients and to proxied servers alike, is a file descriptor; raise worker_rlimit_nofile above worker_connections, with room for open files and logs."})
		}
		return nil
	},
}

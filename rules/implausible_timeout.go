package rules

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// ImplausibleTimeout flags upstream timeouts written without a unit whose
// value only makes sense as milliseconds.
var ImplausibleTimeout = &analyzer.Rule{
	ID:       "NGX2007",
	Slug:     "implausible-timeout",
	Severity: analyzer.Warning,
	Doc: analyzer.Doc{
		Title: "upstream timeout without a unit that reads as seconds but looks like milliseconds",
		Text: `nginx reads a time without a unit as seconds: ngx_parse_time multiplies the last, unit-less
number by 1000 for the millisecond slots these directives use (ngx_conf_set_msec_slot). So
"proxy_read_timeout 60000;" is 16 hours 40 minutes, not one minute, and "proxy_connect_timeout 500;" is
8 minutes 20 seconds, not half a second: a dead backend then holds the client (and a worker
connection) that long before proxy_next_upstream can try another server.

Flagged, for the *_connect_timeout, *_send_timeout and *_read_timeout directives of proxy, fastcgi,
uwsgi, scgi, grpc and memcached, when written without a unit: a whole number of thousands from 1000
on (5000, 60000: millisecond values), and a connect timeout of 300 or more that is not a whole number
of minutes (500; the nginx docs note that a connect timeout "cannot usually exceed 75 seconds", so
such a value never does what it says). Round second values such as 600, 3600 or 86400 (long polling,
WebSockets) are left alone. Write the unit: "500ms", "60s", "1h".`,
		Bad: `http {
    server {
        listen 80;
        location / {
            proxy_pass http://127.0.0.1:8080;
            proxy_connect_timeout 500;
            proxy_read_timeout 60000;
        }
    }
}
`,
		Good: `http {
    server {
        listen 80;
        location / {
            proxy_pass http://127.0.0.1:8080;
            proxy_connect_timeout 500ms;
            proxy_read_timeout 60s;
            proxy_send_timeout 3600;
        }
    }
}
`,
		Since: "0.2.0",
		References: []string{"nginx src/core/ngx_parse.c ngx_parse_time (a number without a unit is seconds)",
			"https://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_connect_timeout (\"cannot usually exceed 75 seconds\")",
			"https://nginx.org/en/docs/syntax.html (time units)"},
		Confirmation: "not confirmable: the effect is a long wait, which a confirmation must not sit through.",
	},
	Run: func(pass *analyzer.Pass) error {
		if pass.Config == nil {
			return nil
		}
		directiveIndex(pass).Each(func(d *nginxconf.Directive, _ []*nginxconf.Directive) {
			kind := upstreamTimeoutKind(d.Name)
			if kind == "" || len(d.Args) != 1 {
				return
			}
			v, err := strconv.ParseInt(d.Arg(0), 10, 64)
			if err != nil || v <= 0 {
				return // has a unit, or is not a plain number
			}
			var why string
			switch {
			case v >= 1000 && v%1000 == 0:
				why = "a whole number of thousands reads like milliseconds"
			case kind == "connect" && v >= 300 && v%60 != 0:
				// A round number of minutes (600) is a deliberate
				// seconds value; 500 is not.
				why = "a connect timeout above 75 seconds does not usually take effect (the nginx docs)"
			default:
				return
			}
			a := d.Args[0]
			pass.Report(&analyzer.Diagnostic{Pos: a.Pos, End: a.End(),
				Message: fmt.Sprintf("%s %d means %d seconds (%s); did you mean %dms?", d.Name, v, v, humanDuration(time.Duration(v)*time.Second), v),
				Details: fmt.Sprintf("nginx reads a number without a unit as seconds, and %s. Write the unit.", why)})

		}, upstreamTimeoutNames...)
		return nil
	},
}

// upstreamTimeoutKind is "connect", "send" or "read" for the upstream
// timeout directives of the proxying modules (all ngx_conf_set_msec_slot).
func upstreamTimeoutKind(name string) string {
	for _, m := range upstreamTimeoutModules {
		if rest, ok := strings.CutPrefix(name, m); ok {
			if kind, ok := strings.CutSuffix(rest, "_timeout"); ok && slices.Contains(upstreamTimeoutKinds, kind) {
				return kind
			}
		}
	}
	return ""
}

// The upstream modules' timeouts: <module>_<kind>_timeout.
var (
	upstreamTimeoutModules = []string{"proxy_", "fastcgi_", "uwsgi_", "scgi_", "grpc_", "memcached_"}
	upstreamTimeoutKinds   = []string{"connect", "send", "read"}
	upstreamTimeoutNames   = func() []string {
		var out []string
		for _, m := range upstreamTimeoutModules {
			for _, k := range upstreamTimeoutKinds {
				out = append(out, m+k+"_timeout")
			}
		}
		return out
	}()
)

// humanDuration writes d as "8m20s", "16h40m" or "1d" (whole seconds).
func humanDuration(d time.Duration) string {
	secs := int64(d / time.Second)
	var b strings.Builder
	for _, u := range []struct {
		n    int64
		unit string
	}{{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}} {
		if secs >= u.n {
			fmt.Fprintf(&b, "%d%s", secs/u.n, u.unit)
			secs %= u.n
		}
	}
	if b.Len() == 0 {
		return "0s"
	}
	return b.String()
}

package retry

import (
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/versions"
)

// FromStream builds the Input of a stream server proxying to an upstream
// without a Lua balancer. Stream retries connect failures only
// (ngx_stream_proxy_next_upstream), so the prediction is the worst case of
// a session whose connects all fail; the tries are counted as in http
// (ngx_stream_upstream_round_robin.c), there is no keepalive and no request
// body. proxy_next_upstream on is the mask "error timeout", off is "off".
func FromStream(prof versions.Profile, u *nginxconf.Upstream, p *nginxconf.StreamProxy) Input {
	in := Input{Profile: prof, Mask: defaultMask[:2:2]}
	if !p.NextUpstreamOn() {
		in.Mask = []string{"off"}
	}
	for _, s := range u.Servers {
		if s.Backup {
			in.Backups++
		} else {
			in.Primaries++
		}
		if s.Down {
			in.Down++
		}
	}
	in.Tries = p.Tries()
	if d := p.NextUpstreamTimeout; d != nil && d.Arg(0) != "0" && d.Arg(0) != "0s" {
		in.Timeout = d.Arg(0)
	}
	return in
}

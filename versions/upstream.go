package versions

import "time"

// The upstream defaults and behaviour changes that depend on the nginx
// version. The emulator and the retry model (rules/retry, explain-retries)
// both read them from here, so a release number or a default is written
// once.

// KeepaliveDefaults are the keepalive module's limits on cached upstream
// connections when keepalive_requests, keepalive_timeout and
// keepalive_time are not written. A limit the version does not have is
// reported absent (Has* false): before 1.15.3 an idle cached connection had
// no timer and no request cap.
type KeepaliveDefaults struct {
	Requests                int
	Timeout, Time           time.Duration
	HasRequests, HasTimeout bool
	HasTime                 bool
}

// UpstreamKeepalive returns the defaults of nginx v: keepalive_requests 100
// and keepalive_timeout 60s from 1.15.3 (d817ceae7, 7de808990),
// keepalive_time 1h and keepalive_requests 1000 from 1.19.10 (d9996d6f2,
// eb52de831). Source: ngx_http_upstream_keepalive_module.c,
// ngx_http_upstream_keepalive_init_main_conf / _init (release-1.22.1:
// ngx_conf_init_msec_value(kcf->time, 3600000), (kcf->timeout, 60000),
// ngx_conf_init_uint_value(kcf->requests, 1000)).
func UpstreamKeepalive(v Version) KeepaliveDefaults {
	switch {
	case v.AtLeast("1.19.10"):
		return KeepaliveDefaults{Requests: 1000, Timeout: 60 * time.Second, Time: time.Hour,
			HasRequests: true, HasTimeout: true, HasTime: true}
	case v.AtLeast("1.15.3"):
		return KeepaliveDefaults{Requests: 100, Timeout: 60 * time.Second, HasRequests: true, HasTimeout: true}
	}
	return KeepaliveDefaults{}
}

// KeepaliveOnByDefault reports nginx >= 1.29.7, where every explicit
// upstream keeps 32 idle connections without a keepalive directive and
// proxy_http_version defaults to 1.1 without "Connection: close"
// (4fbe4b627, c5d36eac3, 6bb27a631).
func KeepaliveOnByDefault(v Version) bool { return v.AtLeast("1.29.7") }

// DefaultKeepaliveConnections is the pool size nginx >= 1.29.7 uses when
// no keepalive directive is written.
const DefaultKeepaliveConnections = 32

// DownCountsInTries reports whether ngx_http_upstream_tries counts servers
// marked down in the initial peer.tries: up to 1.19.5; 1.19.6 (cfa669151)
// counts only the others (ngx_http_upstream_init_round_robin's peers->tries
// skips server[i].down).
func DownCountsInTries(v Version) bool { return v.Less("1.19.6") }

// Server parameter defaults of ngx_http_upstream_server: max_fails=1,
// fail_timeout=10s, weight=1.
const (
	DefaultMaxFails    = 1
	DefaultFailTimeout = 10 * time.Second
	DefaultWeight      = 1
)

// DefaultProxyTimeout is proxy_connect_timeout, proxy_send_timeout and
// proxy_read_timeout when not written (ngx_http_proxy_merge_loc_conf).
const DefaultProxyTimeout = 60 * time.Second

// BalancerRetryLimit is how many failed picks hash, ip_hash and random make
// before falling back to round robin: they give up once their tries
// counter exceeds 20 (ngx_http_upstream_get_hash_peer,
// ngx_http_upstream_get_ip_hash_peer, ngx_http_upstream_get_random_peer:
// `if (++hp->tries > 20)`).
const BalancerRetryLimit = 20

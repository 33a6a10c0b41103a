package reqmodel

import (
	"fmt"
	"sort"
	"strings"
)

// Taint is what a value can carry that the client put there.
type Taint uint8

const (
	// FromClient: the client chooses (part of) the value.
	FromClient Taint = 1 << iota
	// LF: the value can contain a line feed (and a carriage return):
	// written into a response header it ends the header and starts one of
	// the client's choosing.
	LF
	// DotDot: the value can contain "../", a path climbing out of where it
	// is joined.
	DotDot
	// AnyHost: the value is a host name the client chooses freely (it is
	// not checked against server_name, or carries more than a host).
	AnyHost
	// Decoded: nginx percent-decoded the value (and resolved dot segments),
	// so "%2F", "%3F", "%23" in the client's URL are '/', '?', '#' here.
	Decoded
)

func (t Taint) String() string {
	var parts []string
	for _, x := range []struct {
		t Taint
		s string
	}{{FromClient, "client"}, {LF, "newline"}, {DotDot, "../"}, {AnyHost, "any-host"}, {Decoded, "decoded"}} {
		if t&x.t != 0 {
			parts = append(parts, x.s)
		}
	}
	if len(parts) == 0 {
		return "constant"
	}
	return strings.Join(parts, "|")
}

// builtin is what nginx's own variables can carry. Sources:
// ngx_http_variables.c and ngx_http_parse.c. The request line and header
// parsers refuse raw CR and LF (ngx_http_parse_request_line,
// ngx_http_parse_header_line: CR must be followed by LF, which ends the
// line), so only what nginx decodes can hold them: $uri and its relatives,
// which ngx_http_parse_complex_uri percent-decodes. Raw values ($request_uri,
// $args, $arg_*, $http_*, $cookie_*) keep "%0d%0a" as those six
// characters, but can hold "../" and "%2e%2e%2f". $host is the Host
// header checked by ngx_http_validate_host (no '/', no "..", no control
// bytes, lower-cased, port removed), $http_host the header as sent.
var builtin = map[string]Taint{
	"uri":                       FromClient | LF | Decoded,
	"document_uri":              FromClient | LF | Decoded,
	"fastcgi_script_name":       FromClient | LF | Decoded,
	"fastcgi_path_info":         FromClient | LF | Decoded,
	"request_filename":          FromClient | LF | Decoded,
	"request_uri":               FromClient | DotDot,
	"args":                      FromClient | DotDot,
	"query_string":              FromClient | DotDot,
	"request":                   FromClient | DotDot,
	"request_body":              FromClient | LF | DotDot | AnyHost,
	"http_host":                 FromClient | DotDot | AnyHost,
	"host":                      FromClient,
	"cookie":                    FromClient | DotDot | AnyHost,
	"content_type":              FromClient | DotDot | AnyHost,
	"content_length":            FromClient,
	"remote_user":               FromClient | DotDot | AnyHost,
	"request_method":            FromClient,
	"invalid_referer":           FromClient,
	"is_args":                   0,
	"scheme":                    0,
	"server_name":               0,
	"server_port":               0,
	"server_addr":               0,
	"remote_addr":               0,
	"remote_port":               0,
	"binary_remote_addr":        0,
	"document_root":             0,
	"realpath_root":             0,
	"proxy_host":                0,
	"proxy_port":                0,
	"request_id":                0,
	"msec":                      0,
	"time_iso8601":              0,
	"time_local":                0,
	"status":                    0,
	"server_protocol":           0,
	"https":                     0,
	"nginx_version":             0,
	"hostname":                  0,
	"pid":                       0,
	"connection":                0,
	"connection_requests":       0,
	"request_length":            0,
	"request_time":              0,
	"bytes_sent":                0,
	"body_bytes_sent":           0,
	"ssl_protocol":              0,
	"ssl_cipher":                0,
	"limit_rate":                0,
	"upstream_addr":             0,
	"upstream_status":           0,
	"proxy_add_x_forwarded_for": FromClient | DotDot | AnyHost,
}

// Builtin returns what nginx's variable name (without '$') can carry, and
// whether it is one nginx defines.
func Builtin(name string) (Taint, bool) {
	name = strings.ToLower(name)
	if t, ok := builtin[name]; ok {
		return t, true
	}
	for _, p := range []string{"arg_", "http_", "cookie_", "sent_http_", "upstream_http_", "upstream_cookie_"} {
		if strings.HasPrefix(name, p) {
			switch p {
			case "sent_http_", "upstream_http_", "upstream_cookie_":
				// The backend's response, not the client's request.
				return 0, true
			}
			return FromClient | DotDot | AnyHost, true
		}
	}
	return 0, false
}

// Ref is one variable reference in a complex value ("$host", "${uri}",
// "$1"), with its byte span in the value.
type Ref struct {
	Name       string
	Start, End int
}

// Refs lists the variables a value references, in order (ngx_http_script
// grammar: "$name" of [A-Za-z0-9_], "${name}", "$1".."$9").
func Refs(v string) []Ref {
	var out []Ref
	for i := 0; i < len(v); i++ {
		if v[i] != '$' || i+1 >= len(v) {
			continue
		}
		j := i + 1
		if v[j] == '{' {
			k := strings.IndexByte(v[j:], '}')
			if k < 0 {
				break
			}
			out = append(out, Ref{Name: v[j+1 : j+k], Start: i, End: j + k + 1})
			i = j + k
			continue
		}
		if v[j] >= '0' && v[j] <= '9' {
			out = append(out, Ref{Name: v[j : j+1], Start: i, End: j + 1})
			i = j
			continue
		}
		k := j
		for k < len(v) && (v[k] == '_' || v[k] >= 'a' && v[k] <= 'z' || v[k] >= 'A' && v[k] <= 'Z' || v[k] >= '0' && v[k] <= '9') {
			k++
		}
		if k > j {
			out = append(out, Ref{Name: v[j:k], Start: i, End: k})
			i = k - 1
		}
	}
	return out
}

// Source explains one variable's taint: what it is and where it comes from.
type Source struct {
	Var   string
	Taint Taint
	// Why is a short reason: "$uri is percent-decoded", "$1 captures
	// \"[^.]*\" of location ~ ... matched against $uri".
	Why string
}

func (s Source) String() string { return fmt.Sprintf("$%s (%s)", s.Var, s.Why) }

// sortSources orders sources for stable messages.
func sortSources(ss []Source) {
	sort.SliceStable(ss, func(i, j int) bool { return ss[i].Var < ss[j].Var })
}

package rules

import (
	"fmt"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/reqmodel"
)

// MapWithoutDefault flags map and geo blocks that leave unmatched input at
// an implicit empty value.
var MapWithoutDefault = &analyzer.Rule{
	ID:       "SEC1014",
	Slug:     "map-without-default",
	Severity: analyzer.Info,
	Doc: analyzer.Doc{
		Title: "map or geo without a default value",
		Text: `A map or geo block gives unmatched input the value of its "default" entry, or the empty string when
it has none. Used for decisions ("if ($blocked)", "allow"-like maps, an upstream name), an empty value for
every client or URI nobody listed is usually the permissive choice, and it is implicit. Reported at info for
a geo without default, and for a map with two or more entries and no default: a map with one entry and no
default is the common way to set a rate-limit key for some requests only (an empty key disables
limit_req), which is left alone, as are maps whose entries come from an include the checked tree does not
hold, and maps whose variable is only used where an empty value means "nothing": add_header and
proxy_set_header (the header is not sent), limit_req_zone and limit_conn_zone keys, access_log if=, and
log_format (h5bp's "map $sent_http_content_type $cors" is the idiom). Write the default, even when it is "".`,
		Bad: `http {
    map $request_uri $is_admin {
        /admin 1;
        /admin/ 1;
    }
    server {
        listen 80;
        location / {
            if ($is_admin) {
                return 403;
            }
        }
    }
}
`,
		Good: `http {
    map $request_uri $is_admin {
        default 0;
        /admin 1;
        /admin/ 1;
    }
    map $request_uri $limit_key {
        ~^/api $binary_remote_addr;
    }
    server {
        listen 80;
        location / {
            if ($is_admin) {
                return 403;
            }
        }
    }
}
`,
		Since:        "0.3.0",
		References:   []string{"https://nginx.org/en/docs/http/ngx_http_map_module.html", "https://nginx.org/en/docs/http/ngx_http_geo_module.html", "Gixy-Next hash_without_default"},
		Confirmation: "not confirmable: which value is safe depends on how the variable is used.",
	},
	Run: func(pass *analyzer.Pass) error {
		if pass.Config == nil {
			return nil
		}
		uses := decidingUses(pass)
		directiveIndex(pass).Each(func(d *nginxconf.Directive, parents []*nginxconf.Directive) {
			if !d.HasBlock || inValueBlock(parents) {
				return
			}
			entries, hasDefault, opaque := 0, false, false
			for _, e := range reqmodel.Flatten(d.Block) {
				switch e.Name {
				case "default":
					hasDefault = true
				case "hostnames", "volatile", "ranges", "proxy", "proxy_recursive", "delete":
				case "include":
					if len(e.Included) == 0 {
						opaque = true
					}
				default:
					entries++
				}
			}
			min := 2
			if d.Name == "geo" {
				min = 1
			}
			if hasDefault || opaque || entries < min {
				return
			}
			variable := d.Arg(len(d.Args) - 1)
			deciding := uses[strings.TrimPrefix(variable, "$")]
			if len(deciding) == 0 {
				// Only used where an empty value means "nothing" (a header
				// not sent, a limit key that disables the limit), or not
				// used at all: the implicit empty default is the idiom.
				return
			}
			pass.Report(&analyzer.Diagnostic{Pos: d.Pos, End: d.BlockOpen,
				Related: []analyzer.Related{{Pos: deciding[0].Pos, End: deciding[0].End, Message: "the empty value is used here"}},
				Message: fmt.Sprintf("%s %s has no default, so input it does not list gets an empty value", d.Name, variable),
				Details: "Write the value unmatched input should get (\"default 0;\", or \"default \\\"\\\";\" when empty is meant) so the permissive case is a decision, not an accident."})
		}, "map", "geo")
		return nil
	},
}

// emptyMeansNothing are the directives in which a variable's empty value
// turns the directive off rather than deciding anything.
var emptyMeansNothing = map[string]bool{
	"add_header": true, "add_trailer": true, "more_set_headers": true, "more_set_input_headers": true,
	"proxy_set_header": true, "grpc_set_header": true, "limit_req_zone": true, "limit_conn_zone": true,
	"access_log": true, "log_format": true, "map": true, "geo": true,
}

// decidingUses returns, by variable name, the directives that use it where
// its value decides something (not in emptyMeansNothing), in file order.
func decidingUses(pass *analyzer.Pass) map[string][]*nginxconf.Directive {
	out := map[string][]*nginxconf.Directive{}
	directiveIndex(pass).Each(func(d *nginxconf.Directive, parents []*nginxconf.Directive) {
		if emptyMeansNothing[d.Name] || inValueBlock(parents) && (parents[len(parents)-1].Name == "map" || parents[len(parents)-1].Name == "geo") {
			return
		}
		for _, a := range d.Args {
			for _, r := range reqmodel.Refs(a.Value) {
				if l := out[r.Name]; len(l) == 0 || l[len(l)-1] != d {
					out[r.Name] = append(out[r.Name], d)
				}
			}
		}
	})
	return out
}

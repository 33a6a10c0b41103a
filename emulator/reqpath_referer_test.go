package emulator

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/reqmodel"
)

// refererSite builds the first server of conf.
func refererSite(t *testing.T, conf string) Site {
	t.Helper()
	cfg := nginxconf.Load(fstest.MapFS{"nginx.conf": {Data: []byte(conf)}}, "nginx.conf", nginxconf.Options{Prefix: "/"})
	if err := cfg.Err(); err != nil {
		t.Fatal(err)
	}
	m := nginxconf.BuildModel(cfg)
	return Site{Server: m.HTTP.Servers[0], Analysis: reqmodel.NewAnalysis(m)}
}

// refererCase is one request: the Referer sent (none when noRef) and the
// $invalid_referer the location must see.
type refererCase struct {
	path, ref string
	noRef     bool
	want      string
}

func runRefererCases(t *testing.T, site Site, cases []refererCase) {
	t.Helper()
	for _, c := range cases {
		hs := []Header{{Name: "Host", Value: "victim.test"}}
		if !c.noRef {
			hs = append(hs, Header{Name: "Referer", Value: c.ref})
		}
		x := Serve(site, Request{Path: c.path, Headers: hs})
		if x.Status != 200 || x.Body != "v="+c.want {
			t.Errorf("%s Referer %q (none: %v): %d %q, want $invalid_referer %q\n%s", c.path, c.ref, c.noRef, x.Status, x.Body, c.want, strings.Join(x.Trace, "\n"))
		}
	}
}

// TestInvalidReferer pins each kind of valid_referers entry against
// ngx_http_referer_variable.
func TestInvalidReferer(t *testing.T) {
	site := refererSite(t, `http {
    server {
        listen 80;
        server_name victim.test *.victim.test ~^re\d+\.victim$;
        location /r {
            valid_referers none blocked server_names *.example.com .example.net www.example.*
                example.org/galleries/ ~\.trusted\.;
            return 200 "v=$invalid_referer";
        }
        location /strict {
            valid_referers example.com;
            return 200 "v=$invalid_referer";
        }
        location /free { return 200 "v=$invalid_referer"; }
    }
}`)
	long := "https://" + strings.Repeat("a", 257) + "/.trusted."
	runRefererCases(t, site, []refererCase{
		{path: "/r", noRef: true, want: ""},                                // none
		{path: "/r", ref: "", want: ""},                                    // present but empty: blocked
		{path: "/r", ref: "ftp://example.com/", want: ""},                  // blocked
		{path: "/r", ref: "http://a.b", want: ""},                          // shorter than "http://i.ru": blocked
		{path: "/r", ref: "https://www.example.com/x", want: ""},           // *.example.com
		{path: "/r", ref: "https://a.b.example.com/", want: ""},            // any depth
		{path: "/r", ref: "https://example.com/", want: "1"},               // "*." is subdomains only
		{path: "/r", ref: "https://example.net/", want: ""},                // ".example.net" has the domain too
		{path: "/r", ref: "https://www.example.co.uk/", want: ""},          // www.example.*
		{path: "/r", ref: "https://www.example/", want: "1"},               // no dot after the prefix
		{path: "/r", ref: "https://example.org/galleries/1.jpg", want: ""}, // URI prefix
		{path: "/r", ref: "https://example.org/other", want: "1"},
		{path: "/r", ref: "https://example.org", want: "1"},
		{path: "/r", ref: "HTTPS://EXAMPLE.ORG:8443/galleries/x", want: ""}, // scheme and host caseless, port skipped
		{path: "/r", ref: "https://example.org/Galleries/", want: "1"},      // the URI is case-sensitive
		{path: "/r", ref: "https://victim.test/", want: ""},                 // server_names
		{path: "/r", ref: "https://a.victim.test/", want: ""},               // a wildcard server name
		{path: "/r", ref: "https://RE12.victim/", want: ""},                 // a regex server name, on the lowercased host
		{path: "/r", ref: "https://cdn.TRUSTED.io/", want: ""},              // ~regex, caseless
		{path: "/r", ref: "https://example.com.trusted.evil.test/", want: ""},
		{path: "/r", ref: "https://evil.test/?x=.trusted.", want: ""}, // the regex sees the whole Referer after the scheme
		{path: "/r", ref: "https://evil.test/", want: "1"},
		{path: "/r", ref: "https://example.org@evil.test/galleries/", want: "1"}, // the host is everything up to '/' or ':'
		{path: "/r", ref: "https://www.example.com@evil.test/", want: ""},        // which www.example.* accepts
		{path: "/r", ref: long, want: "1"},                                       // a host over 256 bytes skips the regexes
		{path: "/strict", noRef: true, want: "1"},
		{path: "/strict", ref: "http://a.b", want: "1"},
		{path: "/strict", ref: "http://example.com", want: ""},
		{path: "/strict", ref: "http://www.example.com", want: "1"},
		{path: "/free", ref: "https://evil.test/", want: ""}, // no valid_referers: always valid
	})
}

// TestInvalidRefererMerge pins ngx_http_referer_merge_conf: host names,
// none and blocked come from the innermost level with valid_referers,
// the regexes from the innermost level that has any.
func TestInvalidRefererMerge(t *testing.T) {
	site := refererSite(t, `http {
    server {
        listen 80;
        valid_referers none ~^good\.;
        location /own {
            valid_referers example.com;
            return 200 "v=$invalid_referer";
        }
        location /inh {
            location /inh/in { return 200 "v=$invalid_referer"; }
        }
    }
}`)
	runRefererCases(t, site, []refererCase{
		{path: "/own", ref: "https://good.test/", want: ""}, // the server's regex is inherited
		{path: "/own", ref: "https://example.com/", want: ""},
		{path: "/own", noRef: true, want: "1"}, // "none" is not
		{path: "/inh/in", noRef: true, want: ""},
		{path: "/inh/in", ref: "https://good.test/", want: ""},
		{path: "/inh/in", ref: "https://example.com/", want: "1"},
	})
}

// TestInvalidRefererCached: the value read first stays for the request,
// as in r->variables.
func TestInvalidRefererCached(t *testing.T) {
	site := refererSite(t, `http {
    server {
        listen 80;
        set $early $invalid_referer;
        location /late {
            valid_referers example.com;
            return 200 "v=$invalid_referer";
        }
    }
}`)
	runRefererCases(t, site, []refererCase{{path: "/late", ref: "https://evil.test/", want: ""}})
}

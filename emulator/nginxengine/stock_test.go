package nginxengine

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/ngxlint/ngxlint/nginxconf"
)

// TestStockIncludes: only the stock params files a relative include
// names and the tree lacks are written, next to the main file (nginx
// resolves a relative include against its directory), once each; an
// absolute include, a name that would climb out of the prefix, mime.types
// and a missing file of another name are not.
func TestStockIncludes(t *testing.T) {
	conf := `http {
    include fastcgi_params;
    include mime.types;
    include /etc/nginx/fastcgi.conf;
    server {
        include ../../scgi_params;
        include sites/*.conf;
        location / { include fastcgi_params; include uwsgi_params; }
    }
}
`
	mfs := fstest.MapFS{"conf/nginx.conf": {Data: []byte(conf)}, "conf/uwsgi_params": {Data: []byte("uwsgi_param A b;\n")}}
	cfg := nginxconf.Load(mfs, "conf/nginx.conf", nginxconf.Options{Prefix: "/"})
	var got []string
	for _, f := range stockIncludes(cfg, "conf/nginx.conf") {
		got = append(got, f.rel)
		if !strings.Contains(string(f.text), "fastcgi_param REQUEST_METHOD $request_method;\n") {
			t.Errorf("%s: text %q lacks the stock REQUEST_METHOD", f.rel, f.text)
		}
	}
	if strings.Join(got, " ") != "conf/fastcgi_params" {
		t.Errorf("written %q, want only conf/fastcgi_params", got)
	}
}

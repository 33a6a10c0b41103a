package versions

import (
	"fmt"
	"regexp"
	"strings"
)

// The lines `nginx -V` prints that matter here. OpenResty prints
// "nginx version: openresty/1.21.4.1"; stock nginx "nginx version: nginx/1.22.1".
var (
	reVersionLine = regexp.MustCompile(`(?m)^nginx version: ([A-Za-z_-]+)/([0-9][0-9A-Za-z.]*)`)
	// A statically or dynamically added lua-nginx-module directory usually
	// carries its version: ../ngx_lua-0.10.21, lua-nginx-module-0.10.26.
	reLuaModule = regexp.MustCompile(`--add(?:-dynamic)?-module=\S*?(?:ngx_lua|lua-nginx-module)-([0-9][0-9A-Za-z.]*)`)
)

// FromNginxV derives a Profile from the output of `nginx -V` or
// `openresty -V`. OpenResty prints its bundle version, which names every
// component. Stock nginx with a dynamic lua module (Debian's
// libnginx-mod-http-lua) does not print the module's version; then the
// module stays unknown unless lnmOverride is given, and the returned note
// says so.
func FromNginxV(output, lnmOverride string) (Profile, string, error) {
	m := reVersionLine.FindStringSubmatch(output)
	if m == nil {
		return Profile{}, "", fmt.Errorf("no \"nginx version:\" line in -V output")
	}
	product, ver := strings.ToLower(m[1]), m[2]
	var note string
	switch product {
	case "openresty":
		p, err := Resolve("", lnmOverride, ver)
		return p, note, err
	default:
		lnm := lnmOverride
		if lnm == "" {
			if mm := reLuaModule.FindStringSubmatch(output); mm != nil {
				lnm = strings.TrimRight(mm[1], ".")
			}
		}
		if lnm == "" {
			note = "the lua-nginx-module version is not in -V output (dynamic module?); pass --lua-nginx-module-version"
		}
		p, err := Resolve(ver, lnm, "")
		return p, note, err
	}
}

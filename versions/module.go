package versions

import (
	"io"
	"regexp"
)

// Stock nginx with a dynamically loaded lua-nginx-module (Debian's
// libnginx-mod-http-lua) prints no module version in `nginx -V`. The module
// .so itself usually carries it: dynamic modules are built with nginx's
// configure, and the configure line compiled into the .so names the module
// source directory, e.g.
// "--add-dynamic-module=/build/reproducible-path/libnginx-mod-http-lua-0.10.23/."
// (Debian), "../ngx_lua-0.10.21" (OpenResty's bundle layout) or
// ".../lua-nginx-module-0.10.26" (a tarball).
var reModuleLuaVersion = regexp.MustCompile(`(?:libnginx-mod-http-lua|lua-nginx-module|ngx_lua|ngx_http_lua_module)-v?([0-9]+\.[0-9]+\.[0-9]+(?:rc[0-9]+|RC[0-9]+|R[0-9]+)?)`)

// maxModuleScan bounds how much of a module file is read: modules are a few
// hundred KiB, so this only guards against a mistaken path.
const maxModuleScan = 64 << 20

// LuaModuleVersion scans a lua-nginx-module binary (the .so), as strings(1)
// would, for the version its build embedded. It returns "" when none is
// found.
func LuaModuleVersion(r io.Reader) (string, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxModuleScan))
	if err != nil {
		return "", err
	}
	if m := reModuleLuaVersion.FindSubmatch(data); m != nil {
		return string(m[1]), nil
	}
	return "", nil
}

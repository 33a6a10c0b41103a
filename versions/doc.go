// Package versions parses nginx, lua-nginx-module, lua-resty-core and
// OpenResty version strings, holds the OpenResty bundle table (which nginx,
// lua-nginx-module and lua-resty-core each bundle ships, and which OpenResty
// nginx patches it applies), and resolves the versions a user declares (flags,
// a config file, or `nginx -V` output) into one Profile.
//
// The bundle table is the single place these facts live; it follows the
// table in docs/knowledge.md section 1, which cites
// OpenResty's util/ver and util/mirror-tarballs at each tag. The package
// knows nothing about configs or rules.
package versions

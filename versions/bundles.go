package versions

// Bundle is one OpenResty release and what it ships.
type Bundle struct {
	OpenResty string
	Nginx     string
	LNM       string // lua-nginx-module
	Core      string // lua-resty-core
	// NotifyPatch: the nginx patch balancer_pool_max_retry is applied, so
	// ngx_http_upstream_next calls peer.notify on a cached-connection error
	// (OR 5363dfe; first applied in 1.29.2.4 and 1.29.8.1rc1).
	NotifyPatch bool
	// StatusCodePatch: the nginx patch balancer_status_code is applied, so
	// ngx.exit(>=300) in balancer_by_lua yields that status instead of 500
	// (OR 3b74625; first shipped in 1.11.2.5).
	StatusCodePatch bool
	Note            string
}

// bundles is the OpenResty → nginx / lua-nginx-module / lua-resty-core
// table of docs/knowledge.md section 1 ([SRC]:
// util/ver and util/mirror-tarballs at each OpenResty tag), one row per
// release. It is read-only.
var bundles = []Bundle{
	{"1.9.7.1", "1.9.7", "0.9.20", "0.1.3", false, false, "no balancer_by_lua"},
	{"1.9.7.2", "1.9.7", "0.10.0", "0.1.4", false, false, "balancer cached-flag hot loop; SSL crash"},
	{"1.9.7.3", "1.9.7", "0.10.0", "0.1.4", false, false, "balancer cached-flag hot loop; SSL crash"},
	{"1.9.7.4", "1.9.7", "0.10.2", "0.1.5", false, false, "hot loop fixed"},
	{"1.9.7.5", "1.9.7", "0.10.2", "0.1.5", false, false, "hot loop fixed"},
	{"1.9.15.1", "1.9.15", "0.10.5", "0.1.6", false, false, "first bundle with nginx >= 1.9.13"},
	{"1.11.2.1", "1.11.2", "0.10.6", "0.1.8", false, false, "set_timeouts"},
	{"1.11.2.2", "1.11.2", "0.10.7", "0.1.9", false, false, "last bundle with the old set_more_tries bug"},
	{"1.11.2.3", "1.11.2", "0.10.8", "0.1.11", false, false, ""},
	{"1.11.2.4", "1.11.2", "0.10.8", "0.1.11", false, false, ""},
	{"1.11.2.5", "1.11.2", "0.10.10", "0.1.12", false, true, "balancer_status_code patch first shipped"},
	{"1.13.6.1", "1.13.6", "0.10.11", "0.1.13", false, true, ""},
	{"1.13.6.2", "1.13.6", "0.10.13", "0.1.15", false, true, ""},
	{"1.15.8.1", "1.15.8", "0.10.15", "0.1.17", false, true, ""},
	{"1.15.8.2", "1.15.8", "0.10.15", "0.1.17", false, true, ""},
	{"1.15.8.3", "1.15.8", "0.10.15", "0.1.17", false, true, ""},
	{"1.17.8.1", "1.17.8", "0.10.17", "0.1.19", false, true, ""},
	{"1.17.8.2", "1.17.8", "0.10.17", "0.1.19", false, true, ""},
	{"1.19.3.1", "1.19.3", "0.10.19", "0.1.21", false, true, "recreate_request"},
	{"1.19.3.2", "1.19.3", "0.10.19", "0.1.21", false, true, ""},
	{"1.19.9.1", "1.19.9", "0.10.20", "0.1.22", false, true, ""},
	{"1.19.9.2", "1.19.9", "0.10.20", "0.1.22", false, true, ""},
	{"1.21.4.1", "1.21.4", "0.10.21", "0.1.23", false, true, ""},
	{"1.21.4.2", "1.21.4", "0.10.25", "0.1.27", false, true, ""},
	{"1.21.4.3", "1.21.4", "0.10.25", "0.1.27", false, true, ""},
	{"1.21.4.4", "1.21.4", "0.10.25", "0.1.27", false, true, ""},
	{"1.25.3.1", "1.25.3", "0.10.26", "0.1.28", false, true, ""},
	{"1.25.3.2", "1.25.3", "0.10.26", "0.1.28", false, true, ""},
	{"1.27.1.1", "1.27.1", "0.10.27", "0.1.30", false, true, "Lua keepalive pool; pool_max_retry patch in tree but not applied"},
	{"1.27.1.2", "1.27.1", "0.10.28", "0.1.31", false, true, "pool_max_retry patch not applied"},
	{"1.29.2.1", "1.29.2", "0.10.29R2", "0.1.32R1", false, true, "pool_max_retry patch not applied"},
	{"1.29.2.2", "1.29.2", "0.10.30RC1", "0.1.33RC1", false, true, "pool_max_retry patch not applied"},
	{"1.29.2.3", "1.29.2", "0.10.30rc2", "0.1.33rc2", false, true, "pool_max_retry patch not applied"},
	{"1.29.2.4", "1.29.2", "0.10.31rc2", "0.1.34rc2", true, true, "pool_max_retry patch applied (OR 5363dfe)"},
	{"1.29.2.5", "1.29.2", "0.10.31rc2", "0.1.34rc2", true, true, "pool_max_retry patch applied"},
	{"1.29.8.1rc1", "1.29.8", "0.10.31rc2", "0.1.34rc2", true, true, "nginx >= 1.29.7: keepalive on by default"},
	{"1.31.1.1", "1.31.1", "0.10.31rc5", "0.1.34rc3", true, true, "nginx >= 1.29.7: keepalive on by default"},
}

// Bundles returns a copy of the OpenResty bundle table, oldest first.
func Bundles() []Bundle {
	out := make([]Bundle, len(bundles))
	copy(out, bundles)
	return out
}

// LookupBundle returns the bundle for an OpenResty version, if known.
func LookupBundle(openresty string) (Bundle, bool) {
	v, err := Parse(openresty)
	if err != nil {
		return Bundle{}, false
	}
	for _, b := range bundles {
		if MustParse(b.OpenResty).Compare(v) == 0 {
			return b, true
		}
	}
	return Bundle{}, false
}

// BundlesWithLNM returns the bundles that ship exactly the given
// lua-nginx-module version.
func BundlesWithLNM(lnm Version) []Bundle {
	var out []Bundle
	for _, b := range bundles {
		if MustParse(b.LNM).Compare(lnm) == 0 {
			out = append(out, b)
		}
	}
	return out
}

// openRestyModules are the third-party nginx modules an OpenResty build
// compiles in unless configured --without-<key> (util/configure's @modules
// list at each tag, entries not marked 'disabled'), by ngx_module_t name,
// with the first release that bundles each; the table starts at the first
// bundle this package knows (1.9.7.1). ngx_stream_lua joined in 1.13.6.1.
var openRestyModules = []struct{ Module, Since string }{
	{"ndk_http_module", "1.9.7.1"},
	{"ngx_http_echo_module", "1.9.7.1"},
	{"ngx_http_xss_filter_module", "1.9.7.1"},
	{"ngx_http_set_misc_module", "1.9.7.1"},
	{"ngx_http_form_input_module", "1.9.7.1"},
	{"ngx_http_encrypted_session_module", "1.9.7.1"},
	{"ngx_http_srcache_filter_module", "1.9.7.1"},
	{"ngx_http_lua_module", "1.9.7.1"},
	{"ngx_http_lua_upstream_module", "1.9.7.1"},
	{"ngx_http_headers_more_filter_module", "1.9.7.1"},
	{"ngx_http_array_var_module", "1.9.7.1"},
	{"ngx_http_memc_module", "1.9.7.1"},
	{"ngx_http_redis2_module", "1.9.7.1"},
	{"ngx_http_redis_module", "1.9.7.1"},
	{"ngx_http_rds_json_filter_module", "1.9.7.1"},
	{"ngx_http_rds_csv_filter_module", "1.9.7.1"},
	{"ngx_coolkit_module", "1.9.7.1"},
	{"ngx_stream_lua_module", "1.13.6.1"},
}

// OpenRestyModules returns the ngx_module_t names of the third-party
// modules the OpenResty release v compiles in by default (empty for the
// zero Version).
func OpenRestyModules(v Version) []string {
	if v.IsZero() {
		return nil
	}
	var out []string
	for _, m := range openRestyModules {
		if v.Compare(MustParse(m.Since)) >= 0 {
			out = append(out, m.Module)
		}
	}
	return out
}

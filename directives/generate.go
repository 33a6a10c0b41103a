package directives

// The table (table_gen.go) is generated from the C sources of nginx and of
// the third-party modules, which are fetched for generation and never
// vendored. NGXLINT_DIRECTIVES_SRC names a directory holding one git
// repository (bare clones are enough) per project, named as
// internal/gen/main.go's projects list says: nginx, lua-nginx-module,
// stream-lua-nginx-module, ngx_devel_kit, headers-more-nginx-module,
// echo-nginx-module, set-misc-nginx-module, srcache-nginx-module,
// memc-nginx-module, redis2-nginx-module, nginx-module-vts,
// array-var-nginx-module, form-input-nginx-module,
// encrypted-session-nginx-module, xss-nginx-module, rds-json-nginx-module,
// rds-csv-nginx-module, lua-upstream-nginx-module,
// nginx-upload-progress-module, nginx-upstream-fair, nginx-dav-ext-module,
// ngx-fancyindex, ngx_http_geoip2_module,
// ngx_http_substitutions_filter_module, ngx_cache_purge (GitHub:
// nginx/nginx, simpl/ngx_devel_kit, vozlt/nginx-module-vts,
// calio/form-input-nginx-module, masterzen/nginx-upload-progress-module,
// gnosek/nginx-upstream-fair, arut/nginx-dav-ext-module,
// aperezdc/ngx-fancyindex, leev/ngx_http_geoip2_module,
// yaoweibin/ngx_http_substitutions_filter_module, FRiCKLE/ngx_cache_purge,
// the others openresty/). nginx
// (release-1.* tags) and lua-nginx-module (v0.9.0 on) are read at every
// release tag for the version ranges, the others at HEAD. Then:
//
//	NGXLINT_DIRECTIVES_SRC=/path/to/repos go generate ./directives
//	go test ./directives
//
// TestTableAgainstNginx then checks a sample of the table against the
// installed nginx when one is present.

//go:generate go run -tags ngxlint_tools ./internal/gen -src ${NGXLINT_DIRECTIVES_SRC} -out table_gen.go

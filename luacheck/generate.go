package luacheck

// The API table (apitable_gen.go) is generated from the shared API list
// (../shared/data/ngx_lua_api.json, ngx_lua_phase_rules.json) and from
// internal/apigen/phasefacts.json, the committed facts read out of
// lua-nginx-module's and lua-resty-core's own sources: per API, the phases
// its context checks allow at each lua-nginx-module release (v0.10.0 on,
// with the lua-resty-core release that pairs with it) and the first tag it
// exists in, every fact with its file:line@tag. `go generate` reads only
// committed files and needs no network.
//
// To refresh phasefacts.json after a release, with the two repositories
// cloned (bare clones are enough), from the repository root:
//
//	go run -tags ngxlint_tools ./luacheck/internal/apigen/cmd/phasefacts \
//	    -lnm /path/to/lua-nginx-module -core /path/to/lua-resty-core \
//	    -api ../shared/data/ngx_lua_api.json \
//	    -out luacheck/internal/apigen/phasefacts.json
//	go generate ./luacheck
//	go test ./luacheck -run 'TestPhaseFacts|TestAPITable'
//
// TestPhaseFactsOnRealNginx then checks the facts against a real nginx
// with lua-nginx-module when one is installed.
//
// The stream subsystem's table (streamapi_gen.go) comes the same way from
// internal/apigen/streamfacts.json, read out of stream-lua-nginx-module
// (and the lua-resty-core release each of its releases pairs with) by
// cmd/streamfacts:
//
//	go run -tags ngxlint_tools ./luacheck/internal/apigen/cmd/streamfacts \
//	    -slua /path/to/stream-lua-nginx-module -core /path/to/lua-resty-core \
//	    -api ../shared/data/ngx_lua_api.json \
//	    -out luacheck/internal/apigen/streamfacts.json
//	go generate ./luacheck

//go:generate go run -tags ngxlint_tools ./internal/apigen/cmd/apigen -data ../../shared/data -out apitable_gen.go
//go:generate go run -tags ngxlint_tools ./internal/apigen/cmd/apigen -stream -out streamapi_gen.go

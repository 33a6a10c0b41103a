// Package gen generates large, valid nginx/OpenResty configurations for
// benchmarks and load tests. It owns only text generation: the output is
// deterministic for given parameters and uses every construct the loader has
// to handle at scale (upstreams with parameters, keepalive, Lua balancers and
// content handlers, servers with nested locations, quoted arguments,
// comments, include trees with globs). The output is also meant to pass
// `nginx -t` (listen addresses on 127.0.0.1, relative log paths, distinct
// server names), so that real nginx can be timed on the same input; the
// load_module lines that balancer_by_lua_block needs on a dynamic-module
// build are the caller's to supply (Params.Modules), since their paths are
// the machine's.
package gen

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

// Params describe one generated configuration.
type Params struct {
	// Servers server blocks of LocationsPerServer locations each.
	Servers, LocationsPerServer int
	// Upstreams plain upstream blocks (two servers, keepalive) and
	// LuaUpstreams upstreams with a balancer_by_lua_block.
	Upstreams, LuaUpstreams int
	// LuaLocations is how many locations per server carry an
	// access_by_lua_block and a content_by_lua_block of their own (the
	// "many Lua chunks" shape). They come after the proxying locations.
	LuaLocations int
	// IncludeDepth > 0 moves the server blocks into a tree of included
	// files IncludeDepth levels deep with IncludeFanout children per level:
	// nginx.conf includes "sites/*.conf" (a glob), every inner file includes
	// its children by path, and the leaves hold the servers. Upstreams go
	// to "upstreams.conf", included by path.
	IncludeDepth, IncludeFanout int
	// Ignores writes an "# ngxlint:ignore" comment before every proxying
	// location (suppression scanning at scale).
	Ignores bool
	// LuaFile, when set, adds one server whose location runs
	// content_by_lua_file LuaFile (a path relative to the prefix).
	LuaFile string
	// Modules are written as load_module lines at the top (nginx -t on a
	// build where the lua module is dynamic needs ndk and lua loaded).
	Modules []string
	// ListenBase is the first port of the 127.0.0.1 listen addresses; the
	// servers share 1,000 ports (distinct server names tell them apart).
	// Zero means 20000.
	ListenBase int
}

// Shape names a preset.
type Shape struct {
	Name, Doc string
	Params    Params
}

// Shapes are the benchmark presets at scale 1. "reference" is the issue's
// reference configuration (5,000 servers x 3 locations, 5,000 upstreams,
// 500 with balancer_by_lua_block, about 127,000 lines).
func Shapes() []Shape {
	return []Shape{
		{"reference", "5,000 servers x 3 locations, 5,000 upstreams, 500 with balancer_by_lua_block",
			Params{Servers: 5000, LocationsPerServer: 3, Upstreams: 4500, LuaUpstreams: 500}},
		{"servers", "20,000 servers x 2 locations, 200 upstreams",
			Params{Servers: 20000, LocationsPerServer: 2, Upstreams: 200}},
		{"upstreams", "200 servers x 2 locations, 20,000 upstreams, 2,000 with balancer_by_lua_block",
			Params{Servers: 200, LocationsPerServer: 2, Upstreams: 18000, LuaUpstreams: 2000}},
		{"lua", "2,000 servers x (1 proxy + 2 Lua locations), 500 upstreams with balancer_by_lua_block: 8,500 Lua chunks",
			Params{Servers: 2000, LocationsPerServer: 1, LuaUpstreams: 500, LuaLocations: 2}},
		{"includes", "the reference shape with its servers spread over an include tree 4 deep, fan-out 4 (341 files)",
			Params{Servers: 5000, LocationsPerServer: 3, Upstreams: 4500, LuaUpstreams: 500, IncludeDepth: 4, IncludeFanout: 4}},
		{"ignores", "the reference shape with an ngxlint:ignore comment before each of its 15,000 locations",
			Params{Servers: 5000, LocationsPerServer: 3, Upstreams: 4500, LuaUpstreams: 500, Ignores: true}},
		{"minimal", "the http block only: with Params.LuaFile, one location running a Lua file",
			Params{}},
	}
}

// ShapeByName returns the preset called name.
func ShapeByName(name string) (Shape, bool) {
	for _, s := range Shapes() {
		if s.Name == name {
			return s, true
		}
	}
	return Shape{}, false
}

// Scale multiplies the counts of servers, upstreams and Lua upstreams by k
// (the per-server shape and the include tree stay the same).
func (p Params) Scale(k int) Params {
	p.Servers *= k
	p.Upstreams *= k
	p.LuaUpstreams *= k
	return p
}

// File is one generated file; Name is relative to the prefix (the
// directory of nginx.conf).
type File struct {
	Name string
	Data string
}

// Config returns an nginx.conf with servers server blocks of
// locationsPerServer locations each, upstreams plain upstreams and
// luaUpstreams upstreams with a balancer_by_lua_block (and keepalive after
// it, as the lua-nginx-module README asks). Locations proxy to the
// upstreams in turn. Braces inside the Lua code are balanced so that
// brace-counting parsers (gonginx) accept the text too and can serve as a
// benchmark baseline on the same input.
func Config(servers, locationsPerServer, upstreams, luaUpstreams int) string {
	return Tree(Params{Servers: servers, LocationsPerServer: locationsPerServer, Upstreams: upstreams, LuaUpstreams: luaUpstreams})[0].Data
}

// Tree returns the files of the configuration p describes, nginx.conf
// first, the others sorted by name.
func Tree(p Params) []File {
	if p.ListenBase == 0 {
		p.ListenBase = 20000
	}
	var b strings.Builder
	b.Grow(p.Servers*(p.LocationsPerServer*130+p.LuaLocations*400+120) + (p.Upstreams+p.LuaUpstreams)*140 + p.LuaUpstreams*300)
	b.WriteString("# generated by internal/gen\n")
	for _, m := range p.Modules {
		fmt.Fprintf(&b, "load_module %s;\n", m)
	}
	b.WriteString("worker_processes 1;\npid logs/nginx.pid;\nerror_log logs/error.log;\nevents { worker_connections 1024; }\n\nhttp {\n")
	// 10,000+ server names of up to 24 bytes do not fit nginx's default
	// hash sizes (ngx_http_server_names: "could not build server_names_hash").
	b.WriteString("    server_names_hash_max_size 65536;\n    server_names_hash_bucket_size 128;\n")
	b.WriteString("    access_log logs/access.log;\n    lua_package_path \"/opt/lua/?.lua;;\";\n")
	b.WriteString("    proxy_http_version 1.1;\n    proxy_set_header Connection \"\";\n")
	b.WriteString("    init_by_lua_block {\n        local cfg = { peers = {} }  -- { braces } in a comment\n        package.loaded.cfg = cfg\n    }\n")
	var files []File
	ups := upstreamsText(p)
	if p.IncludeDepth > 0 {
		files = append(files, File{"upstreams.conf", ups})
		b.WriteString("    include upstreams.conf;\n    include sites/*.conf;\n")
	} else {
		b.WriteString(ups)
	}
	servers := make([]string, 0, p.Servers+1)
	for s := 0; s < p.Servers; s++ {
		servers = append(servers, serverText(p, s))
	}
	if p.LuaFile != "" {
		fmt.Fprintf(&b, "    server {\n        listen 127.0.0.1:%d;\n        server_name lua-file.example.com;\n", p.ListenBase+1000)
		fmt.Fprintf(&b, "        location / {\n            content_by_lua_file %s;\n        }\n    }\n", p.LuaFile)
	}
	if p.IncludeDepth > 0 {
		files = append(files, includeTree(p, servers)...)
	} else {
		for _, s := range servers {
			b.WriteString(s)
		}
	}
	b.WriteString("}\n")
	slices.SortFunc(files, func(x, y File) int { return strings.Compare(x.Name, y.Name) })
	return append([]File{{"nginx.conf", b.String()}}, files...)
}

func upstreamsText(p Params) string {
	var b strings.Builder
	for i := 0; i < p.Upstreams; i++ {
		fmt.Fprintf(&b, "    upstream backend_%d {\n", i)
		fmt.Fprintf(&b, "        server 10.%d.%d.1:8080 weight=%d max_fails=3 fail_timeout=10s;\n", i/250%250, i%250, i%5+1)
		fmt.Fprintf(&b, "        server 10.%d.%d.2:8080 backup;\n", i/250%250, i%250)
		b.WriteString("        keepalive 32;\n    }\n")
	}
	for i := 0; i < p.LuaUpstreams; i++ {
		fmt.Fprintf(&b, "    upstream lua_backend_%d {\n        server 0.0.0.1;\n", i)
		b.WriteString("        balancer_by_lua_block {\n")
		b.WriteString("            local balancer = require \"ngx.balancer\"\n")
		b.WriteString("            local peers = package.loaded.cfg.peers -- pick a peer { }\n")
		fmt.Fprintf(&b, "            local host = peers[%d] or \"127.0.0.1\" -- [[ { long string } ]]\n", i)
		b.WriteString("            local ok, err = balancer.set_current_peer(host, 8080)\n")
		b.WriteString("            if not ok then ngx.log(ngx.ERR, \"set peer: \", err) end\n")
		b.WriteString("        }\n        keepalive 16;\n    }\n")
	}
	return b.String()
}

func serverText(p Params, s int) string {
	var b strings.Builder
	total := p.Upstreams + p.LuaUpstreams
	fmt.Fprintf(&b, "    server {\n        listen 127.0.0.1:%d;\n        server_name s%d.example.com www.s%d.example.com;\n", p.ListenBase+s%1000, s, s)
	b.WriteString("        error_page 502 504 /50x.html;\n")
	for l := 0; l < p.LocationsPerServer; l++ {
		if p.Ignores {
			b.WriteString("        # ngxlint:ignore NGX2104 benchmark input: suppression scanning at scale\n")
		}
		fmt.Fprintf(&b, "        location /api/v%d/ {\n", l)
		if total > 0 {
			k := (s*p.LocationsPerServer + l) % total
			if k < p.Upstreams {
				fmt.Fprintf(&b, "            proxy_pass http://backend_%d;\n", k)
			} else {
				fmt.Fprintf(&b, "            proxy_pass http://lua_backend_%d$request_uri;\n", k-p.Upstreams)
			}
		}
		b.WriteString("            proxy_next_upstream error timeout http_502;\n")
		fmt.Fprintf(&b, "            add_header X-Loc \"loc %d; srv %d\" always;\n", l, s)
		b.WriteString("        }\n")
	}
	for l := 0; l < p.LuaLocations; l++ {
		fmt.Fprintf(&b, "        location /lua/%d/ {\n", l)
		b.WriteString("            access_by_lua_block {\n")
		b.WriteString("                local token = ngx.var.http_authorization\n")
		b.WriteString("                if not token then return ngx.exit(ngx.HTTP_UNAUTHORIZED) end\n")
		b.WriteString("            }\n            content_by_lua_block {\n")
		fmt.Fprintf(&b, "                local args = ngx.req.get_uri_args() -- srv %d loc %d\n", s, l)
		b.WriteString("                local n = 0\n                for k, v in pairs(args) do\n")
		b.WriteString("                    if type(v) == \"string\" then n = n + #k end\n                end\n")
		b.WriteString("                ngx.say(\"{\\\"n\\\": \", n, \"}\")\n            }\n        }\n")
	}
	b.WriteString("    }\n")
	return b.String()
}

// includeTree spreads servers over the leaves of a tree of include files
// and returns the files. Level-1 files are sites/N.conf (matched by the
// glob in nginx.conf); deeper files live under sites/tree/.
func includeTree(p Params, servers []string) []File {
	fan := max(p.IncludeFanout, 1)
	var leaves []*strings.Builder
	var files []File
	var walk func(name string, level int) *strings.Builder
	type pending struct {
		name string
		b    *strings.Builder
	}
	var all []pending
	walk = func(name string, level int) *strings.Builder {
		b := &strings.Builder{}
		all = append(all, pending{name, b})
		fmt.Fprintf(b, "# %s: include level %d\n", name, level)
		if level == p.IncludeDepth {
			leaves = append(leaves, b)
			return b
		}
		base := strings.TrimSuffix(path.Base(name), ".conf")
		for i := 0; i < fan; i++ {
			child := fmt.Sprintf("sites/tree/%s_%d.conf", base, i)
			fmt.Fprintf(b, "include %s;\n", child)
			walk(child, level+1)
		}
		return b
	}
	for i := 0; i < fan; i++ {
		walk(fmt.Sprintf("sites/%d.conf", i), 1)
	}
	for i, s := range servers {
		leaves[i*len(leaves)/max(len(servers), 1)].WriteString(s)
	}
	for _, f := range all {
		files = append(files, File{f.name, f.b.String()})
	}
	return files
}

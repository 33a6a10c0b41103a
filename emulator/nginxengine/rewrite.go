package nginxengine

import (
	"fmt"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// Rewrite is one change made to the user's configuration for the run.
// Line is the 1-based line in File (a path in the configuration tree);
// every edit keeps the line count, so Lua chunk names such as
// "balancer_by_lua(nginx.conf:18)" and error.log positions stay those of
// the original file. Before is empty for an insertion, After for a removal.
type Rewrite struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Before string `json:"before"`
	After  string `json:"after"`
	Why    string `json:"why"`
}

func (r Rewrite) String() string {
	b, a := r.Before, r.After
	if b == "" {
		b = "(nothing)"
	}
	if a == "" {
		a = "(removed)"
	}
	return fmt.Sprintf("%s:%d: %s → %s (%s)", r.File, r.Line, b, a, r.Why)
}

// edit replaces Data[start:end] of one file.
type edit struct {
	start, end int
	text       string
	why        string
}

// scan is what the engine must know about a configuration before it can
// allocate ports and start backends.
type scan struct {
	cfg *nginxconf.Config
	// listenKeys are the distinct listen addresses, normalised, in order.
	listenKeys []string
	// peerKeys are the distinct upstream/pass/set_current_peer addresses,
	// normalised, in order of appearance.
	peerKeys []string
	// usesLua is set when any lua-nginx-module directive appears.
	usesLua bool
	// hasBalancer is set when a balancer_by_lua* directive appears.
	hasBalancer bool
	// luaModuleLoaded / ndkLoaded: the config loads the modules itself;
	// luaModuleArg is its load_module path as written.
	luaModuleLoaded, ndkLoaded bool
	luaModuleArg               string
	// hasStream: the configuration has a stream{} block, which needs
	// the binary's dynamic stream module unless it loads it itself
	// (streamModuleLoaded).
	hasStream, streamModuleLoaded bool
	// stream is set when the target is a stream server{}, which is
	// probed by handshakes only (Scenario.StreamIndex).
	stream bool
	// target is the server{} requests are sent to, targetHost its name.
	target     *nginxconf.Directive
	targetHost string
	upstreams  map[string]bool
	// tlsListen holds the listen keys whose connections start with a TLS
	// handshake: a listen with the ssl parameter, or a listen of a server
	// with "ssl on" (nginx 1.22 still has it).
	tlsListen map[string]bool
	// tlsBlocks are the top-level blocks (http, stream, mail) that serve
	// TLS or name a certificate: the run's generated pairs are set at
	// their top (tls.go).
	tlsBlocks map[*nginxconf.Directive]bool
	// tlsFiles is set when a directive names a TLS file that the run
	// replaces with one of its own.
	tlsFiles bool
	// peerTLS maps a peer key to how nginx reaches it: true over TLS
	// (proxy_pass https://, grpc_pass grpcs://, suwsgi://, directly or
	// through an upstream{}), false in the clear. mixedTLS holds the
	// keys reached both ways, which one backend cannot serve when the
	// TLS backends are on (upstreamTLS.go).
	peerTLS  map[string]bool
	mixedTLS []string
	// verifyTLS are the directives that turn on verification of the
	// upstream's certificate (proxy_ssl_verify on ...).
	verifyTLS []*nginxconf.Directive
	// edited holds, per file path, the file as read and the edits apply
	// made to it, sorted: positions in the rewritten copy are mapped back
	// through them (origPos).
	edited map[string]editedFile
}

type editedFile struct {
	orig  *nginxconf.File
	edits []edit
}

// defaultListenKey is the address an http server{} without listen uses
// (ngx_http_core_merge_srv_conf: *:80 as root, *:8000 otherwise; which one
// does not matter once it is moved to loopback).
const defaultListenKey = "*:80"

// scanConfig collects the addresses a configuration uses and picks the
// server{} for the scenario's requests (the one with server_name
// serverName, else the first http server with a proxy_pass, else the first).
//
// serverIndex, when not 0, picks the target instead: the serverIndex-th
// http server{} in configuration order (emulator.HostFor gives the Host
// that selects it on its listen socket); streamIndex, when not 0, the
// streamIndex-th stream server{} (Scenario.StreamIndex).
func scanConfig(cfg *nginxconf.Config, serverName string, serverIndex, streamIndex int, extraPeers []string) (*scan, error) {
	s := &scan{cfg: cfg, upstreams: map[string]bool{}, tlsListen: map[string]bool{}, tlsBlocks: map[*nginxconf.Directive]bool{}, peerTLS: map[string]bool{}}
	// Who reaches which peer over TLS: members of each upstream{}, and
	// the schemes each pass uses on an address or an upstream's name.
	members := map[string][]string{}
	var passUses []passUse
	// Servers with "ssl on", by their own directive or their http{}'s.
	sslOn := map[*nginxconf.Directive]bool{}
	srvTop := map[*nginxconf.Directive]*nginxconf.Directive{}
	seenListen := map[string]bool{}
	seenPeer := map[string]bool{}
	addPeer := func(k string) {
		if !seenPeer[k] {
			seenPeer[k] = true
			s.peerKeys = append(s.peerKeys, k)
		}
	}
	addListen := func(k string) {
		if !seenListen[k] {
			seenListen[k] = true
			s.listenKeys = append(s.listenKeys, k)
		}
	}
	// Upstream names first: a pass directive naming one is not an address.
	cfg.Walk(func(d *nginxconf.Directive, parents []*nginxconf.Directive) bool {
		if d.Name == "upstream" && len(d.Args) > 0 && d.HasBlock {
			s.upstreams[d.Args[0].Value] = true
		}
		return true
	})
	var servers, proxied, streamServers []*nginxconf.Directive
	var named *nginxconf.Directive
	cfg.Walk(func(d *nginxconf.Directive, parents []*nginxconf.Directive) bool {
		ctx := contextOf(parents)
		switch {
		case d.Name == "load_module" && len(d.Args) > 0:
			base := path.Base(d.Args[0].Value)
			if base == "ngx_http_lua_module.so" {
				s.luaModuleLoaded = true
				s.luaModuleArg = d.Args[0].Value
			}
			if base == "ndk_http_module.so" {
				s.ndkLoaded = true
			}
			if base == "ngx_stream_module.so" {
				s.streamModuleLoaded = true
			}
		case d.Name == "stream" && d.HasBlock && len(parents) == 0:
			s.hasStream = true
		case strings.HasPrefix(d.Name, "lua_") || strings.Contains(d.Name, "_by_lua"):
			s.usesLua = true
			if strings.HasPrefix(d.Name, "balancer_by_lua") {
				s.hasBalancer = true
			}
			if d.Lua != nil {
				for _, k := range literalPeers(d.Lua.Code) {
					addPeer(k)
				}
			}
		case d.Name == "server" && d.HasBlock && (ctx == "http" || ctx == "stream"):
			if ctx == "http" {
				servers = append(servers, d)
				srvTop[d] = parents[0]
			} else {
				streamServers = append(streamServers, d)
			}
			has := false
			for _, c := range d.Block {
				if c.Name == "listen" {
					has = true
				}
			}
			if !has && ctx == "http" {
				addListen(defaultListenKey)
			}
		case d.Name == "listen" && len(d.Args) > 0:
			addListen(listenKey(d.Args[0].Value))
			if hasParam(d, "ssl") {
				s.tlsListen[listenKey(d.Args[0].Value)] = true
				s.tlsBlocks[parents[0]] = true
			}
		case d.Name == "ssl" && d.Arg(0) == "on" && len(parents) > 0:
			s.tlsBlocks[parents[0]] = true
			sslOn[parents[len(parents)-1]] = true
		case tlsFileDirective(d.Name) != "":
			s.tlsFiles = true
			if (d.Name == "ssl_certificate" || d.Name == "ssl_certificate_key") && len(parents) > 0 {
				s.tlsBlocks[parents[0]] = true
			}
		case d.Name == "server" && !d.HasBlock && strings.HasSuffix(ctx, "upstream") && len(d.Args) > 0:
			addPeer(normPeer(d.Args[0].Value, 80))
			if up := parents[len(parents)-1]; len(up.Args) > 0 {
				members[up.Args[0].Value] = append(members[up.Args[0].Value], normPeer(d.Args[0].Value, 80))
			}
		case isVerifyTLS(d):
			s.verifyTLS = append(s.verifyTLS, d)
		case isPass(d.Name) && len(d.Args) > 0:
			k, _, ok := passTarget(d, s.upstreams)
			if ok {
				addPeer(k)
			}
			v := d.Args[0].Value
			start, end := passHostSpan(v)
			passUses = append(passUses, passUse{key: k, upstream: v[start:end], tls: isTLSScheme(v)})
			if srv := enclosing(parents, "server"); srv != nil && ctx != "stream" {
				proxied = append(proxied, srv)
			}
		}
		return true
	})
	for _, k := range extraPeers {
		addPeer(normPeer(k, 80))
	}
	mark := func(k string, tls bool) {
		if was, seen := s.peerTLS[k]; seen && was != tls {
			s.mixedTLS = append(s.mixedTLS, k)
		}
		s.peerTLS[k] = s.peerTLS[k] || tls
	}
	for _, u := range passUses {
		switch {
		case u.key != "":
			mark(u.key, u.tls)
		case s.upstreams[u.upstream]:
			for _, k := range members[u.upstream] {
				mark(k, u.tls)
			}
		}
	}
	// ssl on makes every listen of the server TLS (of every server, at
	// http level), ngx_http_ssl_enable.
	for _, srv := range servers {
		if !sslOn[srv] && !sslOn[srvTop[srv]] {
			continue
		}
		has := false
		for _, c := range srv.Block {
			if c.Name == "listen" && len(c.Args) > 0 {
				has = true
				s.tlsListen[listenKey(c.Args[0].Value)] = true
			}
		}
		if !has {
			s.tlsListen[defaultListenKey] = true
		}
	}
	for _, srv := range servers {
		for _, c := range srv.Block {
			if c.Name != "server_name" {
				continue
			}
			for _, a := range c.Args {
				if serverName != "" && a.Value == serverName && named == nil {
					named = srv
				}
			}
		}
	}
	switch {
	case streamIndex > 0:
		if streamIndex > len(streamServers) {
			return nil, fmt.Errorf("no stream server{} number %d (the configuration has %d)", streamIndex, len(streamServers))
		}
		// No name selects a stream server: its listener does. The
		// handshake's SNI is then left out (clientTLS sends none for
		// an address), as most TCP/TLS clients of a raw port do.
		s.target, s.targetHost, s.stream = streamServers[streamIndex-1], "127.0.0.1", true
		return s, nil
	case serverIndex > 0:
		if serverIndex > len(servers) {
			return nil, fmt.Errorf("no http server{} number %d (the configuration has %d)", serverIndex, len(servers))
		}
		s.target = servers[serverIndex-1]
		m := nginxconf.BuildModel(cfg)
		var ms *nginxconf.Server
		if m.HTTP != nil {
			for _, x := range m.HTTP.Servers {
				if x.Directive == s.target {
					ms = x
				}
			}
		}
		if ms == nil {
			return nil, fmt.Errorf("http server{} number %d is not in the configuration's model", serverIndex)
		}
		host, why := emulator.HostFor(m.HTTP.Servers, ms)
		if host == "" {
			return nil, fmt.Errorf("%w: %s", emulator.ErrNotReplayable, why)
		}
		s.targetHost = host
		return s, nil
	case serverName != "" && named == nil:
		return nil, fmt.Errorf("no http server{} has server_name %q", serverName)
	case named != nil:
		s.target = named
	case len(proxied) > 0:
		s.target = proxied[0]
	case len(servers) > 0:
		s.target = servers[0]
	default:
		return nil, fmt.Errorf("the configuration has no http server{} to send requests to")
	}
	s.targetHost = serverName
	if s.targetHost == "" {
		s.targetHost = "localhost"
		for _, c := range s.target.Block {
			if c.Name == "server_name" {
				for _, a := range c.Args {
					if v := a.Value; v != "" && v != "_" && !strings.ContainsAny(v, "*~$") {
						s.targetHost = v
						break
					}
				}
			}
		}
	}
	return s, nil
}

// targetListenKey is the listen address requests go to.
func (s *scan) targetListenKey() string {
	for _, c := range s.target.Block {
		if c.Name == "listen" && len(c.Args) > 0 {
			return listenKey(c.Args[0].Value)
		}
	}
	return defaultListenKey
}

// targetTLSListenKey is the first listen address of the target server
// that speaks TLS, for a request with a TLS probe.
func (s *scan) targetTLSListenKey() (string, bool) {
	has := false
	for _, c := range s.target.Block {
		if c.Name == "listen" && len(c.Args) > 0 {
			has = true
			if k := listenKey(c.Args[0].Value); s.tlsListen[k] {
				return k, true
			}
		}
	}
	if !has && s.tlsListen[defaultListenKey] {
		return defaultListenKey, true
	}
	return "", false
}

// hasParam reports whether a directive has the parameter p after its
// first argument (listen's "ssl").
func hasParam(d *nginxconf.Directive, p string) bool {
	for _, a := range d.Args[min(1, len(d.Args)):] {
		if a.Value == p {
			return true
		}
	}
	return false
}

// contextOf names the innermost block context that matters here: "http",
// "stream", "mail", "http upstream", "stream upstream", or "" at main level.
func contextOf(parents []*nginxconf.Directive) string {
	if len(parents) == 0 {
		return ""
	}
	top := parents[0].Name
	last := parents[len(parents)-1].Name
	if len(parents) > 1 && last == "upstream" {
		return top + " upstream"
	}
	return top
}

func enclosing(parents []*nginxconf.Directive, name string) *nginxconf.Directive {
	for i := len(parents) - 1; i >= 0; i-- {
		if parents[i].Name == name {
			return parents[i]
		}
	}
	return nil
}

// listenKey normalises a listen address so that equivalent spellings share
// one loopback port: "80", "*:80", "0.0.0.0:80" and "[::]:80" all become
// "*:80" (they would collide on 127.0.0.1 otherwise).
func listenKey(a string) string { return emulator.ListenKey(a) }

// normPeer keys a peer address like the emulator does (emulator.NormAddr).
func normPeer(a string, defPort int) string { return emulator.NormAddr(a, defPort) }

func isPass(name string) bool {
	switch name {
	case "proxy_pass", "grpc_pass", "fastcgi_pass", "uwsgi_pass", "scgi_pass", "memcached_pass":
		return true
	}
	return false
}

// passTarget returns the peer key of a *_pass directive that names an
// address (not an upstream{} and not a variable), and the byte span of the
// host:port part within its first argument's value.
func passTarget(d *nginxconf.Directive, upstreams map[string]bool) (key string, span [2]int, ok bool) {
	v := d.Args[0].Value
	start, end := passHostSpan(v)
	defPort := 80
	if isTLSScheme(v) {
		defPort = 443
	}
	host := v[start:end]
	if host == "" || strings.Contains(host, "$") || upstreams[host] {
		return "", span, false
	}
	return normPeer(host, defPort), [2]int{start, end}, true
}

// passUse is a *_pass's target: an address's key or an upstream{}'s
// name, and whether nginx speaks TLS to it.
type passUse struct {
	key, upstream string
	tls           bool
}

// isTLSScheme reports whether a *_pass value's scheme makes nginx a TLS
// client of the peer.
func isTLSScheme(v string) bool {
	i := strings.Index(v, "://")
	if i < 0 {
		return false
	}
	switch strings.ToLower(v[:i]) {
	case "https", "grpcs", "suwsgi":
		return true
	}
	return false
}

// isVerifyTLS reports whether d turns on verification of the upstream's
// certificate, which the TLS backends' generated certificate cannot pass
// under the name nginx checks (ngx_ssl_check_host against proxy_ssl_name).
func isVerifyTLS(d *nginxconf.Directive) bool {
	switch d.Name {
	case "proxy_ssl_verify", "grpc_ssl_verify", "uwsgi_ssl_verify":
		return d.Arg(0) == "on"
	}
	return false
}

// passHostSpan returns the span of the host[:port] part of a *_pass value.
func passHostSpan(v string) (start, end int) {
	if i := strings.Index(v, "://"); i >= 0 {
		start = i + 3
	}
	end = len(v)
	if strings.HasPrefix(v[start:], "unix:") {
		// unix:/path:/uri — the socket path runs to the next ':'.
		if j := strings.IndexByte(v[start+5:], ':'); j >= 0 {
			end = start + 5 + j
		}
		return start, end
	}
	if j := strings.IndexByte(v[start:], '/'); j >= 0 {
		end = start + j
	}
	return start, end
}

// rewriteInput is what apply needs besides the scan.
type rewriteInput struct {
	run         string         // absolute directory for logs, pid, temp paths, Lua wrapper
	listenPorts map[string]int // listen key -> loopback port
	peerPorts   map[string]int // peer key -> loopback backend port
	bin         *Binary
	fsHas       func(p string) bool // reports whether the tree has a file (for load_module)
	// filesRoot, when set, is where the scenario's synthetic file tree
	// was written: every absolute root and alias is pointed into it
	// (files.go).
	filesRoot string
	// userOK reports whether a `user NAME [GROUP]` directive can stay:
	// only for a root nginx with an existing user and group (the group
	// defaults to the user's name; getpwnam/getgrnam fail otherwise,
	// ngx_set_user).
	userOK func(user, group string) bool
	// realip adds realipFor at http level: some request's client
	// address is off loopback (clientaddr.go).
	realip bool
	// resolver, when set, is the DNS stub's address: every resolver
	// points there, and http{} gets one if it has none
	// (Scenario.RequestHosts).
	resolver string
	// tls is the run's generated certificates and keys, which stand for
	// every TLS file the configuration names (tlsFileDirective); needed
	// when the scan found TLS (scan.needsTLS).
	tls *tlsFiles
	// upstreamTLS keeps the TLS schemes of *_pass: the backends of the
	// peers nginx reaches over TLS speak it (scan.peerTLS).
	upstreamTLS bool
}

// needsTLS reports whether the run must generate its TLS files.
func (s *scan) needsTLS() bool { return s.tlsFiles || len(s.tlsBlocks) > 0 }

// apply computes the edits. The result maps a file path (in the tree) to
// its new content, for the files that change.
func (s *scan) apply(in rewriteInput) (map[string][]byte, []Rewrite, error) {
	cfg := s.cfg
	if s.needsTLS() && in.tls == nil {
		return nil, nil, fmt.Errorf("the configuration uses TLS and the run has no TLS files")
	}
	edits := map[*nginxconf.File][]edit{}
	add := func(f *nginxconf.File, e edit) { edits[f] = append(edits[f], e) }
	run := in.run
	q := func(p string) string { return quoteArg(filepath.ToSlash(p)) }

	var httpBlock *nginxconf.Directive
	var hasEvents, hasDaemon, hasMaster, hasPid, hasMainErrorLog bool
	httpHas := map[string]bool{}
	tempPaths := []string{"client_body_temp_path", "proxy_temp_path", "fastcgi_temp_path", "uwsgi_temp_path", "scgi_temp_path"}
	serverListenPorts := map[*nginxconf.Directive]map[int]bool{}
	cachePaths := 0

	replaceArgs := func(d *nginxconf.Directive, from int, text, why string) {
		a := d.Args[from:]
		add(d.File, edit{start: a[0].Pos.Offset, end: a[len(a)-1].End().Offset, text: text, why: why})
	}
	remove := func(d *nginxconf.Directive, why string) {
		add(d.File, edit{start: d.Pos.Offset, end: d.End.Offset, text: "", why: why})
	}

	var err error
	cfg.Walk(func(d *nginxconf.Directive, parents []*nginxconf.Directive) bool {
		ctx := contextOf(parents)
		switch {
		case ctx == "" && d.Name == "http" && d.HasBlock:
			if httpBlock == nil {
				httpBlock = d
			}
		case ctx == "" && d.Name == "events":
			hasEvents = true
		case ctx == "" && d.Name == "daemon":
			hasDaemon = true
			if d.Arg(0) != "off" && len(d.Args) > 0 {
				replaceArgs(d, 0, "off", "run in the foreground under the engine's control")
			}
		case ctx == "" && d.Name == "master_process":
			hasMaster = true
			if d.Arg(0) != "off" && len(d.Args) > 0 {
				replaceArgs(d, 0, "off", "one process: all requests see one keepalive cache and one Lua VM")
			}
		case ctx == "" && d.Name == "pid":
			hasPid = true
			if len(d.Args) > 0 {
				replaceArgs(d, 0, q(filepath.Join(run, "nginx.pid")), "pid file inside the temporary prefix")
			}
		case ctx == "" && d.Name == "lock_file" && len(d.Args) > 0:
			replaceArgs(d, 0, q(filepath.Join(run, "nginx.lock")), "lock file inside the temporary prefix")
		case ctx == "" && d.Name == "user":
			group := d.Arg(1)
			if group == "" {
				group = d.Arg(0)
			}
			if in.userOK == nil || !in.userOK(d.Arg(0), group) {
				remove(d, "user applies only to a root nginx and needs an existing user")
			}
		case ctx == "" && d.Name == "load_module" && len(d.Args) > 0:
			p := d.Args[0].Value
			if !strings.HasPrefix(p, "/") && !in.fsHas(p) && in.bin != nil {
				replaceArgs(d, 0, q(filepath.Join(in.bin.Prefix, p)), "relative module path resolved against the binary's prefix")
			}
		case d.Name == "error_log" && len(d.Args) > 0:
			if ctx == "" {
				hasMainErrorLog = true
			}
			replaceArgs(d, 0, q(filepath.Join(run, "error.log"))+" info", "error.log inside the temporary prefix, read back and counted per request")
		case d.Name == "access_log" && len(d.Args) > 0:
			if ctx == "http" && len(parents) == 1 {
				httpHas["access_log"] = true
			}
			if d.Args[0].Value != "off" {
				add(d.File, edit{start: d.Args[0].Pos.Offset, end: d.Args[0].End().Offset,
					text: q(filepath.Join(run, "access.log")), why: "access log inside the temporary prefix"})
			}
		case strings.HasSuffix(d.Name, "_temp_path") && len(d.Args) > 0:
			if len(parents) == 1 && ctx == "http" {
				httpHas[d.Name] = true
			}
			add(d.File, edit{start: d.Args[0].Pos.Offset, end: d.Args[0].End().Offset,
				text: q(filepath.Join(run, strings.TrimSuffix(d.Name, "_temp_path"))), why: "temporary files inside the temporary prefix"})
		case strings.HasSuffix(d.Name, "_cache_path") && len(d.Args) > 0:
			cachePaths++
			add(d.File, edit{start: d.Args[0].Pos.Offset, end: d.Args[0].End().Offset,
				text: q(filepath.Join(run, "cache"+strconv.Itoa(cachePaths))), why: "cache inside the temporary prefix"})
		case d.Name == "lua_package_path" && len(d.Args) > 0:
			if ctx == "http" {
				httpHas["lua_package_path"] = true
				replaceArgs(d, 0, quoteArg(luaDir(run)+"/?.lua;"+d.Args[0].Value), "the ngx.balancer wrapper first on the path")
			}
		case (d.Name == "root" || d.Name == "alias") && in.filesRoot != "" && len(d.Args) > 0:
			if nv, ok := intoFiles(in.filesRoot, d.Args[0].Value); ok {
				replaceArgs(d, 0, q(nv), "the synthetic file tree inside the temporary directory stands for the file system")
			}
		case tlsFileDirective(d.Name) != "" && len(d.Args) > 0:
			if in.tls == nil {
				err = fmt.Errorf("%s: %s needs the run's TLS files", d.Pos, d.Name)
				return false
			}
			switch tlsFileDirective(d.Name) {
			case "pair":
				remove(d, "the run's generated certificates, set at the top of the block, stand for the user's files")
			case "cert":
				replaceArgs(d, 0, q(in.tls.ecCert), "the run's generated certificate stands for the user's file")
			case "key":
				replaceArgs(d, 0, q(in.tls.ecKey), "the run's generated key stands for the user's file")
			case "ca":
				replaceArgs(d, 0, q(in.tls.ecCert), "the run's generated certificate stands for the user's CA list")
			case "ticket":
				replaceArgs(d, 0, q(in.tls.ticketKey), "the run's random ticket key stands for the user's file")
			default:
				remove(d, "a TLS file outside the run, not needed for the handshake")
			}
		case (d.Name == "ssl_stapling" || d.Name == "ssl_ocsp") && len(d.Args) > 0 && d.Arg(0) != "off":
			replaceArgs(d, 0, "off", "OCSP would query a responder off loopback; no handshake needs it")
		case d.Name == "resolver" && len(d.Args) > 0:
			if ctx == "http" && len(parents) == 1 {
				httpHas["resolver"] = true
			}
			if in.resolver != "" {
				replaceArgs(d, 0, in.resolver+" valid=1s ipv6=off", "the engine's DNS stub, which records names and resolves none")
				break
			}
			// A resolver could send queries off the machine; point it at a
			// closed loopback port so names never resolve.
			replaceArgs(d, 0, "127.0.0.1:1 valid=1s", "no DNS queries off loopback")
		case d.Name == "resolver_timeout" && len(d.Args) > 0 && in.resolver != "":
			if ctx == "http" && len(parents) == 1 {
				httpHas["resolver_timeout"] = true
			}
			replaceArgs(d, 0, "2s", "the DNS stub answers at once; a lost answer must not outlast the client")
		case d.Name == "server" && d.HasBlock && ctx == "http":
			has := false
			for _, c := range d.Block {
				if c.Name == "listen" {
					has = true
				}
			}
			if !has {
				port := in.listenPorts[defaultListenKey]
				serverListenPorts[d] = map[int]bool{port: true}
				add(d.File, edit{start: d.BlockOpen.Offset + 1, end: d.BlockOpen.Offset + 1,
					text: fmt.Sprintf(" listen 127.0.0.1:%d;", port), why: "server without listen: its default *:80 moved to loopback"})
			}
		case d.Name == "listen" && len(d.Args) > 0:
			k := listenKey(d.Args[0].Value)
			port, ok := in.listenPorts[k]
			if !ok {
				err = fmt.Errorf("%s: no port allocated for listen %s", d.Pos, k)
				return false
			}
			srv := enclosing(parents, "server")
			if serverListenPorts[srv] == nil {
				serverListenPorts[srv] = map[int]bool{}
			}
			if serverListenPorts[srv][port] {
				remove(d, "same loopback port as an earlier listen of this server")
				break
			}
			serverListenPorts[srv][port] = true
			text := "127.0.0.1:" + strconv.Itoa(port)
			for _, a := range d.Args[1:] {
				switch {
				case a.Value == "default_server" || a.Value == "default" || a.Value == "udp" || a.Value == "ssl":
					text += " " + a.Value
				}
			}
			replaceArgs(d, 0, text, "listen on loopback only, ephemeral port (ssl kept, with the run's certificates; http2/other options dropped)")
		case d.Name == "server" && !d.HasBlock && strings.HasSuffix(ctx, "upstream") && len(d.Args) > 0:
			k := normPeer(d.Args[0].Value, 80)
			port, ok := in.peerPorts[k]
			if !ok {
				err = fmt.Errorf("%s: no backend for upstream server %s", d.Pos, k)
				return false
			}
			add(d.File, edit{start: d.Args[0].Pos.Offset, end: d.Args[0].End().Offset,
				text: "127.0.0.1:" + strconv.Itoa(port), why: "upstream server " + k + " mapped to its loopback backend"})
		case isPass(d.Name) && len(d.Args) > 0:
			k, span, ok := passTarget(d, s.upstreams)
			if !ok {
				// An upstream{} name, or a variable host that
				// checkContained refuses unless it is provably loopback.
				break
			}
			port := in.peerPorts[k]
			v := d.Args[0].Value
			scheme := ""
			if i := strings.Index(v, "://"); i >= 0 {
				scheme = strings.ToLower(v[:i])
			}
			nv := v[:span[0]] + "127.0.0.1:" + strconv.Itoa(port) + v[span[1]:]
			why := d.Name + " target " + k + " mapped to its loopback backend"
			switch {
			case in.upstreamTLS && s.peerTLS[k]:
				why += " (its backend speaks TLS: Request.UpstreamTLS)"
			case scheme == "https":
				nv = "http" + nv[len("https"):]
				why += " (https → http: the backends speak plain HTTP)"
			case scheme == "grpcs":
				nv = "grpc" + nv[len("grpcs"):]
			}
			replaceArgs(d, 0, quoteArg(nv), why)
		}
		return err == nil
	})
	if err != nil {
		return nil, nil, err
	}

	main := cfg.Main
	// Main-level additions go in front of line 1 with no newline, so that
	// every line keeps its number. load_module must precede events{} and
	// http{} ("is specified too late" otherwise), hence the front.
	var front []string
	if s.usesLua && in.bin != nil && !in.bin.LuaStatic {
		if in.bin.LuaModule == "" {
			return nil, nil, fmt.Errorf("the configuration uses lua-nginx-module but %s has neither a built-in nor a loadable Lua module", in.bin.Path)
		}
		if !s.ndkLoaded {
			front = append(front, "load_module "+q(in.bin.NDKModule)+";")
		}
		if !s.luaModuleLoaded {
			front = append(front, "load_module "+q(in.bin.LuaModule)+";")
		}
	}
	if s.hasStream && !s.streamModuleLoaded && in.bin != nil && in.bin.StreamModule != "" {
		front = append(front, "load_module "+q(in.bin.StreamModule)+";")
	}
	if !hasDaemon {
		front = append(front, "daemon off;")
	}
	if !hasMaster {
		front = append(front, "master_process off;")
	}
	if !hasPid {
		front = append(front, "pid "+q(filepath.Join(run, "nginx.pid"))+";")
	}
	if !hasMainErrorLog {
		front = append(front, "error_log "+q(filepath.Join(run, "error.log"))+" info;")
	}
	if len(front) > 0 {
		add(main, edit{start: 0, end: 0, text: strings.Join(front, " ") + " ", why: "engine settings (foreground, one process, files in the temporary prefix, Lua module)"})
	}
	if !hasEvents {
		add(main, edit{start: len(main.Data), end: len(main.Data), text: "\nevents {}\n", why: "nginx requires an events{} block"})
	}
	if httpBlock != nil {
		var ins []string
		if !httpHas["access_log"] {
			ins = append(ins, "access_log "+q(filepath.Join(run, "access.log"))+";")
		}
		for _, t := range tempPaths {
			if !httpHas[t] {
				ins = append(ins, t+" "+q(filepath.Join(run, strings.TrimSuffix(t, "_temp_path")))+";")
			}
		}
		if in.realip {
			ins = append(ins, realipFor)
		}
		if in.resolver != "" && !httpHas["resolver"] {
			ins = append(ins, "resolver "+in.resolver+" valid=1s ipv6=off;")
		}
		if in.resolver != "" && !httpHas["resolver_timeout"] {
			ins = append(ins, "resolver_timeout 2s;")
		}
		if s.tlsBlocks[httpBlock] && in.tls != nil {
			ins = append(ins, in.tls.pairsText())
		}
		if s.usesLua && !httpHas["lua_package_path"] {
			ins = append(ins, "lua_package_path "+quoteArg(luaDir(run)+"/?.lua;;")+";")
		}
		if len(ins) > 0 {
			off := httpBlock.BlockOpen.Offset + 1
			add(httpBlock.File, edit{start: off, end: off, text: " " + strings.Join(ins, " "), why: "http-level paths inside the temporary prefix; realip for client addresses off loopback"})
		}
	}
	for blk := range s.tlsBlocks {
		if blk == httpBlock || !blk.HasBlock || in.tls == nil {
			continue
		}
		off := blk.BlockOpen.Offset + 1
		add(blk.File, edit{start: off, end: off, text: " " + in.tls.pairsText(), why: "the run's generated certificates for its TLS servers"})
	}

	out := map[string][]byte{}
	var report []Rewrite
	for _, f := range cfg.Files {
		es := edits[f]
		if len(es) == 0 {
			continue
		}
		// Insertions (start == end) go before a replacement at the same
		// offset, e.g. the engine settings in front of a removed `user`.
		sort.SliceStable(es, func(i, j int) bool {
			if es[i].start != es[j].start {
				return es[i].start < es[j].start
			}
			return es[i].end < es[j].end
		})
		var b []byte
		last := 0
		for _, e := range es {
			if e.start < last {
				return nil, nil, fmt.Errorf("%s: overlapping rewrites at offset %d", f.Path, e.start)
			}
			b = append(b, f.Data[last:e.start]...)
			b = append(b, e.text...)
			last = e.end
			report = append(report, Rewrite{
				File: f.Path, Line: f.PosAt(e.start).Line,
				Before: string(f.Data[e.start:e.end]), After: e.text, Why: e.why,
			})
		}
		b = append(b, f.Data[last:]...)
		out[f.Path] = b
		if s.edited == nil {
			s.edited = map[string]editedFile{}
		}
		s.edited[f.Path] = editedFile{orig: f, edits: es}
	}
	return out, report, nil
}

// luaDir is the directory holding the generated ngx/balancer.lua.
func luaDir(run string) string { return filepath.ToSlash(filepath.Join(run, "lua")) }

// quoteArg writes s as an nginx argument: bare when it has no special
// characters, double-quoted (with \" and \\ escaped) otherwise.
func quoteArg(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\r\n;{}\"'\\#") {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(s) + `"`
}

// origPos maps a position in the configuration nginx reads, as
// checkContained loaded it from the real file system, to the user's
// files: a file of the copied tree by its path in the tree, with the line
// and column it has before the rewrite (edits keep line numbers but shift
// columns); a file outside the tree by its absolute path, with the private
// directory shown as $TMP.
func (s *scan) origPos(p nginxconf.Pos, prefix, private string) nginxconf.Pos {
	abs := "/" + strings.TrimPrefix(p.File, "/")
	rel, ok := strings.CutPrefix(abs, filepath.ToSlash(prefix)+"/")
	if !ok {
		if r, ok := strings.CutPrefix(abs, filepath.ToSlash(private)); ok {
			abs = "$TMP" + r
		}
		p.File = abs
		return p
	}
	p.File = rel
	ef, ok := s.edited[rel]
	if !ok || !p.IsValid() {
		return p
	}
	// Walk the edits in order, tracking how far the copy's offsets run
	// ahead of the original's; an offset inside inserted text maps to the
	// edit's start.
	off, delta := p.Offset, 0
	for _, e := range ef.edits {
		ns := e.start + delta
		if off < ns {
			break
		}
		if off < ns+len(e.text) {
			return ef.orig.PosAt(e.start)
		}
		delta += len(e.text) - (e.end - e.start)
	}
	return ef.orig.PosAt(off - delta)
}

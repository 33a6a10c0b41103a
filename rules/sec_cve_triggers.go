package rules

// What meets each cveGate: collectSecFeatures reads the directive index
// once and keeps, per gate, the directives that meet it and a short
// account of how. Gates that relate two directives (a rewrite and the set
// after it, an ssi and the proxy_pass it filters) keep the few candidates
// in lists during the pass and pair them after it.

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/versions"
)

// secHit is one directive that meets a gate.
type secHit struct {
	d *nginxconf.Directive
	// why says how, with the lines of the other directives involved, e.g.
	// "rewrite with arguments, then set reads $1 at line 7". Empty for a
	// gate that one directive meets by being there (mp4, a resolver).
	why string
	// also are the other directives involved, as related positions.
	also []secPartner
	// since is set when the hit rests on a default that later releases
	// changed (TLSv1.3 on without ssl_protocols since 1.23.4): below it
	// the hit does not count.
	since versions.Version
}

type secPartner struct {
	d   *nginxconf.Directive
	msg string
}

// secFeatures are the hits of each gate, in file order.
type secFeatures struct {
	at map[cveGate][]secHit
}

type secFeaturesKey struct{}

// secFeaturesOf computes the features once per run for every SEC3xxx rule.
func secFeaturesOf(pass *analyzer.Pass) *secFeatures {
	return pass.Fact(secFeaturesKey{}, func() any { return collectSecFeatures(directiveIndex(pass)) }).(*secFeatures)
}

// scoped is a directive with its enclosing blocks (copied: Index.Each
// reuses its slice).
type scoped struct {
	d       *nginxconf.Directive
	parents []*nginxconf.Directive
}

func newScoped(d *nginxconf.Directive, parents []*nginxconf.Directive) scoped {
	return scoped{d: d, parents: append([]*nginxconf.Directive(nil), parents...)}
}

// block is the block s is written in, nil at the top of a file tree.
func (s scoped) block() *nginxconf.Directive {
	if len(s.parents) == 0 {
		return nil
	}
	return s.parents[len(s.parents)-1]
}

// under reports whether s is inside blk (at any depth).
func (s scoped) under(blk *nginxconf.Directive) bool {
	for _, p := range s.parents {
		if p == blk {
			return true
		}
	}
	return false
}

// inheritedTogether reports whether two directives that nginx inherits
// down the http > server > location tree apply to the same requests: the
// block of one encloses the other.
func inheritedTogether(a, b scoped) bool {
	ab, bb := a.block(), b.block()
	if ab == nil || bb == nil {
		return ab == bb
	}
	return b.under(ab) || a.under(bb)
}

// lineRef names where to is, relative to from: "line 7", or "file:7" in
// another file.
func lineRef(from, to *nginxconf.Directive) string {
	if from.Pos.File == to.Pos.File {
		return "line " + strconv.Itoa(to.Pos.Line)
	}
	return filepath.Base(to.Pos.File) + ":" + strconv.Itoa(to.Pos.Line)
}

// mapInfo is what the map gate needs of one map block.
type mapInfo struct {
	d        *nginxconf.Directive
	variable string
	regex    bool // has a "~" key
	groups   bool // a regex key has a capturing group, so matching it rewrites $1-$9
	named    map[string]bool
	volatile bool
	source   []string // variables the source string reads
}

// exprUse is a directive argument reading two or more variables.
type exprUse struct {
	d    *nginxconf.Directive
	refs []string
}

// tlsServer is what the TLS gates need of one http server block; nil
// fields inherit the http block's (tlsLevel).
type tlsServer struct {
	d       *nginxconf.Directive
	http    *nginxconf.Directive
	sslOn   bool
	listens []*nginxconf.Directive
	tlsLevel
}

type tlsLevel struct {
	verify, cache, protocols *nginxconf.Directive
	tickets                  []*nginxconf.Directive
}

// mailServer is what the mail gates need of one mail server block.
type mailServer struct {
	d        *nginxconf.Directive
	mail     *nginxconf.Directive
	protocol string
	ports    []string
}

// smtp reports whether the server proxies SMTP: "protocol smtp", or no
// protocol and a listen on one of SMTP's ports, which is how nginx picks
// the protocol when none is set (ngx_mail_smtp_module's port list).
func (m *mailServer) smtp() bool {
	if m.protocol != "" {
		return m.protocol == "smtp"
	}
	for _, p := range m.ports {
		if p == "25" || p == "465" || p == "587" {
			return true
		}
	}
	return false
}

// h2MaxField is NGX_HTTP_V2_MAX_FIELD (src/http/v2/ngx_http_v2.h): a
// field longer than this overflowed the HTTP/2 and gRPC request buffers
// before 26d824ec3, and large_client_header_buffers bounds how long a
// client's field can be.
const h2MaxField = 127 + (1 << 21) - 1

// tls13Default is the release that turned TLSv1.3 on without ssl_protocols
// (CHANGES 1.23.4).
var tls13Default = versions.MustParse("1.23.4")

func collectSecFeatures(ix *nginxconf.Index) *secFeatures {
	f := &secFeatures{at: map[cveGate][]secHit{}}
	// A finding shows a gate's first hit and ten more (runCVEGroup), so a
	// gate keeps a few beyond that instead of every proxy_pass of a large
	// configuration; a hit that rests on a later default (since) may be
	// dropped by the version and is always kept.
	const keepHits = 16
	plain := map[cveGate]int{}
	hit := func(g cveGate, h secHit) {
		if h.since.IsZero() {
			if plain[g] >= keepHits {
				return
			}
			plain[g]++
		}
		f.at[g] = append(f.at[g], h)
	}
	add := func(g cveGate, d *nginxconf.Directive) { hit(g, secHit{d: d}) }
	var (
		first                              *nginxconf.Directive
		resolvers, http2, proxyPass        []*nginxconf.Directive
		resolverIn                         = map[*nginxconf.Directive]*nginxconf.Directive{}
		ocsp                               []scoped
		maps                               []*mapInfo
		mapOf                              = map[*nginxconf.Directive]*mapInfo{}
		exprs                              []exprUse
		referenced                         = map[string]*nginxconf.Directive{}
		captureReaders, slices             []scoped
		capturingRegex                     bool
		ssis, passes, setBodies, h2Proxies []scoped
		davs, aliases                      []scoped
		ignoreOff, bigBuffers, h2Backends  []*nginxconf.Directive
		charsetMaps                        = map[string]*nginxconf.Directive{}
		charsets                           []*nginxconf.Directive
		argsRewrite                        = map[*nginxconf.Directive]*nginxconf.Directive{}
		argsReported                       = map[*nginxconf.Directive]bool{}
		servers                            []*tlsServer
		serverOf                           = map[*nginxconf.Directive]*tlsServer{}
		httpLevel                          = map[*nginxconf.Directive]*tlsLevel{}
		mailServers                        = map[*nginxconf.Directive]*mailServer{}
		mailOrder                          []*mailServer
		mailResolvers, starttls            []scoped
	)
	ix.Each(func(d *nginxconf.Directive, parents []*nginxconf.Directive) {
		top := ""
		var topBlock *nginxconf.Directive
		if len(parents) > 0 {
			topBlock = parents[0]
			top = topBlock.Name
		}
		if first == nil && d.Name != "include" {
			first = d
		}
		if len(parents) > 0 && parents[len(parents)-1].Name == "map" {
			collectMapEntry(mapOf[parents[len(parents)-1]], d, &exprs, referenced)
			return
		}
		if inValueBlock(parents) {
			return
		}
		if !d.IsLua() {
			readsCapture := false
			for i, a := range d.Args {
				if definesVariable(d, i) {
					continue
				}
				refs := varRefs(a.Value)
				for _, r := range refs {
					if _, ok := referenced[r]; !ok {
						referenced[r] = d
					}
					if isCaptureRef(r) {
						readsCapture = true
					}
				}
				if len(refs) >= 2 {
					exprs = append(exprs, exprUse{d: d, refs: refs})
				}
			}
			if readsCapture && d.Name != "rewrite" && d.Name != "if" {
				captureReaders = append(captureReaders, newScoped(d, parents))
			}
		}
		if srv, http := httpServerOf(parents); srv != nil || http != nil {
			collectTLS(d, srv, http, serverOf, &servers, httpLevel)
		}
		if top == "mail" {
			collectMail(d, parents, mailServers, &mailOrder, &mailResolvers, &starttls)
		}
		switch d.Name {
		case "http":
			if f.at[gateAlways] == nil {
				f.at[gateAlways] = []secHit{{d: d}}
			}
		case "resolver":
			// The resolver CVEs are in src/core/ngx_resolver.c, which the
			// mail module's resolver uses too.
			resolvers = append(resolvers, d)
			if top != "mail" && resolverIn[topBlock] == nil {
				resolverIn[topBlock] = d
			}
		case "ssl_ocsp":
			if d.Arg(0) != "off" && d.Arg(0) != "" {
				ocsp = append(ocsp, newScoped(d, parents))
				if top == "stream" {
					add(gateStreamOCSP, d)
				}
			}
		case "mp4":
			add(gateMP4, d)
		case "listen":
			for _, a := range d.Args[min(1, len(d.Args)):] {
				switch a.Value {
				case "http2":
					http2 = append(http2, d)
				case "spdy":
					add(gateSPDY, d)
				case "quic":
					add(gateHTTP3, d)
				case "ssl":
					add(gateSSL, d)
				}
			}
		case "http2":
			if d.Arg(0) == "on" {
				http2 = append(http2, d)
			}
		case "http3":
			if d.Arg(0) == "on" {
				add(gateHTTP3, d)
			}
		case "ssl":
			if d.Arg(0) == "on" {
				add(gateSSL, d)
			}
		case "proxy_pass":
			proxyPass = append(proxyPass, d)
			passes = append(passes, newScoped(d, parents))
			add(gateProxiedAnyway, d)
			if strings.HasPrefix(strings.ToLower(d.Arg(0)), "https://") {
				add(gateUpstreamSSL, d)
			}
		case "fastcgi_pass", "memcached_pass":
			passes = append(passes, newScoped(d, parents))
			add(gateProxiedAnyway, d)
		case "uwsgi_pass", "scgi_pass":
			passes = append(passes, newScoped(d, parents))
			add(gateProxiedAnyway, d)
			add(gateSCGIUWSGI, d)
			if strings.HasPrefix(strings.ToLower(d.Arg(0)), "suwsgi://") {
				add(gateUpstreamSSL, d)
			}
		case "grpc_pass":
			passes = append(passes, newScoped(d, parents))
			h2Backends = append(h2Backends, d)
			if strings.HasPrefix(strings.ToLower(d.Arg(0)), "grpcs://") {
				add(gateUpstreamSSL, d)
			}
		case "proxy_http_version":
			if strings.HasPrefix(d.Arg(0), "2") {
				h2Backends = append(h2Backends, d)
				h2Proxies = append(h2Proxies, newScoped(d, parents))
			}
		case "proxy_set_body":
			setBodies = append(setBodies, newScoped(d, parents))
		case "ignore_invalid_headers":
			if d.Arg(0) == "off" {
				ignoreOff = append(ignoreOff, d)
			}
		case "large_client_header_buffers":
			if n, ok := parseNginxSize(d.Arg(1)); ok && n > h2MaxField {
				bigBuffers = append(bigBuffers, d)
			}
		case "smtp_auth", "imap_auth", "pop3_auth":
			for _, a := range d.Args {
				switch strings.ToLower(a.Value) {
				case "none":
					if d.Name == "smtp_auth" {
						add(gateMailSMTPNone, d)
					}
				case "cram-md5", "apop":
					add(gateMailCRAM, d)
				}
			}
		case "dav_methods":
			for _, a := range d.Args {
				if strings.EqualFold(a.Value, "COPY") || strings.EqualFold(a.Value, "MOVE") {
					add(gateDAVCopyMove, d)
					davs = append(davs, newScoped(d, parents))
					break
				}
			}
		case "alias":
			aliases = append(aliases, newScoped(d, parents))
		case "charset_map":
			// nginx converts from UTF-8 only through a map whose second
			// charset is utf-8 (recode_from_utf8 of the charset filter).
			if strings.EqualFold(d.Arg(1), "utf-8") {
				charsetMaps[strings.ToLower(d.Arg(0))] = d
			}
		case "charset":
			if v := strings.ToLower(d.Arg(0)); v != "off" && v != "" && v != "utf-8" {
				charsets = append(charsets, d)
			}
		case "ssi":
			if d.Arg(0) == "on" {
				ssis = append(ssis, newScoped(d, parents))
			}
		case "slice":
			if d.Arg(0) != "0" && d.Arg(0) != "" {
				slices = append(slices, newScoped(d, parents))
			}
		case "proxy_cache_background_update", "fastcgi_cache_background_update",
			"scgi_cache_background_update", "uwsgi_cache_background_update":
			if d.Arg(0) == "on" {
				slices = append(slices, newScoped(d, parents))
			}
		case "map":
			m := &mapInfo{d: d, variable: strings.TrimPrefix(d.Arg(1), "$"), named: map[string]bool{}, source: varRefs(d.Arg(0))}
			maps = append(maps, m)
			mapOf[d] = m
		case "rewrite", "set", "if":
			if d.Name == "if" && ifRegexCaptures(d) {
				capturingRegex = true
			}
			if d.Name == "rewrite" && len(captureGroups(d.Arg(0))) > 0 {
				capturingRegex = true
			}
			if h, ok := rewriteScript(d, parents, argsRewrite, argsReported); ok {
				hit(gateRewriteArgs, h)
			}
			if d.Name == "rewrite" {
				if h, ok := nestedCaptureRewrite(d, argsRewrite[scriptScope(parents)] != nil); ok {
					hit(gateRewriteNested, h)
				}
			}
		}
	})
	if f.at[gateAlways] == nil && first != nil {
		f.at[gateAlways] = []secHit{{d: first}}
	}
	for _, d := range resolvers {
		add(gateResolver, d)
	}
	for _, o := range ocsp {
		// The use-after-free is in resolving the responder of a client
		// certificate's OCSP check, which only ssl_ocsp makes: stapling
		// resolves outside any client connection (71841dced).
		if r := resolverIn[o.parents0()]; r != nil {
			hit(gateOCSPResolver, secHit{d: o.d, why: "ssl_ocsp resolving its responder through the resolver at " + lineRef(o.d, r),
				also: []secPartner{{r, "the resolver ssl_ocsp uses"}}})
		}
	}
	for _, d := range http2 {
		add(gateHTTP2, d)
	}
	for _, d := range proxyPass {
		add(gateProxyPass, d)
	}
	for _, b := range setBodies {
		for _, v := range h2Proxies {
			if inheritedTogether(b, v) {
				hit(gateProxySetBody2, secHit{d: b.d, why: "proxy_set_body to an HTTP/2 backend (proxy_http_version 2 at " + lineRef(b.d, v.d) + ")",
					also: []secPartner{{v.d, "HTTP/2 to the backend"}}})
				break
			}
		}
	}
	if len(ignoreOff) > 0 && len(bigBuffers) > 0 {
		for _, b := range h2Backends {
			hit(gateH2LongHeader, secHit{d: b, why: fmt.Sprintf("%s with ignore_invalid_headers off and %s header buffers", b.Name, bigBuffers[0].Arg(1)),
				also: []secPartner{{ignoreOff[0], "ignore_invalid_headers off"}, {bigBuffers[0], "header buffers larger than an HTTP/2 field can be"}}})
		}
	}
	for _, c := range charsets {
		if m := charsetMaps[strings.ToLower(c.Arg(0))]; m != nil {
			hit(gateCharsetUTF8, secHit{d: c, why: "UTF-8 to " + clipName(c.Arg(0), 16) + " via charset_map at " + lineRef(c, m),
				also: []secPartner{{m, "the charset_map recoding UTF-8"}}})
		}
	}
	for _, s := range ssis {
		for _, p := range passes {
			if inheritedTogether(s, p) {
				hit(gateSSIProxied, secHit{d: s.d, why: "ssi on responses of " + p.d.Name + " at " + lineRef(s.d, p.d),
					also: []secPartner{{p.d, "the proxied response ssi parses"}}})
				break
			}
		}
	}
	for _, m := range maps {
		capturingRegex = capturingRegex || m.groups
	}
	if capturingRegex {
		// Stale $1-$9 are read in a subrequest (slice, background cache
		// update) after a regex with captures failed to match in it
		// (0cca8e055); which regex fails is up to the request, so any
		// capturing map, if or rewrite regex counts.
		for _, s := range slices {
			for _, r := range captureReaders {
				if inheritedTogether(s, r) {
					hit(gateSliceCapture, secHit{d: s.d, why: s.d.Name + " with $1-$9 read by " + r.d.Name + " at " + lineRef(s.d, r.d),
						also: []secPartner{{r.d, "reads an unnamed capture in a subrequest"}}})
					break
				}
			}
		}
	}
	for _, dv := range davs {
		for _, a := range aliases {
			if inheritedTogether(dv, a) {
				hit(gateDAVAlias, secHit{d: dv.d, why: "dav_methods COPY or MOVE with alias at " + lineRef(dv.d, a.d),
					also: []secPartner{{a.d, "the alias the destination is mapped through"}}})
				break
			}
		}
	}
	for _, h := range mapCaptureHits(maps, exprs, referenced) {
		hit(gateMapCapture, h)
	}
	for _, h := range tlsHits(servers, httpLevel) {
		hit(h.gate, h.secHit)
	}
	for _, h := range mailHits(mailServers, mailOrder, mailResolvers, starttls) {
		hit(h.gate, h.secHit)
	}
	return f
}

// definesVariable reports whether argument i of d names the variable d
// defines (set's first, map's second) rather than reading one.
func definesVariable(d *nginxconf.Directive, i int) bool {
	return d.Name == "set" && i == 0 || d.Name == "map" && i == 1
}

// parents0 is the outermost block of s (http, stream...), nil at the top.
func (s scoped) parents0() *nginxconf.Directive {
	if len(s.parents) == 0 {
		return nil
	}
	return s.parents[0]
}

// collectMapEntry reads one line of a map block: regex keys, their named
// groups, "volatile", and the variables its value reads.
func collectMapEntry(m *mapInfo, d *nginxconf.Directive, exprs *[]exprUse, referenced map[string]*nginxconf.Directive) {
	if m == nil {
		return
	}
	switch d.Name {
	case "volatile":
		m.volatile = true
		return
	case "hostnames", "include":
		return
	}
	if strings.HasPrefix(d.Name, "~") {
		m.regex = true
		for _, g := range captureGroups(strings.TrimPrefix(strings.TrimPrefix(d.Name, "~"), "*")) {
			m.groups = true
			if g.name != "" {
				m.named[g.name] = true
			}
		}
	}
	refs := varRefs(d.Arg(0))
	for _, r := range refs {
		if _, ok := referenced[r]; !ok {
			referenced[r] = d
		}
	}
	if len(refs) >= 2 {
		*exprs = append(*exprs, exprUse{d: d, refs: refs})
	}
}

// mapCaptureHits finds CVE-2026-42533's shapes (b76754049): a string
// reading a capture a regex map sets ($1-$9, or one of the map's named
// groups) and then the map's variable, so the capture is measured before
// the map runs and copied after it changed; and a volatile regex map whose
// source reads a capture its own keys set, so that each evaluation is
// longer than the last.
func mapCaptureHits(maps []*mapInfo, exprs []exprUse, referenced map[string]*nginxconf.Directive) []secHit {
	byVar := map[string]*mapInfo{}
	for _, m := range maps {
		if m.regex && m.variable != "" {
			byVar[m.variable] = m
		}
	}
	var hits []secHit
	if len(byVar) == 0 {
		return nil
	}
	for _, e := range exprs {
		var seen []string
		found := false
		for _, r := range e.refs {
			if m := byVar[r]; m != nil {
				for _, s := range seen {
					if (isCaptureRef(s) && m.groups) || m.named[s] {
						hits = append(hits, secHit{d: e.d, why: fmt.Sprintf("$%s read before $%s of the regex map at %s", clipName(s, 24), clipName(r, 24), lineRef(e.d, m.d)),
							also: []secPartner{{m.d, "the regex map that sets $" + s}}})
						found = true
						break
					}
				}
			}
			if found {
				break
			}
			seen = append(seen, r)
		}
	}
	for _, m := range maps {
		if !m.volatile || !m.regex {
			continue
		}
		user := referenced[m.variable]
		if user == nil {
			continue
		}
		for _, s := range m.source {
			if (isCaptureRef(s) && m.groups) || m.named[s] {
				hits = append(hits, secHit{d: m.d, why: fmt.Sprintf("volatile regex map keyed on its own capture $%s", clipName(s, 24)),
					also: []secPartner{{user, "reads $" + m.variable}}})
				break
			}
		}
	}
	return hits
}

// scriptScope is the block whose rewrite-module directives run as one
// script (one ngx_http_script_engine_t): the enclosing location or server,
// an "if" block belonging to it. Nil outside both.
func scriptScope(parents []*nginxconf.Directive) *nginxconf.Directive {
	for i := len(parents) - 1; i >= 0; i-- {
		switch parents[i].Name {
		case "location", "server":
			return parents[i]
		case "if":
			continue
		default:
			return nil
		}
	}
	return nil
}

// rewriteParts is what the rewrite module makes of a rewrite's
// replacement (ngx_http_rewrite): a redirect (a "redirect" or "permanent"
// flag, or a replacement starting with http:// or https://), arguments
// (a '?' other than a last one, which only drops the request's
// arguments, and not in a redirect), and whether the script stops after
// it (any flag).
type rewriteParts struct {
	redirect, args, stops bool
	repl                  string
}

func parseRewrite(d *nginxconf.Directive) rewriteParts {
	repl := d.Arg(1)
	flag := d.Arg(2)
	p := rewriteParts{repl: repl, stops: flag != ""}
	p.redirect = flag == "redirect" || flag == "permanent" ||
		strings.HasPrefix(repl, "http://") || strings.HasPrefix(repl, "https://") || strings.HasPrefix(repl, "$scheme")
	if p.redirect {
		p.stops = true
	}
	p.args = !p.redirect && strings.Contains(strings.TrimSuffix(repl, "?"), "?")
	return p
}

// rewriteScript follows CVE-2026-42945 (2046b45aa, 475732a3f): a rewrite
// with arguments in its replacement sets the script's is_args flag, which
// stayed set for the rest of the script, so a later set or if that reads
// $1-$9 measured the capture unescaped and copied it escaped; so did a
// later rewrite whose replacement is measured by length codes (it reads a
// variable or a capture twice) and reads a capture before its own '?'.
// The first rewrite must not end the script (no flag). It reports the hit
// at the rewrite, once.
func rewriteScript(d *nginxconf.Directive, parents []*nginxconf.Directive, pending map[*nginxconf.Directive]*nginxconf.Directive, reported map[*nginxconf.Directive]bool) (secHit, bool) {
	scope := scriptScope(parents)
	if scope == nil {
		return secHit{}, false
	}
	var out secHit
	ok := false
	if r := pending[scope]; r != nil && !reported[r] {
		reads := ""
		switch d.Name {
		case "set":
			if len(d.Args) > 1 {
				reads = firstCapture(d.Args[1].Value)
			}
		case "if":
			for _, a := range d.Args {
				if c := firstCapture(a.Value); c != "" {
					reads = c
					break
				}
			}
		case "rewrite":
			p := parseRewrite(d)
			if !p.redirect && lengthCoded(p.repl) {
				before, _, _ := strings.Cut(p.repl, "?")
				reads = firstCapture(before)
			}
		}
		if reads != "" {
			reported[r] = true
			out = secHit{d: r, why: fmt.Sprintf("rewrite with arguments, then %s reads $%s at %s", d.Name, reads, lineRef(r, d)),
				also: []secPartner{{d, "reads a capture escaped into a buffer measured unescaped"}}}
			ok = true
		}
	}
	if d.Name == "rewrite" && pending[scope] == nil {
		if p := parseRewrite(d); p.args && !p.stops {
			pending[scope] = d
		}
	}
	return out, ok
}

// nestedCaptureRewrite follows CVE-2026-9256 (ca4f92a27): a replacement
// with captures and no variable (so its buffer is sized from the captures,
// each once, plus one escaping allowance for the whole URI) that reads two
// captures one of which lies inside the other, escaped, because the
// rewrite redirects, has arguments, or follows a rewrite with arguments
// in the same script (staleArgs).
func nestedCaptureRewrite(d *nginxconf.Directive, staleArgs bool) (secHit, bool) {
	p := parseRewrite(d)
	if lengthCoded(p.repl) || strings.HasPrefix(p.repl, "$scheme") {
		return secHit{}, false
	}
	escaped := ""
	switch {
	case p.redirect:
		escaped = "a redirect"
	case p.args:
		escaped = "arguments"
	case staleArgs:
		escaped = "a rewrite with arguments before it"
	default:
		return secHit{}, false
	}
	groups := captureGroups(d.Arg(0))
	var nums []int
	for _, r := range varRefs(p.repl) {
		if isCaptureRef(r) {
			nums = append(nums, int(r[0]-'0'))
		}
	}
	for i, a := range nums {
		for _, b := range nums[i+1:] {
			if a > len(groups) || b > len(groups) {
				continue
			}
			if groups[a-1].overlaps(groups[b-1]) {
				return secHit{d: d, why: fmt.Sprintf("rewrite reads nested captures $%d and $%d with %s", a, b, escaped)}, true
			}
		}
	}
	return secHit{}, false
}

// lengthCoded reports whether the rewrite module sizes the replacement
// with length codes rather than from the captures: it reads a variable,
// or a capture twice (ngx_http_rewrite: sc.variables, sc.dup_capture).
func lengthCoded(repl string) bool {
	seen := map[string]bool{}
	for _, r := range varRefs(repl) {
		if !isCaptureRef(r) || seen[r] {
			return true
		}
		seen[r] = true
	}
	return false
}

// clipName shortens a name from the configuration to n bytes for a headline.
func clipName(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}

// firstCapture is the first $1-$9 that s reads, "" if none.
func firstCapture(s string) string {
	for _, r := range varRefs(s) {
		if isCaptureRef(r) {
			return r
		}
	}
	return ""
}

// ifRegexCaptures reports whether an "if" matches a regex with a
// capturing group.
func ifRegexCaptures(d *nginxconf.Directive) bool {
	for i, a := range d.Args {
		switch a.Value {
		case "~", "~*", "!~", "!~*":
			if i+1 < len(d.Args) {
				re := d.Args[i+1].Value
				if i+2 == len(d.Args) {
					re = strings.TrimSuffix(re, ")")
				}
				return len(captureGroups(re)) > 0
			}
		}
	}
	return false
}

// isCaptureRef reports whether a variable reference is $1-$9.
func isCaptureRef(r string) bool { return len(r) == 1 && r[0] >= '1' && r[0] <= '9' }

// varRefs lists the variables s reads as nginx's script compiler splits
// it: "$1"-"$9" as "1"-"9" (a digit after '$' is a capture and what
// follows is text), "${name}" and "$name" as name.
func varRefs(s string) []string {
	var out []string
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			continue
		}
		c := s[i+1]
		switch {
		case c >= '1' && c <= '9':
			out = append(out, s[i+1:i+2])
			i++
		case c == '{':
			if j := strings.IndexByte(s[i+2:], '}'); j > 0 {
				out = append(out, s[i+2:i+2+j])
				i += 2 + j
			}
		default:
			j := i + 1
			for j < len(s) && (s[j] == '_' || s[j] >= '0' && s[j] <= '9' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z') {
				j++
			}
			if j > i+1 {
				out = append(out, s[i+1:j])
				i = j - 1
			}
		}
	}
	return out
}

// reGroup is one capturing group of a PCRE pattern: where it opens and
// closes, its name, and whether it sits inside a lookaround (where its
// text may overlap any other group's).
type reGroup struct {
	start, end int
	name       string
	look       bool
}

// overlaps reports whether two groups can capture overlapping text.
func (g reGroup) overlaps(h reGroup) bool {
	if g.look || h.look {
		return true
	}
	return g.start <= h.start && h.end <= g.end || h.start <= g.start && g.end <= h.end
}

// captureGroups returns the capturing groups of a PCRE pattern in capture
// number order. It skips escapes, \Q...\E, character classes, comments
// and the non-capturing forms; a group left open ends at the pattern's
// end.
func captureGroups(re string) []reGroup {
	var groups []reGroup
	type open struct {
		group int // index in groups, -1 for a non-capturing group
		look  bool
	}
	var stack []open
	inLook := func() bool {
		for _, o := range stack {
			if o.look {
				return true
			}
		}
		return false
	}
	for i := 0; i < len(re); i++ {
		switch re[i] {
		case '\\':
			if i+1 < len(re) && re[i+1] == 'Q' {
				if j := strings.Index(re[i+2:], `\E`); j >= 0 {
					i += 2 + j + 1
				} else {
					i = len(re)
				}
				continue
			}
			i++
		case '[':
			j := i + 1
			if j < len(re) && re[j] == '^' {
				j++
			}
			if j < len(re) && re[j] == ']' {
				j++
			}
			for j < len(re) && re[j] != ']' {
				switch {
				case re[j] == '\\':
					j++
				case re[j] == '[' && j+1 < len(re) && re[j+1] == ':':
					if k := strings.Index(re[j:], ":]"); k > 0 {
						j += k + 1
					}
				}
				j++
			}
			i = j
		case '(':
			rest := re[i+1:]
			o := open{group: -1}
			name := ""
			capturing := true
			switch {
			case strings.HasPrefix(rest, "?#"):
				if j := strings.IndexByte(rest, ')'); j >= 0 {
					i += 1 + j
				} else {
					i = len(re)
				}
				continue
			case strings.HasPrefix(rest, "?<=") || strings.HasPrefix(rest, "?<!") || strings.HasPrefix(rest, "?=") || strings.HasPrefix(rest, "?!"):
				capturing, o.look = false, true
			case strings.HasPrefix(rest, "?P<"):
				name = groupName(rest[3:], '>')
			case strings.HasPrefix(rest, "?<"):
				name = groupName(rest[2:], '>')
			case strings.HasPrefix(rest, "?'"):
				name = groupName(rest[2:], '\'')
			case strings.HasPrefix(rest, "?") || strings.HasPrefix(rest, "*"):
				capturing = false
			}
			if strings.HasPrefix(rest, "?") && name == "" && !o.look {
				capturing = false
			}
			if capturing {
				o.group = len(groups)
				groups = append(groups, reGroup{start: i, end: len(re), name: name, look: inLook()})
			}
			stack = append(stack, o)
		case ')':
			if n := len(stack); n > 0 {
				if g := stack[n-1].group; g >= 0 {
					groups[g].end = i
				}
				stack = stack[:n-1]
			}
		}
	}
	return groups
}

// groupName reads a group name up to its closing delimiter, "" if s does
// not start with one.
func groupName(s string, closing byte) string {
	j := strings.IndexByte(s, closing)
	if j <= 0 {
		return ""
	}
	for _, c := range s[:j] {
		if c != '_' && (c < '0' || c > '9') && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') {
			return ""
		}
	}
	return s[:j]
}

// parseNginxSize reads a size as nginx's ngx_parse_size does: bytes, or
// k/K, m/M, g/G suffixed.
func parseNginxSize(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	mult := int64(1)
	switch s[len(s)-1] {
	case 'k', 'K':
		mult = 1 << 10
	case 'm', 'M':
		mult = 1 << 20
	case 'g', 'G':
		mult = 1 << 30
	}
	if mult != 1 {
		s = s[:len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n * mult, true
}

// httpServerOf returns the http server block a directive is directly in,
// or the http block it is directly in; nil for both elsewhere (locations,
// stream, mail). A file holding bare server blocks (an http-context
// include) has no http block: its servers group under nil.
func httpServerOf(parents []*nginxconf.Directive) (srv, http *nginxconf.Directive) {
	n := len(parents)
	if n == 0 {
		return nil, nil
	}
	last := parents[n-1]
	switch {
	case last.Name == "http" && n == 1:
		return nil, last
	case last.Name == "server" && n == 2 && parents[0].Name == "http":
		return last, parents[0]
	case last.Name == "server" && n == 1:
		return last, nil
	}
	return nil, nil
}

// collectTLS records the directives of a server or http block that the
// TLS gates read.
func collectTLS(d, srv, http *nginxconf.Directive, serverOf map[*nginxconf.Directive]*tlsServer, servers *[]*tlsServer, httpLevel map[*nginxconf.Directive]*tlsLevel) {
	var lv *tlsLevel
	var s *tlsServer
	if srv != nil {
		s = serverOf[srv]
		if s == nil {
			s = &tlsServer{d: srv, http: http}
			serverOf[srv] = s
			*servers = append(*servers, s)
		}
		lv = &s.tlsLevel
	} else {
		lv = httpLevel[http]
		if lv == nil {
			lv = &tlsLevel{}
			httpLevel[http] = lv
		}
	}
	switch d.Name {
	case "listen":
		if s != nil {
			s.listens = append(s.listens, d)
		}
	case "ssl":
		if s != nil && d.Arg(0) == "on" {
			s.sslOn = true
		}
	case "ssl_verify_client":
		lv.verify = d
	case "ssl_session_cache":
		lv.cache = d
	case "ssl_protocols":
		lv.protocols = d
	case "ssl_session_ticket_key":
		lv.tickets = append(lv.tickets, d)
	}
}

// gateHit is a hit with its gate, for collectors that serve several.
type gateHit struct {
	gate cveGate
	secHit
}

// tlsListen is the socket of a listen that speaks TLS (with ssl or quic,
// or any listen of a server with "ssl on"), as listenKey names it.
func tlsListen(l *nginxconf.Directive, sslOn bool) (string, bool) {
	key, ok := listenKey(l)
	if !ok {
		return "", false
	}
	for _, a := range l.Args[1:] {
		if a.Value == "ssl" || a.Value == "quic" {
			return key, true
		}
	}
	return key, sslOn
}

// tlsHits finds CVE-2025-23419's and CVE-2014-3616's shapes among the
// http servers.
//
// CVE-2025-23419 (46b9f5d38): with TLSv1.3 a session resumes in the
// default server's context before SNI picks the server, so a client
// holding a certificate one name-based server accepts could resume its
// session on another server of the same socket and skip that server's
// client certificate check (the commit's example: example.org and
// example.com, each with ssl_verify_client and its own CA). The shape is
// two or more servers checking client certificates on one TLS socket, with
// TLSv1.3 on (listed in ssl_protocols, or no ssl_protocols from 1.23.4,
// when it became the default). A session from a server that asks for no
// certificate carries none, and "ssl_verify_client on" refuses it.
//
// CVE-2014-3616 (6ec0f4d85, CHANGES 1.7.5): sessions were reused in
// unrelated server blocks sharing a session cache zone or a session
// ticket key.
func tlsHits(servers []*tlsServer, httpLevel map[*nginxconf.Directive]*tlsLevel) []gateHit {
	effective := func(s *tlsServer) tlsLevel {
		lv := s.tlsLevel
		h := httpLevel[s.http]
		if h == nil {
			return lv
		}
		if lv.verify == nil {
			lv.verify = h.verify
		}
		if lv.cache == nil {
			lv.cache = h.cache
		}
		if lv.protocols == nil {
			lv.protocols = h.protocols
		}
		if lv.tickets == nil {
			lv.tickets = h.tickets
		}
		return lv
	}
	type sock struct {
		http *nginxconf.Directive
		key  string
	}
	bySock := map[sock][]*tlsServer{}
	var socks []sock
	isTLS := map[*tlsServer]bool{}
	for _, s := range servers {
		for _, l := range s.listens {
			k, ok := tlsListen(l, s.sslOn)
			if !ok {
				continue
			}
			isTLS[s] = true
			sk := sock{s.http, k}
			if len(bySock[sk]) == 0 || bySock[sk][len(bySock[sk])-1] != s {
				if bySock[sk] == nil {
					socks = append(socks, sk)
				}
				bySock[sk] = append(bySock[sk], s)
			}
		}
	}
	var out []gateHit
	done := map[*nginxconf.Directive]bool{}
	for _, sk := range socks {
		group := bySock[sk]
		tls13, byDefault := false, false
		var verifying []*tlsServer
		for _, s := range group {
			lv := effective(s)
			if lv.verify != nil && lv.verify.Arg(0) != "off" {
				verifying = append(verifying, s)
			}
			if lv.protocols == nil {
				byDefault = true
				continue
			}
			for _, a := range lv.protocols.Args {
				if a.Value == "TLSv1.3" {
					tls13 = true
				}
			}
		}
		if len(verifying) < 2 || !tls13 && !byDefault {
			continue
		}
		for i, s := range verifying {
			v := effective(s).verify
			if done[v] {
				continue
			}
			done[v] = true
			other := verifying[(i+1)%len(verifying)]
			h := secHit{d: v, why: fmt.Sprintf("ssl_verify_client on %s, as the server at %s", clipName(sk.key, 40), lineRef(v, other.d)),
				also: []secPartner{{other.d, "another server checking client certificates on the same TLS socket"}}}
			if !tls13 {
				h.since = tls13Default
			}
			out = append(out, gateHit{gateVerifyClient, h})
		}
	}
	type share struct {
		http *nginxconf.Directive
		key  string
	}
	users := map[share][]*tlsServer{}
	decl := map[share]*nginxconf.Directive{}
	var shares []share
	note := func(k share, d *nginxconf.Directive, s *tlsServer) {
		if users[k] == nil {
			shares = append(shares, k)
			decl[k] = d
		}
		users[k] = append(users[k], s)
	}
	for _, s := range servers {
		if !isTLS[s] {
			continue
		}
		lv := effective(s)
		if c := lv.cache; c != nil {
			for _, a := range c.Args {
				if name, ok := strings.CutPrefix(a.Value, "shared:"); ok {
					name, _, _ = strings.Cut(name, ":")
					note(share{s.http, "ssl_session_cache shared:" + name}, c, s)
				}
			}
		}
		for _, t := range lv.tickets {
			note(share{s.http, "ssl_session_ticket_key " + t.Arg(0)}, t, s)
		}
	}
	for _, k := range shares {
		if us := users[k]; len(us) >= 2 {
			d := decl[k]
			out = append(out, gateHit{gateSessionShared, secHit{d: d, why: fmt.Sprintf("%s serves %d SSL servers", clipName(k.key, 64), len(us)),
				also: []secPartner{{us[0].d, "an SSL server using it"}, {us[1].d, "another SSL server using it"}}}})
		}
	}
	return out
}

// collectMail records what the mail gates read: each server's protocol
// and listen ports, the resolvers and the starttls directives.
func collectMail(d *nginxconf.Directive, parents []*nginxconf.Directive, servers map[*nginxconf.Directive]*mailServer, order *[]*mailServer, resolvers, starttls *[]scoped) {
	if len(parents) >= 2 && parents[1].Name == "server" {
		srv := parents[1]
		m := servers[srv]
		if m == nil {
			m = &mailServer{d: srv, mail: parents[0]}
			servers[srv] = m
			*order = append(*order, m)
		}
		switch d.Name {
		case "protocol":
			m.protocol = strings.ToLower(d.Arg(0))
		case "listen":
			addr := d.Arg(0)
			if i := strings.LastIndexByte(addr, ':'); i >= 0 {
				addr = addr[i+1:]
			}
			m.ports = append(m.ports, addr)
		}
	}
	switch d.Name {
	case "resolver":
		if d.Arg(0) != "off" {
			*resolvers = append(*resolvers, newScoped(d, parents))
		}
	case "starttls":
		if d.Arg(0) == "on" || d.Arg(0) == "only" {
			*starttls = append(*starttls, newScoped(d, parents))
		}
	}
}

// mailHits finds the mail gates whose condition is SMTP proxying:
// CVE-2026-28753 (6f3145006, 3435b6e36), where the client's host name
// comes from a PTR lookup only when a resolver is set, and is passed
// unchecked to auth_http and XCLIENT by the SMTP module; CVE-2014-3556
// (44f45a546), where commands pipelined after STARTTLS were kept by the
// SMTP module.
func mailHits(servers map[*nginxconf.Directive]*mailServer, order []*mailServer, resolvers, starttls []scoped) []gateHit {
	// smtpUnder is the first SMTP server a directive applies to: its own
	// server, or any server of the mail block it is written in.
	smtpUnder := func(s scoped) *mailServer {
		blk := s.block()
		if m := servers[blk]; m != nil {
			if m.smtp() {
				return m
			}
			return nil
		}
		for _, m := range order {
			if m.mail == blk && m.smtp() {
				return m
			}
		}
		return nil
	}
	var out []gateHit
	for _, r := range resolvers {
		if m := smtpUnder(r); m != nil {
			out = append(out, gateHit{gateMailPTR, secHit{d: r.d, why: "a mail resolver naming SMTP clients for auth_http and XCLIENT (server at " + lineRef(r.d, m.d) + ")",
				also: []secPartner{{m.d, "the SMTP server whose clients are named"}}}})
		}
	}
	for _, s := range starttls {
		if m := smtpUnder(s); m != nil {
			out = append(out, gateHit{gateMailSTARTTLS, secHit{d: s.d, why: "starttls in SMTP proxying (server at " + lineRef(s.d, m.d) + ")",
				also: []secPartner{{m.d, "the SMTP server"}}}})
		}
	}
	return out
}

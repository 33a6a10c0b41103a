package emulator

import (
	"strconv"
	"strings"

	"github.com/ngxlint/ngxlint/nginxconf"
)

// tryFiles is try_files in NGX_HTTP_PRECONTENT_PHASE
// (ngx_http_try_files_module.c ngx_http_try_files_handler): each argument
// but the last is mapped under root and tested (a trailing '/' tests for a
// directory); the first that exists becomes $uri and the request goes on
// to the content handler in the same location. When none does, the last
// argument is a status ("=404"), a named location, or a URI for an
// internal redirect. It reports whether it handled the request itself.
//
// The module has no merge function: try_files is not inherited, so an if
// block that matched (whose configuration replaces the location's) has
// none, which is why "if" in a location with try_files is evil.
func (st *reqState) tryFiles() bool {
	var tf *nginxconf.Directive
	if st.ifBlock == nil {
		if ds := st.scopeOf().Own("try_files"); len(ds) > 0 {
			tf = ds[0]
		}
	} else if st.loc != nil && len(st.loc.Own("try_files")) > 0 {
		st.x.TryFilesSkipped = true
		st.x.Trace = append(st.x.Trace, "try_files not applied: the matching if block's configuration has none (try_files is not inherited)")
	}
	if tf == nil || len(tf.Args) < 2 {
		return false
	}
	root, aliased := st.docRoot()
	if aliased {
		st.x.Unmodelled = append(st.x.Unmodelled, "try_files with alias")
		return false
	}
	for _, a := range tf.Args[:len(tf.Args)-1] {
		v := st.eval(a.Value)
		dir := strings.HasSuffix(v, "/") && len(v) > 1
		p := root + strings.TrimSuffix(v, "/")
		info, err := st.stat(p)
		if err != nil || info.IsDir() != dir {
			st.x.Trace = append(st.x.Trace, "try_files: "+p+" no")
			continue
		}
		st.x.Trace = append(st.x.Trace, "try_files: "+p+" yes, $uri = "+v)
		st.uri = strings.TrimSuffix(v, "/")
		if dir {
			st.uri += "/"
		}
		return false
	}
	last := st.eval(tf.Args[len(tf.Args)-1].Value)
	switch {
	case strings.HasPrefix(last, "="):
		code, err := strconv.Atoi(last[1:])
		if err != nil {
			st.x.Unmodelled = append(st.x.Unmodelled, "try_files "+last)
			return false
		}
		st.finish(code, "", "")
	case strings.HasPrefix(last, "@"):
		for _, l := range st.site.Server.AllLocations {
			if l.Modifier == "@" && l.Path == last[1:] || l.Modifier == "" && l.Path == last {
				st.serve(l)
				return true
			}
		}
		st.finish(500, "", "") // ngx_http_named_location: "could not find named location"
	default:
		st.cycles++
		if st.cycles > maxCycles+1 {
			st.finish(500, "", "")
			st.x.Trace = append(st.x.Trace, "rewrite or internal redirection cycle: 500")
			return true
		}
		p, args, has := strings.Cut(last, "?")
		st.uri = p
		if has {
			st.args, st.hasArgs = args, true
		}
		st.x.Trace = append(st.x.Trace, "try_files: internal redirect to "+last)
		st.serve(nil)
	}
	return true
}

// docRoot is the root the URI maps under (without a trailing '/'), and
// whether an alias applies instead (ngx_http_map_uri_to_path).
func (st *reqState) docRoot() (string, bool) {
	for s := st.scopeOf(); s != nil; s = s.Parent {
		if len(s.Own("alias")) > 0 && st.loc != nil {
			return "", true
		}
		if ds := s.Own("root"); len(ds) > 0 {
			r := st.eval(ds[0].Arg(0))
			if !strings.HasPrefix(r, "/") {
				r = "/" + r
			}
			return strings.TrimSuffix(r, "/"), false
		}
	}
	return "/html", false
}

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/versions"
)

// Where -V says modules live and where prefix-relative load_module paths
// resolve (nginx resolves load_module against the prefix,
// ngx_conf_full_name in ngx_load_module).
var (
	reModulesPath = regexp.MustCompile(`--modules-path=(\S+)`)
	rePrefix      = regexp.MustCompile(`--prefix=(\S+)`)
)

// luaModuleNames are the file names lua-nginx-module is built as.
var luaModuleNames = []string{"ngx_http_lua_module.so"}

// luaModuleCandidates lists the .so files to look at, best first: the
// load_module lines of the loaded configurations (what this nginx really
// loads), then the -V modules path, then <prefix>/modules, then the Debian
// and generic locations.
func luaModuleCandidates(vOut string, cfgs []*nginxconf.Config) []string {
	prefix := ""
	if m := rePrefix.FindStringSubmatch(vOut); m != nil {
		prefix = strings.Trim(m[1], `'"`)
	}
	var out []string
	seen := map[string]bool{}
	add := func(p string) {
		if p != "" && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, cfg := range cfgs {
		cfg.Walk(func(d *nginxconf.Directive, _ []*nginxconf.Directive) bool {
			if d.Name == "load_module" && strings.Contains(d.Arg(0), "lua") {
				p := d.Arg(0)
				if !filepath.IsAbs(p) && prefix != "" {
					p = filepath.Join(prefix, p)
				}
				add(p)
			}
			return true
		})
	}
	var dirs []string
	if m := reModulesPath.FindStringSubmatch(vOut); m != nil {
		dirs = append(dirs, strings.Trim(m[1], `'"`))
	}
	if prefix != "" {
		dirs = append(dirs, filepath.Join(prefix, "modules"))
	}
	dirs = append(dirs, "/usr/share/nginx/modules", "/usr/lib/nginx/modules")
	for _, d := range dirs {
		for _, n := range luaModuleNames {
			add(filepath.Join(d, n))
		}
	}
	return out
}

// nginxBinaryProfile runs `binary -V` and derives the versions. For stock
// nginx without the module version in -V, it looks for the module .so and
// reads the version from it; if none is found the module stays unknown and
// a note says to pass --lua-nginx-module-version.
func nginxBinaryProfile(ctx context.Context, binary, lnmOverride string, cfgs []*nginxconf.Config) (versions.Profile, []string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, binary, "-V").CombinedOutput()
	if err != nil {
		return versions.Profile{}, nil, usagef("running %s -V: %v", binary, err)
	}
	return profileFromV(string(out), lnmOverride, cfgs, os.Open)
}

// profileFromV is the testable part of nginxBinaryProfile: -V output in,
// profile out, with open used to read module files.
func profileFromV(vOut, lnmOverride string, cfgs []*nginxconf.Config, open func(string) (*os.File, error)) (versions.Profile, []string, error) {
	p, note, err := versions.FromNginxV(vOut, lnmOverride)
	if err != nil {
		return p, nil, usagef("nginx -V: %v", err)
	}
	if p.HasLNM() || p.IsOpenResty() {
		var notes []string
		if note != "" {
			notes = append(notes, note)
		}
		return p, notes, nil
	}
	for _, cand := range luaModuleCandidates(vOut, cfgs) {
		f, err := open(cand)
		if err != nil {
			continue
		}
		v, err := versions.LuaModuleVersion(f)
		f.Close()
		if err != nil || v == "" {
			continue
		}
		q, err := versions.Resolve(p.Nginx.String(), v, "")
		if err != nil {
			continue
		}
		return q, []string{fmt.Sprintf("lua-nginx-module %s read from %s", v, cand)}, nil
	}
	if note == "" {
		note = "the lua-nginx-module version is not in -V output"
	}
	return p, []string{note + "; no lua module .so with a version string was found (looked at the config's load_module lines and the modules path): pass --lua-nginx-module-version"}, nil
}

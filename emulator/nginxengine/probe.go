package nginxengine

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/ngxlint/ngxlint/versions"
)

// DebianLNM is the lua-nginx-module version assumed for a stock nginx whose
// dynamic Lua module carries no readable version: Debian 12's
// libnginx-mod-http-lua 1:0.10.23.
const DebianLNM = "0.10.23"

// Binary describes an nginx binary as `nginx -V` and its module directory
// show it.
type Binary struct {
	Path string
	// V is the raw output of `nginx -V`.
	V string
	// Profile holds the versions read from the binary; it is what the
	// emulator must be configured with to be compared to this binary.
	Profile versions.Profile
	// LNMSource says where Profile.LNM came from: "flag", "-V",
	// "module file <path>" or "default (Debian 12)".
	LNMSource string
	// Prefix is the compiled-in --prefix, used to resolve relative
	// load_module paths of the user's config (nginx resolves them against
	// the prefix, which the engine replaces by a temporary one).
	Prefix string
	// LuaStatic is set when lua-nginx-module is compiled in (OpenResty,
	// --add-module); then no load_module line is needed.
	LuaStatic bool
	// NDKModule and LuaModule are the absolute paths of the dynamic
	// ndk_http_module.so and ngx_http_lua_module.so when they exist.
	NDKModule, LuaModule string
	// StreamModule is the absolute path of ngx_stream_module.so when the
	// binary is built --with-stream=dynamic (Debian) and the file exists:
	// a configuration with stream{} needs it loaded.
	StreamModule string
	// HasErrorLogFlag is set for nginx >= 1.19.5, which has `-e file` to
	// redirect the error log used before the configuration is read.
	HasErrorLogFlag bool
	// Notes are human-readable remarks on what was assumed.
	Notes []string
}

// HasLua reports whether the binary can run Lua, statically or through a
// loadable module.
func (b *Binary) HasLua() bool { return b.LuaStatic || b.LuaModule != "" }

var (
	reConfigureArg = regexp.MustCompile(`--([a-z-]+)=(\S+)`)
	reStaticLua    = regexp.MustCompile(`--add-module=\S*(?:ngx_lua|lua-nginx-module|ngx_http_lua)`)
	// Version strings a lua-nginx-module .so may carry in its embedded
	// configure line, e.g. Debian's "libnginx-mod-http-lua-0.10.23".
)

// Probe runs `binary -V` and finds the Lua modules. lnmOverride, when not
// empty, is the lua-nginx-module version to use whatever the binary says.
func Probe(ctx context.Context, binary, lnmOverride string) (*Binary, error) {
	if errNoEngine != nil {
		return nil, errNoEngine
	}
	if binary == "" {
		return nil, fmt.Errorf("no nginx binary given")
	}
	abs, err := exec.LookPath(binary)
	if err != nil {
		return nil, fmt.Errorf("nginx binary %q: %w", binary, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := runGroup(ctx, "", abs, "-V")
	if err != nil {
		return nil, fmt.Errorf("%s -V: %w\n%s", abs, err, out)
	}
	b := &Binary{Path: abs, V: out}
	b.Prefix = "/usr/local/nginx"
	modulesPath := ""
	for _, m := range reConfigureArg.FindAllStringSubmatch(out, -1) {
		v := strings.Trim(m[2], `'"`)
		switch m[1] {
		case "prefix":
			b.Prefix = v
		case "modules-path":
			modulesPath = v
		}
	}
	b.LuaStatic = reStaticLua.MatchString(out) || strings.Contains(out, "nginx version: openresty/")
	if !b.LuaStatic {
		dirs := []string{filepath.Join(b.Prefix, "modules")}
		if modulesPath != "" {
			dirs = append([]string{modulesPath}, dirs...)
		}
		dirs = append(dirs, "/usr/lib/nginx/modules", "/usr/share/nginx/modules")
		if strings.Contains(out, "--with-stream=dynamic") {
			for _, d := range dirs {
				if m := filepath.Join(d, "ngx_stream_module.so"); fileExists(m) {
					b.StreamModule = m
					break
				}
			}
		}
		for _, d := range dirs {
			lua := filepath.Join(d, "ngx_http_lua_module.so")
			ndk := filepath.Join(d, "ndk_http_module.so")
			if fileExists(lua) && fileExists(ndk) {
				b.LuaModule, b.NDKModule = lua, ndk
				break
			}
		}
	}

	lnm, source := lnmOverride, "flag"
	if lnm == "" {
		// versions.FromNginxV reads a version from --add-module paths and
		// from OpenResty's bundle version.
		if p, _, err := versions.FromNginxV(out, ""); err == nil && p.HasLNM() {
			lnm, source = p.LNM.String(), "-V"
		}
	}
	if lnm == "" && b.LuaModule != "" {
		if v := moduleVersion(b.LuaModule); v != "" {
			lnm, source = v, "module file "+b.LuaModule
		}
	}
	if lnm == "" && b.HasLua() {
		lnm, source = DebianLNM, "default (Debian 12)"
		b.Notes = append(b.Notes, "lua-nginx-module version not found in the binary; assumed "+DebianLNM+" (pass the version explicitly to override)")
	}
	if source == "flag" && lnmOverride == "" {
		source = ""
	}
	p, _, err := versions.FromNginxV(out, lnm)
	if err != nil {
		return nil, fmt.Errorf("%s -V: %w", abs, err)
	}
	b.Profile, b.LNMSource = p, source
	b.HasErrorLogFlag = p.Nginx.AtLeast("1.19.5")
	return b, nil
}

// moduleVersion reads the version a module file's build embedded
// (versions.LuaModuleVersion); "" when none is found or the file cannot be
// read.
func moduleVersion(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	v, _ := versions.LuaModuleVersion(f)
	return v
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// runGroup runs a short-lived nginx command in its own process group,
// returning its combined output. The group is killed when ctx ends, so a
// child that forks cannot outlive the call.
func runGroup(ctx context.Context, dir, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	setGroup(cmd)
	if err := startTracked(cmd); err != nil {
		return "", err
	}
	err := waitTracked(cmd)
	killGroup(cmd)
	sweepEscaped()
	return buf.String(), err
}

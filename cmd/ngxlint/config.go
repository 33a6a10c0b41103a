package main

import (
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/directives"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/versions"
)

// configFileName is the project configuration file, found by walking up
// from each target (README "Configuration file").
const configFileName = ".ngxlint.yaml"

// fileConfig is a parsed .ngxlint.yaml. Every rule name in it has been
// checked against the registry, and every severity parsed, so a typo fails
// the run (exit 2) instead of silently doing nothing in CI.
type fileConfig struct {
	// Path is the file as given or found; Dir is its directory, against
	// which paths[].glob and targets are matched.
	Path, Dir string
	Versions  struct {
		Nginx, LNM, OpenResty string
	}
	Enable, Disable []string
	// Severity maps a rule ID to its overridden severity.
	Severity map[string]analyzer.Severity
	Paths    []pathRule
	Settings map[string]string
	// Targets are main configuration files, relative to Dir; see
	// resolveTargets.
	Targets []string
	// PathMap maps absolute deployment paths written in the configuration
	// (lua_package_path, *_by_lua_file, includes) to directories of this
	// tree, in order; To is relative to Dir.
	PathMap []pathMapping
	// Emulate holds the fixtures the emulator gives the user's Lua.
	Emulate fixtures
	// Modules is the build's declared modules (modules:), validated
	// against the directive table; nil when the key is absent.
	Modules *directives.ModuleSet
}

// pathMapping is one path_map entry: From is an absolute prefix as the
// deployment writes it, To an absolute directory inside the tree.
type pathMapping struct{ From, To string }

// nginxPathMap is the path map as the loader takes it.
func (cfg *fileConfig) nginxPathMap() []nginxconf.PathMapping {
	var out []nginxconf.PathMapping
	for _, m := range cfg.PathMap {
		out = append(out, nginxconf.PathMapping{From: m.From, To: m.To})
	}
	return out
}

// fixtures are what a balancer needs from outside the configuration to
// run in the emulator (data only: nothing here runs outside the sandbox or
// reaches the real environment).
type fixtures struct {
	SharedDicts map[string]map[string]string // lua_shared_dict name -> key -> value
	Env         map[string]string            // what os.getenv returns
	Modules     map[string]string            // module name -> stub file, relative to Dir
	Vars        map[string]string            // ngx.var values
}

// pathRule turns rules off for files matching a glob.
type pathRule struct {
	Glob    string
	re      *regexp.Regexp
	Disable []string
}

// configError is a malformed configuration file: file:line:col and what
// is wrong. It exits 2 like any usage error.
func configError(file string, n *yaml.Node, format string, args ...any) error {
	if n == nil {
		return usagef("%s: %s", file, fmt.Sprintf(format, args...))
	}
	return usagef("%s:%d:%d: %s", file, n.Line, n.Column, fmt.Sprintf(format, args...))
}

// findConfigFile walks up from target's directory to the file system root
// looking for .ngxlint.yaml. It returns "" when there is none.
func findConfigFile(target string) string {
	abs, err := filepath.Abs(target)
	if err != nil {
		return ""
	}
	dir := abs
	if st, err := os.Stat(abs); err != nil || !st.IsDir() {
		dir = filepath.Dir(abs)
	}
	for {
		p := filepath.Join(dir, configFileName)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// ruleLookup resolves rule selectors; it is the rule registry plus the
// built-in suppression rules NGX0001 and NGX0002.
type ruleLookup struct {
	rules []*analyzer.Rule
}

func newRuleLookup(reg *analyzer.Registry) ruleLookup {
	return ruleLookup{rules: append(reg.All(), builtinRules()...)}
}

func builtinRules() []*analyzer.Rule {
	return []*analyzer.Rule{analyzer.InvalidIgnoreRule, analyzer.UnusedIgnoreRule}
}

// match returns the rules a selector names (ID, slug or prefix*; a leading
// '-' is allowed, as in --enable "LUA2*,-LUA2003").
func (l ruleLookup) match(sel string) []*analyzer.Rule {
	sel = strings.TrimPrefix(strings.TrimSpace(sel), "-")
	var out []*analyzer.Rule
	for _, r := range l.rules {
		if r.Matches(sel) {
			out = append(out, r)
		}
	}
	return out
}

// loadFileConfig reads and validates one configuration file.
func loadFileConfig(file string, rules ruleLookup) (*fileConfig, error) {
	data, err := readConfigFile(file)
	if err != nil {
		return nil, usagef("config file: %v", err)
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, usagef("config file: %v", err)
	}
	cfg := &fileConfig{Path: file, Dir: filepath.Dir(abs)}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		// yaml.v3 errors read "yaml: line N: ...": keep them, prefixed with
		// the file so editors can jump there.
		return nil, usagef("%s: %s", file, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return cfg, nil // an empty file is a valid, empty configuration
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, configError(file, root, "the configuration must be a mapping of keys (versions, enable, disable, severity, paths, settings, targets)")
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if seen[k.Value] {
			return nil, configError(file, k, "duplicate key %q", k.Value)
		}
		seen[k.Value] = true
		switch k.Value {
		case "versions":
			if err := cfg.parseVersions(file, v); err != nil {
				return nil, err
			}
		case "enable", "disable":
			list, err := ruleList(file, k.Value, v, rules)
			if err != nil {
				return nil, err
			}
			if k.Value == "enable" {
				cfg.Enable = list
			} else {
				cfg.Disable = list
			}
		case "severity":
			if err := cfg.parseSeverity(file, v, rules); err != nil {
				return nil, err
			}
		case "paths":
			if err := cfg.parsePaths(file, v, rules); err != nil {
				return nil, err
			}
		case "settings":
			if v.Kind != yaml.MappingNode {
				return nil, configError(file, v, "settings must be a mapping of option: value")
			}
			cfg.Settings = map[string]string{}
			for j := 0; j+1 < len(v.Content); j += 2 {
				sk, sv := v.Content[j], v.Content[j+1]
				if sv.Kind != yaml.ScalarNode {
					return nil, configError(file, sv, "setting %q must be a single value", sk.Value)
				}
				// Only settings a rule declares are accepted: the file comes
				// with the repository under test, so it must neither reach
				// anything that is not a rule option (the confirmation engine
				// is a flag) nor have a typo silently ignored.
				if err := analyzer.CheckSetting(rules.rules, sk.Value, sv.Value); err != nil {
					n := sv
					if _, owners := analyzer.FindSetting(rules.rules, sk.Value); owners == nil {
						n = sk
					}
					return nil, configError(file, n, "%v", err)
				}
				cfg.Settings[sk.Value] = sv.Value
			}
		case "path_map":
			if err := cfg.parsePathMap(file, v); err != nil {
				return nil, err
			}
		case "emulate":
			if err := cfg.parseEmulate(file, v); err != nil {
				return nil, err
			}
		case "modules":
			if err := cfg.parseModules(file, v); err != nil {
				return nil, err
			}
		case "targets":
			list, err := stringList(file, "targets", v)
			if err != nil {
				return nil, err
			}
			// Targets are read as main configurations: from the repository
			// under test they may name only files of its own tree.
			for _, t := range list {
				p := filepath.Join(cfg.Dir, t)
				if filepath.IsAbs(t) || !within(realPath(p), []string{realPath(cfg.Dir)}) {
					return nil, configError(file, v, "target %q is outside the directory of %s; targets name files of this tree", t, configFileName)
				}
			}
			cfg.Targets = list
		default:
			return nil, configError(file, k, "unknown key %q (known: versions, enable, disable, severity, paths, settings, targets, path_map, emulate, modules)", k.Value)
		}
	}
	return cfg, nil
}

// parseModules reads
//
//	modules:
//	  load: [ngx_http_lua_module, headers-more-nginx-module]
//	  directives:
//	    - {name: company_auth, contexts: [location, if], args: "1-2", block: false}
//
// load names the third-party modules the build has (listing them makes
// the others absent); directives declares those of modules ngxlint does
// not know. directives.NewModuleSet validates both.
func (cfg *fileConfig) parseModules(file string, v *yaml.Node) error {
	const shape = "modules must be a mapping with load (module names) and directives (a list of {name, contexts, args, block})"
	if v.Kind != yaml.MappingNode {
		return configError(file, v, shape)
	}
	var load []string
	var extra []directives.Extra
	for j := 0; j+1 < len(v.Content); j += 2 {
		k, val := v.Content[j], v.Content[j+1]
		switch k.Value {
		case "load":
			list, err := stringList(file, "modules.load", val)
			if err != nil {
				return err
			}
			load = append([]string{}, list...)
		case "directives":
			if val.Kind != yaml.SequenceNode {
				return configError(file, val, shape)
			}
			for _, it := range val.Content {
				var e struct {
					Name     string   `yaml:"name"`
					Contexts []string `yaml:"contexts"`
					Args     string   `yaml:"args"`
					Block    bool     `yaml:"block"`
				}
				if err := it.Decode(&e); err != nil {
					return configError(file, it, "modules.directives: %v", err)
				}
				extra = append(extra, directives.Extra{Name: e.Name, Contexts: e.Contexts, Args: e.Args, Block: e.Block})
			}
		default:
			return configError(file, k, "unknown key modules.%s (known: load, directives)", k.Value)
		}
	}
	ms, err := directives.NewModuleSet(load, extra)
	if err != nil {
		return configError(file, v, "%v", err)
	}
	cfg.Modules = ms
	return nil
}

func (cfg *fileConfig) parseVersions(file string, v *yaml.Node) error {
	if v.Kind != yaml.MappingNode {
		return configError(file, v, "versions must be a mapping like {nginx: 1.22.1, lua_nginx_module: 0.10.23}")
	}
	for j := 0; j+1 < len(v.Content); j += 2 {
		k, val := v.Content[j], v.Content[j+1]
		if val.Kind != yaml.ScalarNode || val.Value == "" {
			return configError(file, val, "versions.%s must be a version string", k.Value)
		}
		// A YAML float like 1.22 would lose trailing zeros; versions are
		// read from the source text of the scalar, which yaml.v3 keeps.
		s := val.Value
		if err := checkVersion(s); err != nil {
			return configError(file, val, "versions.%s: %v", k.Value, err)
		}
		switch k.Value {
		case "nginx":
			cfg.Versions.Nginx = s
		case "lua_nginx_module", "lua-nginx-module", "lnm":
			cfg.Versions.LNM = s
		case "openresty":
			cfg.Versions.OpenResty = s
		default:
			return configError(file, k, "unknown version key %q (known: nginx, lua_nginx_module, openresty)", k.Value)
		}
	}
	return nil
}

func (cfg *fileConfig) parseSeverity(file string, v *yaml.Node, rules ruleLookup) error {
	if v.Kind != yaml.MappingNode {
		return configError(file, v, "severity must be a mapping of rule: error|warning|info")
	}
	cfg.Severity = map[string]analyzer.Severity{}
	for j := 0; j+1 < len(v.Content); j += 2 {
		k, val := v.Content[j], v.Content[j+1]
		rs := rules.match(k.Value)
		if len(rs) == 0 {
			return configError(file, k, "no rule matches %q%s (see ngxlint rules)", k.Value, ruleSuggestion(k.Value))
		}
		sev, err := analyzer.ParseSeverity(val.Value)
		if err != nil || val.Kind != yaml.ScalarNode {
			return configError(file, val, "severity of %s: want error, warning or info, got %q", k.Value, val.Value)
		}
		for _, r := range rs {
			cfg.Severity[r.ID] = sev
		}
	}
	return nil
}

func (cfg *fileConfig) parsePaths(file string, v *yaml.Node, rules ruleLookup) error {
	if v.Kind != yaml.SequenceNode {
		return configError(file, v, `paths must be a list of {glob: "conf.d/legacy/*.conf", disable: [...]}`)
	}
	for _, item := range v.Content {
		if item.Kind != yaml.MappingNode {
			return configError(file, item, `each paths entry must be a mapping {glob: ..., disable: [...]}`)
		}
		var pr pathRule
		var globNode *yaml.Node
		for j := 0; j+1 < len(item.Content); j += 2 {
			k, val := item.Content[j], item.Content[j+1]
			switch k.Value {
			case "glob":
				if val.Kind != yaml.ScalarNode || val.Value == "" {
					return configError(file, val, "paths[].glob must be a pattern")
				}
				pr.Glob, globNode = val.Value, val
			case "disable":
				list, err := ruleList(file, "disable", val, rules)
				if err != nil {
					return err
				}
				pr.Disable = list
			default:
				return configError(file, k, "unknown key %q in paths entry (known: glob, disable)", k.Value)
			}
		}
		if globNode == nil {
			return configError(file, item, "paths entry without glob")
		}
		re, err := globRegexp(pr.Glob)
		if err != nil {
			return configError(file, globNode, "bad glob %q: %v", pr.Glob, err)
		}
		pr.re = re
		cfg.Paths = append(cfg.Paths, pr)
	}
	return nil
}

func stringList(file, key string, v *yaml.Node) ([]string, error) {
	switch v.Kind {
	case yaml.ScalarNode: // "enable: NGX2001" or "enable: NGX2001,LUA2*"
		return splitList(v.Value), nil
	case yaml.SequenceNode:
		var out []string
		for _, it := range v.Content {
			if it.Kind != yaml.ScalarNode {
				return nil, configError(file, it, "%s entries must be strings", key)
			}
			out = append(out, it.Value)
		}
		return out, nil
	}
	return nil, configError(file, v, "%s must be a list", key)
}

// ruleList reads a list of rule selectors and checks each names a rule.
func ruleList(file, key string, v *yaml.Node, rules ruleLookup) ([]string, error) {
	list, err := stringList(file, key, v)
	if err != nil {
		return nil, err
	}
	nodes := v.Content
	for i, s := range list {
		if len(rules.match(s)) == 0 {
			n := v
			if i < len(nodes) {
				n = nodes[i]
			}
			return nil, configError(file, n, "%s: no rule matches %q%s (see ngxlint rules)", key, s, ruleSuggestion(s))
		}
	}
	return list, nil
}

// globRegexp compiles a path glob: '*' and '?' stay inside one path
// segment, "**" spans segments ("conf.d/**/*.conf"), [...] is a class, as
// in path.Match.
func globRegexp(g string) (*regexp.Regexp, error) {
	if _, err := path.Match(strings.ReplaceAll(g, "**", "*"), ""); err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(g); i++ {
		c := g[i]
		switch {
		case strings.HasPrefix(g[i:], "**/"):
			b.WriteString("(?:.*/)?")
			i += 2
		case strings.HasPrefix(g[i:], "**"):
			b.WriteString(".*")
			i++
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		case c == '[':
			j := strings.IndexByte(g[i:], ']')
			if j < 0 {
				return nil, path.ErrBadPattern
			}
			class := g[i+1 : i+j]
			if strings.HasPrefix(class, "^") || strings.HasPrefix(class, "!") {
				class = "^" + class[1:]
			}
			b.WriteString("[" + class + "]")
			i += j
		case c == '\\' && i+1 < len(g):
			i++
			b.WriteString(regexp.QuoteMeta(string(g[i])))
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// relToConfig returns file (a path as the loader names it: relative to the
// working directory or absolute) relative to the configuration file's
// directory, with forward slashes, for matching paths[].glob.
func (cfg *fileConfig) relToConfig(file string) string {
	abs, err := filepath.Abs(file)
	if err != nil {
		return filepath.ToSlash(file)
	}
	rel, err := filepath.Rel(cfg.Dir, abs)
	if err != nil {
		return filepath.ToSlash(abs)
	}
	return filepath.ToSlash(rel)
}

// keep says whether no paths[] entry turns d off for its file
// (ngxlint.Options.Keep).
func (cfg *fileConfig) keep(d *analyzer.Diagnostic) bool {
	return len(cfg.pathDisabled([]*analyzer.Diagnostic{d})) == 1
}

// pathDisabled drops the diagnostics that a paths[] entry turns off for
// the file they are in.
func (cfg *fileConfig) pathDisabled(ds []*analyzer.Diagnostic) []*analyzer.Diagnostic {
	if cfg == nil || len(cfg.Paths) == 0 {
		return ds
	}
	kept := ds[:0]
	for _, d := range ds {
		rel := cfg.relToConfig(d.Pos.File)
		drop := false
		for _, pr := range cfg.Paths {
			if !pr.re.MatchString(rel) {
				continue
			}
			for _, s := range pr.Disable {
				if d.Rule.Matches(strings.TrimPrefix(s, "-")) {
					drop = true
				}
			}
		}
		if !drop {
			kept = append(kept, d)
		}
	}
	return kept
}

func checkVersion(s string) error {
	_, err := versions.Parse(s)
	return err
}

// maxConfigFileSize bounds .ngxlint.yaml: it comes with the repository
// under test, and a real one is a few hundred bytes.
const maxConfigFileSize = 1 << 20

func readConfigFile(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxConfigFileSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", file, maxConfigFileSize)
	}
	return data, nil
}

// parsePathMap reads path_map: {"/usr/local/openresty/nginx/": "./"}. A
// target must stay inside the file's directory: the mapping only says
// where deployment paths live in this checkout.
func (cfg *fileConfig) parsePathMap(file string, v *yaml.Node) error {
	if v.Kind != yaml.MappingNode {
		return configError(file, v, `path_map must be a mapping like {"/usr/local/openresty/nginx/": "./"}`)
	}
	for j := 0; j+1 < len(v.Content); j += 2 {
		k, val := v.Content[j], v.Content[j+1]
		if k.Kind != yaml.ScalarNode || !strings.HasPrefix(k.Value, "/") {
			return configError(file, k, "path_map: %q is not an absolute path", k.Value)
		}
		if val.Kind != yaml.ScalarNode || filepath.IsAbs(val.Value) {
			return configError(file, val, "path_map: the target of %q must be a path relative to %s", k.Value, configFileName)
		}
		to := filepath.Join(cfg.Dir, val.Value)
		if !within(realPath(to), []string{realPath(cfg.Dir)}) {
			return configError(file, val, "path_map: %q is outside the directory of %s", val.Value, configFileName)
		}
		cfg.PathMap = append(cfg.PathMap, pathMapping{From: k.Value, To: to})
	}
	return nil
}

// parseEmulate reads the emulate: fixtures.
func (cfg *fileConfig) parseEmulate(file string, v *yaml.Node) error {
	if v.Kind != yaml.MappingNode {
		return configError(file, v, "emulate must be a mapping (shared_dicts, env, modules, vars)")
	}
	flat := func(n *yaml.Node, what string) (map[string]string, error) {
		if n.Kind != yaml.MappingNode {
			return nil, configError(file, n, "emulate.%s must be a mapping of name: value", what)
		}
		m := map[string]string{}
		for j := 0; j+1 < len(n.Content); j += 2 {
			k, val := n.Content[j], n.Content[j+1]
			if k.Kind != yaml.ScalarNode || val.Kind != yaml.ScalarNode {
				return nil, configError(file, val, "emulate.%s.%s must be a single value", what, k.Value)
			}
			m[k.Value] = val.Value
		}
		return m, nil
	}
	for j := 0; j+1 < len(v.Content); j += 2 {
		k, val := v.Content[j], v.Content[j+1]
		var err error
		switch k.Value {
		case "shared_dicts":
			if val.Kind != yaml.MappingNode {
				return configError(file, val, "emulate.shared_dicts must be a mapping of dict: {key: value}")
			}
			cfg.Emulate.SharedDicts = map[string]map[string]string{}
			for i := 0; i+1 < len(val.Content); i += 2 {
				m, err := flat(val.Content[i+1], "shared_dicts."+val.Content[i].Value)
				if err != nil {
					return err
				}
				cfg.Emulate.SharedDicts[val.Content[i].Value] = m
			}
		case "env":
			cfg.Emulate.Env, err = flat(val, "env")
		case "vars":
			cfg.Emulate.Vars, err = flat(val, "vars")
		case "modules":
			cfg.Emulate.Modules, err = flat(val, "modules")
			for name, stub := range cfg.Emulate.Modules {
				p := filepath.Join(cfg.Dir, stub)
				if filepath.IsAbs(stub) || !within(realPath(p), []string{realPath(cfg.Dir)}) {
					return configError(file, val, "emulate.modules.%s: %q is outside the directory of %s", name, stub, configFileName)
				}
				cfg.Emulate.Modules[name] = p
			}
		default:
			return configError(file, k, "unknown key emulate.%s (known: shared_dicts, env, modules, vars)", k.Value)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

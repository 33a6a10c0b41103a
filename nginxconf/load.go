package nginxconf

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Default limits, used when the corresponding Options field is zero.
const (
	DefaultMaxFileSize     = 64 << 20
	DefaultMaxIncludeDepth = 64
	DefaultMaxFiles        = 10000
)

// Options configures Load and LoadFile. Zero values select the defaults.
type Options struct {
	// Prefix is nginx's prefix (the -p option, or the compiled-in
	// NGX_PREFIX), against which lua-nginx-module resolves relative
	// *_by_lua_file paths (ngx_http_lua_rebase_path uses cycle->prefix, not
	// the configuration directory). When empty it is guessed from the main
	// file's directory D: the parent of D when D is named "conf" (the
	// <prefix>/conf/nginx.conf layout of nginx and OpenResty builds), D
	// itself otherwise. For Load a relative Prefix is taken from the root of
	// the fs.FS; for LoadFile from the working directory.
	Prefix string
	// MaxFileSize is the largest file read, in bytes.
	MaxFileSize int64
	// MaxIncludeDepth bounds how deeply includes may nest.
	MaxIncludeDepth int
	// MaxFiles bounds the number of files (configuration and Lua) read.
	MaxFiles int
	// MaxNesting bounds block nesting within one file.
	MaxNesting int
	// MaxDirectives bounds the directives of the whole configuration.
	MaxDirectives int
}

func (o Options) withDefaults() Options {
	if o.MaxFileSize <= 0 {
		o.MaxFileSize = DefaultMaxFileSize
	}
	if o.MaxIncludeDepth <= 0 {
		o.MaxIncludeDepth = DefaultMaxIncludeDepth
	}
	if o.MaxFiles <= 0 {
		o.MaxFiles = DefaultMaxFiles
	}
	if o.MaxNesting <= 0 {
		o.MaxNesting = DefaultMaxNesting
	}
	if o.MaxDirectives <= 0 {
		o.MaxDirectives = DefaultMaxDirectives
	}
	return o
}

// Config is a loaded configuration tree.
type Config struct {
	// Main is the main file; nil when it could not be read.
	Main *File
	// Files are the configuration files in the order nginx reads them
	// (the main file first, then each include's files at the point where
	// the include is read).
	Files []*File
	// LuaFiles are the files read for *_by_lua_file directives, each once,
	// in the order first referenced.
	LuaFiles []*File
	// Errors are all syntax and load errors, sorted by file (in read order)
	// then offset. Errors without a file come first.
	Errors []*Error
	// Prefix is the nginx prefix used to resolve *_by_lua_file paths, and
	// ConfPrefix the directory includes are resolved against (both as
	// absolute paths in nginx's view).
	Prefix, ConfPrefix string
}

// Err returns the first error, or nil when the configuration loaded cleanly.
func (c *Config) Err() error {
	if len(c.Errors) == 0 {
		return nil
	}
	return c.Errors[0]
}

// Load reads the configuration whose main file is name in fsys, follows its
// includes and reads its *_by_lua_file files. The root of fsys stands for
// "/" in nginx's view, so an absolute include "/etc/nginx/x.conf" is read
// from "etc/nginx/x.conf" in fsys, and positions name files by their path in
// fsys. It never returns nil and never panics on bad input. The files of
// an include glob are read concurrently, so fsys must allow concurrent
// Open/Stat calls (os.DirFS, fstest.MapFS and embed.FS do).
func Load(fsys fs.FS, name string, opts Options) *Config {
	abs := "/" + strings.TrimPrefix(path.Clean("/"+name), "/")
	l := newLoader(fsys, opts, func(a string) string {
		if a == "/" {
			return "."
		}
		return strings.TrimPrefix(a, "/")
	})
	prefix := opts.Prefix
	if prefix != "" && !strings.HasPrefix(prefix, "/") {
		prefix = "/" + prefix
	}
	return l.load(abs, prefix)
}

// LoadFile is Load for a file on the operating system's file system. path
// may be absolute or relative to the working directory. Positions name the
// main file as given, and other files relative to the working directory when
// they are below it, absolutely otherwise.
func LoadFile(p string, opts Options) *Config {
	cwd, cwdErr := os.Getwd()
	abs, err := filepath.Abs(p)
	if err != nil {
		c := &Config{}
		c.Errors = append(c.Errors, &Error{Pos: Pos{File: p}, Msg: err.Error()})
		return c
	}
	abs = filepath.ToSlash(abs)
	l := newLoader(os.DirFS("/"), opts, func(a string) string {
		if a == abs {
			return p
		}
		if cwdErr == nil {
			if rel, err := filepath.Rel(cwd, filepath.FromSlash(a)); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				return rel
			}
		}
		return a
	})
	prefix := opts.Prefix
	if prefix != "" {
		if ap, err := filepath.Abs(prefix); err == nil {
			prefix = filepath.ToSlash(ap)
		}
	}
	return l.load(abs, prefix)
}

type loader struct {
	fsys    fs.FS
	opts    Options
	display func(abs string) string
	cfg     *Config
	// chain holds the files being read, outermost first, and the include
	// directive that pulled each in (nil for the main file).
	chain    []*File
	nfiles   int
	luaFiles map[string]*File
	luaErrs  map[string]string
	tooMany  bool
	// budget is what may still be parsed (MaxDirectives).
	budget *budget
}

func newLoader(fsys fs.FS, opts Options, display func(string) string) *loader {
	return &loader{
		fsys:     fsys,
		opts:     opts.withDefaults(),
		display:  display,
		cfg:      &Config{},
		luaFiles: map[string]*File{},
		luaErrs:  map[string]string{},
		budget:   newBudget(opts.withDefaults().MaxDirectives),
	}
}

func (l *loader) load(mainAbs, prefix string) *Config {
	c := l.cfg
	c.ConfPrefix = path.Dir(mainAbs)
	if prefix == "" {
		prefix = c.ConfPrefix
		if path.Base(prefix) == "conf" {
			prefix = path.Dir(prefix)
		}
	}
	c.Prefix = path.Clean(prefix)
	data, err := l.read(mainAbs)
	if err != nil {
		// read names the file first; the position already does.
		msg := strings.TrimPrefix(err.Error(), l.display(mainAbs)+": ")
		c.Errors = append(c.Errors, &Error{Pos: Pos{File: l.display(mainAbs)}, Msg: msg})
		return c
	}
	c.Main = l.parse(mainAbs, data, nil)
	l.finish()
	return c
}

// finish gathers and sorts the errors.
func (l *loader) finish() {
	c := l.cfg
	order := make(map[string]int, len(c.Files))
	for i, f := range c.Files {
		order[f.Path] = i + 1
		c.Errors = append(c.Errors, f.Errors...)
	}
	sort.SliceStable(c.Errors, func(i, j int) bool {
		a, b := c.Errors[i].Pos, c.Errors[j].Pos
		if oa, ob := order[a.File], order[b.File]; oa != ob {
			return oa < ob
		}
		return a.Offset < b.Offset
	})
}

// read returns the content of the file at abs, refusing what nginx could
// not read as a configuration file (directories, FIFOs, devices) before
// opening it, so that a FIFO never blocks the load.
func (l *loader) read(abs string) ([]byte, error) {
	if err := l.countFile(); err != nil {
		return nil, err
	}
	data, err := l.readFile(abs)
	if err == nil {
		l.nfiles++
	}
	return data, err
}

// countFile refuses one more file past MaxFiles.
func (l *loader) countFile() error {
	if l.nfiles >= l.opts.MaxFiles {
		l.tooMany = true
		return fmt.Errorf("too many files: more than %d read", l.opts.MaxFiles)
	}
	return nil
}

// readFile is read without the file count: it touches no loader state,
// so prefetch workers call it concurrently.
func (l *loader) readFile(abs string) ([]byte, error) {
	name := strings.TrimPrefix(path.Clean(abs), "/")
	if name == "" {
		name = "."
	}
	if !fs.ValidPath(name) {
		return nil, fmt.Errorf("invalid path %q", short(abs))
	}
	fi, err := fs.Stat(l.fsys, name)
	if err != nil {
		return nil, l.cleanErr(abs, err)
	}
	if !fi.Mode().IsRegular() {
		kind := "not a regular file"
		switch {
		case fi.IsDir():
			kind = "is a directory"
		case fi.Mode()&fs.ModeNamedPipe != 0:
			kind = "is a FIFO"
		case fi.Mode()&fs.ModeDevice != 0:
			kind = "is a device"
		case fi.Mode()&fs.ModeSocket != 0:
			kind = "is a socket"
		}
		return nil, fmt.Errorf("%s: %s", l.display(abs), kind)
	}
	if fi.Size() > l.opts.MaxFileSize {
		return nil, fmt.Errorf("%s: file too large (%d bytes, limit %d)", l.display(abs), fi.Size(), l.opts.MaxFileSize)
	}
	f, err := l.fsys.Open(name)
	if err != nil {
		return nil, l.cleanErr(abs, err)
	}
	defer f.Close()
	// Read into a buffer of the size Stat reported (plus one byte to see
	// growth), not through io.ReadAll's doubling: large configs are read
	// with one allocation.
	data := make([]byte, 0, fi.Size()+1)
	for int64(len(data)) <= l.opts.MaxFileSize {
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
		n, rerr := f.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return nil, l.cleanErr(abs, rerr)
		}
	}
	if int64(len(data)) > l.opts.MaxFileSize {
		return nil, fmt.Errorf("%s: file too large (limit %d bytes)", l.display(abs), l.opts.MaxFileSize)
	}
	if int64(len(data)) != fi.Size() {
		// procfs and sysfs files report a size unrelated to their content
		// (0 for /proc/self/environ, 4096 in /sys), and a file being
		// rewritten changes size: neither is a configuration to lint, and
		// the former is where a hostile include would find secrets.
		return nil, fmt.Errorf("%s: file size changed while reading (%d bytes reported, %d read): not a regular configuration file (a /proc or /sys file?) or modified meanwhile", l.display(abs), fi.Size(), len(data))
	}
	return data, nil
}

// cleanErr replaces the fs.FS-relative path of a *PathError with the
// file's display name.
func (l *loader) cleanErr(abs string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", l.display(abs), pe.Err)
	}
	return err
}

// parse parses one configuration file and then, in document order, the
// includes and Lua files it names.
func (l *loader) parse(abs string, data []byte, from *Directive) *File {
	f := &File{Path: l.display(abs), AbsPath: abs, Data: data, IncludedFrom: from}
	l.cfg.Files = append(l.cfg.Files, f)
	parseFile(f, sourceOf(data), l.opts.MaxNesting, l.budget)
	return l.follow(f)
}

// sourceOf is data as the string the parser reads. The parsed strings
// share data's memory (File.Data is read-only): a copy was the size of
// the whole configuration again.
func sourceOf(data []byte) string { return unsafe.String(unsafe.SliceData(data), len(data)) }

// follow reads, in document order, the includes and Lua files that the
// parsed file f names.
func (l *loader) follow(f *File) *File {
	l.chain = append(l.chain, f)
	defer func() { l.chain = l.chain[:len(l.chain)-1] }()
	for d := range allDirectives(f.Directives) {
		switch {
		case d.Name == "include":
			l.include(f, d)
		case d.Lua != nil && d.Lua.Origin == LuaFile:
			l.luaFile(d.Lua)
		}
	}
	return f
}

func (l *loader) errorAt(f *File, pos Pos, format string, args ...any) {
	f.addError(pos, fmt.Sprintf(format, args...))
}

// include follows an include directive as ngx_conf_include does: the path
// is made absolute against the configuration prefix (the main file's
// directory, ngx_conf_full_name with conf_prefix), a path with any of "*?["
// is a glob whose empty result is fine (GLOB_NOMATCH with gl.test = 1), and
// anything else must open.
func (l *loader) include(f *File, d *Directive) {
	if len(d.Args) != 1 || d.HasBlock {
		l.errorAt(f, d.Pos, "invalid number of arguments in \"include\" directive")
		return
	}
	if l.budget.exhausted {
		return // the limit was reported where it was reached
	}
	name := d.Args[0].Value
	abs := name
	if !strings.HasPrefix(abs, "/") {
		abs = l.cfg.ConfPrefix + "/" + abs
	}
	if !strings.ContainsAny(abs, "*?[") {
		l.includeOne(f, d, path.Clean(abs), nil)
		return
	}
	matches, err := globFS(l.fsys, abs)
	if err != nil {
		l.errorAt(f, d.Pos, "include %q: glob: %v", short(name), err)
		return
	}
	ahead := l.prefetch(matches)
	defer ahead.wait()
	for _, m := range matches {
		if l.tooMany {
			break
		}
		l.includeOne(f, d, m, ahead.get(m))
	}
}

// parsedAhead is a file a prefetch worker read and parsed with a private
// copy of the directive budget.
type parsedAhead struct {
	done         chan struct{}
	f            *File // nil when not parsed (read error, or skipped)
	err          error
	usedD, usedA int // directives and arguments it used
	exhausted    bool
}

// prefetched is one include's parallel read-and-parse.
type prefetched struct {
	files map[string]*parsedAhead
	wg    sync.WaitGroup
}

// get returns abs's prefetched parse, nil when there is none.
func (p *prefetched) get(abs string) *parsedAhead {
	if p == nil {
		return nil
	}
	return p.files[abs]
}

func (p *prefetched) wait() {
	if p != nil {
		p.wg.Wait()
	}
}

// prefetch reads and parses the files an include glob matched on every
// processor, ahead of the loader, which still takes them one by one in
// glob order (includeOne): sites-enabled/*.conf with hundreds of files is
// the common layout of large deployments, and parsing is most of a load.
// A file's parse depends only on its bytes and on the directive budget,
// so the result is used only when the file used less than what remains
// when its turn comes, where a sequential parse would have made the same
// tree; otherwise it is parsed again in order. The work ahead is bounded
// by the remaining file count and directive budget.
func (l *loader) prefetch(paths []string) *prefetched {
	paths = paths[:min(len(paths), l.opts.MaxFiles-l.nfiles)]
	workers := min(runtime.GOMAXPROCS(0), len(paths))
	if workers < 2 || l.budget.exhausted {
		return nil
	}
	p := &prefetched{files: make(map[string]*parsedAhead, len(paths))}
	for _, abs := range paths {
		p.files[abs] = &parsedAhead{done: make(chan struct{})}
	}
	remD, remA := l.budget.directives, l.budget.args
	var spent atomic.Int64 // directives parsed ahead so far
	var next atomic.Int64  // index of the next path to take
	for range workers {
		p.wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(paths) {
					return
				}
				pa := p.files[paths[i]]
				if spent.Load() <= int64(remD) {
					l.parseAhead(paths[i], pa, remD, remA)
					spent.Add(int64(pa.usedD))
				}
				close(pa.done)
			}
		})
	}
	return p
}

// parseAhead reads and parses abs with a private budget of remD
// directives and remA arguments. It touches no loader state.
func (l *loader) parseAhead(abs string, pa *parsedAhead, remD, remA int) {
	data, err := l.readFile(abs)
	if err != nil {
		pa.err = err
		return
	}
	b := &budget{directives: remD, args: remA, maxDirectives: l.budget.maxDirectives, maxArgs: l.budget.maxArgs}
	f := &File{Path: l.display(abs), AbsPath: abs, Data: data}
	parseFile(f, sourceOf(data), l.opts.MaxNesting, b)
	pa.f, pa.usedD, pa.usedA, pa.exhausted = f, remD-b.directives, remA-b.args, b.exhausted
}

// readParsed is includeOne's read and parse of abs, taking the prefetched
// result pa (may be nil) when it is what a parse in order would give.
func (l *loader) readParsed(abs string, d *Directive, pa *parsedAhead) (*File, error) {
	if pa != nil {
		<-pa.done
	}
	if pa == nil || pa.f == nil && pa.err == nil { // none, or skipped ahead: the budget ran low
		data, err := l.read(abs)
		if err != nil {
			return nil, err
		}
		return l.parse(abs, data, d), nil
	}
	if err := l.countFile(); err != nil {
		return nil, err
	}
	if pa.err != nil {
		return nil, pa.err
	}
	l.nfiles++
	b := l.budget
	if pa.exhausted || b.exhausted || pa.usedD > b.directives || pa.usedA > b.args {
		return l.parse(abs, pa.f.Data, d), nil // the limit falls in this file
	}
	b.directives -= pa.usedD
	b.args -= pa.usedA
	f := pa.f
	f.IncludedFrom = d
	l.cfg.Files = append(l.cfg.Files, f)
	return l.follow(f), nil
}

func (l *loader) includeOne(f *File, d *Directive, abs string, pa *parsedAhead) {
	if l.tooMany {
		l.errorAt(f, d.Pos, "include %q not read: more than %d files", short(d.Arg(0)), l.opts.MaxFiles)
		return
	}
	for k, cf := range l.chain {
		if cf.AbsPath == abs {
			var b strings.Builder
			b.WriteString("include cycle: ")
			for j := k; j < len(l.chain); j++ {
				inc := d
				if j+1 < len(l.chain) {
					inc = l.chain[j+1].IncludedFrom
				}
				fmt.Fprintf(&b, "%s:%d → ", l.chain[j].Path, inc.Pos.Line)
			}
			b.WriteString(l.display(abs))
			l.errorAt(f, d.Pos, "%s", b.String())
			return
		}
	}
	if len(l.chain) > l.opts.MaxIncludeDepth {
		l.errorAt(f, d.Pos, "include %q: includes nested more than %d deep", short(d.Arg(0)), l.opts.MaxIncludeDepth)
		return
	}
	inc, err := l.readParsed(abs, d, pa)
	if err != nil {
		l.errorAt(f, d.Pos, "include %q: %v", short(d.Arg(0)), err)
		return
	}
	d.Included = append(d.Included, inc)
}

// luaFile reads the file of a *_by_lua_file directive. Relative paths are
// rebased on the nginx prefix as ngx_http_lua_rebase_path does
// (ngx_get_full_name with cycle->prefix); paths with variables are
// evaluated per request by lua-nginx-module and are left unresolved.
func (l *loader) luaFile(c *LuaChunk) {
	if c.Unresolved {
		return
	}
	abs := c.Path
	if !strings.HasPrefix(abs, "/") {
		abs = l.cfg.Prefix + "/" + abs
	}
	abs = path.Clean(abs)
	c.Path = l.display(abs)
	if lf, ok := l.luaFiles[abs]; ok {
		l.setLua(c, lf)
		return
	}
	if msg, ok := l.luaErrs[abs]; ok {
		c.LoadError = msg
		return
	}
	data, err := l.read(abs)
	if err != nil {
		c.LoadError = fmt.Sprintf("cannot read Lua file %s: %v", l.display(abs), err)
		l.luaErrs[abs] = c.LoadError
		return
	}
	lf := &File{Path: l.display(abs), AbsPath: abs, Data: data}
	lf.indexLines()
	l.luaFiles[abs] = lf
	l.cfg.LuaFiles = append(l.cfg.LuaFiles, lf)
	l.setLua(c, lf)
}

func (l *loader) setLua(c *LuaChunk, lf *File) {
	c.Code = string(lf.Data)
	c.Pos = Pos{File: lf.Path, Line: 1, Column: 1}
	c.End = lf.PosAt(len(lf.Data))
}

// globFS expands an absolute glob pattern over fsys like glob(3) with no
// flags, as ngx_open_glob calls it: matches are sorted bytewise (nginx runs
// in the C locale), and a name starting with '.' is only matched by a
// pattern component that itself starts with '.'.
func globFS(fsys fs.FS, pattern string) ([]string, error) {
	comps := strings.Split(strings.TrimPrefix(pattern, "/"), "/")
	cur := []string{""} // directories matched so far ("" is the root)
	for ci, comp := range comps {
		last := ci == len(comps)-1
		var next []string
		if comp == "" || comp == "." {
			continue
		}
		if !strings.ContainsAny(comp, "*?[") {
			for _, dir := range cur {
				p := join(dir, unescapeGlob(comp))
				if last {
					if _, err := fs.Stat(fsys, p); err == nil {
						next = append(next, p)
					}
				} else {
					next = append(next, p)
				}
			}
			cur = next
			continue
		}
		goPat := strings.ReplaceAll(comp, "[!", "[^")
		for _, dir := range cur {
			name := dir
			if name == "" {
				name = "."
			}
			ents, err := fs.ReadDir(fsys, name)
			if err != nil {
				continue // glob(3) skips unreadable directories
			}
			for _, e := range ents {
				n := e.Name()
				if strings.HasPrefix(n, ".") && !strings.HasPrefix(comp, ".") {
					continue
				}
				ok, err := path.Match(goPat, n)
				if err != nil {
					// glob(3) matches a malformed bracket literally.
					ok = n == comp
				}
				if !ok {
					continue
				}
				if !last && !e.IsDir() {
					if fi, err := fs.Stat(fsys, join(dir, n)); err != nil || !fi.IsDir() {
						continue
					}
				}
				next = append(next, join(dir, n))
			}
		}
		cur = next
	}
	sort.Strings(cur)
	out := make([]string, 0, len(cur))
	for _, m := range cur {
		if m == "" {
			continue
		}
		out = append(out, "/"+m)
	}
	return out, nil
}

func join(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// unescapeGlob removes glob backslash escapes from a component without
// metacharacters.
func unescapeGlob(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Walk calls fn for every directive in the order nginx processes them:
// document order, descending into blocks, and reading the files an include
// pulled in at the place of the include (nginx treats included text as if
// written there). The include directive itself is visited first. parents
// holds the enclosing block directives, outermost first, across files;
// include directives are not part of it. fn must not retain parents (copy
// it). When fn returns false, Walk does not descend into d's block or
// included files.
func (c *Config) Walk(fn func(d *Directive, parents []*Directive) bool) {
	if c.Main == nil {
		return
	}
	walkFrom(c.Main.Directives, nil, fn)
}

// walkFrom is Walk from the directives ds, whose enclosing blocks are
// parents (outermost first).
func walkFrom(ds []*Directive, parents []*Directive, fn func(d *Directive, parents []*Directive) bool) {
	var walk func(ds []*Directive)
	walk = func(ds []*Directive) {
		for _, d := range ds {
			if !fn(d, parents) {
				continue
			}
			for _, inc := range d.Included {
				walk(inc.Directives)
			}
			if len(d.Block) > 0 {
				parents = append(parents, d)
				walk(d.Block)
				parents = parents[:len(parents)-1]
			}
		}
	}
	walk(ds)
}

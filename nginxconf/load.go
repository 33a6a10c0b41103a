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
	"slices"
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
	// DefaultMaxTotalBytes bounds the bytes of all files read in one
	// load. The files stay in memory (File.Data) and their parse costs a
	// few times their size, so this bounds the load's memory at a few
	// gigabytes at worst, where one 6 MB file included 500 times took
	// 2.9 GB. The largest real configurations are a few megabytes; the
	// reference benchmark configuration (bench/, 128,000 lines) is about
	// 5 MB, and 16 times it still fits.
	DefaultMaxTotalBytes = 256 << 20
	// DefaultMaxErrors bounds the errors kept per load: ten times what a
	// reader goes through, where a hostile tree of 10,000 files with 100
	// errors each printed a million lines.
	DefaultMaxErrors = 1000
)

// Hard caps on the recursion limits: the loader follows includes, and
// Walk and MarshalParseJSON descend into blocks, by recursion, whose
// depth these bound far below the Go stack limit whatever Options say.
const (
	maxNestingCap      = 100_000
	maxIncludeDepthCap = 10_000
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
	// MaxNesting bounds block nesting, counted across includes (a file
	// included inside two blocks starts at depth two). Values above
	// 100,000 are lowered to it.
	MaxNesting int
	// MaxDirectives bounds the directives of the whole configuration.
	MaxDirectives int
	// MaxTotalBytes bounds the bytes read in one load, all files
	// together: a file counts again each time it is included again, and
	// *_by_lua_file files count too. The include (or *_by_lua_file) that
	// would pass it is a load error, and nothing is read after it.
	MaxTotalBytes int64
	// MaxErrors bounds the errors kept in Config.Errors (and in the
	// files' Errors); one more error says how many were dropped.
	MaxErrors int
	// Roots, when not empty, confines reading to these directories:
	// every file read (the main file, includes, glob matches,
	// *_by_lua_file files) must lie inside one of them once symbolic
	// links are resolved, and include globs do not list directories
	// outside them. For Load they are paths in the fs.FS (relative ones
	// from its root); for LoadFile paths of the operating system
	// (relative ones from the working directory). When empty, any path
	// is read.
	Roots []string
	// Requires, when set, makes Load follow Lua modules: for every Lua
	// chunk (block and string bodies, *_by_lua_file files, and the
	// modules so followed) it returns the literal module names the chunk
	// requires (luacheck.Requires; this package reads no Lua). Each name
	// is resolved on the effective lua_package_path of the chunk's
	// subsystem and read once, with the limits, roots and refusals of
	// every other file, into Config.Modules. Chunks of a file with
	// syntax errors are not followed, and neither are names other than
	// plain module names (letters, digits, '_', '-', '.').
	Requires func(code string) []string
	// PathMap maps absolute deployment path prefixes to where those
	// trees are in the checked files (From "/usr/local/openresty/nginx",
	// To "."), for configurations written with install paths. It is
	// applied to includes, *_by_lua_file paths and lua_package_path
	// entries once they are absolute, before anything is read; the
	// mapped path must still lie inside Roots. The longest matching
	// From wins. For Load a relative To is taken from the root of the
	// fs.FS; for LoadFile from the working directory.
	PathMap []PathMapping
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
	if o.MaxTotalBytes <= 0 {
		o.MaxTotalBytes = DefaultMaxTotalBytes
	}
	if o.MaxErrors <= 0 {
		o.MaxErrors = DefaultMaxErrors
	}
	o.MaxNesting = min(o.MaxNesting, maxNestingCap)
	o.MaxIncludeDepth = min(o.MaxIncludeDepth, maxIncludeDepthCap)
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
	// PrefixGuessed is set when Options.Prefix was empty and Prefix is the
	// guess from the main file's place: a relative *_by_lua_file path
	// that is missing under it may only mean nginx runs with another -p.
	PrefixGuessed bool
	// Modules are the Lua modules the chunks require (Options.Requires),
	// each once, in first-required order: a module's own requires come
	// right after it, as require runs them.
	Modules []*Module
	// LuaPath and StreamLuaPath are the module search templates of the
	// http and stream subsystems ("?" stands for the module name with
	// "." as "/"), as lua-nginx-module sets package.path from
	// lua_package_path: absolute, with $prefix and ";;" expanded, and
	// before Options.PathMap. They are set only when Options.Requires is.
	LuaPath, StreamLuaPath []string
	// ImplicitContext is set when the main file is a fragment, as a
	// pre-commit hook passes conf.d/*.conf: its top level holds
	// directives nginx accepts only inside http{} ("http": upstream,
	// server, map...), a server{} ("server": location, listen,
	// server_name) or a location{} ("location": proxy_pass...), so it is
	// an include of that context. BuildModel puts its directives in an
	// implicit block of that kind, so that the upstream and proxy rules
	// run; relative includes it cannot find are looked up in the
	// directories above it (nginx resolves them against the main file's
	// directory, which a fragment alone does not say).
	ImplicitContext string
	// Notes are what the load could not check without it being a defect
	// of the configuration, sorted like Errors: an include of one of
	// nginx's stock files (mime.types, fastcgi_params...) that the
	// checkout does not hold (taken as the stock file, Directive.Stock),
	// and files at absolute install paths outside the checked tree or
	// missing from it ("not in this checkout"). They do not make the
	// load fail; a CLI prints them as notes.
	Notes   []*Error
	modules map[string]*Module
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
	l.realPath = func(a string) (string, error) { return fsRealPath(fsys, a) }
	for _, r := range opts.Roots {
		l.addRoot(r, "/"+strings.TrimPrefix(path.Clean("/"+r), "/"))
	}
	l.setPathMap(opts.PathMap, func(to string) string { return "/" + strings.TrimPrefix(path.Clean("/"+to), "/") })
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
	l, abs, prefix, failed := newOSLoader(p, opts)
	if failed != nil {
		return failed
	}
	return l.load(abs, prefix)
}

// newOSLoader is the loader of LoadFile and LoadLuaFile: the OS file
// system, display names relative to the working directory, real paths for
// the roots. failed is a Config holding the error when p has no absolute
// form.
func newOSLoader(p string, opts Options) (l *loader, abs, prefix string, failed *Config) {
	cwd, cwdErr := os.Getwd()
	abs, err := filepath.Abs(p)
	if err != nil {
		c := &Config{}
		c.Errors = append(c.Errors, &Error{Pos: Pos{File: p}, Msg: err.Error()})
		return nil, "", "", c
	}
	abs = filepath.ToSlash(abs)
	l = newLoader(os.DirFS("/"), opts, func(a string) string {
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
	l.realPath = func(a string) (string, error) {
		r, err := filepath.EvalSymlinks(filepath.FromSlash(a))
		return filepath.ToSlash(r), err
	}
	for _, r := range opts.Roots {
		if ar, err := filepath.Abs(r); err == nil {
			l.addRoot(r, filepath.ToSlash(ar))
		}
	}
	l.setPathMap(opts.PathMap, func(to string) string {
		if a, err := filepath.Abs(filepath.FromSlash(to)); err == nil {
			return filepath.ToSlash(a)
		}
		return to
	})
	prefix = opts.Prefix
	if prefix != "" {
		if ap, err := filepath.Abs(prefix); err == nil {
			prefix = filepath.ToSlash(ap)
		}
	}
	return l, abs, prefix, nil
}

// LoadLuaFile loads a Lua file that no configuration loads (a module
// staged on its own, or named on the command line) as the one module of
// an otherwise empty configuration, so that the Lua rules check it on its
// own: read under the same limits, roots and refusals as any file, named
// by its base name, run in no particular phase. The modules it requires
// are not followed: without a configuration there is no lua_package_path
// to find them on.
func LoadLuaFile(p string, opts Options) *Config {
	l, abs, _, failed := newOSLoader(p, opts)
	if failed != nil {
		return failed
	}
	c := l.cfg
	data, err := l.read(abs)
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), l.display(abs)+": ")
		c.Errors = append(c.Errors, &Error{Pos: Pos{File: l.display(abs)}, Msg: msg})
		return c
	}
	lf := &File{Path: l.display(abs), AbsPath: abs, Data: data}
	lf.indexLines()
	m := &Module{Name: strings.TrimSuffix(path.Base(abs), ".lua"), Subsystem: "http"}
	l.setModuleFile(m, lf)
	c.modules = map[string]*Module{m.Name: m}
	c.Modules = []*Module{m}
	l.finish()
	return c
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
	// luaNIC marks the Lua files of luaErrs that are outside the roots
	// or missing (LuaChunk.NotInCheckout).
	luaNIC  map[string]bool
	tooMany bool
	// budget is what may still be parsed (MaxDirectives).
	budget *budget
	// realPath resolves the symbolic links of an absolute path.
	realPath func(abs string) (string, error)
	// roots are Options.Roots as absolute paths, each both as written
	// and with its links resolved; rootNames are the roots as given, for
	// messages.
	roots     []string
	rootNames []string
	// bytes is what the files read so far hold (MaxTotalBytes);
	// bytesOut is set once the limit was reached, after which nothing is
	// read.
	bytes    int64
	bytesOut bool
	// globEntries counts the directory entries include globs listed.
	globEntries int
	// pathMap is Options.PathMap with absolute To paths.
	pathMap []PathMapping
	// fragment is set when the main file has no block of the main
	// context: an include checked alone (fragmentInclude).
	fragment bool
}

// addRoot adds a root given as name, at the absolute path abs.
func (l *loader) addRoot(name, abs string) {
	abs = path.Clean(abs)
	l.rootNames = append(l.rootNames, name)
	l.roots = append(l.roots, abs)
	if r, err := l.realPath(abs); err == nil && r != abs {
		l.roots = append(l.roots, r)
	}
}

// root returns the root that holds the absolute path p, and whether one
// does. With no roots every path is held, by "/".
func (l *loader) root(p string) (string, bool) {
	if len(l.roots) == 0 {
		return "/", true
	}
	for _, r := range l.roots {
		if within(p, r) {
			return r, true
		}
	}
	return "", false
}

// readErr is an error about the file at path, kept apart from the path so
// that the path can be left out where it came from a file that failed to
// parse.
type readErr struct {
	before, path, after string
	// refused is set when the file was refused by a limit of ours (the
	// roots, a credentials name, MaxTotalBytes), not by what nginx could
	// read.
	refused bool
	// budget is set when the limit was MaxTotalBytes: the load stops
	// there, which is a load error wherever it happens.
	budget bool
	// outside is set when the file lies outside the roots, missing when
	// it does not exist: for an install path, the checkout's layout
	// rather than a defect of the configuration (notInCheckout).
	outside, missing bool
}

func (e *readErr) Error() string { return e.before + e.path + e.after }

// withoutPath is the error text with the path described instead of
// named.
func (e *readErr) withoutPath() string { return e.before + "the file" + e.after }

// admit decides whether the file at abs may be read, before anything of
// it is: inside the roots once its links are resolved, and not named like
// a credentials file. A path whose links cannot be resolved (missing,
// a loop) is left to the read, which reports it in the operating
// system's words; linkErr is then the resolution's error.
func (l *loader) admit(abs string) (err, linkErr error) {
	real, linkErr := l.realPath(abs)
	p := real
	if linkErr != nil {
		p = abs
	}
	r, ok := l.root(p)
	if !ok {
		return &readErr{path: l.display(abs), after: fmt.Sprintf(" is outside the checked tree (%s); not read: pass --allow-path to read it", strings.Join(l.rootNames, ", ")), refused: true, outside: true}, linkErr
	}
	if credentialLike(strings.TrimPrefix(abs, r)) || credentialLike(strings.TrimPrefix(p, r)) {
		return &readErr{before: "not read: ", path: l.display(abs), after: " looks like a credentials file", refused: true}, linkErr
	}
	return nil, linkErr
}

func newLoader(fsys fs.FS, opts Options, display func(string) string) *loader {
	return &loader{
		fsys:     fsys,
		opts:     opts.withDefaults(),
		display:  display,
		cfg:      &Config{},
		luaFiles: map[string]*File{},
		luaErrs:  map[string]string{},
		luaNIC:   map[string]bool{},
		budget:   newBudget(opts.withDefaults().MaxDirectives),
		realPath: func(a string) (string, error) { return path.Clean(a), nil },
	}
}

func (l *loader) load(mainAbs, prefix string) *Config {
	c := l.cfg
	c.ConfPrefix = path.Dir(mainAbs)
	if prefix == "" {
		c.PrefixGuessed = true
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
	c.Main = l.parse(mainAbs, data, nil, 0)
	if l.opts.Requires != nil {
		l.followModules()
	}
	l.finish()
	return c
}

// finish gathers and sorts the errors, and keeps the first MaxErrors.
func (l *loader) finish() {
	c := l.cfg
	order := make(map[string]int, len(c.Files))
	for i, f := range c.Files {
		order[f.Path] = i + 1
		c.Errors = append(c.Errors, f.Errors...)
	}
	byPlace := func(list []*Error) func(i, j int) bool {
		return func(i, j int) bool {
			a, b := list[i].Pos, list[j].Pos
			if oa, ob := order[a.File], order[b.File]; oa != ob {
				return oa < ob
			}
			return a.Offset < b.Offset
		}
	}
	sort.SliceStable(c.Errors, byPlace(c.Errors))
	sort.SliceStable(c.Notes, byPlace(c.Notes))
	limit := l.opts.MaxErrors
	if len(c.Errors) <= limit {
		return
	}
	// The files' lists are cut to the errors kept, so that every output
	// (the per-file errors of the parse JSON too) stays bounded; the note
	// goes where the first dropped error was.
	kept := make(map[*Error]bool, limit)
	for _, e := range c.Errors[:limit] {
		kept[e] = true
	}
	first := c.Errors[limit]
	note := &Error{Pos: first.Pos, Msg: fmt.Sprintf("%d more errors are not reported (at most %d are kept)", len(c.Errors)-limit, limit)}
	c.Errors = append(c.Errors[:limit:limit], note)
	for _, f := range c.Files {
		errs := f.Errors[:0]
		for _, e := range f.Errors {
			if kept[e] {
				errs = append(errs, e)
			} else if e == first {
				errs = append(errs, note)
			}
		}
		f.Errors = errs
	}
}

// read returns the content of the file at abs, refusing what nginx could
// not read as a configuration file (directories, FIFOs, devices) before
// opening it, so that a FIFO never blocks the load.
func (l *loader) read(abs string) ([]byte, error) {
	if err := l.countFile(); err != nil {
		return nil, err
	}
	data, err := l.readFile(abs, l.charge)
	if err == nil {
		l.nfiles++
	}
	return data, err
}

// charge takes n bytes of the file at abs from MaxTotalBytes, in the
// order nginx reads the files.
func (l *loader) charge(abs string, n int64) error {
	if l.bytes+n > l.opts.MaxTotalBytes {
		l.bytesOut = true
		return &readErr{path: l.display(abs), after: fmt.Sprintf(": not read: the files read would total %d bytes, over the limit of %d per load (--max-total-bytes); nothing more is read", l.bytes+n, l.opts.MaxTotalBytes), refused: true, budget: true}
	}
	l.bytes += n
	return nil
}

// countFile refuses one more file past MaxFiles.
func (l *loader) countFile() error {
	if l.nfiles >= l.opts.MaxFiles {
		l.tooMany = true
		return fmt.Errorf("too many files: more than %d read", l.opts.MaxFiles)
	}
	return nil
}

// readFile is read without the file count. It charges the file's size
// through charge before reading it, and otherwise touches no loader
// state, so prefetch workers call it concurrently.
func (l *loader) readFile(abs string, charge func(abs string, n int64) error) ([]byte, error) {
	abs = path.Clean(abs)
	name := strings.TrimPrefix(abs, "/")
	if name == "" {
		name = "."
	}
	if !fs.ValidPath(name) {
		return nil, &readErr{before: "invalid path ", path: l.display(abs)}
	}
	refused, linkErr := l.admit(abs)
	if refused != nil {
		return nil, refused
	}
	fi, err := fs.Stat(l.fsys, name)
	if err != nil {
		return nil, l.cleanErr(abs, err)
	}
	if linkErr != nil {
		// The links did not resolve yet the file is there: it changed
		// meanwhile, and what it is now was not checked.
		return nil, l.cleanErr(abs, linkErr)
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
		return nil, &readErr{path: l.display(abs), after: ": " + kind}
	}
	if fi.Size() > l.opts.MaxFileSize {
		return nil, &readErr{path: l.display(abs), after: fmt.Sprintf(": file too large (%d bytes, limit %d)", fi.Size(), l.opts.MaxFileSize)}
	}
	if err := charge(abs, fi.Size()); err != nil {
		return nil, err
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
		return nil, &readErr{path: l.display(abs), after: fmt.Sprintf(": file too large (limit %d bytes)", l.opts.MaxFileSize)}
	}
	if int64(len(data)) != fi.Size() {
		// procfs and sysfs files report a size unrelated to their content
		// (0 for /proc/self/environ, 4096 in /sys), and a file being
		// rewritten changes size: neither is a configuration to lint, and
		// the former is where a hostile include would find secrets.
		return nil, &readErr{path: l.display(abs), after: fmt.Sprintf(": file size changed while reading (%d bytes reported, %d read): not a regular configuration file (a /proc or /sys file?) or modified meanwhile", fi.Size(), len(data))}
	}
	if looksBinary(data) {
		// Nothing of it is quoted: a binary is no configuration, and
		// its bytes could be anything (a key, a database).
		return nil, &readErr{path: l.display(abs), after: ": binary file, not read"}
	}
	return data, nil
}

// cleanErr replaces the fs.FS-relative path of a *PathError with the
// file's display name.
func (l *loader) cleanErr(abs string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return &readErr{path: l.display(abs), after: ": " + err.Error(), missing: errors.Is(err, fs.ErrNotExist)}
}

// parse parses one configuration file, whose top level lies inside depth
// blocks of the files that include it, and then, in document order, the
// includes and Lua files it names.
func (l *loader) parse(abs string, data []byte, from *Directive, depth int) *File {
	f := &File{Path: l.display(abs), AbsPath: abs, Data: data, IncludedFrom: from, depth: depth}
	l.cfg.Files = append(l.cfg.Files, f)
	parseFile(f, sourceOf(data), l.opts.MaxNesting, l.budget)
	if from == nil && len(f.Errors) == 0 {
		l.cfg.ImplicitContext = implicitContext(f.Directives)
		// A file with none of the main context's blocks (http, stream,
		// mail, events) is an include checked alone, even when it
		// holds only includes (h5bp's basic.conf).
		l.fragment = l.cfg.ImplicitContext != "" || !slices.ContainsFunc(f.Directives, func(d *Directive) bool { return mainContextBlocks[d.Name] })
	}
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
	// A file with syntax errors may be no configuration at all (a
	// secret included by mistake or on purpose): its words, the paths it
	// names among them, are not echoed.
	tainted := len(f.Errors) > 0
	f.tainted = tainted
	for d, depth := range allDirectives(f.Directives) {
		switch {
		case d.Name == "include":
			l.include(f, d, f.depth+depth, tainted)
		case d.Lua != nil && d.Lua.Origin == LuaFile:
			l.luaFile(f, d, tainted)
		}
	}
	return f
}

func (l *loader) errorAt(f *File, pos Pos, format string, args ...any) {
	f.addError(pos, fmt.Sprintf(format, args...))
}

// noteAt records a note (Config.Notes) at pos.
func (l *loader) noteAt(pos Pos, format string, args ...any) {
	if len(l.cfg.Notes) < l.opts.MaxErrors {
		l.cfg.Notes = append(l.cfg.Notes, &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)})
	}
}

// notInCheckout turns the failed read err of the include d into a note
// when it is the checkout's layout, not the configuration's defect: a
// stock file of nginx's installation (Directive.Stock is then set), or
// an absolute install path outside the checked tree or missing from it.
// It reports whether it did.
func (l *loader) notInCheckout(d *Directive, arg string, err error) bool {
	var re *readErr
	if !errors.As(err, &re) || !re.outside && !re.missing {
		return false
	}
	name := d.Args[0].Value
	if sf, ok := Stock(path.Base(name)); ok {
		d.Stock = sf
		l.noteAt(d.Pos, "include %s: not in this checkout; taken as nginx's stock %s (%s), which installations ship", arg, sf.Name, sf.Source)
		return true
	}
	if installPath(name) {
		why := "missing from the checked tree"
		if re.outside {
			why = "outside the checked tree (" + strings.Join(l.rootNames, ", ") + ")"
		}
		l.noteAt(d.Pos, "include %s: not in this checkout (%s); not read, so its directives are not checked: map the install path into the tree with path_map, or pass --allow-path", arg, why)
		return true
	}
	if l.fragment && re.missing {
		l.noteAt(d.Pos, "include %s: not found from this fragment; nginx resolves it against the main configuration's directory, which a fragment checked alone does not say: not read, so its directives are not checked", arg)
		return true
	}
	return false
}

// installPath reports whether an include names an absolute path that a
// deployment could hold: not the kernel's pseudo file systems (/dev,
// /proc, /sys), which no installation puts configuration in and which
// stay load errors.
func installPath(name string) bool {
	if !strings.HasPrefix(name, "/") {
		return false
	}
	for _, p := range []string{"/dev", "/proc", "/sys"} {
		if within(path.Clean(name), p) {
			return false
		}
	}
	return true
}

// fragmentInclude looks up the missing relative include d of a fragment
// (a main file without http, stream, mail or events blocks) in the
// directories above it, inside
// the roots: conf.d/site.conf including "snippets/x.conf" written for a
// main file one level up. It returns the absolute path found, "" when
// none is.
func (l *loader) fragmentInclude(d *Directive, err error) string {
	var re *readErr
	name := d.Args[0].Value
	if !l.fragment || strings.HasPrefix(name, "/") || strings.ContainsAny(name, "*?[") || !errors.As(err, &re) || !re.missing {
		return ""
	}
	for dir := path.Dir(l.cfg.ConfPrefix); ; dir = path.Dir(dir) {
		cand := path.Clean(dir + "/" + name)
		if _, in := l.root(cand); !in {
			return ""
		}
		if fi, err := fs.Stat(l.fsys, strings.TrimPrefix(cand, "/")); err == nil && fi.Mode().IsRegular() {
			return cand
		}
		if dir == "/" {
			return ""
		}
	}
}

// argText is how an error shows the path argument p of a directive: quoted
// (cut to 64 bytes), unless its file failed to parse.
func argText(p string, tainted bool) string {
	if tainted {
		return quoteWord(p)
	}
	return fmt.Sprintf("%q", short(p))
}

// errText is err's text, without the path it names when that path comes
// from a file that failed to parse.
func errText(err error, tainted bool) string {
	var re *readErr
	if tainted && errors.As(err, &re) {
		return re.withoutPath()
	}
	return err.Error()
}

// include follows an include directive as ngx_conf_include does: the path
// is made absolute against the configuration prefix (the main file's
// directory, ngx_conf_full_name with conf_prefix), a path with any of "*?["
// is a glob whose empty result is fine (GLOB_NOMATCH with gl.test = 1), and
// anything else must open. The included files lie inside depth blocks.
func (l *loader) include(f *File, d *Directive, depth int, tainted bool) {
	if len(d.Args) != 1 || d.HasBlock {
		l.errorAt(f, d.Pos, "invalid number of arguments in \"include\" directive")
		return
	}
	if l.budget.exhausted || l.bytesOut {
		return // the limit was reported where it was reached
	}
	name := d.Args[0].Value
	arg := argText(name, tainted)
	abs := name
	if !strings.HasPrefix(abs, "/") {
		abs = l.cfg.ConfPrefix + "/" + abs
	}
	abs = l.mapPath(path.Clean(abs))
	if !strings.ContainsAny(abs, "*?[") {
		l.includeOne(f, d, path.Clean(abs), nil, depth, arg, tainted)
		return
	}
	matches, outside, err := l.glob(abs)
	if err != nil {
		l.errorAt(f, d.Pos, "include %s: glob: %v", arg, err)
		return
	}
	if outside {
		// Only the pattern is named, as the configuration wrote it:
		// the names outside the roots were not even listed.
		what := arg
		if !tainted {
			what = short(name)
		}
		if installPath(name) && !tainted {
			// An install path (/etc/nginx/conf.d/*.conf): the
			// deployment's files, not this checkout's.
			l.noteAt(d.Pos, "include %s: %s is not in this checkout (outside the checked tree %s); not read, so its directives are not checked: map the install path into the tree with path_map, or pass --allow-path", arg, what, strings.Join(l.rootNames, ", "))
		} else {
			l.errorAt(f, d.Pos, "include %s: %s is outside the checked tree (%s); not read: pass --allow-path to read it", arg, what, strings.Join(l.rootNames, ", "))
		}
	}
	ahead := l.prefetch(matches, depth)
	defer ahead.wait()
	for _, m := range matches {
		if l.tooMany || l.bytesOut {
			break
		}
		l.includeOne(f, d, m, ahead.get(m), depth, arg, tainted)
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

// errAhead is a prefetch worker's refusal of a file that the bytes left
// in MaxTotalBytes may not cover: the loader reads it in order.
var errAhead = errors.New("not read ahead")

// prefetch reads and parses the files an include glob matched on every
// processor, ahead of the loader, which still takes them one by one in
// glob order (includeOne): sites-enabled/*.conf with hundreds of files is
// the common layout of large deployments, and parsing is most of a load.
// A file's parse depends only on its bytes and on the directive budget,
// so the result is used only when the file used less than what remains
// when its turn comes, where a sequential parse would have made the same
// tree; otherwise it is parsed again in order. The work ahead is bounded
// by the remaining file count, directive budget and bytes.
func (l *loader) prefetch(paths []string, depth int) *prefetched {
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
	remB := l.opts.MaxTotalBytes - l.bytes
	var reserved atomic.Int64 // bytes read ahead so far
	reserve := func(_ string, n int64) error {
		if reserved.Add(n) > remB {
			return errAhead
		}
		return nil
	}
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
					l.parseAhead(paths[i], pa, remD, remA, depth, reserve)
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
func (l *loader) parseAhead(abs string, pa *parsedAhead, remD, remA, depth int, reserve func(string, int64) error) {
	data, err := l.readFile(abs, reserve)
	if err == errAhead {
		return // skipped: read in order
	}
	if err != nil {
		pa.err = err
		return
	}
	b := &budget{directives: remD, args: remA, maxDirectives: l.budget.maxDirectives, maxArgs: l.budget.maxArgs}
	f := &File{Path: l.display(abs), AbsPath: abs, Data: data, depth: depth}
	parseFile(f, sourceOf(data), l.opts.MaxNesting, b)
	pa.f, pa.usedD, pa.usedA, pa.exhausted = f, remD-b.directives, remA-b.args, b.exhausted
}

// readParsed is includeOne's read and parse of abs, taking the prefetched
// result pa (may be nil) when it is what a parse in order would give.
func (l *loader) readParsed(abs string, d *Directive, pa *parsedAhead, depth int) (*File, error) {
	if pa != nil {
		<-pa.done
	}
	if pa == nil || pa.f == nil && pa.err == nil { // none, or skipped ahead: the budget ran low
		data, err := l.read(abs)
		if err != nil {
			return nil, err
		}
		return l.parse(abs, data, d, depth), nil
	}
	if err := l.countFile(); err != nil {
		return nil, err
	}
	if pa.err != nil {
		return nil, pa.err
	}
	if err := l.charge(abs, int64(len(pa.f.Data))); err != nil {
		return nil, err
	}
	l.nfiles++
	b := l.budget
	if pa.exhausted || b.exhausted || pa.usedD > b.directives || pa.usedA > b.args {
		return l.parse(abs, pa.f.Data, d, depth), nil // the limit falls in this file
	}
	b.directives -= pa.usedD
	b.args -= pa.usedA
	f := pa.f
	f.IncludedFrom = d
	l.cfg.Files = append(l.cfg.Files, f)
	return l.follow(f), nil
}

// includeOne reads the file abs for the include d of f; arg is how
// errors show d's argument.
func (l *loader) includeOne(f *File, d *Directive, abs string, pa *parsedAhead, depth int, arg string, tainted bool) {
	if l.tooMany {
		l.errorAt(f, d.Pos, "include %s not read: more than %d files", arg, l.opts.MaxFiles)
		return
	}
	if l.bytesOut {
		return // reported where the limit was reached
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
		l.errorAt(f, d.Pos, "include %s: includes nested more than %d deep", arg, l.opts.MaxIncludeDepth)
		return
	}
	inc, err := l.readParsed(abs, d, pa, depth)
	if err != nil && !tainted {
		if alt := l.fragmentInclude(d, err); alt != "" {
			// Read it where a directory above the fragment holds it.
			inc, err = l.readParsed(alt, d, nil, depth)
		}
	}
	if err != nil {
		if !tainted && l.notInCheckout(d, arg, err) {
			return
		}
		l.errorAt(f, d.Pos, "include %s: %s", arg, errText(err, tainted))
		return
	}
	d.Included = append(d.Included, inc)
}

// luaFile reads the file of the *_by_lua_file directive d of f. Relative
// paths are rebased on the nginx prefix as ngx_http_lua_rebase_path does
// (ngx_get_full_name with cycle->prefix); paths with variables are
// evaluated per request by lua-nginx-module and are left unresolved. A
// file that cannot be read is the chunk's LoadError, since nginx fails
// only when the phase runs; one refused by a limit of ours (the roots,
// a credentials name, MaxTotalBytes) is also a load error at d.
func (l *loader) luaFile(f *File, d *Directive, tainted bool) {
	c := d.Lua
	if c.Unresolved {
		return
	}
	abs := c.Path
	installPath := strings.HasPrefix(abs, "/")
	if !installPath {
		abs = l.cfg.Prefix + "/" + abs
	}
	abs = l.mapPath(path.Clean(abs))
	c.Path = l.display(abs)
	if lf, ok := l.luaFiles[abs]; ok {
		l.setLua(c, lf)
		return
	}
	if msg, ok := l.luaErrs[abs]; ok {
		c.LoadError = msg
		c.NotInCheckout = installPath && l.luaNIC[abs]
		return
	}
	if l.bytesOut {
		c.LoadError = fmt.Sprintf("not read: the files read reached the limit of %d bytes per load (--max-total-bytes) before it", l.opts.MaxTotalBytes)
		return
	}
	data, err := l.read(abs)
	if err != nil {
		what, msg := c.Path, errText(err, tainted)
		var nic *readErr
		if tainted {
			what = quoteWord(c.Path)
		} else if errors.As(err, &nic) && nic.before == "" && nic.path == c.Path && strings.HasPrefix(nic.after, " is ") {
			// "cannot read Lua file X: outside ...", not "...X: X is outside ...".
			msg = strings.TrimPrefix(nic.after, " is ")
		}
		c.LoadError = fmt.Sprintf("cannot read Lua file %s: %s", what, msg)
		l.luaErrs[abs] = c.LoadError
		if errors.As(err, &nic) && (nic.outside || nic.missing) {
			l.luaNIC[abs] = true
			c.NotInCheckout = installPath
		}
		// A Lua file outside the roots or named like credentials is
		// the chunk's LoadError only (NGX1001 reports it at the
		// directive, as nginx would fail only when the phase runs); the
		// byte budget ends the load, which must not pass silently.
		var re *readErr
		if errors.As(err, &re) && re.budget {
			l.errorAt(f, d.Pos, "Lua file %s: %s", argText(d.Args[luaArgIndex(d.Name)].Value, tainted), msg)
		}
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

// maxGlobEntries bounds the directory entries the include globs of one
// load list: "include /usr/*/*/*/*/*/*;" listed millions.
const maxGlobEntries = 200_000

// glob expands an absolute glob pattern over the loader's fs.FS like
// glob(3) with no flags, as ngx_open_glob calls it: matches are sorted
// bytewise (nginx runs in the C locale), and a name starting with '.' is
// only matched by a pattern component that itself starts with '.'. Unlike
// glob(3) it does not descend into a symbolic link to a directory that
// holds it (a loop that would repeat the tree under every pattern
// component), and with roots it lists no directory outside them
// (outside reports that one was left out); an ancestor of a root is not
// listed either, only the roots' own path components below it are
// matched.
func (l *loader) glob(pattern string) (matches []string, outside bool, err error) {
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
					if _, err := fs.Stat(l.fsys, p); err == nil {
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
			ents, out := l.listDir(dir)
			outside = outside || out
			l.globEntries += len(ents)
			if l.globEntries > maxGlobEntries {
				return nil, outside, fmt.Errorf("include globs listed more than %d directory entries in this load; not read", maxGlobEntries)
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
				child := join(dir, n)
				if !last {
					if !e.IsDir() {
						if fi, err := fs.Stat(l.fsys, child); err != nil || !fi.IsDir() {
							continue
						}
					}
					if e.Type()&fs.ModeSymlink != 0 && l.linksBack(dir, child) {
						continue
					}
				}
				next = append(next, child)
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
	return out, outside, nil
}

// listDir lists the directory dir (fs-relative, "" for the root) for
// glob. With roots, a directory outside them is not listed (outside is
// set), and one that holds roots yields only the names leading to them.
func (l *loader) listDir(dir string) (ents []fs.DirEntry, outside bool) {
	name := dir
	if name == "" {
		name = "."
	}
	if len(l.roots) > 0 {
		real, err := l.realPath("/" + dir)
		if err != nil {
			return nil, false // glob(3) skips what it cannot read
		}
		if _, ok := l.root(real); !ok {
			seen := map[string]bool{}
			for _, r := range l.roots {
				if !within(r, real) {
					continue
				}
				n, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(r, real), "/"), "/")
				if seen[n] {
					continue
				}
				seen[n] = true
				if fi, err := fs.Stat(l.fsys, join(dir, n)); err == nil {
					ents = append(ents, fs.FileInfoToDirEntry(fi))
				}
			}
			if len(ents) == 0 {
				return nil, true
			}
			sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
			return ents, false
		}
	}
	ents, err := fs.ReadDir(l.fsys, name)
	if err != nil {
		return nil, false // glob(3) skips unreadable directories
	}
	return ents, false
}

// linksBack reports whether child, a symbolic link in dir, leads to dir
// or to a directory that holds it: descending would repeat the tree.
func (l *loader) linksBack(dir, child string) bool {
	rc, err := l.realPath("/" + child)
	if err != nil {
		return true
	}
	rd, err := l.realPath("/" + dir)
	if err != nil {
		return true
	}
	return within(rd, rc)
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

package nginxengine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// A scenario's synthetic file tree (Scenario.Files: the alias directory
// and a secret next to it, or /etc/passwd) is replayed by writing it under
// the run's private directory and pointing every absolute root and alias
// of the rewritten copy into it, so "/srv/app/static/" becomes
// "<run>/files/tree/srv/app/static/". Nothing else the configuration
// names may then reach the static handler: checkConfined refuses what
// could map a request outside the run's directory, and the run answers
// emulator.ErrNotReplayable rather than guessing.

// Limits on a synthetic tree: the rules' trees hold two or three small
// files; anything larger is not one of them.
const maxSynthFiles, maxSynthBytes = 64, 1 << 20

// filesRoot is where the synthetic tree is written: one level below
// <run>/files, so that an alias traversal from "alias /;" (the finding
// SEC2004 itself climbs one directory: "/x../secret") still lands in the
// run's own, otherwise empty, <run>/files.
func filesRoot(private string) string { return filepath.Join(private, "files", "tree") }

// synthFile is one file of the synthetic tree, by its clean relative path.
type synthFile struct {
	name string
	data []byte
}

// readSynthetic reads the synthetic tree, refusing any name that is not a
// clean relative path (no "..", no leading "/", nothing but regular files
// and directories): such a name would be written outside filesRoot.
func readSynthetic(fsys fs.FS) ([]synthFile, error) {
	var out []synthFile
	total, entries := 0, 0
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		// Each entry's own name is checked, not only the joined path:
		// path.Join cleans "srv/.." back to ".", which would walk the
		// root again without end.
		entries++
		if entries > 1 {
			if n := d.Name(); n == "" || n == "." || n == ".." || strings.Contains(n, "/") || !fs.ValidPath(p) || path.Clean(p) != p {
				return fmt.Errorf("synthetic file name %q in %q is not a clean relative path", n, p)
			}
		}
		if entries > 4*maxSynthFiles {
			return fmt.Errorf("synthetic tree too large (more than %d entries)", 4*maxSynthFiles)
		}
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("synthetic file %q is not a regular file", p)
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		total += len(data)
		if len(out) >= maxSynthFiles || total > maxSynthBytes {
			return fmt.Errorf("synthetic tree too large (more than %d files or %d bytes)", maxSynthFiles, maxSynthBytes)
		}
		out = append(out, synthFile{name: p, data: data})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", emulator.ErrNotReplayable, err)
	}
	return out, nil
}

// writeSynthetic writes files under root, creating each directory itself
// and each file with O_EXCL, which fails on any existing name, a symlink
// included: nothing is written through a link or over another file.
func writeSynthetic(root string, files []synthFile) error {
	mkdir := func(dir string) error {
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		fi, err := os.Lstat(dir)
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a directory", dir)
		}
		return nil
	}
	if err := mkdir(filepath.Dir(root)); err != nil {
		return err
	}
	if err := mkdir(root); err != nil {
		return err
	}
	for _, f := range files {
		dir := root
		parts := strings.Split(f.name, "/")
		for _, p := range parts[:len(parts)-1] {
			dir = filepath.Join(dir, p)
			if err := mkdir(dir); err != nil {
				return err
			}
		}
		w, err := os.OpenFile(filepath.Join(dir, parts[len(parts)-1]), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return err
		}
		_, werr := w.Write(f.data)
		if cerr := w.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return werr
		}
	}
	return nil
}

// intoFiles is the argument that points an absolute root or alias value
// into root, or ok false when v is left as it is (relative: under the
// copied prefix) or cannot be moved (variables, or a path that leaves
// root once cleaned); checkConfined then refuses what was left unsafe.
// The trailing slash is kept: for alias it decides what a request past
// the location's prefix maps to.
func intoFiles(root, v string) (string, bool) {
	if !strings.HasPrefix(v, "/") || strings.Contains(v, "$") {
		return "", false
	}
	root = filepath.ToSlash(root)
	c := path.Clean(root + v)
	if c != root && !strings.HasPrefix(c, root+"/") {
		return "", false
	}
	if strings.HasSuffix(v, "/") && !strings.HasSuffix(c, "/") {
		c += "/"
	}
	return c, true
}

// rawVar matches the variables whose value comes from the request without
// nginx's URI normalisation, so they can carry "/../" into a rewritten
// URI (ngx_http_map_uri_to_path joins root and URI without cleaning).
var rawVar = regexp.MustCompile(`\$\{?(request_uri|args|query_string|request|request_body|(arg|http|cookie)_[A-Za-z0-9_]*)\b`)

// checkConfined is the synthetic-tree counterpart of checkContained: on
// the configuration exactly as nginx reads it (absolute includes
// outside the tree too), every root and alias must lie in root (or be
// relative, under the prefix, without ".."), with no variable; no
// argument may hold ".." or a raw request variable, and a directive that
// sets the URI (rewrite, try_files, error_page, index...) no variable but
// $uri, through which a URI could climb out of root; SSI is off; and no
// code that reads files by itself may run (Lua, Perl, njs, any module
// loaded by load_module).
func checkConfined(cfg *nginxconf.Config, root string) []Uncontained {
	root = filepath.ToSlash(root)
	var out []Uncontained
	refuse := func(d *nginxconf.Directive, why string) {
		what := d.Name
		if len(d.Args) > 0 {
			what += " " + shortArg(d.Args[0].Value)
		}
		out = append(out, Uncontained{Pos: d.Pos, Directive: what, Reason: why})
	}
	cfg.Walk(func(d *nginxconf.Directive, parents []*nginxconf.Directive) bool {
		switch {
		case isScriptDirective(d.Name) || d.Name == "load_module":
			refuse(d, "code that can read any file runs here, so the synthetic tree cannot be the only one served")
			return true
		case d.Name == "root" || d.Name == "alias":
			v := d.Arg(0)
			switch {
			case strings.Contains(v, "$"):
				refuse(d, "the path has variables: where it points is known only per request")
			case strings.HasPrefix(v, "/"):
				if c := path.Clean(v); c != root && !strings.HasPrefix(c, root+"/") || hasDotDot(v) {
					refuse(d, "the path is outside the synthetic tree the run serves")
				}
			case hasDotDot(v):
				refuse(d, "a relative path with \"..\" leaves the copied prefix")
			}
		}
		if d.Name == "include" {
			return true // resolved by the loader, its files walked here
		}
		if d.Name == "ssi" && d.Arg(0) != "off" {
			refuse(d, "SSI includes in served files could name files outside the synthetic tree")
		}
		if uriChanging[d.Name] {
			for _, a := range d.Args {
				// What follows "?" is the query string, which no file
				// name is built from.
				v, _, _ := strings.Cut(a.Value, "?")
				for _, m := range anyVar.FindAllStringSubmatch(v, -1) {
					if m[1] != "uri" && m[1] != "document_uri" {
						refuse(d, "$"+m[1]+" in a URI could rebuild \"/../\" from parts of the request (ngx_http_map_uri_to_path does not clean a rewritten URI)")
					}
				}
			}
		}
		for _, a := range d.Args {
			switch {
			case strings.Contains(a.Value, ".."):
				refuse(d, "\"..\" in an argument could make a rewritten URI climb out of the synthetic tree")
			case rawVar.MatchString(a.Value):
				refuse(d, "a raw request variable could carry \"/../\" into a rewritten URI")
			default:
				continue
			}
			break
		}
		return true
	})
	return out
}

// isScriptDirective reports whether a directive belongs to a module that
// runs code from the configuration (Lua, njs, perl): the containment
// arguments that hold for nginx's own modules do not hold for that code.
func isScriptDirective(name string) bool {
	return strings.HasPrefix(name, "lua_") || strings.Contains(name, "_by_lua") ||
		strings.HasPrefix(name, "js_") || strings.HasPrefix(name, "perl")
}

// uriChanging are the directives that set the URI a later root or alias
// maps to a file. In them only the client's normalised URI ($uri,
// $document_uri) may appear: a capture or another variable could put
// pieces of the request together into "/../". Seen on Debian's 1.22.1:
// with root /d/www/a, `location ~ ^/c(.)(.)/ { rewrite ^/c(.)(.)/(.*)$
// /$1$2/$1$2/$3 break; }` answers GET /c../x with /d/x.
var uriChanging = map[string]bool{
	"rewrite": true, "try_files": true, "error_page": true, "index": true, "auth_request": true,
	"mirror": true, "post_action": true, "add_before_body": true, "add_after_body": true,
}

var anyVar = regexp.MustCompile(`\$\{?([A-Za-z0-9_]+)`)

func hasDotDot(p string) bool {
	for _, s := range strings.Split(p, "/") {
		if s == ".." {
			return true
		}
	}
	return false
}

package nginxengine

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/ngxlint/ngxlint/nginxconf"
)

// A configuration that says "include fastcgi_params;" relies on the file
// nginx installations ship next to nginx.conf; a repository seldom holds
// it, and nginx refuses to start without it. The load takes such an
// include as nginx's stock file (nginxconf.Directive.Stock), and so does
// the emulator; the engine writes the same stock directives into the
// copied tree, so that both engines run the same parameters.

// stockWritten are the stock files the engine writes: the params files,
// whose facts are complete. mime.types and the charset tables are left to
// the system (an absolute include reaches /etc/nginx; the charset facts
// lack their byte mappings).
var stockWritten = map[string]bool{"fastcgi_params": true, "fastcgi.conf": true, "uwsgi_params": true, "scgi_params": true}

// stockFile is a stock file to write into the copied tree: its path
// there and its text.
type stockFile struct {
	rel  string // slash-separated, relative to the prefix
	text []byte
	note string
}

// stockIncludes returns the stock files that the relative includes of
// cfg name and the tree does not hold. A relative include is resolved
// against the main file's directory (nginx's conf_prefix under -c), so
// that is where each is written; an absolute one is left to nginx, which
// reads the system's file, and so is a name that would land outside the
// prefix.
func stockIncludes(cfg *nginxconf.Config, main string) []stockFile {
	var out []stockFile
	seen := map[string]bool{}
	cfg.Walk(func(d *nginxconf.Directive, _ []*nginxconf.Directive) bool {
		if d.Name != "include" || d.Stock == nil || !stockWritten[d.Stock.Name] || len(d.Args) == 0 {
			return true
		}
		arg := d.Args[0].Value
		if strings.HasPrefix(arg, "/") {
			return true
		}
		rel := path.Clean(path.Join(path.Dir(main), arg))
		if rel == ".." || strings.HasPrefix(rel, "../") || seen[rel] {
			return true
		}
		seen[rel] = true
		out = append(out, stockFile{rel: rel, text: renderStock(d.Stock),
			note: fmt.Sprintf("%s: include %s: the tree does not hold it; written from %s", d.Pos, arg, d.Stock.Source)})
		return true
	})
	return out
}

// writeStock writes the stock files under prefix, never over a file the
// copied tree holds.
func writeStock(prefix string, files []stockFile) error {
	for _, f := range files {
		p := filepath.Join(prefix, filepath.FromSlash(f.rel))
		if _, err := os.Lstat(p); err == nil {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, f.text, 0o644); err != nil {
			return fmt.Errorf("write stock %s: %w", f.rel, err)
		}
	}
	return nil
}

// renderStock writes a stock file's directives as nginx configuration.
func renderStock(sf *nginxconf.StockFile) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s, written by ngxlint's engine: the checked tree does not hold it\n", sf.Source)
	var write func(ds []nginxconf.StockDirective, indent string)
	write = func(ds []nginxconf.StockDirective, indent string) {
		for _, d := range ds {
			b.WriteString(indent + d.Name)
			for _, a := range d.Args {
				b.WriteString(" " + quoteArg(a))
			}
			if d.Block != nil {
				b.WriteString(" {\n")
				write(d.Block, indent+"    ")
				b.WriteString(indent + "}\n")
				continue
			}
			b.WriteString(";\n")
		}
	}
	write(sf.Directives, "")
	return []byte(b.String())
}

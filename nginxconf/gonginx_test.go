package nginxconf

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tufanbarisyildirim/gonginx/config"
	gparser "github.com/tufanbarisyildirim/gonginx/parser"
)

// The differential test: on every configuration file gonginx parses without
// error, the directive names and arguments it produces must equal ours.
//
// Normalisation and deliberate exclusions:
//   - gonginx keeps arguments as written (quotes and backslashes included),
//     so its values are compared with our Arg.Raw, not Arg.Value.
//   - Lua-bearing *_by_lua_block directives are compared by name only:
//     gonginx re-joins the body from nginx tokens and trims it.
//   - gonginx wraps some blocks: "upstream" reports only its name, and a
//     "server" inside an upstream is rebuilt from parsed fields; both are
//     compared by name and first argument.
//   - gonginx's http and upstream wrappers keep "server" children apart and
//     list them after the other directives (config.HTTP.GetDirectives,
//     config.Upstream.GetDirectives); our children of those two blocks are
//     put in the same order before comparing, so order is still checked
//     everywhere else and among servers.
//   - Each file is parsed on its own (gonginx's include following is
//     compared separately by our own include tests), and files gonginx
//     rejects are skipped: it refuses some valid syntax and accepts some
//     invalid syntax (see issue 2), which our own cases pin down.
func gonginxTree(src string) (ds []config.IDirective, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("gonginx panicked: %v", r)
		}
	}()
	p := gparser.NewStringParser(src, gparser.WithSkipValidDirectivesErr(), gparser.WithSkipComments())
	c, err := p.Parse()
	if err != nil {
		return nil, err
	}
	return c.Block.GetDirectives(), nil
}

func compareGonginx(t *testing.T, file string, ours []*Directive, theirs []config.IDirective) {
	t.Helper()
	if len(ours) != len(theirs) {
		var a, b []string
		for _, d := range ours {
			a = append(a, d.Name)
		}
		for _, d := range theirs {
			b = append(b, d.GetName())
		}
		t.Errorf("%s: %d directives vs gonginx %d\n ours %q\n them %q", file, len(ours), len(theirs), a, b)
		return
	}
	for i, d := range ours {
		g := theirs[i]
		if rawName(d) != g.GetName() && d.Name != g.GetName() {
			t.Errorf("%s: name %q vs gonginx %q", d.Pos, d.Name, g.GetName())
			continue
		}
		if d.Lua != nil && d.Lua.Origin == LuaBlock {
			continue
		}
		var ga []string
		for _, p := range g.GetParameters() {
			ga = append(ga, p.GetValue())
		}
		var oa []string
		for _, a := range d.Args {
			oa = append(oa, a.Raw)
		}
		wrapped := d.Name == "upstream" || (d.Name == "server" && d.Parent != nil && d.Parent.Name == "upstream")
		if wrapped {
			if len(oa) > 1 {
				oa = oa[:1]
			}
			if len(ga) > 1 {
				ga = ga[:1]
			}
		}
		if strings.Join(oa, "\x00") != strings.Join(ga, "\x00") {
			t.Errorf("%s: %s args %q vs gonginx %q", d.Pos, d.Name, oa, ga)
		}
		var gb []config.IDirective
		if b := g.GetBlock(); b != nil {
			gb = b.GetDirectives()
		}
		if d.HasBlock && d.Lua == nil {
			kids := d.Block
			if d.Name == "http" || d.Name == "upstream" {
				kids = serversLast(kids)
			}
			compareGonginx(t, file, kids, gb)
		}
	}
}

// rawName is the directive name as written (gonginx keeps quotes).
func rawName(d *Directive) string {
	if d.File == nil || d.Pos.Offset >= len(d.File.Data) {
		return d.Name
	}
	end := d.Pos.Offset + len(d.Name)
	if q := d.File.Data[d.Pos.Offset]; q == '"' || q == '\'' {
		end += 2
	}
	if end > len(d.File.Data) {
		return d.Name
	}
	return string(d.File.Data[d.Pos.Offset:end])
}

func diffFile(t *testing.T, f *File) bool {
	if len(f.Errors) > 0 {
		return false
	}
	theirs, err := gonginxTree(string(f.Data))
	if err != nil {
		return false
	}
	compareGonginx(t, f.Path, f.Directives, theirs)
	return true
}

func TestGonginxDifferentialCases(t *testing.T) {
	files, _ := filepath.Glob("testdata/cases/*.txtar")
	model, _ := filepath.Glob("testdata/model/*.txtar")
	compared := 0
	for _, file := range append(files, model...) {
		tc := loadCase(t, file)
		cfg := Load(tc.fsys, tc.main, tc.opts)
		for _, f := range cfg.Files {
			if diffFile(t, f) {
				compared++
			}
		}
	}
	t.Logf("compared %d files with gonginx", compared)
	if compared < 20 {
		t.Errorf("only %d files compared; the differential test is not exercising much", compared)
	}
}

func TestGonginxDifferentialCorpus(t *testing.T) {
	root := corpusRoot(t)
	compared, skipped := 0, 0
	err := filepath.WalkDir(root, func(p string, de os.DirEntry, err error) error {
		if err != nil || de.IsDir() || strings.HasSuffix(p, ".lua") || strings.HasSuffix(p, ".jsonl") || strings.HasSuffix(p, ".md") {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		f := ParseString(rel, string(data))
		if diffFile(t, f) {
			compared++
		} else {
			skipped++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("compared %d corpus files with gonginx, %d skipped (gonginx or we reported errors)", compared, skipped)
}

func serversLast(ds []*Directive) []*Directive {
	var out, servers []*Directive
	for _, d := range ds {
		if d.Name == "server" {
			servers = append(servers, d)
		} else {
			out = append(out, d)
		}
	}
	return append(out, servers...)
}

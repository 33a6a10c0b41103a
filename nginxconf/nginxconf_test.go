package nginxconf

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"golang.org/x/tools/txtar"
)

var update = flag.Bool("update", false, "rewrite the golden sections of testdata/cases/*.txtar")

// A case is a txtar archive under testdata/cases. Its comment holds options
// ("main: path", "prefix: /p", "maxnesting: N", "maxfiles: N",
// "maxdepth: N"); the "want" section holds hand-written expectations, one a
// line:
//
//	error FILE:LINE:COL REGEXP     an error at that position (the set of errors must match exactly)
//	noerrors                       no error at all
//	lua FILE:LINE:COL CONTEXT ORIGIN QUOTED-CODE
//	                               a Lua chunk with that position and byte-exact code (strconv.Quote syntax)
//	luaerr CONTEXT REGEXP          a *_by_lua_file chunk whose LoadError matches
//	files PATH...                  the configuration files read, in order
//	luafiles PATH...               the Lua files read, in order
//	directive FILE:LINE:COL NAME ARG...   a directive with those values
//
// The "golden" section is a dump of the whole tree (go test -update rewrites
// it); it pins every position so that a change shows in review.
type testCase struct {
	name    string
	arch    *txtar.Archive
	opts    Options
	main    string
	want    string
	fsys    fstest.MapFS
	golden  string
	hasGold bool
}

func loadCase(t *testing.T, file string) *testCase {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	tc := &testCase{name: file, arch: txtar.Parse(data), main: "nginx.conf", fsys: fstest.MapFS{}}
	for _, line := range strings.Split(string(tc.arch.Comment), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		n, _ := strconv.Atoi(v)
		switch strings.TrimSpace(k) {
		case "main":
			tc.main = v
		case "prefix":
			tc.opts.Prefix = v
		case "maxnesting":
			tc.opts.MaxNesting = n
		case "maxfiles":
			tc.opts.MaxFiles = n
		case "maxdepth":
			tc.opts.MaxIncludeDepth = n
		case "maxsize":
			tc.opts.MaxFileSize = int64(n)
		}
	}
	for _, f := range tc.arch.Files {
		switch f.Name {
		case "want":
			tc.want = string(f.Data)
		case "golden":
			tc.golden = string(f.Data)
			tc.hasGold = true
		default:
			tc.fsys[f.Name] = &fstest.MapFile{Data: f.Data, Mode: 0o644}
		}
	}
	// Directories and special files named by a trailing marker.
	for name, f := range tc.fsys {
		switch {
		case strings.HasSuffix(name, ".fifo-marker"):
			delete(tc.fsys, name)
			tc.fsys[strings.TrimSuffix(name, ".fifo-marker")] = &fstest.MapFile{Mode: os.ModeNamedPipe | 0o644}
		case strings.HasSuffix(name, ".dir-marker"):
			delete(tc.fsys, name)
			tc.fsys[strings.TrimSuffix(name, ".dir-marker")] = &fstest.MapFile{Mode: os.ModeDir | 0o755}
		default:
			_ = f
		}
	}
	return tc
}

func TestCases(t *testing.T) {
	files, err := filepath.Glob("testdata/cases/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			tc := loadCase(t, file)
			cfg := Load(tc.fsys, tc.main, tc.opts)
			checkInvariants(t, cfg)
			checkWant(t, cfg, tc.want)
			got := dump(cfg)
			if *update {
				writeGolden(t, file, tc, got)
				return
			}
			if !tc.hasGold {
				t.Errorf("no golden section; run go test -update")
			} else if got != tc.golden {
				t.Errorf("golden mismatch (go test -update to rewrite)\n--- got\n%s\n--- want\n%s", got, tc.golden)
			}
		})
	}
}

func writeGolden(t *testing.T, file string, tc *testCase, got string) {
	var files []txtar.File
	for _, f := range tc.arch.Files {
		if f.Name != "golden" {
			files = append(files, f)
		}
	}
	files = append(files, txtar.File{Name: "golden", Data: []byte(got)})
	tc.arch.Files = files
	if err := os.WriteFile(file, txtar.Format(tc.arch), 0o644); err != nil {
		t.Fatal(err)
	}
}

var wantPos = regexp.MustCompile(`^(\S+):(\d+):(\d+)$`)

func parsePos(t *testing.T, s string) (string, int, int) {
	t.Helper()
	m := wantPos.FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("bad position %q", s)
	}
	l, _ := strconv.Atoi(m[2])
	c, _ := strconv.Atoi(m[3])
	return m[1], l, c
}

func checkWant(t *testing.T, cfg *Config, want string) {
	t.Helper()
	var wantErrs []string
	errsChecked := false
	var chunks []*Directive
	for _, f := range cfg.Files {
		for d := range allDirectives(f.Directives) {
			if d.Lua != nil {
				chunks = append(chunks, d)
			}
		}
	}
	for _, line := range strings.Split(want, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		kind, rest, _ := strings.Cut(line, " ")
		switch kind {
		case "noerrors":
			errsChecked = true
		case "error":
			errsChecked = true
			wantErrs = append(wantErrs, rest)
		case "lua":
			f := strings.SplitN(rest, " ", 4)
			if len(f) != 4 {
				t.Fatalf("bad lua line %q", line)
			}
			file, l, c := parsePos(t, f[0])
			code, err := strconv.Unquote(f[3])
			if err != nil {
				t.Fatalf("bad quoted code in %q: %v", line, err)
			}
			found := false
			var near []string
			for _, d := range chunks {
				lc := d.Lua
				if lc.Pos.File == file && lc.Pos.Line == l && lc.Pos.Column == c {
					if lc.Context == f[1] && lc.Origin.String() == f[2] && lc.Code == code {
						found = true
					}
					near = append(near, fmt.Sprintf("%s %s %q", lc.Context, lc.Origin, lc.Code))
				}
			}
			if !found {
				var have []string
				for _, d := range chunks {
					have = append(have, d.Lua.Pos.String())
				}
				t.Errorf("no Lua chunk %s; at that position: %v; chunks at %v", line, near, have)
			}
		case "luaerr":
			ctx, re, _ := strings.Cut(rest, " ")
			found := false
			for _, d := range chunks {
				if d.Lua.Context == ctx && d.Lua.LoadError != "" && regexp.MustCompile(re).MatchString(d.Lua.LoadError) {
					found = true
				}
			}
			if !found {
				t.Errorf("no %s chunk with load error matching %q", ctx, re)
			}
		case "files", "luafiles":
			var got []string
			list := cfg.Files
			if kind == "luafiles" {
				list = cfg.LuaFiles
			}
			for _, f := range list {
				got = append(got, f.Path)
			}
			if g := strings.Join(got, " "); g != rest {
				t.Errorf("%s = %q, want %q", kind, g, rest)
			}
		case "directive":
			f := strings.Fields(rest)
			file, l, c := parsePos(t, f[0])
			found := false
			cfg.Walk(func(d *Directive, _ []*Directive) bool {
				if d.Pos.File == file && d.Pos.Line == l && d.Pos.Column == c {
					found = true
					var args []string
					for _, a := range d.Args {
						args = append(args, a.Value)
					}
					got := strings.Join(append([]string{d.Name}, args...), " ")
					if want := strings.Join(f[1:], " "); got != want {
						t.Errorf("directive at %s = %q, want %q", f[0], got, want)
					}
				}
				return true
			})
			if !found {
				t.Errorf("no directive at %s", f[0])
			}
		default:
			t.Fatalf("unknown want line %q", line)
		}
	}
	if !errsChecked {
		return
	}
	used := make([]bool, len(cfg.Errors))
	for _, w := range wantErrs {
		posStr, re, _ := strings.Cut(w, " ")
		file, l, c := parsePos(t, posStr)
		rx := regexp.MustCompile(re)
		ok := false
		for i, e := range cfg.Errors {
			if !used[i] && e.Pos.File == file && e.Pos.Line == l && e.Pos.Column == c && rx.MatchString(e.Msg) {
				used[i], ok = true, true
				break
			}
		}
		if !ok {
			t.Errorf("missing error %s", w)
		}
	}
	for i, e := range cfg.Errors {
		if !used[i] {
			t.Errorf("unexpected error %s", e)
		}
	}
}

// dump renders the tree with every position, for golden comparison.
func dump(cfg *Config) string {
	var b strings.Builder
	for _, e := range cfg.Errors {
		fmt.Fprintf(&b, "error %s\n", e)
	}
	for _, f := range cfg.Files {
		fmt.Fprintf(&b, "file %s\n", f.Path)
		dumpDirs(&b, f.Directives, 1)
	}
	for _, f := range cfg.LuaFiles {
		fmt.Fprintf(&b, "luafile %s %d bytes\n", f.Path, len(f.Data))
	}
	return b.String()
}

func lc(p Pos) string { return fmt.Sprintf("%d:%d", p.Line, p.Column) }

func dumpDirs(b *strings.Builder, ds []*Directive, depth int) {
	for _, d := range ds {
		ind := strings.Repeat("  ", depth)
		fmt.Fprintf(b, "%s%s", ind, strconv.Quote(d.Name))
		for _, a := range d.Args {
			fmt.Fprintf(b, " %s", strconv.Quote(a.Value))
		}
		fmt.Fprintf(b, " @%s-%s", lc(d.Pos), lc(d.End))
		if d.HasBlock {
			fmt.Fprintf(b, " {%s }%s", lc(d.BlockOpen), lc(d.BlockClose))
		}
		for _, f := range d.Included {
			fmt.Fprintf(b, " -> %s", f.Path)
		}
		b.WriteString("\n")
		if l := d.Lua; l != nil {
			fmt.Fprintf(b, "%s  lua %s %s %s@%s-%s", ind, l.Context, l.Origin, l.Pos.File, lc(l.Pos), lc(l.End))
			if l.LoadError != "" {
				fmt.Fprintf(b, " loaderror=%q", l.LoadError)
			}
			if l.Unresolved {
				b.WriteString(" unresolved")
			}
			fmt.Fprintf(b, " %s\n", strconv.Quote(l.Code))
		}
		dumpDirs(b, d.Block, depth+1)
	}
}

// checkInvariants verifies what must hold for any input: positions agree
// with the bytes they point at, and Lua code is the source slice.
func checkInvariants(t testing.TB, cfg *Config) {
	t.Helper()
	if cfg == nil {
		t.Fatal("nil config")
	}
	checkIndex(t, cfg)
	checkPos := func(f *File, p Pos, what string) {
		t.Helper()
		if p.File != f.Path {
			t.Errorf("%s: file %q, want %q", what, p.File, f.Path)
		}
		if p.Offset < 0 || p.Offset > len(f.Data) {
			t.Errorf("%s: offset %d out of [0,%d]", what, p.Offset, len(f.Data))
			return
		}
		if q := f.PosAt(p.Offset); q != p {
			t.Errorf("%s: position %+v, but offset says %+v", what, p, q)
		}
	}
	for _, f := range cfg.Files {
		for _, e := range f.Errors {
			if e.Pos.IsValid() {
				checkPos(f, e.Pos, "error "+e.Msg)
			}
		}
		for d := range allDirectives(f.Directives) {
			if d.File != f {
				t.Errorf("%s: File is not the containing file", d.Pos)
			}
			checkPos(f, d.Pos, "directive "+d.Name)
			checkPos(f, d.End, "end of "+d.Name)
			if d.End.Offset <= d.Pos.Offset {
				t.Errorf("%s: end %d before start %d", d.Pos, d.End.Offset, d.Pos.Offset)
			}
			for _, a := range d.Args {
				checkPos(f, a.Pos, "arg of "+d.Name)
				end := a.End()
				checkPos(f, end, "arg end of "+d.Name)
				if a.Pos.Offset <= end.Offset && end.Offset <= len(f.Data) {
					if got := string(f.Data[a.Pos.Offset:end.Offset]); got != a.Raw {
						t.Errorf("%s: arg Raw %q but source %q", a.Pos, a.Raw, got)
					}
				}
			}
			if d.HasBlock {
				checkPos(f, d.BlockOpen, "block open of "+d.Name)
				if d.BlockOpen.Offset < len(f.Data) && f.Data[d.BlockOpen.Offset] != '{' {
					t.Errorf("%s: BlockOpen not at '{'", d.BlockOpen)
				}
				if d.BlockClose.IsValid() {
					checkPos(f, d.BlockClose, "block close of "+d.Name)
					if f.Data[d.BlockClose.Offset] != '}' {
						t.Errorf("%s: BlockClose not at '}'", d.BlockClose)
					}
				}
			}
			for _, c := range d.Block {
				if c.Parent != d {
					t.Errorf("%s: wrong Parent", c.Pos)
				}
			}
			l := d.Lua
			if l == nil {
				continue
			}
			switch l.Origin {
			case LuaBlock:
				checkPos(f, l.Pos, "lua start")
				checkPos(f, l.End, "lua end")
				if l.Pos.Offset != d.BlockOpen.Offset+1 {
					t.Errorf("%s: Lua code does not start right after '{'", l.Pos)
				}
				if l.Pos.Offset <= l.End.Offset && l.End.Offset <= len(f.Data) {
					if src := string(f.Data[l.Pos.Offset:l.End.Offset]); src != l.Code {
						t.Errorf("%s: Lua code is not the source slice", l.Pos)
					}
				}
			case LuaString:
				checkPos(f, l.Pos, "lua string start")
				for i := 0; i <= len(l.Code); i++ {
					o := l.SourceOffset(i)
					if o < l.Pos.Offset || o > len(f.Data) {
						t.Errorf("%s: SourceOffset(%d) = %d out of range", l.Pos, i, o)
						break
					}
				}
				if l.RawOffsets == nil && !bytes.Equal([]byte(l.Code), f.Data[l.Pos.Offset:l.Pos.Offset+len(l.Code)]) {
					t.Errorf("%s: identity-mapped Lua string differs from source", l.Pos)
				}
			case LuaFile:
				if l.LoadError == "" && !l.Unresolved {
					found := false
					for _, lf := range cfg.LuaFiles {
						if lf.Path == l.Pos.File {
							found = true
							if string(lf.Data) != l.Code {
								t.Errorf("%s: Lua file code differs from file", l.Pos)
							}
						}
					}
					if !found {
						t.Errorf("%s: Lua file not in LuaFiles", l.Pos)
					}
				}
			}
		}
	}
}

package nginxconf

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// Pos is a position in a source file. Line and Column are 1-based; Column
// counts bytes, as nginx and most editors' "byte column" do. Offset is the
// 0-based byte offset into the file.
type Pos struct {
	File   string
	Line   int
	Column int
	Offset int
}

// IsValid reports whether p refers to a real position.
func (p Pos) IsValid() bool { return p.Line > 0 }

func (p Pos) String() string { return string(p.AppendText(make([]byte, 0, len(p.File)+16))) }

// AppendText appends "file:line:col" ("line:col" without a file) to b:
// reports print one per finding, tens of thousands on a fleet's
// configuration.
func (p Pos) AppendText(b []byte) []byte {
	if p.File != "" {
		b = append(b, p.File...)
		b = append(b, ':')
	}
	b = strconv.AppendInt(b, int64(p.Line), 10)
	b = append(b, ':')
	return strconv.AppendInt(b, int64(p.Column), 10)
}

// Arg is one argument of a directive as nginx sees it after unquoting and
// unescaping (Value), with the raw source text (Raw) and its span.
type Arg struct {
	Value string
	Raw   string
	// Quote is '"', '\'' or 0 for a bare word.
	Quote byte
	// Unterminated is set for a quoted argument cut by the end of the file
	// (its Raw has no closing quote).
	Unterminated bool
	Pos          Pos // first byte of Raw
}

// End is the position one past the last byte of Raw. It is computed, not
// stored: a large configuration has hundreds of thousands of arguments,
// and a second Pos per argument was a tenth of the parsed tree's memory.
func (a Arg) End() Pos { return a.Pos.Advance(a.Raw) }

// Advance returns the position after text, which starts at p in p's file.
func (p Pos) Advance(text string) Pos {
	q := p
	q.Offset += len(text)
	if i := strings.LastIndexByte(text, '\n'); i >= 0 {
		q.Line += strings.Count(text, "\n")
		q.Column = len(text) - i
	} else {
		q.Column += len(text)
	}
	return q
}

// LuaOrigin says where a LuaChunk's code came from.
type LuaOrigin int

const (
	// LuaBlock is the body of a *_by_lua_block { ... } directive.
	LuaBlock LuaOrigin = iota
	// LuaString is the (unquoted, unescaped) argument of a *_by_lua directive.
	LuaString
	// LuaFile is the content of the file named by a *_by_lua_file directive.
	LuaFile
)

func (o LuaOrigin) String() string {
	switch o {
	case LuaBlock:
		return "block"
	case LuaString:
		return "string"
	case LuaFile:
		return "file"
	}
	return "unknown"
}

// LuaChunk is a piece of Lua code carried by a directive.
type LuaChunk struct {
	// Code is byte-exact: for a block, every byte between '{' and the matching
	// '}' (exclusive); for a file, the file's content; for a quoted string,
	// the value after nginx's unescaping.
	Code string
	// Pos is the position of Code's first byte in the file where it lives
	// (nginx.conf for blocks and strings, the Lua file for files).
	Pos Pos
	// End is the position one past Code's last byte (for a block, the
	// closing brace).
	End Pos
	// Context is the phase the chunk runs in, e.g. "balancer_by_lua",
	// "content_by_lua", "init_by_lua" (the directive name without the
	// _block / _file suffix).
	Context string
	Origin  LuaOrigin
	// Path is the resolved file path for LuaFile chunks.
	Path string
	// RawOffsets maps offsets in Code back to offsets in the source file
	// for LuaString chunks whose unescaping changed lengths; nil when the
	// mapping is the identity (Code[i] lives at Pos.Offset+i). When set it
	// has len(Code)+1 entries: RawOffsets[i] is the source offset of the
	// escape sequence or byte that produced Code[i], and the last entry is
	// the offset of the closing quote (or of the end of a bare word).
	RawOffsets []int
	// LoadError is set for LuaFile chunks whose file could not be read
	// (missing, not a regular file, too large); Code is then empty and Pos
	// invalid. It is not a load error of the configuration: nginx itself
	// only fails when the phase runs, so rules report it.
	LoadError string
	// NotInCheckout is set with LoadError when the configuration names
	// the file by an absolute install path (after Options.PathMap) that
	// lies outside the checked tree or is missing from it: the
	// checkout's layout, not necessarily a wrong path.
	NotInCheckout bool
	// Unresolved is set for LuaFile chunks whose path contains nginx
	// variables: lua-nginx-module evaluates such paths per request
	// (ngx_http_complex_value), so there is no file to read statically.
	Unresolved bool
}

// SourceOffset maps an offset in c.Code to the byte offset in the file
// where that byte is written.
func (c *LuaChunk) SourceOffset(i int) int {
	if c.RawOffsets != nil && i >= 0 && i < len(c.RawOffsets) {
		return c.RawOffsets[i]
	}
	return c.Pos.Offset + i
}

// Directive is one nginx directive: a name, its arguments, and for block
// directives the directives inside the block.
type Directive struct {
	Name     string
	Args     []Arg
	Pos      Pos // start of the name
	End      Pos // one past the terminating ';' or the closing '}'
	HasBlock bool
	// Block holds the children of a block directive. For *_by_lua_block
	// directives it is empty and Lua holds the body.
	Block      []*Directive
	BlockOpen  Pos // the '{'
	BlockClose Pos // the '}'
	// Lua is set for *_by_lua, *_by_lua_block and *_by_lua_file directives.
	Lua *LuaChunk
	// Included is set for include directives: the files it pulled in, in
	// the order nginx reads them.
	Included []*File
	// Stock is set for an include of one of nginx's stock files
	// (mime.types, fastcgi_params...) that the checked tree does not
	// hold: it stands for the file an installation ships (see Stock).
	Stock *StockFile
	// Parent is the enclosing block directive, nil at file top level.
	Parent *Directive
	// File is the file the directive is written in.
	File *File
}

// IsLua reports whether d carries Lua code.
func (d *Directive) IsLua() bool { return d.Lua != nil }

// Arg returns the i-th argument's value, or "" if there is none.
func (d *Directive) Arg(i int) string {
	if i < 0 || i >= len(d.Args) {
		return ""
	}
	return d.Args[i].Value
}

// File is one configuration file as read.
type File struct {
	Path string
	// Data is the file content as read, used for snippets and fixes. It
	// must not be modified: the parsed names and arguments share its
	// memory.
	Data       []byte
	Directives []*Directive
	// IncludedFrom is the include directive that pulled this file in, nil
	// for the main file.
	IncludedFrom *Directive
	// Errors are the syntax errors found in this file.
	Errors []*Error
	// AbsPath is the file's absolute path as nginx sees it (for Load, the
	// fs.FS root is "/"). Includes and cycles are resolved on it.
	AbsPath string
	// lines holds the offset of the start of every line; the parser fills
	// it before the File is shared, so PosAt never writes.
	lines []int
	// depth is the number of blocks around the file's top level in the
	// files that include it (MaxNesting counts across includes).
	depth int
	// tainted is set when the file had syntax errors once parsed (load
	// errors of its includes come later): what it names is not echoed,
	// and the Lua modules its chunks require are not followed.
	tainted bool
}

// indexLines records where every line of f.Data starts.
func (f *File) indexLines() {
	n := bytes.Count(f.Data, []byte{'\n'})
	f.lines = make([]int, 1, n+1)
	for i := 0; ; {
		j := bytes.IndexByte(f.Data[i:], '\n')
		if j < 0 {
			break
		}
		i += j + 1
		f.lines = append(f.lines, i)
	}
}

// PosAt returns the position of byte offset off in f (clamped to the file).
func (f *File) PosAt(off int) Pos {
	if off < 0 {
		off = 0
	}
	if off > len(f.Data) {
		off = len(f.Data)
	}
	lines := f.lines
	if lines == nil {
		// A File built by hand: count without caching (no shared writes).
		line := 1 + bytes.Count(f.Data[:off], []byte{'\n'})
		start := bytes.LastIndexByte(f.Data[:off], '\n') + 1
		return Pos{File: f.Path, Line: line, Column: off - start + 1, Offset: off}
	}
	// The last line start <= off.
	lo, hi := 0, len(lines)-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if lines[mid] <= off {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return Pos{File: f.Path, Line: lo + 1, Column: off - lines[lo] + 1, Offset: off}
}

// Error is a load or syntax error with its position.
type Error struct {
	Pos Pos
	Msg string
}

func (e *Error) Error() string {
	if e.Pos.IsValid() {
		return fmt.Sprintf("%s: %s", e.Pos, e.Msg)
	}
	if e.Pos.File != "" {
		return fmt.Sprintf("%s: %s", e.Pos.File, e.Msg)
	}
	return e.Msg
}

package luacheck

import (
	"sort"

	"github.com/ngxlint/ngxlint/nginxconf"
)

// posMapper turns chunk offsets into positions in the file where the code
// lives.
//
// Blocks and unescaped strings: the chunk's first line starts at
// chunk.Pos.Column, later lines at column 1. Quoted strings whose unescaping
// changed lengths: RawOffsets gives each Code byte's offset in the file; a
// Code '\n' is a real line break in the file only when it came from a single
// raw byte (nginx turns the two bytes `\n` into one newline byte, see
// ngx_conf_read_token in src/core/ngx_conf_file.c), so lines are counted on
// those only.
type posMapper struct {
	chunk *nginxconf.LuaChunk
	lx    *lexer
	raw   []int // RawOffsets when usable
	// rawNL are the Code indexes of newlines that are real file newlines.
	rawNL []int
}

func newPosMapper(chunk *nginxconf.LuaChunk, lx *lexer) *posMapper {
	m := &posMapper{chunk: chunk, lx: lx}
	if chunk.Origin == nginxconf.LuaString && len(chunk.RawOffsets) >= len(chunk.Code) && len(chunk.Code) > 0 {
		m.raw = chunk.RawOffsets
		for i := 0; i < len(chunk.Code); i++ {
			if chunk.Code[i] == '\n' && m.rawAt(i+1)-m.raw[i] == 1 {
				m.rawNL = append(m.rawNL, i)
			}
		}
	}
	return m
}

func (m *posMapper) rawAt(i int) int {
	if i < len(m.raw) {
		return m.raw[i]
	}
	if m.chunk.End.Offset > 0 && m.chunk.End.Offset >= m.raw[len(m.raw)-1] {
		return m.chunk.End.Offset
	}
	return m.raw[len(m.raw)-1] + 1
}

// at maps a chunk offset (0..len(Code)) to a file position.
func (m *posMapper) at(off int) nginxconf.Pos {
	c := m.chunk
	if off < 0 {
		off = 0
	}
	if off > len(c.Code) {
		off = len(c.Code)
	}
	if m.raw != nil {
		r := m.rawAt(off)
		k := sort.SearchInts(m.rawNL, off) // newlines strictly before off
		p := nginxconf.Pos{File: c.Pos.File, Offset: r}
		if k == 0 {
			p.Line = c.Pos.Line
			p.Column = c.Pos.Column + (r - m.raw[0])
		} else {
			p.Line = c.Pos.Line + k
			p.Column = r - (m.raw[m.rawNL[k-1]] + 1) + 1
		}
		return p
	}
	line, col := m.lx.lineCol(off)
	p := nginxconf.Pos{File: c.Pos.File, Offset: c.Pos.Offset + off}
	base := c.Pos
	if base.Line <= 0 {
		base.Line, base.Column = 1, 1
	}
	if base.Column <= 0 {
		base.Column = 1
	}
	p.Line = base.Line + line - 1
	if line == 1 {
		p.Column = base.Column + col - 1
	} else {
		p.Column = col
	}
	return p
}

// lineStart maps a chunk line (1-based) to the file position of its first byte.
func (m *posMapper) lineStart(line int) nginxconf.Pos {
	ls := m.lx.lineStarts
	if line < 1 {
		line = 1
	}
	if line > len(ls) {
		return m.at(len(m.chunk.Code))
	}
	return m.at(ls[line-1])
}

// end returns the position just past the chunk: for a block its closing
// brace (chunk.End), else the end of Code.
func (m *posMapper) end() nginxconf.Pos {
	if m.chunk.End.IsValid() {
		return m.chunk.End
	}
	return m.at(len(m.chunk.Code))
}

package nginxconf

import (
	"encoding/base64"
	"encoding/json"
	"unicode/utf8"
)

// The parse JSON follows crossplane's shape (nginxinc/crossplane "parse"
// output) so that tools written for it can read ours; "lua" and "end_*" are
// our additions.

type jsonPayload struct {
	Status string        `json:"status"`
	Errors []jsonError   `json:"errors"`
	Config []jsonConfig  `json:"config"`
	Lua    []jsonLuaFile `json:"lua_files,omitempty"`
}

type jsonError struct {
	File   string `json:"file,omitempty"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
	Error  string `json:"error"`
}

type jsonConfig struct {
	File   string          `json:"file"`
	Status string          `json:"status"`
	Errors []jsonError     `json:"errors"`
	Parsed []jsonDirective `json:"parsed"`
}

type jsonDirective struct {
	Directive string           `json:"directive"`
	Line      int              `json:"line"`
	Column    int              `json:"column"`
	Args      []string         `json:"args"`
	Block     *[]jsonDirective `json:"block,omitempty"` // [] for an empty block, absent for none
	Includes  []int            `json:"includes,omitempty"`
	Lua       *jsonLua         `json:"lua,omitempty"`
}

type jsonLua struct {
	Origin  string `json:"origin"`
	Context string `json:"context"`
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Code    string `json:"code"`
	// CodeBase64 carries the exact bytes when Code is not valid UTF-8,
	// which a JSON string cannot hold.
	CodeBase64 string `json:"code_base64,omitempty"`
	LoadError  string `json:"load_error,omitempty"`
}

type jsonLuaFile struct {
	File string `json:"file"`
}

// MarshalParseJSON returns the loaded tree as crossplane-style JSON:
//
//	{"status":"ok"|"failed","errors":[{"file","line","column","error"}],
//	 "config":[{"file","status","errors":[...],"parsed":[{"directive","line",
//	   "column","args":[...],"block":[...],"includes":[indexes into config],
//	   "lua":{"origin","context","file","line","column","code"}}]}]}
//
// lua.code is the chunk's code byte for byte when it is valid UTF-8; when it
// is not, lua.code_base64 holds the exact bytes as well.
func (c *Config) MarshalParseJSON() ([]byte, error) {
	index := make(map[*File]int, len(c.Files))
	for i, f := range c.Files {
		index[f] = i
	}
	out := jsonPayload{Status: "ok", Errors: jsonErrors(c.Errors, true), Config: []jsonConfig{}}
	if len(c.Errors) > 0 {
		out.Status = "failed"
	}
	for _, f := range c.Files {
		jc := jsonConfig{File: f.Path, Status: "ok", Errors: jsonErrors(f.Errors, false), Parsed: jsonDirectives(f.Directives, index)}
		if len(f.Errors) > 0 {
			jc.Status = "failed"
		}
		out.Config = append(out.Config, jc)
	}
	for _, lf := range c.LuaFiles {
		out.Lua = append(out.Lua, jsonLuaFile{File: lf.Path})
	}
	return json.Marshal(out)
}

func jsonErrors(errs []*Error, withFile bool) []jsonError {
	out := make([]jsonError, 0, len(errs))
	for _, e := range errs {
		je := jsonError{Line: e.Pos.Line, Column: e.Pos.Column, Error: e.Msg}
		if withFile {
			je.File = e.Pos.File
		}
		out = append(out, je)
	}
	return out
}

func jsonDirectives(ds []*Directive, index map[*File]int) []jsonDirective {
	out := make([]jsonDirective, 0, len(ds))
	for _, d := range ds {
		jd := jsonDirective{Directive: d.Name, Line: d.Pos.Line, Column: d.Pos.Column, Args: make([]string, 0, len(d.Args))}
		for _, a := range d.Args {
			jd.Args = append(jd.Args, a.Value)
		}
		if d.HasBlock && d.Lua == nil {
			b := jsonDirectives(d.Block, index)
			jd.Block = &b
		}
		for _, f := range d.Included {
			jd.Includes = append(jd.Includes, index[f])
		}
		if l := d.Lua; l != nil {
			jl := &jsonLua{Origin: l.Origin.String(), Context: l.Context, Line: l.Pos.Line, Column: l.Pos.Column, Code: l.Code, LoadError: l.LoadError}
			if l.Origin == LuaFile {
				jl.File = l.Path
			}
			if !utf8.ValidString(l.Code) {
				jl.CodeBase64 = base64.StdEncoding.EncodeToString([]byte(l.Code))
			}
			jd.Lua = jl
		}
		out = append(out, jd)
	}
	return out
}

package luacheck

import (
	"strings"
	"testing"

	"github.com/ngxlint/ngxlint/nginxconf"
)

// TestSyntaxErrorQuotesNothing: a file that is not Lua (a credentials file
// named in *_by_lua_file) must not have its text echoed by the syntax error
// or turned into other findings (issue 14 item 8). The token gopher-lua
// stops at is named by its kind, keywords and punctuation as written.
func TestSyntaxErrorQuotesNothing(t *testing.T) {
	const secret = "FAKE0123"
	for _, tc := range []struct{ code, near string }{
		{"token ghp_FAKE0123\n", "near a name"},
		{"GITHUB_TOKEN=ghp_FAKE0123 x\n", ""},
		{"local t = \"ghp_FAKE0123\" \"ghp_FAKE0123\" x\n", "near a string"},
		{"x = 1 \"ghp_FAKE0123\" = 2\n", "near a string"},
		{"user = ghp_FAKE0123 = 2\n", "near '='"},
		{"password: ghp_FAKE0123\n", ""},
		{"a = 1\npassword: ghp_FAKE0123 = 1\n", "near '='"},
		{"token = \"ghp_FAKE0123\n", ""},
		{"x = 0x1p4FAKE0123 y\n", ""},
		{"https://ghp_FAKE0123@github.com\n", ""},
	} {
		for _, origin := range []nginxconf.LuaOrigin{nginxconf.LuaFile, nginxconf.LuaBlock} {
			res := Analyze(&nginxconf.LuaChunk{Code: tc.code, Pos: nginxconf.Pos{File: ".env", Line: 1, Column: 1},
				Origin: origin, Context: "balancer_by_lua"}, Options{})
			if len(res.SyntaxErrors) != 1 {
				t.Fatalf("%q: want one syntax error, got %+v", tc.code, res.SyntaxErrors)
			}
			e := res.SyntaxErrors[0]
			if strings.Contains(e.Message, secret) || strings.Contains(e.Token, secret) {
				t.Errorf("%q: the syntax error quotes the file: message %q, token %q", tc.code, e.Message, e.Token)
			}
			if tc.near != "" && !strings.HasSuffix(e.Message, tc.near) {
				t.Errorf("%q: message %q, want it to end in %q", tc.code, e.Message, tc.near)
			}
			if e.Token != "" && !strings.HasSuffix(e.Message, "near "+e.Token) {
				t.Errorf("%q: message %q does not end in its token %q", tc.code, e.Message, e.Token)
			}
			if len(res.Warnings)+len(res.APIUses)+len(res.InternalErrors) > 0 || res.Balancer != nil {
				t.Errorf("%q: findings from a chunk that does not parse: %+v %+v %v", tc.code, res.Warnings, res.APIUses, res.InternalErrors)
			}
		}
	}
}

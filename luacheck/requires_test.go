package luacheck

import (
	"slices"
	"strings"
	"testing"

	"github.com/ngxlint/ngxlint/internal/luadepth"
)

func TestRequires(t *testing.T) {
	for _, tc := range []struct {
		code string
		want []string
	}{
		{`local m = require "a.b"`, []string{"a.b"}},
		{`local m = require 'c'; local n = require("d"); local o = require [[e]]`, []string{"c", "d", "e"}},
		{`local ok, p = pcall(require, "resty.core") local q = require ( "f" )`, []string{"resty.core", "f"}},
		{`_G.logger = require "cjson"
		  local function f() return require("lazy").x end
		  local t = { mod = require "g" }`, []string{"cjson", "lazy", "g"}},
		// Each once, in source order.
		{`require "x" require "y" require "x"`, []string{"x", "y"}},
		// Not literal: not guessed.
		{`local n = "z" local m = require(n) local k = require("p" .. n) local j = require(n, "q")`, nil},
		// Methods and fields named require are not the global.
		{`obj.require "no" obj:require "no2" local s = "require 'no3'" -- require "no4"`, nil},
		// A chunk that does not parse requires nothing.
		{`local m = require "a" if then`, nil},
		// ... unless it requires only what OpenResty provides (not parsed
		// for this: those names lead to no file of the tree).
		{`local b = require "ngx.balancer" if then`, []string{"ngx.balancer"}},
		{"local x = " + strings.Repeat("{", luadepth.Limit+10) + `require "deep"` + strings.Repeat("}", luadepth.Limit+10), nil},
		{``, nil},
	} {
		if got := Requires(tc.code); !slices.Equal(got, tc.want) {
			t.Errorf("Requires(%q) = %q, want %q", tc.code, got, tc.want)
		}
	}
}

package luacheck

import (
	"fmt"
	"os"
	"testing"

	"github.com/ngxlint/ngxlint/nginxconf"
)

func TestScratch(t *testing.T) {
	f := os.Getenv("SCRATCH")
	if f == "" {
		t.Skip()
	}
	b, _ := os.ReadFile(f)
	r := Analyze(&nginxconf.LuaChunk{Code: string(b), Pos: nginxconf.Pos{File: f, Line: 1, Column: 1}, Context: os.Getenv("CTX"), Origin: nginxconf.LuaFile}, Options{})
	for _, e := range r.SyntaxErrors {
		fmt.Printf("%s: syntax: %s near %q\n", e.Pos, e.Message, e.Token)
	}
	for _, w := range r.Warnings {
		fmt.Printf("%s: (%s) %s\n", w.Pos, w.Code, w.Message)
	}
	for _, u := range r.APIUses {
		fmt.Printf("%s: api %s via=%s call=%v used=%v allowed=%v args=%v\n", u.Pos, u.Name, u.Via, u.Call, u.ResultUsed, u.Allowed, u.Args)
	}
	if r.Balancer != nil {
		fmt.Printf("balancer: %+v\n", *r.Balancer)
	}
	for _, e := range r.InternalErrors {
		fmt.Println(e)
	}
}

package apigen

import (
	"strings"
	"testing"
)

func TestStreamCoreRequires(t *testing.T) {
	base := "local subsystem = ngx.config.subsystem\n" +
		"if subsystem == 'http' then\n    if ngx.config.ngx_lua_version ~= 10026 then error('x') end\n" +
		"elseif subsystem == 'stream' then\n    if not ngx.config\n       or ngx.config.ngx_lua_version ~= 14\n    then\n        error('y')\n    end\n" +
		"else\n    error('z')\nend\n"
	exact, min, line := StreamCoreRequires(base)
	if len(exact) != 1 || exact[0] != "v0.0.14" || min != "" || line != 6 {
		t.Errorf("got %v %q line %d", exact, min, line)
	}
	old := "elseif subsystem == 'stream' then\n  if ngx_lua_v < 4 then error() end\nelse\nend\n"
	if exact, min, _ := StreamCoreRequires(old); len(exact) != 0 || min != "v0.0.4" {
		t.Errorf("old form: %v %q", exact, min)
	}
	if exact, min, _ := StreamCoreRequires("if subsystem == 'http' then end"); exact != nil || min != "" {
		t.Errorf("no stream branch: %v %q", exact, min)
	}
}

func TestTranslateStreamRoundTrip(t *testing.T) {
	src := map[string]string{"src/ngx_stream_lua_output.c": "ngx_stream_lua_check_context(L, ctx, NGX_STREAM_LUA_CONTEXT_CONTENT);"}
	out := TranslateStream(src)
	if out["src/ngx_http_lua_output.c"] != "ngx_http_lua_check_context(L, ctx, NGX_HTTP_LUA_CONTEXT_CONTENT);" {
		t.Fatalf("translated: %v", out)
	}
	f := &Facts{APIs: []APIFacts{{Name: "ngx.say", Periods: []Period{{From: "v0.0.2", Verdict: Verdict{
		Impl:    "C ngx_http_lua_ngx_say (src/ngx_http_lua_output.c:643@lua-nginx-module/v0.0.2)",
		Sources: []string{"src/ngx_http_lua_output.c:78@lua-nginx-module/v0.0.2 context mask NGX_HTTP_LUA_CONTEXT_CONTENT"}}}}}}}
	UntranslateStreamFacts(f)
	p := f.APIs[0].Periods[0]
	if p.Impl != "C ngx_stream_lua_ngx_say (src/ngx_stream_lua_output.c:643@stream-lua-nginx-module/v0.0.2)" ||
		p.Sources[0] != "src/ngx_stream_lua_output.c:78@stream-lua-nginx-module/v0.0.2 context mask NGX_STREAM_LUA_CONTEXT_CONTENT" {
		t.Errorf("untranslated: %+v", p)
	}
	kept := KeepStreamDecided(append(f.APIs, APIFacts{Name: "ngx.req.get_headers", Periods: []Period{{From: "v0.0.8",
		Verdict: Verdict{Sources: []string{"lib/resty/core/request.lua:153@lua-resty-core/v0.1.19 needs a request"}}}}}))
	if len(kept) != 1 || kept[0].Name != "ngx.say" {
		t.Errorf("KeepStreamDecided kept %v", kept)
	}
	if !strings.Contains(string(streamFactsJSON), "stream-lua-nginx-module") {
		t.Error("streamfacts.json does not name its source repository")
	}
}

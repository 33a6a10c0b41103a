package nginxconf

import (
	"testing"
	"testing/fstest"

	"github.com/ngxlint/ngxlint/internal/gen"
	gparser "github.com/tufanbarisyildirim/gonginx/parser"
)

// benchConfig is 2,000 servers x 5 locations, 2,000 upstreams and 300
// balancer_by_lua_block upstreams (about 3 MB).
func benchConfig() string { return gen.Config(2000, 5, 2000, 300) }

// TestGeneratedConfig checks that the benchmark input loads cleanly and
// that the model sees what the generator wrote.
func TestGeneratedConfig(t *testing.T) {
	src := gen.Config(20, 3, 10, 5)
	cfg := Load(fstest.MapFS{"nginx.conf": {Data: []byte(src)}}, "nginx.conf", Options{})
	if err := cfg.Err(); err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, cfg)
	m := BuildModel(cfg)
	if len(m.HTTP.Servers) != 20 || len(m.HTTP.Upstreams) != 15 {
		t.Fatalf("servers %d upstreams %d", len(m.HTTP.Servers), len(m.HTTP.Upstreams))
	}
	balancers := 0
	for _, u := range m.HTTP.Upstreams {
		if u.Balancer != nil {
			balancers++
			if !u.Before(u.Balancer, u.Keepalive) {
				t.Errorf("%s: keepalive should follow the balancer", u.Name)
			}
		}
	}
	if balancers != 5 {
		t.Errorf("balancers %d", balancers)
	}
	for _, s := range m.HTTP.Servers {
		for _, l := range s.AllLocations {
			if l.Proxy.Pass == nil || l.Proxy.Pass.Upstream == nil {
				t.Fatalf("%s: proxy_pass not resolved", l.Directive.Pos)
			}
		}
	}
}

func BenchmarkLoad(b *testing.B) {
	src := []byte(benchConfig())
	fsys := fstest.MapFS{"nginx.conf": {Data: src}}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		cfg := Load(fsys, "nginx.conf", Options{})
		if len(cfg.Errors) > 0 {
			b.Fatal(cfg.Errors[0])
		}
	}
}

func BenchmarkLoadAndModel(b *testing.B) {
	src := []byte(benchConfig())
	fsys := fstest.MapFS{"nginx.conf": {Data: src}}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		BuildModel(Load(fsys, "nginx.conf", Options{}))
	}
}

// BenchmarkGonginxParse is the baseline: gonginx parsing the same text
// (from a string, no includes, unknown directives allowed).
func BenchmarkGonginxParse(b *testing.B) {
	src := benchConfig()
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		p := gparser.NewStringParser(src, gparser.WithSkipValidDirectivesErr())
		if _, err := p.Parse(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWalkEvery and BenchmarkIndexEvery compare a visit of every
// directive with parents through a tree walk and through the flat index
// (built once, outside the loop, as a run shares it); BenchmarkIndexNamed
// reads two rare names' directives, what most rules do with the index.
func BenchmarkWalkEvery(b *testing.B) {
	cfg := Load(fstest.MapFS{"nginx.conf": {Data: []byte(benchConfig())}}, "nginx.conf", Options{})
	n := 0
	for b.Loop() {
		cfg.Walk(func(d *Directive, parents []*Directive) bool { n += len(parents); return true })
	}
}

func BenchmarkIndexEvery(b *testing.B) {
	ix := NewIndex(Load(fstest.MapFS{"nginx.conf": {Data: []byte(benchConfig())}}, "nginx.conf", Options{}))
	n := 0
	for b.Loop() {
		ix.Each(func(d *Directive, parents []*Directive) { n += len(parents) })
	}
}

func BenchmarkIndexNamed(b *testing.B) {
	ix := NewIndex(Load(fstest.MapFS{"nginx.conf": {Data: []byte(benchConfig())}}, "nginx.conf", Options{}))
	n := 0
	for b.Loop() {
		ix.Each(func(d *Directive, parents []*Directive) { n += len(parents) }, "resolver", "ssl_protocols")
	}
}

func BenchmarkNewIndex(b *testing.B) {
	cfg := Load(fstest.MapFS{"nginx.conf": {Data: []byte(benchConfig())}}, "nginx.conf", Options{})
	for b.Loop() {
		NewIndex(cfg)
	}
}

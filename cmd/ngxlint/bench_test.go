package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ngxlint/ngxlint/internal/gen"
)

// writeShape writes a generated shape under dir and returns the path of
// its nginx.conf and its line count.
func writeShape(tb testing.TB, dir, shape string) (string, int) {
	s, ok := gen.ShapeByName(shape)
	if !ok {
		tb.Fatalf("no shape %q", shape)
	}
	lines := 0
	for _, f := range gen.Tree(s.Params) {
		name := filepath.Join(dir, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(f.Data), 0o644); err != nil {
			tb.Fatal(err)
		}
		lines += strings.Count(f.Data, "\n")
	}
	return filepath.Join(dir, "nginx.conf"), lines
}

func checkOnce(tb testing.TB, out io.Writer, args ...string) {
	c := &Command{Stdin: strings.NewReader(""), Stdout: out, Stderr: io.Discard}
	if code := c.Main(append([]string{"ngxlint", "check", "--no-config"}, args...)); code > 1 {
		tb.Fatalf("exit %d", code)
	}
}

// installed are the versions of the nginx that scripts/bench.sh times
// with nginx -t (Debian 12's nginx 1.22.1 with lua-nginx-module 0.10.23),
// so that both tools judge the same deployment.
var installed = []string{"--nginx-version", "1.22.1", "--lua-nginx-module-version", "0.10.23"}

// BenchmarkCheck is the whole `ngxlint check` (load from disk, model,
// every rule, sorting, text output) in-process, on each generated shape,
// with the versions declared.
func BenchmarkCheck(b *testing.B) {
	for _, s := range gen.Shapes() {
		b.Run(s.Name, func(b *testing.B) {
			conf, lines := writeShape(b, b.TempDir(), s.Name)
			b.ReportAllocs()
			for b.Loop() {
				checkOnce(b, io.Discard, append(installed, conf)...)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(lines), "ns/line")
		})
	}
}

// BenchmarkCheckJSONUnknownVersions is the reference shape with no
// version declared (every version-dependent rule reports what would be
// affected, 30,000 findings) printed as JSON: the output-heavy case.
func BenchmarkCheckJSONUnknownVersions(b *testing.B) {
	conf, lines := writeShape(b, b.TempDir(), "reference")
	b.ReportAllocs()
	for b.Loop() {
		checkOnce(b, io.Discard, "--format", "json", conf)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(lines), "ns/line")
}

// BenchmarkCheckSeed is `ngxlint check` of the seed configuration,
// in-process (scripts/bench.sh times the binary, process start included).
func BenchmarkCheckSeed(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		checkOnce(b, io.Discard, seed)
	}
}

// BenchmarkConfirmSeed is `check --confirm` of the seed on
// lua-nginx-module 0.10.0: the emulator runs the NGX2001 scenario to its
// 1,000-attempt cap.
func BenchmarkConfirmSeed(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		var out bytes.Buffer
		checkOnce(b, &out, "--confirm", "--lua-nginx-module-version", "0.10.0", "--nginx-version", "1.9.7", seed)
		if !strings.Contains(out.String(), "confirmed:") {
			b.Fatalf("not confirmed:\n%s", out.String())
		}
	}
}

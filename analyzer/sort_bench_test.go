package analyzer

import (
	"fmt"
	"testing"

	"github.com/ngxlint/ngxlint/nginxconf"
)

// BenchmarkSortDiagnostics sorts 60,000 diagnostics of three rules spread
// over two files, with long messages sharing a prefix (as the version
// rules write them) and some exact duplicates.
func BenchmarkSortDiagnostics(b *testing.B) {
	rules := []*Rule{{ID: "NGX2102"}, {ID: "NGX2104"}, {ID: "VER1027"}}
	base := make([]*Diagnostic, 60000)
	for i := range base {
		off := (i * 7919) % 50000
		base[i] = &Diagnostic{Rule: rules[i%3], Pos: nginxconf.Pos{File: fmt.Sprint("conf/", i%2, ".conf"), Offset: off, Line: off / 30},
			Message: fmt.Sprintf("if this runs on nginx < 1.9.13 a failed reused keepalive connection to upstream %q is retried", fmt.Sprint("backend_", off%5000))}
	}
	ds := make([]*Diagnostic, len(base))
	b.ReportAllocs()
	for b.Loop() {
		copy(ds, base)
		SortDiagnostics(ds)
	}
}

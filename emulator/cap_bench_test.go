package emulator

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkSeedConfirmCap is BenchmarkSeedConfirm at several attempt caps.
// Every attempt of the looping request is a new upstream connection
// (connect, accept, request, close; in memory, the default transport), so
// the time grows with the cap; ns/attempt shows what one costs and what a lower cap in a rule's
// scenario would save.
func BenchmarkSeedConfirmCap(b *testing.B) {
	for _, limit := range []int{2, 10, 100, 300, 1000} {
		b.Run(fmt.Sprintf("cap%d", limit), func(b *testing.B) {
			cfg := seedConfig(prof(b, "1.9.7", "0.10.0", ""), "first-only")
			cfg.MaxAttempts = limit
			attempts := 0
			for b.Loop() {
				res, err := Run(context.Background(), cfg)
				if err != nil {
					b.Fatal(err)
				}
				if !res.Requests[1].Unbounded {
					b.Fatal("seed not confirmed")
				}
				attempts = len(res.Requests[1].Attempts) + len(res.Requests[0].Attempts)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(attempts), "ns/attempt")
		})
	}
}

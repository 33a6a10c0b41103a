package emulator

import (
	"context"
	"testing"
)

// BenchmarkSeedConfirm is the seed scenario on LNM 0.10.0 + nginx 1.9.7:
// two GET requests to a first-only backend, the second capped at 1000
// attempts.
func BenchmarkSeedConfirm(b *testing.B) {
	cfg := seedConfig(prof(b, "1.9.7", "0.10.0", ""), "first-only")
	cfg.MaxAttempts = 1000
	for i := 0; i < b.N; i++ {
		res, err := Run(context.Background(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		if !res.Requests[1].Unbounded {
			b.Fatal("seed not confirmed")
		}
	}
}

// BenchmarkSeedFixed is the same scenario on LNM 0.10.1: 502 after two
// attempts.
func BenchmarkSeedFixed(b *testing.B) {
	cfg := seedConfig(prof(b, "1.9.7", "0.10.1", ""), "first-only")
	for i := 0; i < b.N; i++ {
		if _, err := Run(context.Background(), cfg); err != nil {
			b.Fatal(err)
		}
	}
}

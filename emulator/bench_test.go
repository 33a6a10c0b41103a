package emulator

import (
	"context"
	"testing"
)

// BenchmarkSeedConfirm is the seed scenario on LNM 0.10.0 + nginx 1.9.7:
// two GET requests to a first-only backend, the second capped at 1000
// attempts, on each transport. Every attempt is a fresh upstream
// connection, so memory/tcp is what the in-memory transport saves per
// connection (listen, connect, accept, close on loopback).
func BenchmarkSeedConfirm(b *testing.B) {
	for _, tr := range []Transport{TransportMemory, TransportTCP} {
		b.Run(tr.String(), func(b *testing.B) {
			cfg := seedConfig(prof(b, "1.9.7", "0.10.0", ""), "first-only")
			cfg.MaxAttempts = 1000
			cfg.Transport = tr
			for b.Loop() {
				res, err := Run(context.Background(), cfg)
				if err != nil {
					b.Fatal(err)
				}
				if !res.Requests[1].Unbounded {
					b.Fatal("seed not confirmed")
				}
			}
		})
	}
}

// BenchmarkSeedFixed is the same scenario on LNM 0.10.1: 502 after two
// attempts. A run is mostly its set-up (front and backend listeners, the
// Lua worker), which is what a typical confirmation costs.
func BenchmarkSeedFixed(b *testing.B) {
	for _, tr := range []Transport{TransportMemory, TransportTCP} {
		b.Run(tr.String(), func(b *testing.B) {
			cfg := seedConfig(prof(b, "1.9.7", "0.10.1", ""), "first-only")
			cfg.Transport = tr
			for b.Loop() {
				if _, err := Run(context.Background(), cfg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

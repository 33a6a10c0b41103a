package nginxengine

import (
	"context"
	"testing"

	"github.com/ngxlint/ngxlint/emulator"
)

// BenchmarkSeedRealNginx runs the seed scenario (two GETs, first-only
// backend) through real nginx, including probing the binary, copying and
// rewriting the configuration, nginx -T, startup and teardown: the cost of
// one `--engine nginx` confirmation, to set against the emulator's.
func BenchmarkSeedRealNginx(b *testing.B) {
	bin := realNginx(b)
	c, err := parseDiffCase("testdata/diff/seed.txtar")
	if err != nil {
		b.Fatal(err)
	}
	sc := c.scenario()
	ctx := context.Background()
	for b.Loop() {
		res, err := Run(ctx, bin.Path, sc)
		if err != nil {
			b.Fatal(err)
		}
		if res.Requests[1].Status.Code != 502 {
			b.Fatalf("second request: %s", res.Requests[1].Status)
		}
	}
}

// BenchmarkSeedEmulator is the same scenario through the Go emulator with
// the profile of the real binary, for the ratio.
func BenchmarkSeedEmulator(b *testing.B) {
	bin := realNginx(b)
	c, err := parseDiffCase("testdata/diff/seed.txtar")
	if err != nil {
		b.Fatal(err)
	}
	ec, err := emulatorConfig(c, bin.Profile)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		res, err := emulator.Run(ctx, ec)
		if err != nil {
			b.Fatal(err)
		}
		if res.Requests[1].Status.Code != 502 {
			b.Fatalf("second request: %s", res.Requests[1].Status)
		}
	}
}

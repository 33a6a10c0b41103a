package gcpolicy

import (
	"math"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

// TestApplyThenRelax runs in a child process (the policy changes global
// runtime settings): before the first collection there is no GOGC pacing
// and the budget is the memory limit; after one collection the normal
// pacing is back and the limit is gone.
func TestApplyThenRelax(t *testing.T) {
	if os.Getenv("GCPOLICY_CHILD") == "1" {
		Apply()
		if got := debug.SetGCPercent(-1); got != -1 {
			t.Fatalf("GOGC after Apply = %d, want off (-1)", got)
		}
		if got := debug.SetMemoryLimit(-1); got != Budget {
			t.Fatalf("memory limit after Apply = %d, want %d", got, Budget)
		}
		runtime.GC()
		deadline := time.Now().Add(10 * time.Second)
		for debug.SetMemoryLimit(-1) != math.MaxInt64 {
			if time.Now().After(deadline) {
				t.Fatal("the policy did not relax after a collection")
			}
			runtime.GC()
			time.Sleep(time.Millisecond)
		}
		if got := debug.SetGCPercent(Percent); got != Percent {
			t.Fatalf("GOGC after the first collection = %d, want %d", got, Percent)
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestApplyThenRelax$", "-test.v")
	cmd.Env = append(os.Environ(), "GCPOLICY_CHILD=1", "GOGC=", "GOMEMLIMIT=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- PASS: TestApplyThenRelax") {
		t.Fatalf("the child did not run the test:\n%s", out)
	}
}

// TestEnvironmentWins: GOGC in the environment leaves the runtime alone.
func TestEnvironmentWins(t *testing.T) {
	if os.Getenv("GCPOLICY_CHILD") == "2" {
		before := debug.SetGCPercent(-1)
		debug.SetGCPercent(before)
		Apply()
		if got := debug.SetGCPercent(before); got != before {
			t.Fatalf("GOGC changed to %d with GOGC set in the environment", got)
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestEnvironmentWins$", "-test.v")
	cmd.Env = append(os.Environ(), "GCPOLICY_CHILD=2", "GOGC=150")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

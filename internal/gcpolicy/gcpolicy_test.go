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
		budget := budgetFor(memoryLimits())
		if budget < minBudget {
			t.Skipf("this machine allows a budget of %d bytes only: Apply just sets GOGC", budget)
		}
		Apply()
		if got := debug.SetGCPercent(-1); got != -1 {
			t.Fatalf("GOGC after Apply = %d, want off (-1)", got)
		}
		if got := debug.SetMemoryLimit(-1); got != budget {
			t.Fatalf("memory limit after Apply = %d, want %d", got, budget)
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
	if !strings.Contains(string(out), "--- PASS: TestApplyThenRelax") && !strings.Contains(string(out), "--- SKIP: TestApplyThenRelax") {
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

func TestBudgetFollowsMemoryLimits(t *testing.T) {
	for _, c := range []struct {
		limits []int64
		want   int64
	}{
		{nil, Budget},
		{[]int64{24 << 30}, Budget},               // a large machine
		{[]int64{256 << 20, 24 << 30}, 128 << 20}, // a 256 MiB container
		{[]int64{96 << 20}, 48 << 20},             // below minBudget: Apply only relaxes GOGC
		{[]int64{0, -1}, Budget},
	} {
		if got := budgetFor(c.limits); got != c.want {
			t.Errorf("budgetFor(%v) = %d, want %d", c.limits, got, c.want)
		}
	}
}

func TestParseLimits(t *testing.T) {
	for in, want := range map[string]int64{"268435456\n": 268435456, "max\n": 0, "9223372036854771712\n": 0, "": 0, "-1": 0} {
		got, ok := parseLimit([]byte(in))
		if got != want || ok != (want > 0) {
			t.Errorf("parseLimit(%q) = %d, %v", in, got, ok)
		}
	}
	meminfo := "MemFree:         1000 kB\nMemTotal:       24684084 kB\n"
	if got, ok := parseMemTotal([]byte(meminfo)); !ok || got != 24684084<<10 {
		t.Errorf("parseMemTotal = %d, %v", got, ok)
	}
	if _, ok := parseMemTotal([]byte("MemTotal: x kB\n")); ok {
		t.Error("parseMemTotal accepted a malformed line")
	}
}

// TestApplyRelaxed: only the pacing changes, collection stays on.
func TestApplyRelaxed(t *testing.T) {
	if os.Getenv("GCPOLICY_CHILD") == "3" {
		ApplyRelaxed()
		if got := debug.SetGCPercent(Percent); got != Percent {
			t.Fatalf("GOGC after ApplyRelaxed = %d, want %d", got, Percent)
		}
		if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
			t.Fatalf("memory limit after ApplyRelaxed = %d, want none", got)
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestApplyRelaxed$", "-test.v")
	cmd.Env = append(os.Environ(), "GCPOLICY_CHILD=3", "GOGC=", "GOMEMLIMIT=")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestApplyRelaxed") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

package gcpolicy

import (
	"bufio"
	"bytes"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
)

// Budget is the largest heap below which a run does not collect at all.
// The reference benchmark configuration (128,000 lines, 5,000 servers and
// upstreams) allocates about a third of it in total; nginx -t needs more
// than that resident for the same configuration (scripts/bench.sh).
const Budget = 384 << 20

// minBudget: below this, collection-free running is not worth the risk
// and the run only relaxes the pacing.
const minBudget = 64 << 20

// Percent is the GOGC value after the first collection: collecting when
// the heap has grown by four times the live heap trades some peak memory
// for about a third less CPU than Go's default of 100 on large inputs.
const Percent = 400

// sentinel is allocated unreachable; its finalizer runs after the first
// collection. It holds a pointer and is larger than 16 bytes so that it is
// not placed in a tiny-allocator block, whose finalizers may never run.
type sentinel struct {
	_ [4]uintptr
	_ *int
}

// userSet reports whether GOGC or GOMEMLIMIT is set: the user's choice
// wins over any policy here.
func userSet() bool { return os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" }

// Apply installs the policy unless GOGC or GOMEMLIMIT is set.
func Apply() {
	if userSet() {
		return
	}
	budget := budgetFor(memoryLimits())
	if budget < minBudget {
		debug.SetGCPercent(Percent)
		return
	}
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(budget)
	runtime.SetFinalizer(&sentinel{}, func(*sentinel) {
		// The heap reached the budget once: from now on collect with
		// normal pacing, so a huge input does not make the collector
		// run continuously at the limit.
		debug.SetGCPercent(Percent)
		debug.SetMemoryLimit(math.MaxInt64)
	})
}

// ApplyRelaxed only sets GOGC=Percent (unless GOGC or GOMEMLIMIT is
// set): for commands whose allocations are short-lived garbage in a loop
// rather than a tree that stays live, such as emulate with a large
// --max-attempts, where a collection-free budget would only grow the
// process (20,000 attempts on the seed: 233 MiB instead of 39 MiB).
func ApplyRelaxed() {
	if userSet() {
		return
	}
	debug.SetGCPercent(Percent)
}

// budgetFor is Budget, lowered to half of the tightest memory limit known
// (a container's cgroup limit, or the machine's memory), so that a run in
// a small CI container still collects well before it is killed.
func budgetFor(limits []int64) int64 {
	b := int64(Budget)
	for _, l := range limits {
		if l > 0 {
			b = min(b, l/2)
		}
	}
	return b
}

// memoryLimits returns the memory limits that apply to this process, in
// bytes: the cgroup v2 and v1 limits when set, and the machine's total.
func memoryLimits() []int64 {
	var out []int64
	for _, f := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		if data, err := os.ReadFile(f); err == nil {
			if n, ok := parseLimit(data); ok {
				out = append(out, n)
			}
		}
	}
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		if n, ok := parseMemTotal(data); ok {
			out = append(out, n)
		}
	}
	return out
}

// parseLimit reads a cgroup memory limit file: a byte count, or "max"
// (v2) and very large numbers (v1's "unlimited") for no limit.
func parseLimit(data []byte) (int64, bool) {
	n, err := strconv.ParseInt(string(bytes.TrimSpace(data)), 10, 64)
	if err != nil || n <= 0 || n >= 1<<60 {
		return 0, false
	}
	return n, true
}

// parseMemTotal reads MemTotal from /proc/meminfo ("MemTotal: 24684084 kB").
func parseMemTotal(data []byte) (int64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) == 3 && string(f[0]) == "MemTotal:" && string(f[2]) == "kB" {
			n, err := strconv.ParseInt(string(f[1]), 10, 64)
			if err != nil || n <= 0 {
				return 0, false
			}
			return n << 10, true
		}
	}
	return 0, false
}

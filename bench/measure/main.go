// The benchmark helpers are built by scripts/bench.sh with -tags
// ngxlint_tools: without the tag `go install ./...`, which pre-commit's
// golang language runs in the hook repository, installs only cmd/ngxlint.

//go:build ngxlint_tools

// Command measure times commands for scripts/bench.sh and prints the
// comparison table.
//
//	measure run -name NAME -results FILE [-n 5] [-warmup=false] [-quiet] [-ok 0,1] [-stdout FILE] [-dir DIR] -- CMD ARGS...
//	measure skip -name NAME -results FILE -note "why"
//	measure report -results FILE
//	measure machine
//
// run executes the command once untimed (to warm the page cache; -warmup=false
// skips it), then n times, and appends one tab-separated line per timed
// run to the results file: wall time (process start included), CPU time
// (user + system) and maximum resident set size, both from wait4's
// rusage. An exit code outside -ok fails the measurement. Several run
// calls may add samples under one name: scripts/bench.sh interleaves the
// commands it compares, one run each per round, so that load from other
// processes on a shared machine falls on both sides of a ratio. report
// groups the samples by name (median and minimum wall time, median CPU
// time, largest RSS) and prints the ratios the performance targets are
// stated in (issue 7).
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: measure run|skip|report|machine ...")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "run":
		err = runCmd(os.Args[2:])
	case "skip":
		err = skipCmd(os.Args[2:])
	case "report":
		err = reportCmd(os.Args[2:])
	case "machine":
		fmt.Println(machine())
	default:
		err = fmt.Errorf("unknown subcommand %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "measure:", err)
		os.Exit(1)
	}
}

// sample is one timed run.
type sample struct {
	wall, cpu time.Duration
	rssKB     int64
}

func runOnce(argv []string, dir, stdout string) (sample, int, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	if stdout != "" {
		// A regular file, not /dev/null: a character device on stdout
		// looks like a terminal to programs that check the mode bits.
		f, err := os.Create(stdout)
		if err != nil {
			return sample{}, 0, err
		}
		defer f.Close()
		cmd.Stdout = f
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return sample{}, 0, err
	}
	err := cmd.Wait()
	wall := time.Since(start)
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return sample{}, 0, err
	}
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	s := sample{wall: wall}
	if ru != nil {
		s.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		s.rssKB = ru.Maxrss // kilobytes on Linux
	}
	return s, cmd.ProcessState.ExitCode(), nil
}

func runCmd(args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	name := fs.String("name", "", "measurement name")
	results := fs.String("results", "", "results file (appended)")
	n := fs.Int("n", 5, "timed repetitions")
	warmup := fs.Bool("warmup", true, "run the command once untimed first")
	quiet := fs.Bool("quiet", false, "print nothing")
	okCodes := fs.String("ok", "0", "accepted exit codes, comma-separated")
	stdout := fs.String("stdout", "", "file for the command's standard output (default: discarded)")
	dir := fs.String("dir", "", "working directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	argv := fs.Args()
	if *name == "" || *results == "" || len(argv) == 0 {
		return fmt.Errorf("run needs -name, -results and a command")
	}
	ok := map[int]bool{}
	for _, c := range strings.Split(*okCodes, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil {
			return fmt.Errorf("-ok: %v", err)
		}
		ok[v] = true
	}
	out := *stdout
	if out == "" {
		out = *results + ".stdout"
	}
	first := 1
	if *warmup {
		first = 0 // run 0 warms caches and is not recorded
	}
	var samples []sample
	for i := first; i <= *n; i++ {
		s, code, err := runOnce(argv, *dir, out)
		if err != nil {
			return fmt.Errorf("%s: %v", *name, err)
		}
		if !ok[code] {
			return fmt.Errorf("%s: %s exited %d (accepted: %s)", *name, strings.Join(argv, " "), code, *okCodes)
		}
		if i > 0 {
			samples = append(samples, s)
		}
	}
	if err := appendSamples(*results, *name, samples); err != nil {
		return err
	}
	if !*quiet && len(samples) > 0 {
		fmt.Printf("  %-24s %s\n", *name, summarize(*name, samples).summary())
	}
	return nil
}

func skipCmd(args []string) error {
	fs := flag.NewFlagSet("skip", flag.ContinueOnError)
	name := fs.String("name", "", "measurement name")
	results := fs.String("results", "", "results file (appended)")
	note := fs.String("note", "", "why it was skipped")
	if err := fs.Parse(args); err != nil {
		return err
	}
	fmt.Printf("  %-24s skipped: %s\n", *name, *note)
	f, err := os.OpenFile(*results, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = fmt.Fprintf(f, "%s\tskip\t%s\n", *name, strings.ReplaceAll(*note, "\t", " "))
	return err
}

func median(ds []time.Duration) time.Duration {
	n := len(ds)
	if n%2 == 1 {
		return ds[n/2]
	}
	return (ds[n/2-1] + ds[n/2]) / 2
}

// result summarises the samples of one name.
type result struct {
	name               string
	n                  int
	wall, minWall, cpu time.Duration
	rssKB              int64
	skipped            bool
	note               string
}

func summarize(name string, samples []sample) result {
	walls := make([]time.Duration, len(samples))
	cpus := make([]time.Duration, len(samples))
	var peak int64
	for i, s := range samples {
		walls[i], cpus[i] = s.wall, s.cpu
		peak = max(peak, s.rssKB)
	}
	slices.Sort(walls)
	slices.Sort(cpus)
	return result{name: name, n: len(samples), wall: median(walls), minWall: walls[0], cpu: median(cpus), rssKB: peak}
}

func (r result) summary() string {
	if r.skipped {
		return "skipped: " + r.note
	}
	return fmt.Sprintf("median %9s  min %9s  cpu %9s  peak RSS %6.1f MiB  (n=%d)", ms(r.wall), ms(r.minWall), ms(r.cpu), float64(r.rssKB)/1024, r.n)
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1fms", float64(d)/1e6)
}

// The results file has one line per timed run: name, wall ns, CPU ns,
// maxrss KB; or name, "skip", note.
func appendSamples(file, name string, samples []sample) error {
	f, err := os.OpenFile(file, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, s := range samples {
		if _, err := fmt.Fprintf(f, "%s\t%d\t%d\t%d\n", name, s.wall, s.cpu, s.rssKB); err != nil {
			return err
		}
	}
	return nil
}

func readResults(file string) (map[string]result, []string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	samples := map[string][]sample{}
	skipped := map[string]string{}
	var order []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.Split(sc.Text(), "\t")
		if len(p) < 3 {
			continue
		}
		if _, seen := samples[p[0]]; !seen {
			if _, seen := skipped[p[0]]; !seen {
				order = append(order, p[0])
			}
		}
		if p[1] == "skip" {
			skipped[p[0]] = p[2]
			continue
		}
		if len(p) != 4 {
			continue
		}
		w, _ := strconv.ParseInt(p[1], 10, 64)
		c, _ := strconv.ParseInt(p[2], 10, 64)
		r, _ := strconv.ParseInt(p[3], 10, 64)
		samples[p[0]] = append(samples[p[0]], sample{wall: time.Duration(w), cpu: time.Duration(c), rssKB: r})
	}
	m := map[string]result{}
	for _, name := range order {
		if ss := samples[name]; len(ss) > 0 {
			m[name] = summarize(name, ss)
		} else {
			m[name] = result{name: name, skipped: true, note: skipped[name]}
		}
	}
	return m, order, sc.Err()
}

// The targets of issue 7, over the names scripts/bench.sh measures.
type ratioTarget struct {
	desc       string
	ours, base string
	min        float64 // base/ours must be at least this
	// costAtMost, when set instead of min, is a cost target: ours/base
	// must be at most this (ours is a heavier job than base).
	costAtMost float64
}

type absTarget struct {
	desc  string
	ours  string
	limit time.Duration
}

var ratioTargets = []ratioTarget{
	{"check (reference) faster than gonginx parse alone", "check-reference", "gonginx-parse", 1, 0},
	{"check (reference) >= 3x faster than nginx -t", "check-reference", "nginx-t", 3, 0},
	{"Lua analysis of 50k lines >= 20x faster than luacheck (driver)", "lua-analyze-50k", "luacheck-50k", 20, 0},
	{"Lua analysis of 50k lines >= 20x faster than luacheck (ngxlint check)", "check-lua-50k", "luacheck-50k", 20, 0},
	{"check --confirm (reference) costs at most 3x a plain check (issue 17)", "confirm-reference", "check-reference", 0, 3},
	{"seed confirmation: in-memory transport faster than loopback TCP (issue 17)", "emulate-seed-memory", "emulate-seed-tcp", 1, 0},
}

var absTargets = []absTarget{
	{"check of the seed < 20 ms wall (process start included)", "check-seed", 20 * time.Millisecond},
	{"check --confirm of the seed < 100 ms wall", "confirm-seed", 100 * time.Millisecond},
}

func reportCmd(args []string) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	results := fs.String("results", "", "results file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	m, order, err := readResults(*results)
	if err != nil {
		return err
	}
	fmt.Println("measurements (median and minimum of n runs after one warm-up; wall includes process start; cpu = user+sys, median; peak RSS = largest maxrss):")
	for _, name := range order {
		fmt.Printf("  %-24s %s\n", name, m[name].summary())
	}
	fmt.Println()
	fmt.Println("targets (ratios are baseline / ngxlint, measured in this run; judged on the median wall time):")
	have := func(n string) (result, bool) {
		r, ok := m[n]
		return r, ok && !r.skipped && r.wall > 0
	}
	mark := func(ok bool) string {
		if ok {
			return "MET    "
		}
		return "NOT MET"
	}
	for _, t := range ratioTargets {
		o, ok1 := have(t.ours)
		b, ok2 := have(t.base)
		if !ok1 || !ok2 {
			fmt.Printf("  [skipped] %s: %s or %s not measured\n", t.desc, t.ours, t.base)
			continue
		}
		if t.costAtMost > 0 {
			wr := float64(o.wall) / float64(b.wall)
			fmt.Printf("  [%s] %s: median wall %.1fx (%s vs %s); min wall %.1fx; cpu %.1fx\n", mark(wr <= t.costAtMost), t.desc, wr, ms(o.wall), ms(b.wall),
				float64(o.minWall)/float64(b.minWall), float64(o.cpu)/float64(b.cpu))
			continue
		}
		wr := float64(b.wall) / float64(o.wall)
		mr := float64(b.minWall) / float64(o.minWall)
		cr := float64(b.cpu) / float64(o.cpu)
		fmt.Printf("  [%s] %s: median wall %.1fx (%s vs %s); min wall %.1fx; cpu %.1fx\n", mark(wr >= t.min), t.desc, wr, ms(o.wall), ms(b.wall), mr, cr)
	}
	if o, ok := have("check-reference"); ok {
		if b, ok := have("nginx-t"); ok {
			fmt.Printf("  [%s] peak memory of check (reference) below nginx -t's: %.1f MiB vs %.1f MiB (%.2fx)\n",
				mark(o.rssKB < b.rssKB), float64(o.rssKB)/1024, float64(b.rssKB)/1024, float64(o.rssKB)/float64(b.rssKB))
		} else {
			fmt.Println("  [skipped] peak memory below nginx -t's: nginx -t not measured")
		}
	}
	for _, t := range absTargets {
		o, ok := have(t.ours)
		if !ok {
			fmt.Printf("  [skipped] %s: not measured\n", t.desc)
			continue
		}
		fmt.Printf("  [%s] %s: %s (min %s)\n", mark(o.wall < t.limit), t.desc, ms(o.wall), ms(o.minWall))
	}
	return nil
}

// machine names the CPU model and core count (/proc/cpuinfo) and the
// load at the time of the run, which matters on a shared machine.
func machine() string {
	model, cores := "unknown CPU", runtime.NumCPU()
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		n := 0
		for _, line := range strings.Split(string(data), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			switch strings.TrimSpace(k) {
			case "model name":
				model = strings.TrimSpace(v)
			case "processor":
				n++
			}
		}
		if n > 0 {
			cores = n
		}
	}
	host, _ := os.Hostname()
	s := fmt.Sprintf("%s, %d cores (%s/%s, %s), host %s", model, cores, runtime.GOOS, runtime.GOARCH, runtime.Version(), host)
	if data, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(data))
		if len(f) >= 3 {
			s += fmt.Sprintf(", load average %s %s %s", f[0], f[1], f[2])
		}
	}
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		line, _, _ := strings.Cut(string(data), "\n")
		s += ", " + strings.Join(strings.Fields(line), " ")
	}
	return s
}

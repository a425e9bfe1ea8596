// Command report runs cxscore's comparative benchmarks (package bench) and
// prints their results as Markdown tables: the median time of each
// operation for cxscore and its baselines (naive, a prometheus CounterVec,
// the plain sharded design and the striped floor; see package bench), the
// ratios between them, allocations, the 2-CPU/1-CPU scaling of recording,
// and memory per key; with the machine, the date and the exact command, so
// that a table can always be traced to a run.
//
// From the bench directory:
//
//	go run ./cmd/report                   # every benchmark, 6 rounds, -cpu 1,2 (about 12 minutes)
//	go run ./cmd/report -bench 'Record' -count 10
//	go run ./cmd/report -o raw.txt         # also keep go test's output, for benchstat
//
// or from the repository root: go run github.com/cxscore/cxscore/bench/cmd/report.
//
// By default the benchmarks run in -count rounds of go test -count 1, so
// that contenders interleave and a spell of load from another process hits
// one round of every contender instead of every run of one contender;
// -interleave=false runs go test -count N once (faster: the query history
// is built once). Each cell is the median of the -count runs, ± the half-width of its 95%
// confidence interval as benchstat computes it (order statistics of the
// sample, golang.org/x/perf/benchmath); with fewer than 6 runs that interval
// is unbounded, and ± shows half the min-max range instead, marked "r". Run
// the contenders in the same invocation: on a shared 2-core machine,
// figures from different runs differ more than contenders in one run do.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchmath"
)

// The contenders, in table order; sub-benchmarks are named after them.
var contenders = []string{"cxscore", "naive", "CounterVec", "sharded", "striped"}

func main() {
	count := flag.Int("count", 6, "runs of each benchmark (go test -count)")
	bench := flag.String("bench", ".", "benchmarks to run (go test -bench)")
	benchtime := flag.String("benchtime", "", "time or iterations per run (go test -benchtime); empty: go test's default, 1s")
	cpu := flag.String("cpu", "1,2", "GOMAXPROCS values (go test -cpu)")
	memCount := flag.Int("memcount", 1, "runs of BenchmarkMemory, whose result is deterministic")
	interleave := flag.Bool("interleave", true, "run go test -count 1, -count times, rather than go test -count N once")
	raw := flag.String("o", "", "also write go test's output to this file")
	in := flag.String("i", "", "read go test output from this file instead of running the benchmarks")
	src := flag.String("source", "", "what code was measured; empty: the git commit of the bench directory, and its uncommitted changes")
	flag.Parse()

	// Memory per key is deterministic: one run of it is enough, so it runs
	// in a second go test of its own.
	// Interleaved, the benchmarks run -count times in rounds of one run
	// each, so a spell of noise from another process on the machine hits
	// every contender of one round rather than the runs of one contender.
	rounds, perRound := 1, *count
	if *interleave {
		rounds, perRound = *count, 1
	}
	timed := []string{"test", "-run", "^$", "-bench", *bench, "-skip", "^BenchmarkMemory$", "-benchmem", "-count", strconv.Itoa(perRound), "-cpu", *cpu, "-timeout", "0"}
	if *benchtime != "" {
		timed = append(timed, "-benchtime", *benchtime)
	}
	var commands [][]string
	for range rounds {
		commands = append(commands, timed)
	}
	if first, _, _ := strings.Cut(*bench, "/"); regexp.MustCompile(first).MatchString("BenchmarkMemory") {
		sub := "."
		if _, rest, ok := strings.Cut(*bench, "/"); ok {
			sub = rest
		}
		mem := []string{"test", "-run", "^$", "-bench", "^BenchmarkMemory$/" + sub, "-benchmem", "-count", strconv.Itoa(*memCount), "-cpu", *cpu, "-timeout", "0"}
		if *benchtime != "" {
			mem = append(mem, "-benchtime", *benchtime)
		}
		commands = append(commands, mem)
	}
	var out []byte
	var err error
	var shown []string
	if *in != "" {
		out, err = os.ReadFile(*in)
		shown = append(shown, "(read from "+*in+")")
	} else {
		var dir string
		dir, err = benchDir()
		for i, args := range commands {
			if err != nil {
				break
			}
			command := "go " + shellJoin(args)
			if i == 0 || command != shown[len(shown)-1] {
				shown = append(shown, command)
			}
			fmt.Fprintf(os.Stderr, "report: running %s in %s (%d of %d)\n", command, dir, i+1, len(commands))
			var o []byte
			o, err = run(dir, args)
			out = append(out, o...)
		}
		if rounds > 1 {
			shown[0] = fmt.Sprintf("for i in $(seq %d); do %s; done", rounds, shown[0])
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
	if *raw != "" {
		if err := os.WriteFile(*raw, out, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "report:", err)
			os.Exit(1)
		}
	}
	rep, err := parse(out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
	rep.command, rep.source = "cd bench && "+strings.Join(shown, " && "), *src
	if rep.source == "" {
		rep.source = source()
	}
	rep.write(os.Stdout)
}

// benchDir returns the directory of package bench.
func benchDir() (string, error) {
	if _, err := os.Stat("doc.go"); err == nil {
		if b, err := os.ReadFile("go.mod"); err == nil && bytes.Contains(b, []byte("module github.com/cxscore/cxscore/bench\n")) {
			return ".", nil
		}
	}
	out, err := exec.Command("go", "list", "-f", "{{.Dir}}", "github.com/cxscore/cxscore/bench").Output()
	if err != nil {
		return "", fmt.Errorf("finding the bench package: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// run runs go with args in dir, echoing its output to stderr as it comes.
func run(dir string, args []string) ([]byte, error) {
	var buf bytes.Buffer
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Stdout = io.MultiWriter(&buf, os.Stderr)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go %s: %w", shellJoin(args), err)
	}
	return buf.Bytes(), nil
}

func shellJoin(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " ^$*|()[]?'\"\\") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		quoted[i] = a
	}
	return strings.Join(quoted, " ")
}

// row is one operation at one GOMAXPROCS, with each contender's samples by
// unit.
type row struct {
	op      string // benchmark name without the contender and GOMAXPROCS
	procs   int
	samples map[string]map[string][]float64 // contender → unit → values
}

type report struct {
	rows    []*row
	config  map[string]string // go test's header: goos, goarch, cpu, pkg
	command string
	source  string
	count   int
}

// parse reads go test's benchmark output.
func parse(out []byte) (*report, error) {
	rep := &report{config: map[string]string{}}
	byKey := map[string]*row{}
	r := benchfmt.NewReader(bytes.NewReader(out), "go test")
	for r.Scan() {
		res, ok := r.Result().(*benchfmt.Result)
		if !ok {
			continue // a syntax error or unit metadata: go test prints other lines too
		}
		for _, c := range res.Config {
			rep.config[c.Key] = string(c.Value)
		}
		base, parts := res.Name.Parts()
		procs := 1
		if n := len(parts); n > 0 && strings.HasPrefix(string(parts[n-1]), "-") {
			procs, _ = strconv.Atoi(string(parts[n-1][1:]))
			parts = parts[:n-1]
		}
		if len(parts) == 0 {
			continue // not a comparison
		}
		contender := strings.TrimPrefix(string(parts[len(parts)-1]), "/")
		op := string(base)
		for _, p := range parts[:len(parts)-1] {
			op += string(p)
		}
		key := op + "-" + strconv.Itoa(procs)
		rw := byKey[key]
		if rw == nil {
			rw = &row{op: op, procs: procs, samples: map[string]map[string][]float64{}}
			byKey[key] = rw
			rep.rows = append(rep.rows, rw)
		}
		if rw.samples[contender] == nil {
			rw.samples[contender] = map[string][]float64{}
		}
		for _, v := range res.Values {
			rw.samples[contender][v.Unit] = append(rw.samples[contender][v.Unit], v.Value)
		}
		rep.count = max(rep.count, len(rw.samples[contender]["sec/op"]))
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	if len(rep.rows) == 0 {
		return nil, fmt.Errorf("no benchmark results in the output")
	}
	// Operations in the order they first ran, each with its CPUs in order.
	slices.SortStableFunc(rep.rows, func(a, b *row) int {
		ia := slices.IndexFunc(rep.rows, func(r *row) bool { return r.op == a.op })
		ib := slices.IndexFunc(rep.rows, func(r *row) bool { return r.op == b.op })
		if ia != ib {
			return ia - ib
		}
		return a.procs - b.procs
	})
	return rep, nil
}

// stat is a sample's median and spread.
type stat struct {
	ok          bool
	center      float64
	spread      float64 // half-width relative to center
	rangeSpread bool    // spread is half the min-max range, not a confidence interval
}

func summarize(values []float64) stat {
	if len(values) == 0 {
		return stat{}
	}
	s := benchmath.NewSample(values, &benchmath.DefaultThresholds)
	sum := benchmath.AssumeNothing.Summary(s, 0.95)
	st := stat{ok: true, center: sum.Center}
	if sum.Center == 0 {
		return st
	}
	if math.IsInf(sum.Lo, 0) || math.IsInf(sum.Hi, 0) {
		st.spread, st.rangeSpread = (s.Values[len(s.Values)-1]-s.Values[0])/2/sum.Center, true
	} else {
		st.spread = math.Max(sum.Hi/sum.Center-1, 1-sum.Lo/sum.Center)
	}
	return st
}

func (r *row) stat(contender, unit string) stat { return summarize(r.samples[contender][unit]) }

func (r *row) has(unit string) bool {
	for _, s := range r.samples {
		if len(s[unit]) > 0 {
			return true
		}
	}
	return false
}

func (s stat) spreadString() string {
	if s.center == 0 {
		return ""
	}
	str := fmt.Sprintf(" ±%.0f%%", 100*s.spread)
	if s.rangeSpread {
		str += "r"
	}
	return str
}

func (rep *report) write(w io.Writer) {
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	p := func(format string, args ...any) { fmt.Fprintf(bw, format, args...) }

	p("## cxscore benchmarks\n\n")
	p("| | |\n|---|---|\n")
	p("| CPU | %s (%d logical CPUs) |\n", cpuModel(rep.config["cpu"]), runtime.NumCPU())
	p("| OS/arch | %s/%s |\n", rep.config["goos"], rep.config["goarch"])
	p("| Go | %s |\n", goVersion())
	p("| source | %s |\n", rep.source)
	p("| GOMAXPROCS | the CPUs column (go test -cpu) |\n")
	p("| date | %s |\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	p("| command | `%s` |\n", rep.command)
	p("| runs | %d of each; cells are medians ± the half-width of benchstat's 95%% confidence interval (\"r\": half the min-max range, with too few runs for one) |\n\n", rep.count)

	p("### Time per operation\n\n")
	p("Ratios above 1 mean cxscore is faster. The workload and each operation are described in bench/doc.go.\n\n")
	p("| operation | CPUs | %s |", strings.Join(contenders, " | "))
	for _, c := range contenders[1:] {
		p(" %s ÷ cxscore |", c)
	}
	p(" allocs/op (%s) |\n|---|---:|%s\n", strings.Join(contenders, " / "), strings.Repeat("---:|", 2*len(contenders)))
	for _, r := range rep.rows {
		if r.has("B/key") || !r.has("sec/op") {
			continue
		}
		p("| %s | %d |", r.op, r.procs)
		base := r.stat("cxscore", "sec/op")
		for _, c := range contenders {
			if s := r.stat(c, "sec/op"); s.ok {
				p(" %s%s |", formatTime(s.center), s.spreadString())
			} else {
				p(" — |")
			}
		}
		for _, c := range contenders[1:] {
			if s := r.stat(c, "sec/op"); s.ok && base.ok && base.center > 0 {
				p(" %s |", formatRatio(s.center/base.center))
			} else {
				p(" — |")
			}
		}
		var allocs []string
		for _, c := range contenders {
			if s := r.stat(c, "allocs/op"); s.ok {
				allocs = append(allocs, strconv.FormatFloat(s.center, 'f', -1, 64))
			} else {
				allocs = append(allocs, "—")
			}
		}
		p(" %s |\n", strings.Join(allocs, " / "))
	}

	// Scaling: the same parallel operation on more CPUs.
	var scaling []string
	for _, r := range rep.rows {
		if !strings.Contains(r.op, "Parallel") || r.procs == 1 {
			continue
		}
		one := slices.IndexFunc(rep.rows, func(o *row) bool { return o.op == r.op && o.procs == 1 })
		if one < 0 {
			continue
		}
		line := fmt.Sprintf("| %s | %d ÷ 1 |", r.op, r.procs)
		for _, c := range contenders {
			s1, sn := rep.rows[one].stat(c, "sec/op"), r.stat(c, "sec/op")
			if s1.ok && sn.ok && sn.center > 0 {
				line += fmt.Sprintf(" %s → %s: **%.2f×** |", formatTime(s1.center), formatTime(sn.center), s1.center/sn.center)
			} else {
				line += " — |"
			}
		}
		scaling = append(scaling, line)
	}
	if len(scaling) > 0 {
		p("\n### Scaling with CPUs\n\n")
		p("Throughput on N CPUs ÷ throughput on 1 (time per event on 1 ÷ on N), from the medians above.\n\n")
		p("| operation | CPUs | %s |\n|---|---|%s\n", strings.Join(contenders, " | "), strings.Repeat("---:|", len(contenders)))
		for _, l := range scaling {
			p("%s\n", l)
		}
	}

	var memory []*row
	for _, r := range rep.rows {
		if r.has("B/key") {
			memory = append(memory, r)
		}
	}
	if len(memory) > 0 {
		p("\n### Memory per key, every tier full\n\n")
		p("Live heap after runtime.GC, per key, after 61 days of traffic (BenchmarkMemory; deterministic up to allocator rounding, so run -memcount times).\n\n")
		p("| key | CPUs | cxscore | naive | naive ÷ cxscore | cxscore buckets/key |\n|---|---:|---:|---:|---:|---:|\n")
		for _, r := range memory {
			p("| %s | %d |", r.op, r.procs)
			base := r.stat("cxscore", "B/key")
			for _, c := range contenders[:2] {
				if s := r.stat(c, "B/key"); s.ok {
					p(" %s%s |", formatBytes(s.center), s.spreadString())
				} else {
					p(" — |")
				}
			}
			if s := r.stat("naive", "B/key"); s.ok && base.ok && base.center > 0 {
				p(" %s |", formatRatio(s.center/base.center))
			} else {
				p(" — |")
			}
			if s := r.stat("cxscore", "buckets/key"); s.ok {
				p(" %.0f |", s.center)
			} else {
				p(" — |")
			}
			p("\n")
		}
	}
}

// cpuModel returns the CPU's model name from /proc/cpuinfo, or go test's.
func cpuModel(fallback string) string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				return strings.TrimSpace(v)
			}
		}
	}
	if fallback == "" {
		return "unknown"
	}
	return fallback
}

// source returns the commit the benchmarks ran on, and whether the work
// tree had changes.
func source() string {
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown (not a git work tree)"
	}
	s := "commit " + strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
		files := strings.Fields(strings.ReplaceAll(string(st), "\n", " "))
		var changed []string
		for _, f := range files {
			if strings.Contains(f, "/") || strings.Contains(f, ".") {
				changed = append(changed, f)
			}
		}
		s += " with uncommitted changes to " + strings.Join(changed, ", ")
	}
	return s
}

// goVersion returns the version of the go command that ran the benchmarks.
func goVersion() string {
	out, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		return runtime.Version()
	}
	return strings.TrimSpace(string(out))
}

func formatTime(sec float64) string {
	switch {
	case sec < 1e-6:
		return fmt.Sprintf("%.3g ns", sec*1e9)
	case sec < 1e-3:
		return fmt.Sprintf("%.3g µs", sec*1e6)
	case sec < 1:
		return fmt.Sprintf("%.3g ms", sec*1e3)
	}
	return fmt.Sprintf("%.3g s", sec)
}

func formatBytes(b float64) string {
	switch {
	case b < 1<<10:
		return fmt.Sprintf("%.0f B", b)
	case b < 1<<20:
		return fmt.Sprintf("%.3g KiB", b/(1<<10))
	}
	return fmt.Sprintf("%.3g MiB", b/(1<<20))
}

func formatRatio(x float64) string {
	if x >= 100 {
		return fmt.Sprintf("%.0f×", x)
	}
	return fmt.Sprintf("%.2g×", x)
}

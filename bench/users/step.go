package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"healthcore/bench/load"
	"healthcore/bench/stack"
)

// startStack starts every service as a process of its own and o.gateways gateways,
// lifting the limits a load from one loopback address would hit: registrations per
// address (stack), bookings per patient and per address, unpaid holds per patient.
func startStack(ctx context.Context, dbURL string, o options) (*stack.Stack, error) {
	services := []string{"-scheduling.bookings-per-patient=0", "-scheduling.bookings-per-address=0",
		"-scheduling.max-pending-bookings=1000000", "-identity.mail-per-address=1000000",
		// The users' passwords are hashed once, when they are prepared (a run starts each
		// session with a refresh): a cheap argon2id makes 20,000 of them minutes instead of
		// hours, and costs the measured steps nothing.
		"-identity.argon2-memory-kib=1024", "-identity.argon2-iterations=1"}
	if o.accessTTL > 0 {
		services = append(services, "-identity.access-ttl="+o.accessTTL.String())
	}
	return stack.StartProcesses(ctx, dbURL, stack.Options{LogLevel: o.logLevel, Gateways: o.gateways,
		DBMaxConns: o.dbMaxConns, DataDir: o.dataDir, Procs: o.serviceProcs, Services: services,
		Gateway: []string{fmt.Sprintf("-gateway.cache-bytes=%d", o.cacheBytes)}})
}

// stepResult is one step's figures.
type stepResult struct {
	Users    int    `json:"users"`
	Ramp     string `json:"ramp"`
	Duration string `json:"duration"`
	Think    string `json:"think"`
	Gateways int    `json:"gateways"`
	Workers  int    `json:"workers"`
	// Vacuumed is how many dead rows the database held before the step (it is
	// vacuumed first).
	Vacuumed int64 `json:"deadRowsVacuumed"`
	// ServiceProcs is each service's and gateway's GOMAXPROCS (0: every core).
	ServiceProcs int              `json:"serviceProcs"`
	Routes       []routeRow       `json:"routes"`
	Overall      routeRow         `json:"overall"`
	Late         int64            `json:"lateStarts"`
	Actions      map[string]int64 `json:"actions"`
	Procs        []procRow        `json:"processes"`
	LoadAvgFrom  string           `json:"loadAvgAtStart"`
	LoadAvgTo    string           `json:"loadAvgAtEnd"`
}

type routeRow struct {
	Route       string   `json:"route"`
	Requests    int64    `json:"requests"`
	PerSecond   float64  `json:"perSecond"`
	Errors      int64    `json:"errors"`
	Expected    int64    `json:"expectedNon2xx"`
	P50         float64  `json:"p50Ms"`
	P90         float64  `json:"p90Ms"`
	P99         float64  `json:"p99Ms"`
	Max         float64  `json:"maxMs"`
	FirstErrors []string `json:"firstErrors,omitempty"`
}

func rowOf(name string, r *route, window time.Duration) routeRow {
	ms := func(us int64) float64 { return float64(us) / 1000 }
	return routeRow{Route: name, Requests: r.requests, PerSecond: float64(r.requests) / window.Seconds(), Errors: r.errors, Expected: r.expected,
		P50: ms(r.hist.ValueAtQuantile(50)), P90: ms(r.hist.ValueAtQuantile(90)), P99: ms(r.hist.ValueAtQuantile(99)), Max: ms(r.hist.Max()),
		FirstErrors: r.first}
}

// runStep runs n users for one ramp and one measurement window, in o.workers worker
// processes (this command, re-executed), and samples every process around the window.
func runStep(ctx context.Context, st *stack.Stack, dbURL string, o options, n int) (*stepResult, error) {
	if !o.quiet {
		fmt.Printf("step: %d users (ramp %s, measured %s) …\n", n, o.ramp, o.duration)
	}
	dead, err := vacuum(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	// Time for the workers to start and read their users before the ramp.
	start := time.Now().Add(5*time.Second + time.Duration(n/2000)*time.Second)
	measureFrom := start.Add(o.ramp)
	measureTo := measureFrom.Add(o.duration)
	type proc struct {
		cmd *exec.Cmd
		out bytes.Buffer
	}
	workers := min(o.workers, n)
	var procs []*proc
	stopAll := func() {
		for _, p := range procs {
			_ = p.cmd.Process.Kill()
			_ = p.cmd.Wait()
		}
	}
	pids := st.PIDs()
	for i := range workers {
		first, last := i*n/workers, (i+1)*n/workers
		cfg := workerConfig{Index: i, DatabaseURL: dbURL, Gateways: st.Gateways, First: first, Count: last - first, Total: n,
			Start: start, Ramp: o.ramp, Duration: o.duration, Think: o.think, RefreshBefore: o.refreshBefore,
			Mix: o.mix, Timeout: o.timeout, Seed: o.seed + uint64(n),
			Procs: o.workerProcs, GOGC: o.workerGOGC, ProfileDir: o.profileDir, ProfilePrefix: fmt.Sprintf("users-%d-", n)}
		raw, err := json.Marshal(cfg)
		if err != nil {
			return nil, err
		}
		p := &proc{cmd: exec.CommandContext(ctx, self)}
		p.cmd.Env = append(os.Environ(), workerEnv+"="+string(raw))
		p.cmd.Stdout, p.cmd.Stderr = &p.out, os.Stderr
		if err := p.cmd.Start(); err != nil {
			stopAll()
			return nil, fmt.Errorf("start worker %d: %w", i, err)
		}
		procs = append(procs, p)
		pids[fmt.Sprintf("load-%d", i+1)] = p.cmd.Process.Pid
	}
	sleepUntil := func(t time.Time) error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Until(t)):
			return nil
		}
	}
	if err := sleepUntil(measureFrom); err != nil {
		stopAll()
		return nil, err
	}
	mon, err := openBench(ctx, dbURL, 1)
	if err != nil {
		stopAll()
		return nil, err
	}
	defer mon.Close()
	from := takeSnapshot(pids, load.Backends(ctx, mon))
	var profiles sync.WaitGroup
	if o.profileDir != "" {
		// The stack's children through their profiler (the workers profile themselves).
		for name := range st.Ops {
			profiles.Go(func() {
				file := filepath.Join(o.profileDir, fmt.Sprintf("users-%d-%s.pprof", n, name))
				if err := st.Profile(ctx, name, o.duration, file); err != nil {
					fmt.Fprintln(os.Stderr, "profile:", err)
				}
			})
		}
	}
	if err := sleepUntil(measureTo); err != nil {
		stopAll()
		return nil, err
	}
	to := takeSnapshot(pids, load.Backends(ctx, mon))
	profiles.Wait()
	if o.profileDir != "" && !o.quiet {
		fmt.Printf("CPU profiles: go tool pprof -top %s\n", filepath.Join(o.profileDir, fmt.Sprintf("users-%d-<process>.pprof", n)))
	}
	var reports []report
	var failed []string
	for i, p := range procs {
		err := p.cmd.Wait()
		if err != nil {
			failed = append(failed, fmt.Sprintf("worker %d: %v", i, err))
			continue
		}
		rep, err := lastReport(&p.out)
		if err != nil {
			failed = append(failed, fmt.Sprintf("worker %d: %v", i, err))
			continue
		}
		reports = append(reports, rep)
	}
	if len(failed) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(failed, "; "))
	}
	m := merge(reports)
	r := &stepResult{Users: n, Ramp: o.ramp.String(), Duration: o.duration.String(), Think: o.think.String(), Gateways: len(st.Gateways), ServiceProcs: o.serviceProcs,
		Workers: workers, Late: m.late, Actions: m.actions, LoadAvgFrom: from.loadavg, LoadAvgTo: to.loadavg, Vacuumed: dead}
	for _, name := range m.names() {
		r.Routes = append(r.Routes, rowOf(name, m.routes[name], o.duration))
	}
	all := m.overall()
	r.Overall = rowOf("overall", all, o.duration)
	var names []string
	for name := range pids {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int { return strings.Compare(procOrder(a), procOrder(b)) })
	r.Procs = procRows(from, to, names, all.requests)
	return r, nil
}

// procOrder sorts the load generator first, then the gateways, then the services.
func procOrder(name string) string {
	switch {
	case strings.HasPrefix(name, "load-"):
		return "0" + name
	case strings.HasPrefix(name, "gateway"):
		return "1" + name
	}
	return "2" + name
}

// lastReport reads a worker's report: the last line of its standard output.
func lastReport(out io.Reader) (report, error) {
	var last string
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			last = line
		}
	}
	var r report
	if err := json.Unmarshal([]byte(last), &r); err != nil {
		return r, fmt.Errorf("no report (%v): %.200s", err, last)
	}
	return r, nil
}

// printStep writes a step's tables.
func printStep(w io.Writer, r *stepResult) {
	procs := "every core"
	if r.ServiceProcs > 0 {
		procs = strconv.Itoa(r.ServiceProcs)
	}
	fmt.Fprintf(w, "\n%d users, %s measured after a %s ramp, think %s (mean); %d gateways, %d load workers, GOMAXPROCS of a service or gateway %s; %d dead rows vacuumed first; load average %s → %s\n\n",
		r.Users, r.Duration, r.Ramp, r.Think, r.Gateways, r.Workers, procs, r.Vacuumed, r.LoadAvgFrom, r.LoadAvgTo)
	fmt.Fprintf(w, "| %-44s | %9s | %8s | %6s | %9s | %8s | %8s | %8s | %8s |\n", "route", "requests", "req/s", "errors", "expected", "p50 ms", "p90 ms", "p99 ms", "max ms")
	fmt.Fprintf(w, "|%s|%s:|%s:|%s:|%s:|%s:|%s:|%s:|%s:|\n", strings.Repeat("-", 46), strings.Repeat("-", 10), strings.Repeat("-", 9),
		strings.Repeat("-", 7), strings.Repeat("-", 10), strings.Repeat("-", 9), strings.Repeat("-", 9), strings.Repeat("-", 9), strings.Repeat("-", 9))
	for _, row := range append(slices.Clone(r.Routes), r.Overall) {
		name := row.Route
		if name == "overall" {
			name = "**overall**"
		}
		fmt.Fprintf(w, "| %-44s | %9d | %8.1f | %6d | %9d | %8.1f | %8.1f | %8.1f | %8.1f |\n", name, row.Requests, row.PerSecond,
			row.Errors, row.Expected, row.P50, row.P90, row.P99, row.Max)
	}
	var acts []string
	for _, a := range actions {
		acts = append(acts, fmt.Sprintf("%s %d", a, r.Actions[a]))
	}
	total := int64(0)
	for _, v := range r.Actions {
		total += v
	}
	fmt.Fprintf(w, "\nactions: %s; late starts %d (%.2f %% of %d)\n", strings.Join(acts, ", "), r.Late, 100*float64(r.Late)/float64(max(total, 1)), total)
	for _, row := range r.Routes {
		if len(row.FirstErrors) > 0 {
			fmt.Fprintf(w, "first errors of %s: %s\n", row.Route, strings.Join(row.FirstErrors, " | "))
		}
	}
	fmt.Fprintf(w, "\n| %-44s | %8s | %12s | %8s | %7s |\n", "process", "CPU s", "CPU ms/req", "RSS MiB", "fds")
	fmt.Fprintf(w, "|%s|%s:|%s:|%s:|%s:|\n", strings.Repeat("-", 46), strings.Repeat("-", 9), strings.Repeat("-", 13), strings.Repeat("-", 9), strings.Repeat("-", 8))
	for _, p := range r.Procs {
		name := p.Name
		if p.Processes > 0 {
			name = fmt.Sprintf("%s (%d processes)", p.Name, p.Processes)
		}
		if p.Name == "total" { // the named processes and every PostgreSQL process
			fmt.Fprintf(w, "| %-44s | %8.1f | %12.3f | %8s | %7s |\n", "**total**", p.CPUSec, p.CPUPerReq, "", "")
			continue
		}
		fmt.Fprintf(w, "| %-44s | %8.1f | %12.3f | %8.1f | %7d |\n", name, p.CPUSec, p.CPUPerReq, p.RSSMiB, p.FDs)
	}
}

// writeResults writes the steps as markdown and/or JSON, as the flags ask.
func writeResults(o options, results []stepResult) error {
	if o.resultsMD != "" {
		var b bytes.Buffer
		fmt.Fprintf(&b, "# go run ./bench/users — %s\n", time.Now().UTC().Format(time.RFC3339))
		for i := range results {
			printStep(&b, &results[i])
		}
		if err := os.WriteFile(o.resultsMD, b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	if o.resultsJSON != "" {
		b, err := json.MarshalIndent(results, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(o.resultsJSON, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

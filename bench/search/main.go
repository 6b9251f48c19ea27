// Command search is the doctor-search benchmark of the directory issue: with seeded
// doctors, patients search by specialty, 25 km radius and minimum rating, sorted by
// distance, through the REST gateway of a multi-process deployment, and the same SQL
// runs alone on the same data as the ceiling. It prints requests/s and latency
// percentiles of both, their ratio, and the EXPLAIN ANALYZE of one query.
//
//	go run ./bench/search                     # 100,000 doctors, 32 clients, 30 s
//	go run ./bench/search -duration 10s -clients 8
//	go run ./bench/search -rate-fraction 0.5  # then open loop at half the REST maximum
//
// -rate R (or -rate-fraction F of the closed-loop REST throughput) adds an open-loop
// REST run: Poisson arrivals at R searches/s, each on its own goroutine, latency from
// the scheduled arrival, so queueing anywhere counts; its p99 is the latency goal's.
//
// It uses (and creates) the database healthcore_bench_search on the server of
// -database-url, reusing its doctors when they were seeded with the same count and
// seed. All traffic stays on 127.0.0.1.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/jackc/pgx/v5"

	"healthcore/bench/load"
	"healthcore/bench/stack"
	"healthcore/platform/pg"
)

// benchDatabase is the database the benchmark owns on the server (-database-name).
var benchDatabase = "healthcore_bench_search"

type options struct {
	serverURL string
	doctors   int
	clients   int
	duration  time.Duration
	warmup    time.Duration
	seed      int64
	logLevel  string
	pageCost  float64
	// rate, when positive, adds an open-loop REST run at this many requests/s;
	// rateFraction, when positive, sets it to that fraction of the closed-loop REST
	// throughput just measured.
	rate, rateFraction float64
	profileDir         string // CPU profiles of the closed-loop REST run go here
	// compareTracing measures the REST path without tracing, then with it.
	compareTracing bool
	rounds         int // of -compare-tracing: off then on, this many times
	loadGOGC       int // this load generator's GOGC (0: Go's default)
}

func main() {
	def := load.DefaultServerURL()
	var o options
	flag.StringVar(&o.serverURL, "database-url", def, "PostgreSQL server (its database name is replaced by "+benchDatabase+")")
	flag.StringVar(&benchDatabase, "database-name", benchDatabase, "the benchmark's database on that server, seeded once and kept")
	flag.IntVar(&o.doctors, "doctors", 100_000, "doctors to seed")
	flag.IntVar(&o.clients, "clients", 32, "concurrent clients, on each path")
	flag.DurationVar(&o.duration, "duration", 30*time.Second, "measured time of each path")
	flag.DurationVar(&o.warmup, "warmup", 5*time.Second, "unmeasured load before each path's measurement (new connections plan their first five executions afresh)")
	flag.Int64Var(&o.seed, "seed", 1, "seed of the doctor generator")
	flag.Float64Var(&o.pageCost, "random-page-cost", 0, "planner random_page_cost set on the benchmark database (1.1 suits data in RAM or on SSD); 0 keeps the server's")
	flag.Float64Var(&o.rate, "rate", 0, "after the closed-loop REST run, an open-loop one at this many searches/s (Poisson arrivals, latency from each scheduled arrival)")
	flag.Float64Var(&o.rateFraction, "rate-fraction", 0, "like -rate, at this fraction of the closed-loop REST throughput just measured (0.5: the issue's latency goal)")
	flag.StringVar(&o.profileDir, "profile-dir", "", "write CPU profiles of serve and the gateway during the closed-loop REST run here, and execution traces of them and of this load generator during the open-loop one (the profiler's own cost then shows in the CPU figures)")
	flag.StringVar(&o.logLevel, "log-level", "info", "log level of the healthcore processes (their logs go to a temporary file)")
	flag.BoolVar(&o.compareTracing, "compare-tracing", false,
		"measure only the REST path, twice in this run: without tracing, then with tracing at the default sample ratio exporting over OTLP/HTTP to a sink in this process")
	flag.IntVar(&o.rounds, "compare-rounds", 1, "with -compare-tracing: how many times to measure off then on (alternating evens out a machine's changing load)")
	flag.IntVar(&o.loadGOGC, "load-gogc", 400, "GOGC of this load generator (0: Go's default): its own collections stop the clock of the requests in flight, and would show as the platform's latency (bench/users' -worker-gogc)")
	flag.Parse()
	o.rounds = max(o.rounds, 1)
	if o.loadGOGC > 0 {
		debug.SetGCPercent(o.loadGOGC)
	}
	if o.doctors < 1 || o.loadGOGC < 0 || o.clients < 1 || o.duration <= 0 || o.warmup < 0 || o.rate < 0 || o.rateFraction < 0 {
		fmt.Fprintln(os.Stderr, "search: -doctors, -clients and -duration must be positive; -warmup, -rate, -rate-fraction and -load-gogc not negative")
		os.Exit(2)
	}
	load.Main("search", func(ctx context.Context) error { return run(ctx, o) })
}

func run(ctx context.Context, o options) error {
	dbURL, err := pg.WithDatabase(o.serverURL, benchDatabase)
	if err != nil {
		return err
	}
	fmt.Printf("doctor search benchmark: %d doctors (seed %d), %d clients, %s per path after %s of warm-up, GOMAXPROCS %d, %d CPUs\n",
		o.doctors, o.seed, o.clients, o.duration, o.warmup, runtime.GOMAXPROCS(0), runtime.NumCPU())
	fmt.Printf("database %s\n\n", pg.RedactURL(dbURL))

	if err := prepareDatabase(ctx, dbURL, o.doctors, o.seed, o.pageCost); err != nil {
		return err
	}
	queries, err := captureQueries(ctx, dbURL)
	if err != nil {
		return err
	}

	monConn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer monConn.Close(context.WithoutCancel(ctx))
	mon := &monitor{conn: monConn}

	if o.compareTracing {
		return compareTracing(ctx, dbURL, mon, o)
	}
	st, err := stack.Start(ctx, dbURL, o.logLevel)
	if err != nil {
		return err
	}
	rest, err := restLoad(ctx, st, mon, o, 0)
	var open *result
	if err == nil && (o.rate > 0 || o.rateFraction > 0) {
		rate := o.rate
		if o.rateFraction > 0 {
			rate = o.rateFraction * rest.rate()
		}
		open, err = restLoad(ctx, st, mon, o, rate)
	}
	stopErr := st.Stop()
	if err != nil {
		return err
	}
	if stopErr != nil {
		return stopErr
	}
	raw, err := sqlLoad(ctx, dbURL, queries, mon, o)
	if err != nil {
		return err
	}

	fmt.Printf("GET /v1/doctors?specialty=…&point.latitude=…&point.longitude=…&maxDistanceKm=25&minRating=4&sort=SORT_ORDER_DISTANCE\n")
	fmt.Printf("(%d city centres × %d specialties, 20 results a page)\n\n", len(points), len(specialties))
	printTable(rest, raw, open)
	failed := rest.errors > 0 || raw.errors > 0 || open != nil && open.errors > 0
	if failed {
		fmt.Printf("\nfirst errors: REST %q, SQL %q", rest.firstError, raw.firstError)
		if open != nil {
			fmt.Printf(", open loop %q", open.firstError)
		}
		fmt.Println()
	}
	fmt.Println()
	if err := explain(ctx, dbURL, queries[0]); err != nil {
		return err
	}
	if failed {
		return errors.New("some requests failed")
	}
	return nil
}

// printTable prints the closed-loop paths, the open-loop one if it ran (open may be
// nil), their CPU per request and the goals.
func printTable(rest, raw, open *result) {
	results := []*result{rest, raw}
	if open != nil {
		results = append(results, open)
	}
	fmt.Printf("%-30s %9s %9s %9s %9s %9s %9s %7s %6s\n", "path", "requests", "req/s", "p50", "p90", "p99", "max", "errors", "empty")
	for _, r := range results {
		fmt.Printf("%-30s %9d %9.0f %9s %9s %9s %9s %7d %6d\n", r.name, len(r.latencies), r.rate(),
			ms(r.percentile(50)), ms(r.percentile(90)), ms(r.percentile(99)), ms(r.percentile(100)), r.errors, r.empty)
	}
	fmt.Println()
	for _, r := range results {
		printCPU(r)
	}
	fmt.Printf("raw SQL plans: %d executions with the generic plan, %d with a custom plan\n", raw.generic, raw.custom)
	ratio := rest.rate() / raw.rate()
	fmt.Printf("REST / raw SQL throughput: %.0f%% (goal ≥ 60%%: %s)\n", 100*ratio, verdict(ratio >= 0.6))
	if open != nil {
		// Closed-loop clients queue behind each other (Little's law), so the latency goal
		// is read from the open loop, below saturation.
		fmt.Printf("REST open loop: %.0f searches/s achieved (%.0f%% of the closed-loop maximum), p99 %s (goal < 20 ms at half the maximum: %s)\n",
			open.rate(), 100*open.rate()/rest.rate(), ms(open.percentile(99)), verdict(open.percentile(99) < 20*time.Millisecond))
	} else {
		fmt.Printf("closed-loop REST p99 %s (the latency goal is read from an open loop: -rate-fraction 0.5)\n", ms(rest.percentile(99)))
	}
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "missed"
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000) }

// printCPU shows where the CPU time of a path went, per request: this process (the
// load), each healthcore process and the PostgreSQL sessions of the benchmark
// database; and how busy the machine was, with what share other processes took.
func printCPU(r *result) {
	n := float64(len(r.latencies))
	busy := r.cpuEnd.busy - r.cpuStart.busy
	total := r.cpuEnd.total - r.cpuStart.total
	if n == 0 || total <= 0 {
		return
	}
	per := func(d time.Duration) string { return fmt.Sprintf("%.0fµs", float64(d.Microseconds())/n) }
	load := r.cpuEnd.self - r.cpuStart.self
	postgres := postgresCPU(r.cpuStart, r.cpuEnd)
	others := busy - load - postgres
	fmt.Printf("%s CPU per request: load %s", r.name, per(load))
	for _, name := range []string{"gateway", "serve"} {
		if end, ok := r.cpuEnd.children[name]; ok {
			d := end - r.cpuStart.children[name]
			others -= d
			fmt.Printf(", healthcore %s %s", name, per(d))
		}
	}
	fmt.Printf(", PostgreSQL %s; machine %.0f%% busy, %.0f%% of it by other processes",
		per(postgres), 100*float64(busy)/float64(total), 100*float64(max(others, 0))/float64(busy))
	for _, name := range []string{"gateway", "serve"} {
		if kb, ok := r.cpuEnd.rssKB[name]; ok {
			fmt.Printf("; %s RSS %d MiB", name, kb/1024)
		}
	}
	fmt.Println()
}

// compareTracing runs the REST path on a stack without tracing, then on one tracing at
// the default sample ratio into a sink in this process, and prints both.
func compareTracing(ctx context.Context, dbURL string, mon *monitor, o options) error {
	sink := stack.StartTraceSink()
	defer sink.Close()
	var rs []*result
	for range o.rounds {
		for _, v := range []struct {
			name  string
			flags []string
		}{{"REST, tracing off", nil}, {"REST, tracing on (default ratio)", sink.Flags()}} {
			v.name += fmt.Sprintf(" #%d", len(rs)/2+1)
			// Each stack has a new master key: the other services' schemas start empty again.
			if err := prepareDatabase(ctx, dbURL, o.doctors, o.seed, o.pageCost); err != nil {
				return err
			}
			st, err := stack.StartWith(ctx, dbURL, o.logLevel, v.flags)
			if err != nil {
				return err
			}
			r, err := restLoad(ctx, st, mon, o, 0)
			if stopErr := st.Stop(); err == nil {
				err = stopErr
			}
			if err != nil {
				return err
			}
			r.name = v.name
			rs = append(rs, r)
		}
	}
	fmt.Printf("\n%-34s %9s %9s %9s %9s %9s %7s\n", "path", "requests", "req/s", "p50", "p90", "p99", "errors")
	for _, r := range rs {
		fmt.Printf("%-34s %9d %9.0f %9s %9s %9s %7d\n", r.name, len(r.latencies), r.rate(),
			ms(r.percentile(50)), ms(r.percentile(90)), ms(r.percentile(99)), r.errors)
	}
	var off, on float64
	failed := 0
	for i, r := range rs {
		if i%2 == 0 {
			off += r.rate()
		} else {
			on += r.rate()
		}
		failed += r.errors
	}
	fmt.Printf("\nthroughput with tracing / without (sums over %d rounds): %.1f%%; spans exported: %d\n", o.rounds, 100*on/off, sink.Spans())
	if failed > 0 {
		return errors.New("some requests failed")
	}
	return nil
}

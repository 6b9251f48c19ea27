// Command slots is the agenda benchmark of the scheduling issue: with 10,000 seeded
// doctors, each with a weekly availability and eight weeks of slots, patients list one
// doctor's free slots for a week through the REST gateway of a multi-process
// deployment; then one doctor changes their availability through the gateway again and
// again, and the time each regeneration of eight weeks of slots takes is measured.
//
//	go run ./bench/slots                      # 10,000 doctors, 32 clients, 30 s
//	go run ./bench/slots -duration 10s -clients 8 -regenerations 20
//
// It uses (and creates) the database healthcore_bench_slots on the server of
// -database-url, reusing its doctors and slots when they were seeded with the same count
// and seed. Slots are made by the scheduling service's own code (its roll-forward),
// from availability rows written in bulk. All traffic stays on 127.0.0.1. The layout —
// a dedicated database, `healthcore serve …` and `healthcore gateway` as child
// processes, /readyz, clients for a fixed time, SIGTERM at the end — is bench/search's.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"time"

	"healthcore/bench/load"
	"healthcore/bench/stack"
	"healthcore/platform/pg"
)

// benchDatabase is the database the benchmark owns on the server.
const benchDatabase = "healthcore_bench_slots"

type options struct {
	serverURL     string
	doctors       int
	clients       int
	duration      time.Duration
	warmup        time.Duration
	regenerations int
	seed          int64
	logLevel      string
}

func main() {
	def := load.DefaultServerURL()
	var o options
	flag.StringVar(&o.serverURL, "database-url", def, "PostgreSQL server (its database name is replaced by "+benchDatabase+")")
	flag.IntVar(&o.doctors, "doctors", 10_000, "doctors to seed, each with eight weeks of slots")
	flag.IntVar(&o.clients, "clients", 32, "concurrent clients listing slots")
	flag.DurationVar(&o.duration, "duration", 30*time.Second, "measured time of the listing load")
	flag.DurationVar(&o.warmup, "warmup", 3*time.Second, "unmeasured load before the measurement")
	flag.IntVar(&o.regenerations, "regenerations", 50, "availability changes measured for each kind of change")
	flag.Int64Var(&o.seed, "seed", 1, "seed of the doctor and availability generator")
	flag.StringVar(&o.logLevel, "log-level", "info", "log level of the healthcore processes (their logs go to a temporary file)")
	flag.Parse()
	if o.doctors < 1 || o.clients < 1 || o.duration <= 0 || o.warmup < 0 || o.regenerations < 1 {
		fmt.Fprintln(os.Stderr, "slots: -doctors, -clients, -duration and -regenerations must be positive")
		os.Exit(2)
	}
	load.Main("slots", func(ctx context.Context) error { return run(ctx, o) })
}

func run(ctx context.Context, o options) error {
	dbURL, err := pg.WithDatabase(o.serverURL, benchDatabase)
	if err != nil {
		return err
	}
	fmt.Printf("agenda benchmark: %d doctors × 8 weeks of slots (seed %d), %d clients, %s after %s of warm-up, %d regenerations of each kind, GOMAXPROCS %d, %d CPUs\n",
		o.doctors, o.seed, o.clients, o.duration, o.warmup, o.regenerations, runtime.GOMAXPROCS(0), runtime.NumCPU())
	fmt.Printf("database %s\n\n", pg.RedactURL(dbURL))

	ids, err := prepareDatabase(ctx, dbURL, o.doctors, o.seed)
	if err != nil {
		return err
	}
	st, err := stack.Start(ctx, dbURL, o.logLevel)
	if err != nil {
		return err
	}
	list, listErr := restLoad(ctx, st.Gateway, ids, o)
	var regen []*result
	if listErr == nil {
		regen, listErr = regenerations(ctx, st, o.regenerations)
	}
	stopErr := st.Stop()
	if listErr != nil {
		return listErr
	}
	if stopErr != nil {
		return stopErr
	}

	fmt.Printf("\nGET /v1/doctors/{id}/slots?startTime=…&endTime=… (one week, a random doctor each request)\n\n")
	printTable(list)
	fmt.Printf("\nPUT /v1/doctors/me/availability, one doctor, one request at a time (each regenerates eight weeks)\n\n")
	printTable(regen...)
	failed := list.errors > 0
	for _, r := range append([]*result{list}, regen...) {
		if r.errors > 0 {
			fmt.Printf("first error of %s: %q\n", r.name, r.firstError)
			failed = true
		}
	}
	if failed {
		return errors.New("some requests failed")
	}
	return nil
}

func printTable(rs ...*result) {
	fmt.Printf("%-44s %9s %9s %9s %9s %9s %9s %7s %s\n", "path", "requests", "req/s", "p50", "p90", "p99", "max", "errors", "note")
	for _, r := range rs {
		fmt.Printf("%-44s %9d %9.0f %9s %9s %9s %9s %7d %s\n", r.name, len(r.latencies), r.rate(),
			ms(r.percentile(50)), ms(r.percentile(90)), ms(r.percentile(99)), ms(r.percentile(100)), r.errors, r.note)
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000) }

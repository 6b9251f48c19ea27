// Command users is the load test of the capacity issue: N virtual users, each a real
// client with its own keep-alive connection, account and tokens, loop think → action
// against a deployment of separate processes (every service, several gateways), in
// steps of users; it reports per route and overall the requests, errors and latency
// percentiles, late starts, and the CPU per request, memory and descriptors of every
// process (load generator workers, gateways, services, PostgreSQL).
//
//	go run ./bench/users                                  # steps 2,500 … 20,000, ramp 60 s, 3 min each
//	go run ./bench/users -users 2500 -ramp 20s -duration 60s
//	go run ./bench/users -prepare-only -users 20000       # register the users once
//
// Users are prepared once in the database healthcore_bench_users (-database-name) and
// reused: later runs start each session with a refresh instead of a login. See the
// README, "Users under load".
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"healthcore/bench/load"
	"healthcore/platform/pg"
)

// defaultMix is the share of each action, in percent: close to an app's real use.
const defaultMix = "search=30,profile=20,slots=20,appointments=15,me=5,records=5,book=3,download=2"

// actions are the actions a mix may name.
var actions = []string{"search", "profile", "slots", "appointments", "me", "records", "book", "download"}

type options struct {
	serverURL     string
	database      string
	dataDir       string
	steps         []int
	ramp          time.Duration
	duration      time.Duration
	think         time.Duration
	mix           []mixEntry
	gateways      int
	workers       int
	dbMaxConns    int
	doctors       int
	parallel      int
	logLevel      string
	accessTTL     time.Duration
	refreshBefore time.Duration
	timeout       time.Duration
	prepareOnly   bool
	resultsMD     string
	resultsJSON   string
	seed          uint64
	profileDir    string
	workerProcs   int
	workerGOGC    int
	serviceProcs  int
	cacheBytes    int64
	quiet         bool // no tables on standard output (the test)
}

func main() {
	if raw := os.Getenv(workerEnv); raw != "" {
		load.Main("users worker", func(ctx context.Context) error { return runWorker(ctx, raw) })
		return
	}
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "users:", err)
		os.Exit(2)
	}
	load.Main("users", func(ctx context.Context) error { _, err := run(ctx, o); return err })
}

func parseFlags(args []string) (options, error) {
	fs := flag.NewFlagSet("users", flag.ContinueOnError)
	var o options
	var steps, mix string
	var users int
	cache, _ := os.UserCacheDir()
	fs.StringVar(&o.serverURL, "database-url", load.DefaultServerURL(), "PostgreSQL server (its database name is replaced by -database-name)")
	fs.StringVar(&o.database, "database-name", "healthcore_bench_users", "the benchmark's database on that server: users are prepared once and kept")
	fs.StringVar(&o.dataDir, "data-dir", "", "folder of the local drivers' state kept with the database (master key, documents); default <user cache>/healthcore-bench/<database-name>")
	fs.StringVar(&steps, "steps", "2500,5000,10000,15000,20000", "users of each step, comma-separated")
	fs.IntVar(&users, "users", 0, "run a single step of this many users (overrides -steps)")
	fs.DurationVar(&o.ramp, "ramp", time.Minute, "each step's ramp: its users start spread evenly over it")
	fs.DurationVar(&o.duration, "duration", 3*time.Minute, "each step's measurement window, after the ramp")
	fs.DurationVar(&o.think, "think", 30*time.Second, "mean think time between a user's requests (exponentially distributed)")
	fs.StringVar(&mix, "mix", defaultMix, "the actions' shares (any positive weights): "+strings.Join(actions, ", "))
	fs.IntVar(&o.gateways, "gateways", 2, "gateway processes; users are spread evenly over them")
	fs.IntVar(&o.workers, "workers", 4, "load generator processes; each drives a slice of the users (one process may hold only so many descriptors)")
	fs.IntVar(&o.dbMaxConns, "db-max-conns", 4, "each service's connection pool (the server allows so many connections in all)")
	fs.IntVar(&o.doctors, "doctors", 150, "doctors to prepare (each with a profile in a Brazilian city and 30-minute slots Monday to Saturday)")
	fs.IntVar(&o.parallel, "prepare-parallel", 2*runtime.NumCPU(), "registrations at once while preparing users (each costs argon2 hashes)")
	fs.StringVar(&o.logLevel, "log-level", "warn", "log level of the healthcore processes (their logs go to a temporary folder)")
	fs.DurationVar(&o.accessTTL, "access-ttl", 0, "lifetime of access tokens (-identity.access-ttl, 1m to 1h); 0 keeps identity's default")
	fs.DurationVar(&o.refreshBefore, "refresh-before", time.Minute, "a user refreshes its session when its access token has less than this left")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "time limit of one request")
	fs.BoolVar(&o.prepareOnly, "prepare-only", false, "prepare the users of the largest step (and the doctors), then stop")
	fs.StringVar(&o.resultsMD, "results-md", "", "also write the results as markdown tables to this file")
	fs.StringVar(&o.resultsJSON, "results-json", "", "also write the results as JSON to this file")
	fs.IntVar(&o.workerProcs, "worker-procs", 1, "GOMAXPROCS of each load generator process (0: Go's default, every core)")
	fs.IntVar(&o.workerGOGC, "worker-gogc", 400, "GOGC of each load generator process (0: Go's default)")
	fs.Int64Var(&o.cacheBytes, "gateway-cache-bytes", 16<<20, "each gateway's -gateway.cache-bytes: public reads' answers kept while fresh, as the Helm chart's production values (values-eks.yaml) set it; 0 keeps none")
	fs.IntVar(&o.serviceProcs, "service-procs", 1, "GOMAXPROCS of each service and gateway process, as a pod's CPU limit sets it in production (the Helm chart's: one core); 0: Go's default, every core")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the users' choices")
	fs.StringVar(&o.profileDir, "profile-dir", "", "write a CPU profile of every process (load workers, gateways, services) over each step's measurement window here (the profiler's own cost then shows in the CPU figures)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if users > 0 {
		steps = strconv.Itoa(users)
	}
	for f := range strings.SplitSeq(steps, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return o, fmt.Errorf("-steps: %q is not a positive number", f)
		}
		o.steps = append(o.steps, n)
	}
	var err error
	if o.mix, err = parseMix(mix); err != nil {
		return o, err
	}
	if o.dataDir == "" {
		o.dataDir = filepath.Join(cache, "healthcore-bench", o.database)
	}
	if o.workerProcs < 0 || o.workerGOGC < 0 || o.serviceProcs < 0 {
		return o, errors.New("-worker-procs, -worker-gogc and -service-procs ≥ 0")
	}
	if o.ramp < 0 || o.duration <= 0 || o.think <= 0 || o.gateways < 1 || o.workers < 1 || o.doctors < 1 {
		return o, errors.New("-ramp ≥ 0; -duration, -think, -gateways, -workers and -doctors positive")
	}
	return o, nil
}

// parseMix reads "action=weight,…"; actions left out are not done.
func parseMix(s string) ([]mixEntry, error) {
	var out []mixEntry
	for f := range strings.SplitSeq(s, ",") {
		name, w, ok := strings.Cut(strings.TrimSpace(f), "=")
		weight, err := strconv.ParseFloat(w, 64)
		if !ok || err != nil || weight < 0 {
			return nil, fmt.Errorf("-mix: %q is not action=weight", f)
		}
		known := false
		for _, a := range actions {
			known = known || a == name
		}
		if !known {
			return nil, fmt.Errorf("-mix: no action %q (%s)", name, strings.Join(actions, ", "))
		}
		if weight > 0 {
			out = append(out, mixEntry{Action: name, Weight: weight})
		}
	}
	if len(out) == 0 {
		return nil, errors.New("-mix: no action with a positive weight")
	}
	return out, nil
}

// lockRun makes sure no other run uses the database while this one does: two at once
// would spend each other's stored refresh tokens (identity ends a session whose refresh
// token is used twice) and measure each other's load. The lock is held in the server's
// postgres database, since the benchmark's own may be dropped and made again.
func lockRun(ctx context.Context, serverURL, database string) (release func(), err error) {
	url, err := pg.WithDatabase(serverURL, "postgres")
	if err != nil {
		return nil, err
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("lock the benchmark's database: %w", err)
	}
	var free bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtext('healthcore bench/users ' || $1))`, database).Scan(&free); err != nil {
		_ = conn.Close(ctx)
		return nil, fmt.Errorf("lock the benchmark's database: %w", err)
	}
	if !free {
		_ = conn.Close(ctx)
		return nil, fmt.Errorf("another bench/users run is using the database %s: wait for it to end, or give this one its own -database-name", database)
	}
	return func() { _ = conn.Close(context.WithoutCancel(ctx)) }, nil // the session's end unlocks
}

// vacuum vacuums and analyses the benchmark's database and returns how many dead rows
// its tables held. Every run adds rows and leaves dead ones (refreshed tokens, finished
// jobs, delivered notifications); on a server whose autovacuum is off, or behind, they
// would pile up from run to run and each step would measure a database worse than the
// one before it, and than production's, where autovacuum runs.
func vacuum(ctx context.Context, dbURL string) (int64, error) {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return 0, fmt.Errorf("vacuum the benchmark's database: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var dead int64
	if err := conn.QueryRow(ctx, `SELECT coalesce(sum(n_dead_tup), 0) FROM pg_stat_user_tables`).Scan(&dead); err != nil {
		return 0, fmt.Errorf("vacuum the benchmark's database: %w", err)
	}
	if _, err := conn.Exec(ctx, `VACUUM (ANALYZE)`); err != nil {
		return 0, fmt.Errorf("vacuum the benchmark's database: %w", err)
	}
	return dead, nil
}

func run(ctx context.Context, o options) ([]stepResult, error) {
	dbURL, err := pg.WithDatabase(o.serverURL, o.database)
	if err != nil {
		return nil, err
	}
	most := 0
	for _, n := range o.steps {
		most = max(most, n)
	}
	say := func(format string, a ...any) {
		if !o.quiet {
			fmt.Printf(format, a...)
		}
	}
	say("users load test: steps %v, ramp %s, %s each, think %s (mean), %d gateways, %d workers, %d CPUs\n",
		o.steps, o.ramp, o.duration, o.think, o.gateways, o.workers, runtime.NumCPU())
	say("database %s, data folder %s\n\n", pg.RedactURL(dbURL), o.dataDir)
	if o.profileDir != "" {
		if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
			return nil, err
		}
	}
	release, err := lockRun(ctx, o.serverURL, o.database)
	if err != nil {
		return nil, err
	}
	defer release()
	if err := checkState(ctx, dbURL, o.dataDir); err != nil {
		return nil, err
	}
	st, err := startStack(ctx, dbURL, o)
	if err != nil {
		return nil, err
	}
	defer st.Stop()
	if err := prepareUsers(ctx, st, dbURL, o.doctors, most, o.parallel); err != nil {
		return nil, err
	}
	if o.prepareOnly {
		return nil, st.Stop()
	}
	if err := warmUp(ctx, st, dbURL); err != nil {
		return nil, err
	}
	var results []stepResult
	for _, n := range o.steps {
		r, err := runStep(ctx, st, dbURL, o, n)
		if err != nil {
			return results, err
		}
		results = append(results, *r)
		if !o.quiet {
			printStep(os.Stdout, r)
		}
	}
	if err := st.Stop(); err != nil {
		return results, err
	}
	if err := writeResults(o, results); err != nil {
		return results, err
	}
	return results, nil
}

package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"healthcore/platform/pgtest"
)

// TestMain runs the test binary as a load worker when the coordinator re-executes it,
// as the command does itself.
func TestMain(m *testing.M) {
	if raw := os.Getenv(workerEnv); raw != "" {
		if err := runWorker(context.Background(), raw); err != nil {
			fmt.Fprintln(os.Stderr, "users worker:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestUsers_ShortRunHasNoErrors is the short version of the load test, so the tool
// can't rot: 200 users on a fresh database and two gateways, every action of the mix
// equally likely and a short think time so each is done, access tokens that live a
// minute and are refreshed when they have less than 45 s left (so every session that
// acts refreshes, about once: the prepared tokens are older than 15 s by then), and a
// few users whose stored refresh token is refused, who log in again.
func TestUsers_ShortRunHasNoErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a whole deployment")
	}
	dbURL := pgtest.URL(t)
	cfg, err := pgx.ParseConfig(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	var weights []string
	for _, a := range actions {
		weights = append(weights, a+"=1")
	}
	o, err := parseFlags([]string{"-users", "200", "-doctors", "6", "-ramp", "3s", "-duration", "10s", "-think", "3s",
		"-mix", strings.Join(weights, ","), "-gateways", "2", "-workers", "2", "-db-max-conns", "3",
		"-access-ttl", "1m", "-refresh-before", "45s", "-data-dir", t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	o.serverURL, o.database = dbURL, cfg.Database
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// Prepare first, then spoil the stored refresh tokens of ten users: the run must
	// log them in again (their refresh is refused) and write the new tokens back.
	prep := o
	prep.prepareOnly = true
	if _, err := run(ctx, prep); err != nil {
		t.Fatal(err)
	}
	db, err := openBench(ctx, dbURL, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(ctx, `UPDATE bench_users.patients SET refresh_token = 'spoilt-refresh-token-' || n, access_token = '',
		access_expire = now() - interval '1 hour' WHERE n < 10`); err != nil {
		t.Fatal(err)
	}

	results, err := run(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 1 {
		t.Fatalf("%d steps, want 1", len(results))
	}
	r := results[0]
	var b strings.Builder
	printStep(&b, &r)
	t.Log("\n" + b.String())

	if r.Overall.Errors != 0 {
		t.Errorf("%d errors, want none", r.Overall.Errors)
	}
	for _, a := range actions {
		if r.Actions[a] == 0 {
			t.Errorf("action %s was never done", a)
		}
	}
	var routes []string
	for _, row := range r.Routes {
		routes = append(routes, row.Route)
		if row.Requests == 0 || row.P50 <= 0 || row.Max < row.P99 {
			t.Errorf("route %s: %d requests, p50 %.2f ms, p99 %.2f ms, max %.2f ms", row.Route, row.Requests, row.P50, row.P99, row.Max)
		}
	}
	for _, want := range []string{routeSearch, routeProfile, routeSlots, routeAppointments, routeMe, routeRecords, routeBook,
		routeDownload, routeRefresh, routeTimeToQR} {
		if !slices.Contains(routes, want) {
			t.Errorf("no row for %s in %q", want, routes)
		}
	}
	names := map[string]bool{}
	for _, p := range r.Procs {
		names[p.Name] = true
		if p.Name != "total" && p.Name != "meetings" && p.CPUSec < 0 {
			t.Errorf("process %s: %.2f CPU seconds", p.Name, p.CPUSec)
		}
	}
	for _, want := range []string{"load-1", "load-2", "gateway-1", "gateway-2", "identity", "directory", "scheduling", "postgres"} {
		if !names[want] {
			t.Errorf("no row for process %s", want)
		}
	}
	// The step began on a vacuumed database: the preparation's dead rows (refresh
	// tokens rotated, jobs finished) were counted and removed.
	var vacuumed int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM pg_stat_user_tables WHERE vacuum_count > 0 AND relname = 'accounts'`).Scan(&vacuumed); err != nil {
		t.Fatal(err)
	}
	if vacuumed != 1 || r.Vacuumed <= 0 {
		t.Errorf("identity's accounts vacuumed: %d, dead rows counted before the step: %d; want the table vacuumed and some dead rows", vacuumed, r.Vacuumed)
	}
	// The spoilt users that made an authenticated call logged in again: their new
	// refresh token was written back.
	var renewed int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM bench_users.patients WHERE n < 10 AND refresh_token NOT LIKE 'spoilt-%'`).Scan(&renewed); err != nil {
		t.Fatal(err)
	}
	if renewed == 0 {
		t.Error("no user whose refresh token was refused logged in again")
	}
}

// Two runs on one database would spend each other's refresh tokens: the second is
// refused while the first holds the database, and goes once it has ended.
func TestLockRun_ASecondRunOnTheSameDatabaseIsRefused(t *testing.T) {
	dbURL := pgtest.URL(t)
	ctx := context.Background()
	name := fmt.Sprintf("lockrun_%d", time.Now().UnixNano())
	release, err := lockRun(ctx, dbURL, name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lockRun(ctx, dbURL, name); err == nil || !strings.Contains(err.Error(), "another bench/users run is using the database "+name) {
		t.Fatalf("second run on %s: %v, want refused", name, err)
	}
	other, err := lockRun(ctx, dbURL, name+"_other")
	if err != nil {
		t.Fatalf("a run on another database was refused: %v", err)
	}
	other()
	release()
	again, err := lockRun(ctx, dbURL, name)
	if err != nil {
		t.Fatalf("after the first run ended: %v", err)
	}
	again()
}

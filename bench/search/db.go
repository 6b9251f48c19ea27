package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/proto"

	"healthcore/bench/load"
	directoryv1 "healthcore/gen/healthcore/directory/v1"
	"healthcore/platform/pg"
	"healthcore/services/directory"
)

// prepareDatabase migrates the directory schema and seeds it, unless the doctors there
// were already seeded with the same count and seed (recorded in public.bench_search_seed).
func prepareDatabase(ctx context.Context, dbURL string, doctors int, seed int64, pageCost float64) error {
	if err := pg.EnsureDatabase(ctx, dbURL); err != nil {
		return err
	}
	if err := setPageCost(ctx, dbURL, pageCost); err != nil {
		return err
	}
	if err := pg.Migrate(ctx, dbURL, nil, directory.Schema); err != nil {
		return err
	}
	db, err := pg.Open(ctx, dbURL, directory.Schema.Name, 2)
	if err != nil {
		return err
	}
	defer db.Close()
	// The other services start empty on every run: their sealed data would not open
	// under the new master key of this run's temporary data folder.
	others, err := db.Query(ctx, `SELECT nspname FROM pg_namespace WHERE nspname NOT IN ('directory', 'public',
		'information_schema') AND nspname NOT LIKE 'pg\_%'`)
	if err != nil {
		return err
	}
	names, err := pgx.CollectRows(others, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, name := range names {
		if _, err := db.Exec(ctx, `DROP SCHEMA `+pgx.Identifier{name}.Sanitize()+` CASCADE`); err != nil {
			return err
		}
	}
	if _, err := db.Exec(ctx, `CREATE TABLE IF NOT EXISTS public.bench_search_seed (doctors integer NOT NULL, seed bigint NOT NULL)`); err != nil {
		return err
	}
	var count int
	var recorded bool
	// Listed ones only: doctors seeded before listing needed verification are unlisted
	// since, and seeded again.
	err = db.QueryRow(ctx, `SELECT (SELECT count(*) FROM doctors WHERE listed),
		EXISTS (SELECT 1 FROM public.bench_search_seed WHERE doctors = $1 AND seed = $2)`, doctors, seed).Scan(&count, &recorded)
	if err != nil {
		return err
	}
	if recorded && count == doctors {
		fmt.Printf("reusing the %d doctors seeded with seed %d\n", doctors, seed)
		return nil
	}
	if _, err := db.Exec(ctx, `TRUNCATE doctors CASCADE; TRUNCATE public.bench_search_seed`); err != nil {
		return err
	}
	fmt.Printf("seeding %d doctors (seed %d) …\n", doctors, seed)
	start := time.Now()
	if _, err := directory.Seed(ctx, db, doctors, seed); err != nil {
		return err
	}
	// As autovacuum would have by now: visibility map and hint bits set.
	if _, err := db.Exec(ctx, `VACUUM (ANALYZE) doctors, doctor_specialties`); err != nil {
		return err
	}
	fmt.Printf("seeded in %s\n", time.Since(start).Round(time.Millisecond))
	_, err = db.Exec(ctx, `INSERT INTO public.bench_search_seed (doctors, seed) VALUES ($1, $2)`, doctors, seed)
	return err
}

// setPageCost sets (or, given 0, resets) random_page_cost for later connections to
// the benchmark database, and prints the value they get.
func setPageCost(ctx context.Context, dbURL string, cost float64) error {
	stmt := "ALTER DATABASE " + benchDatabase + " RESET random_page_cost"
	if cost > 0 {
		stmt = fmt.Sprintf("ALTER DATABASE %s SET random_page_cost = %g", benchDatabase, cost)
	}
	var setting string
	for _, sql := range []string{stmt, "SELECT current_setting('random_page_cost')"} {
		conn, err := pgx.Connect(ctx, dbURL) // a new session sees the database's new default
		if err != nil {
			return err
		}
		err = conn.QueryRow(ctx, sql).Scan(&setting)
		conn.Close(ctx)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
	}
	fmt.Printf("random_page_cost %s\n", setting)
	return nil
}

// monitor watches the benchmark database from a connection of its own.
type monitor struct {
	mu   sync.Mutex
	conn *pgx.Conn
}

// backends lists the process ids of the other sessions on the benchmark database (the
// services' or the raw path's), or nothing if the server cannot tell.
func (m *monitor) backends(ctx context.Context) []int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return load.Backends(ctx, m.conn)
}

// query is one SQL statement with its arguments, as the directory service sent it.
type query struct {
	label string
	sql   string
	args  []any
}

// recorder keeps the statements run on its connections.
type recorder struct {
	mu      sync.Mutex
	queries []query
}

func (r *recorder) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	r.mu.Lock()
	r.queries = append(r.queries, query{sql: data.SQL, args: data.Args})
	r.mu.Unlock()
	return ctx
}

func (r *recorder) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// take returns the statements recorded since the last call.
func (r *recorder) take() []query {
	r.mu.Lock()
	defer r.mu.Unlock()
	q := r.queries
	r.queries = nil
	return q
}

// captureQueries runs each benchmark search once through the directory service itself
// and records the search statement it sends (one statement: the page's profiles with
// their specialties), so the raw path runs exactly the service's SQL.
func captureQueries(ctx context.Context, dbURL string) ([]query, error) {
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return nil, err
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = directory.Schema.Name
	rec := &recorder{}
	cfg.ConnConfig.Tracer = rec
	cfg.MaxConns = 1
	db, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	svc, err := directory.New(ctx, directory.Deps{DB: db})
	if err != nil {
		return nil, err
	}
	out := make([]query, pairs())
	for i := range out {
		p, code := search(i)
		rec.take()
		_, err := svc.SearchDoctors(ctx, connect.NewRequest(&directoryv1.SearchDoctorsRequest{
			Specialty: code, Point: &directoryv1.LatLng{Latitude: new(p.lat), Longitude: new(p.lng)},
			MaxDistanceKm: proto.Float64(25), MinRating: 4, Sort: directoryv1.SortOrder_SORT_ORDER_DISTANCE,
		}))
		if err != nil {
			return nil, fmt.Errorf("search %s around %s: %w", code, p.city, err)
		}
		seen := rec.take()
		if len(seen) == 0 || !strings.Contains(seen[0].sql, "ORDER BY") {
			return nil, errors.New("the directory service's search statement was not seen")
		}
		out[i] = seen[0]
		out[i].label = code + " around " + p.city
	}
	return out, nil
}

// sqlLoad runs the captured statements alone on a pool of one connection per client,
// reading every row, as the ceiling of what the REST path can reach.
func sqlLoad(ctx context.Context, dbURL string, queries []query, mon *monitor, o options) (*result, error) {
	db, err := pg.Open(ctx, dbURL, directory.Schema.Name, int32(o.clients))
	if err != nil {
		return nil, err
	}
	defer db.Close()
	fmt.Printf("raw SQL: %d clients …\n\n", o.clients)
	r := drive(ctx, "raw SQL (search query only)", o.clients, o.warmup, o.duration, nil, mon, func(ctx context.Context, i int) (bool, error) {
		q := queries[i%len(queries)]
		rows, err := db.Query(ctx, q.sql, q.args...)
		if err != nil {
			return false, err
		}
		n := 0
		for rows.Next() {
			n++
		}
		return n == 0, rows.Err()
	})
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if r.generic, r.custom, err = planCounts(ctx, db); err != nil {
		return nil, err
	}
	return r, nil
}

// explain prints EXPLAIN (ANALYZE, BUFFERS) of q both ways PostgreSQL plans a
// prepared statement (pgx prepares what it runs): the custom plan, made for the
// arguments, of the first five executions on a connection, and the generic plan it
// then keeps when that one is not estimated dearer.
func explain(ctx context.Context, dbURL string, q query) error {
	db, err := pg.Open(ctx, dbURL, directory.Schema.Name, 1)
	if err != nil {
		return err
	}
	defer db.Close()
	conn, err := db.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	fmt.Printf("EXPLAIN (ANALYZE, BUFFERS) — %s:\n%s\n  args %v\n", q.label, q.sql, q.args)
	// EXECUTE takes its arguments as SQL literals.
	literals := make([]string, len(q.args))
	for i, a := range q.args {
		switch v := a.(type) {
		case string:
			literals[i] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
		case float64:
			literals[i] = strconv.FormatFloat(v, 'g', -1, 64)
		default:
			literals[i] = fmt.Sprint(v)
		}
	}
	for _, step := range []struct {
		title, setup, sql string
		args              []any
	}{
		{"custom plan (plan_cache_mode = force_custom_plan)", "SET plan_cache_mode = force_custom_plan",
			"EXPLAIN (ANALYZE, BUFFERS) " + q.sql, q.args},
		{"generic plan (plan_cache_mode = force_generic_plan)", "SET plan_cache_mode = force_generic_plan; PREPARE bench_search AS " + q.sql,
			"EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_search(" + strings.Join(literals, ", ") + ")", nil},
	} {
		if _, err := conn.Exec(ctx, step.setup); err != nil {
			return err
		}
		rows, err := conn.Query(ctx, step.sql, step.args...)
		if err != nil {
			return err
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		fmt.Printf("\n%s:\n%s\n", step.title, strings.Join(lines, "\n"))
	}
	return nil
}

// planCounts sums, over the pool's connections, how many times the search statements
// ran with a generic and with a custom plan. A search of one specialty reads
// search_entries alone, one of every specialty doctors; this query, which names both, is
// prepared too and left out.
func planCounts(ctx context.Context, db *pgxpool.Pool) (generic, custom int64, err error) {
	for _, c := range db.AcquireAllIdle(ctx) {
		var g, cu int64
		err = c.QueryRow(ctx, `SELECT coalesce(sum(generic_plans), 0)::bigint, coalesce(sum(custom_plans), 0)::bigint
			FROM pg_prepared_statements WHERE (statement LIKE '%doctors d %' OR statement LIKE '%search_entries e %')
				AND statement NOT LIKE '%pg_prepared_statements%'`).Scan(&g, &cu)
		c.Release()
		if err != nil {
			return 0, 0, err
		}
		generic, custom = generic+g, custom+cu
	}
	return generic, custom, nil
}

package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"healthcore/gen/healthcore/payments/v1/paymentsv1connect"
	"healthcore/platform/envelope"
	"healthcore/platform/pg"
	"healthcore/services/directory"
	"healthcore/services/keys"
	"healthcore/services/scheduling"
)

// benchCRM is the CRM of the doctor whose availability the benchmark changes; seeded
// CRMs have six digits or more, so it never meets one.
const benchCRM, benchUF = "4242", "SP"

// prepareDatabase migrates the directory and scheduling schemas and seeds doctors,
// their availability and eight weeks of slots, unless they were already seeded with the
// same count and seed (recorded in public.bench_slots_seed); then it rolls forward any
// doctor not rolled in the last 12 hours, so the service's own daily job has nothing
// to do during the measurement. It returns the seeded doctors' ids.
func prepareDatabase(ctx context.Context, dbURL string, doctors int, seed int64) ([]string, error) {
	if err := pg.EnsureDatabase(ctx, dbURL); err != nil {
		return nil, err
	}
	if err := pg.Migrate(ctx, dbURL, nil, directory.Schema, scheduling.Schema); err != nil {
		return nil, err
	}
	workers := 2 * runtime.NumCPU()
	dirDB, err := pg.Open(ctx, dbURL, directory.Schema.Name, int32(workers+2))
	if err != nil {
		return nil, err
	}
	defer dirDB.Close()
	schedDB, err := pg.Open(ctx, dbURL, scheduling.Schema.Name, int32(workers+2))
	if err != nil {
		return nil, err
	}
	defer schedDB.Close()

	if err := resetOthers(ctx, dirDB); err != nil {
		return nil, err
	}
	if _, err := dirDB.Exec(ctx, `CREATE TABLE IF NOT EXISTS public.bench_slots_seed (doctors integer NOT NULL, seed bigint NOT NULL)`); err != nil {
		return nil, err
	}
	var count int
	var recorded bool
	// Listed ones only: doctors seeded before listing needed verification are unlisted
	// since, and seeded again.
	err = dirDB.QueryRow(ctx, `SELECT (SELECT count(*) FROM doctors WHERE listed),
		EXISTS (SELECT 1 FROM public.bench_slots_seed WHERE doctors = $1 AND seed = $2)`, doctors, seed).Scan(&count, &recorded)
	if err != nil {
		return nil, err
	}
	reuse := recorded && count == doctors
	if !reuse {
		// Start from empty schemas: appointment_history refuses TRUNCATE (append-only), so
		// the benchmark's own database is dropped and migrated afresh instead.
		if _, err := dirDB.Exec(ctx, `DROP SCHEMA directory, scheduling CASCADE; TRUNCATE public.bench_slots_seed`); err != nil {
			return nil, err
		}
		if err := pg.Migrate(ctx, dbURL, nil, directory.Schema, scheduling.Schema); err != nil {
			return nil, err
		}
	}

	// The service, in this process, on the benchmark's database: its roll-forward lays
	// out the slots. The directory is called in process too (no token is needed there).
	dir, err := directory.New(ctx, directory.Deps{DB: dirDB})
	if err != nil {
		return nil, err
	}
	// Laying out slots books nothing: payments is never called, and no appointment text
	// is sealed (the keys service runs in process on a throwaway keyring).
	noPayments := paymentsv1connect.NewPaymentsServiceClient(http.DefaultClient, "http://127.0.0.1:1")
	keyDir, err := os.MkdirTemp("", "bench-slots-keys-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(keyDir)
	keyring, err := keys.OpenLocal(keyDir)
	if err != nil {
		return nil, err
	}
	env := envelope.New(keys.New(keyring), envelope.Defaults)
	svc, err := scheduling.New(scheduling.Deps{DB: schedDB, Envelope: env, Directory: dir, Payments: noPayments}, scheduling.DefaultConfig())
	if err != nil {
		return nil, err
	}

	if reuse {
		fmt.Printf("reusing the %d doctors and their slots seeded with seed %d\n", doctors, seed)
	} else {
		fmt.Printf("seeding %d doctors (seed %d) …\n", doctors, seed)
		start := time.Now()
		if _, err := directory.Seed(ctx, dirDB, doctors, seed); err != nil {
			return nil, err
		}
		fmt.Printf("  directory profiles in %s\n", time.Since(start).Round(time.Millisecond))
		t := time.Now()
		if err := copyAvailability(ctx, schedDB, seed); err != nil {
			return nil, err
		}
		fmt.Printf("  availability rows in %s\n", time.Since(t).Round(time.Millisecond))
	}

	// Roll forward whoever needs it: every doctor after a fresh seed, the stale ones
	// otherwise.
	rows, err := schedDB.Query(ctx, `SELECT doctor_id::text FROM availability
		WHERE rolled_at < now() - interval '12 hours' OR NOT EXISTS (SELECT 1 FROM slots s WHERE s.doctor_id = availability.doctor_id)`)
	if err != nil {
		return nil, err
	}
	due, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	if len(due) > 0 {
		t := time.Now()
		if err := rollAll(ctx, svc, due, workers); err != nil {
			return nil, err
		}
		var slots int
		if err := schedDB.QueryRow(ctx, `SELECT count(*) FROM slots`).Scan(&slots); err != nil {
			return nil, err
		}
		fmt.Printf("  slots of %d doctors rolled forward by the service's own code in %s (%d workers): %d slots in all\n",
			len(due), time.Since(t).Round(time.Millisecond), workers, slots)
		// As autovacuum would have by now: visibility map and statistics.
		if _, err := schedDB.Exec(ctx, `VACUUM (ANALYZE) slots, availability, availability_windows`); err != nil {
			return nil, err
		}
	}
	if !(recorded && count == doctors) {
		if _, err := dirDB.Exec(ctx, `INSERT INTO public.bench_slots_seed (doctors, seed) VALUES ($1, $2)`, doctors, seed); err != nil {
			return nil, err
		}
	}

	rows, err = dirDB.Query(ctx, `SELECT doctor_id::text FROM doctors WHERE listed ORDER BY doctor_id`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// resetOthers empties what the benchmark does not reuse: the schemas of the other
// services (their sealed data would not open under the new master key of this run's
// temporary data folder), and the doctor a previous run registered.
func resetOthers(ctx context.Context, db *pgxpool.Pool) error {
	others, err := db.Query(ctx, `SELECT nspname FROM pg_namespace WHERE nspname NOT IN ('directory', 'scheduling', 'public',
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
	_, err = db.Exec(ctx, `WITH gone AS (DELETE FROM directory.doctors WHERE crm_number = $1 AND crm_uf = $2 RETURNING doctor_id),
		a AS (DELETE FROM scheduling.appointments WHERE doctor_id IN (SELECT doctor_id FROM gone)),
		s AS (DELETE FROM scheduling.slots WHERE doctor_id IN (SELECT doctor_id FROM gone))
		DELETE FROM scheduling.availability WHERE doctor_id IN (SELECT doctor_id FROM gone)`, benchCRM, benchUF)
	return err
}

// pattern is a weekly availability: windows by ISO weekday, in local wall-clock time.
type pattern struct {
	name    string
	windows []weeklyWindow
}

type weeklyWindow struct {
	weekday    int
	start, end string // HH:MM
}

func days(from, to int, start, end string) []weeklyWindow {
	var out []weeklyWindow
	for d := from; d <= to; d++ {
		out = append(out, weeklyWindow{d, start, end})
	}
	return out
}

// patterns are the weekly availabilities seeded doctors draw from, as a practice
// would publish them; slots take each doctor's consultation length (30, 50 or 60
// minutes) from the directory.
var patterns = []pattern{
	{"weekday mornings", days(1, 5, "08:00", "12:00")},
	{"afternoons three days a week", []weeklyWindow{{1, "13:00", "18:00"}, {3, "13:00", "18:00"}, {5, "13:00", "18:00"}}},
	{"two full days and Saturday morning", []weeklyWindow{
		{2, "08:00", "12:00"}, {2, "14:00", "18:00"}, {4, "08:00", "12:00"}, {4, "14:00", "18:00"}, {6, "08:00", "12:00"}}},
	{"weekday evenings", days(1, 5, "18:00", "21:00")},
}

// copyAvailability gives every directory doctor an availability drawn from patterns
// (with a 0 or 10-minute gap), written with COPY.
func copyAvailability(ctx context.Context, db *pgxpool.Pool, seed int64) error {
	rows, err := db.Query(ctx, `SELECT doctor_id::text FROM directory.doctors ORDER BY doctor_id`)
	if err != nil {
		return err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(uint64(seed), 0x5107))
	now := time.Now()
	var avail, windows [][]any
	for _, s := range ids {
		id := [16]byte(uuid.MustParse(s))
		p := patterns[r.IntN(len(patterns))]
		avail = append(avail, []any{id, int32(0), int32(10 * r.IntN(2)), now, now})
		for _, w := range p.windows {
			windows = append(windows, []any{id, int16(w.weekday), clock(w.start), clock(w.end)})
		}
	}
	return pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"availability"},
			[]string{"doctor_id", "slot_minutes", "gap_minutes", "updated_at", "rolled_at"}, pgx.CopyFromRows(avail)); err != nil {
			return fmt.Errorf("copy availability: %w", err)
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"availability_windows"},
			[]string{"doctor_id", "weekday", "start_time", "end_time"}, pgx.CopyFromRows(windows)); err != nil {
			return fmt.Errorf("copy availability_windows: %w", err)
		}
		return nil
	})
}

func clock(hhmm string) pgtype.Time {
	var h, m int64
	fmt.Sscanf(hhmm, "%d:%d", &h, &m)
	return pgtype.Time{Microseconds: (h*60 + m) * 60 * 1e6, Valid: true}
}

// rollAll rolls the doctors forward with a few workers, reporting progress.
func rollAll(ctx context.Context, svc *scheduling.Service, ids []string, workers int) error {
	var next, done atomic.Int64
	var firstErr error
	var once sync.Once
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(ids) || ctx.Err() != nil {
					return
				}
				if err := svc.RollForward(ctx, ids[i]); err != nil {
					once.Do(func() { firstErr = fmt.Errorf("roll forward %s: %w", ids[i], err); cancel() })
					return
				}
				if n := done.Add(1); n%2000 == 0 {
					fmt.Printf("  … %d of %d doctors rolled\n", n, len(ids))
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

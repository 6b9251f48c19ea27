package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"healthcore/bench/load"
	"healthcore/bench/stack"
	"healthcore/gen/healthcore/directory/v1/directoryv1connect"
	"healthcore/gen/healthcore/keys/v1/keysv1connect"
	"healthcore/gen/healthcore/payments/v1/paymentsv1connect"
	"healthcore/platform/envelope"
	"healthcore/platform/pg"
	"healthcore/services/scheduling"
)

// bookingTxCeiling is the ceiling "the booking transaction alone": o.clients
// goroutines, each a patient booking its own synthetic doctor's slots one after
// another, running the statements a booking request runs (scheduling's
// BookStatements: the idempotency key's read, the slot's read, and the booking's
// transaction with its two River jobs) through pgx with o.clients connections — no
// REST, no RPC, no sealing. The stack is stopped by then, so no worker picks the jobs.
func bookingTxCeiling(ctx context.Context, dbURL string, o options) (*load.Result, error) {
	db, err := pg.Open(ctx, dbURL, "scheduling", int32(o.clients+1))
	if err != nil {
		return nil, err
	}
	defer db.Close()
	cfg := scheduling.DefaultConfig()
	cfg.MaxPendingBookings = 1_000_000 // as the REST phase's flags
	cfg.BookingRate.PerPatient, cfg.BookingRate.PerAddress = 0, 0
	nowhere := "http://127.0.0.1:1" // never called: BookStatements makes no RPC
	svc, err := scheduling.New(scheduling.Deps{DB: db,
		Envelope:  envelope.New(keysv1connect.NewKeysServiceClient(http.DefaultClient, nowhere), envelope.Defaults),
		Directory: directoryv1connect.NewDirectoryServiceClient(http.DefaultClient, nowhere),
		Payments:  paymentsv1connect.NewPaymentsServiceClient(http.DefaultClient, nowhere)}, cfg)
	if err != nil {
		return nil, err
	}
	const perClient = 5000
	fmt.Printf("ceiling: %d connections running the booking's statements for %s …\n", o.clients, o.duration)
	slots := make([][]string, o.clients)
	for c := range o.clients {
		doctor := uuid.NewString()
		if _, err := db.Exec(ctx, `INSERT INTO slots (id, doctor_id, start_at, end_at)
			SELECT gen_random_uuid(), $1, t, t + interval '50 minutes'
			FROM generate_series(date_trunc('hour', now()) + interval '5 years', date_trunc('hour', now()) + interval '5 years' + ($2 - 1) * interval '1 hour', interval '1 hour') t`,
			doctor, perClient); err != nil {
			return nil, err
		}
		rows, err := db.Query(ctx, `SELECT id::text FROM slots WHERE doctor_id = $1 ORDER BY start_at`, doctor)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return nil, err
			}
			slots[c] = append(slots[c], id)
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	sealed := make([]byte, 96) // about what a sealed reason of "consulta de rotina" weighs
	_, _ = rand.Read(sealed)
	patients := make([]string, o.clients)
	for c := range patients {
		patients[c] = uuid.NewString()
	}
	return load.Timed(ctx, "the booking's statements alone, pgx (ceiling)", o.clients, o.warmup, o.duration,
		func(c int) int { return len(slots[c]) },
		func(c, i int) error {
			return svc.BookStatements(ctx, patients[c], slots[c][i], fmt.Sprintf("ceiling-%d-%d", c, i), 25000, sealed)
		}), nil
}

// drainCharges waits until scheduling's ensure_payment jobs are all done (the charges
// of the race's and the sustained phase's bookings), and returns how many completed,
// how many were left when it began, when the last finished, and how long they took
// from the first job's insert to the last one's end.
func drainCharges(ctx context.Context, dbURL string) (done, backlog int, at time.Time, span time.Duration, err error) {
	db, err := pg.Open(ctx, dbURL, "scheduling", 1)
	if err != nil {
		return 0, 0, time.Time{}, 0, err
	}
	defer db.Close()
	for first := true; ; first = false {
		var left int
		var secs float64
		if err := db.QueryRow(ctx, `SELECT count(*) FILTER (WHERE finalized_at IS NULL), count(*) FILTER (WHERE state = 'completed'),
				coalesce(extract(epoch FROM max(finalized_at) - min(created_at)), 0)::float8
			FROM river_job WHERE kind = 'scheduling.ensure_payment'`).Scan(&left, &done, &secs); err != nil {
			return 0, 0, time.Time{}, 0, err
		}
		if first {
			backlog = left
		}
		if left == 0 {
			return done, backlog, time.Now(), time.Duration(secs * float64(time.Second)), nil
		}
		select {
		case <-ctx.Done():
			return 0, 0, time.Time{}, 0, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// drainProfile profiles serve while the ensure_payment jobs' backlog drains (no
// bookings then: the charges and what follows them alone), into
// booking-serve-drain.pprof of o.profileDir; the channel closes when it is written.
// The profile lasts as long as the backlog would take at 100 charges a second (1 to
// 60 s): a shorter drain leaves the rest idle, which adds no samples.
func drainProfile(ctx context.Context, st *stack.Stack, dbURL string, o options) <-chan struct{} {
	done := make(chan struct{})
	if o.profileDir == "" {
		close(done)
		return done
	}
	go func() {
		defer close(done)
		db, err := pg.Open(ctx, dbURL, "scheduling", 1)
		if err != nil {
			fmt.Println("drain profile:", err)
			return
		}
		var left int
		err = db.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'scheduling.ensure_payment' AND finalized_at IS NULL`).Scan(&left)
		db.Close()
		if err != nil {
			fmt.Println("drain profile:", err)
			return
		}
		d := time.Duration(min(max(left/100, 1), 60)) * time.Second
		file := filepath.Join(o.profileDir, "booking-serve-drain.pprof")
		if err := st.Profile(ctx, "serve", d, file); err != nil {
			fmt.Println("drain profile:", err)
			return
		}
		fmt.Printf("CPU profile of serve while %d charges drain (%s): go tool pprof -top %s\n", left, d, file)
	}()
	return done
}

// cpuSeconds is the user+system CPU time a process has used (Linux), or 0.
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')') // the command name may hold spaces
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state): utime is field 14, stime 15
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (u + st) / 100 // USER_HZ
}

package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/uuid"

	"healthcore/bench/load"
	"healthcore/bench/stack"
	"healthcore/platform/pg"
)

type raceResult struct {
	all                                  *load.Result
	won, taken, other4xx, server, stored int
}

// racePhase lets o.patients patients book o.raceSlots slots of one doctor at once.
func racePhase(ctx context.Context, client *http.Client, gateway, dbURL string, identityDB pg.Querier, operator string, o options) (*raceResult, error) {
	_, slots, err := doctorWithSlots(ctx, client, gateway, operator, 0)
	if err != nil {
		return nil, err
	}
	if len(slots) < o.raceSlots {
		return nil, fmt.Errorf("the popular doctor has %d free slots, want %d", len(slots), o.raceSlots)
	}
	slots = slots[:o.raceSlots]
	fmt.Printf("registering %d patients …\n", o.patients)
	_, tokens, err := patients(ctx, client, gateway, identityDB, 0, o.patients)
	if err != nil {
		return nil, err
	}
	fmt.Printf("race: %d patients on %d slots …\n", o.patients, o.raceSlots)
	out := &raceResult{all: &load.Result{Name: "POST /v1/appointments (race)"}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i, tok := range tokens {
		wg.Go(func() {
			<-gate
			t0 := time.Now()
			outcome, err := book(ctx, client, gateway, tok, slots[i%len(slots)], fmt.Sprintf("race-key-%04d", i))
			d := time.Since(t0)
			mu.Lock()
			defer mu.Unlock()
			out.all.Add(d, err)
			switch outcome {
			case "booked":
				out.won++
			case "taken":
				out.taken++
			case "4xx":
				out.other4xx++
			default:
				out.server++
			}
		})
	}
	start := time.Now()
	close(gate)
	wg.Wait()
	out.all.Done(time.Since(start))
	out.all.Note = "SLOT_TAKEN counted as success"

	db, err := pg.Open(ctx, dbURL, "scheduling", 2)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	err = db.QueryRow(ctx, `SELECT count(*) FROM appointments WHERE slot_id = ANY($1::uuid[])`, slots).Scan(&out.stored)
	return out, err
}

// sustainedPhase: each client is one patient booking its own doctor's slots in order.
func sustainedPhase(ctx context.Context, client *http.Client, st *stack.Stack, identityDB pg.Querier, operator string, o options) (*load.Result, error) {
	gateway := st.Gateway
	fmt.Printf("sustained: registering %d doctors with eight weeks of slots and %d patients …\n", o.clients, o.clients)
	slotLists := make([][]string, o.clients)
	for c := range o.clients {
		_, slots, err := doctorWithSlots(ctx, client, gateway, operator, c+1)
		if err != nil {
			return nil, err
		}
		slotLists[c] = slots
	}
	_, tokens, err := patients(ctx, client, gateway, identityDB, o.patients, o.clients)
	if err != nil {
		return nil, err
	}
	fmt.Printf("sustained: %d clients booking for %s …\n", o.clients, o.duration)
	start := time.Now()
	measureFrom, end := start.Add(o.warmup), start.Add(o.warmup+o.duration)
	parts := make([]load.Result, o.clients)
	var wg sync.WaitGroup
	if o.profileDir != "" {
		for _, name := range []string{"serve", "gateway"} {
			wg.Go(func() {
				time.Sleep(time.Until(measureFrom))
				file := filepath.Join(o.profileDir, "booking-"+name+".pprof")
				if err := st.Profile(ctx, name, o.duration*2/3, file); err != nil {
					fmt.Println("profile:", err)
					return
				}
				fmt.Printf("CPU profile of %s: go tool pprof -top %s\n", name, file)
			})
		}
	}
	for c := range o.clients {
		wg.Go(func() {
			for n, slot := range slotLists[c] {
				t0 := time.Now()
				if t0.After(end) || ctx.Err() != nil {
					return
				}
				_, err := book(ctx, client, gateway, tokens[c], slot, fmt.Sprintf("sustained-%d-%d", c, n))
				if t0.After(measureFrom) {
					parts[c].Add(time.Since(t0), err)
				}
			}
			parts[c].Fail(fmt.Errorf("client %d ran out of slots", c))
		})
	}
	wg.Wait()
	r := &load.Result{Name: "POST /v1/appointments (distinct slots, with PIX charge)"}
	for i := range parts {
		r.Merge(&parts[i])
	}
	r.Done(o.duration)
	return r, nil
}

// ceilingLoop inserts appointments directly, one INSERT per booking, on slots made for
// it, with o.clients connections (the database is dropped by the next run).
func ceilingLoop(ctx context.Context, dbURL string, o options) (*load.Result, error) {
	db, err := pg.Open(ctx, dbURL, "scheduling", int32(o.clients+1))
	if err != nil {
		return nil, err
	}
	defer db.Close()
	doctor := uuid.NewString()
	const perClient = 12000 // 384,000 slots for 32 connections: more than warm-up + 30 s of inserts here
	fmt.Printf("ceiling: %d connections INSERTing appointments for %s …\n", o.clients, o.duration)
	// One synthetic doctor's hourly slots, far in the future: enough for every insert.
	if _, err := db.Exec(ctx, `INSERT INTO slots (id, doctor_id, start_at, end_at)
		SELECT gen_random_uuid(), $1, t, t + interval '50 minutes'
		FROM generate_series(date_trunc('hour', now()) + interval '5 years', date_trunc('hour', now()) + interval '5 years' + ($2 - 1) * interval '1 hour', interval '1 hour') t`,
		doctor, perClient*o.clients); err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, `SELECT id::text, start_at, end_at FROM slots WHERE doctor_id = $1 ORDER BY start_at`, doctor)
	if err != nil {
		return nil, err
	}
	type slot struct {
		id         string
		start, end time.Time
	}
	var all []slot
	for rows.Next() {
		var s slot
		if err := rows.Scan(&s.id, &s.start, &s.end); err != nil {
			return nil, err
		}
		all = append(all, s)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	start := time.Now()
	measureFrom, end := start.Add(o.warmup), start.Add(o.warmup+o.duration)
	parts := make([]load.Result, o.clients)
	var wg sync.WaitGroup
	for c := range o.clients {
		wg.Go(func() {
			for i := c; i < len(all); i += o.clients {
				t0 := time.Now()
				if t0.After(end) || ctx.Err() != nil {
					return
				}
				s := all[i]
				_, err := db.Exec(ctx, `INSERT INTO appointments (id, slot_id, start_at, end_at, doctor_id, patient_id, state,
						price_cents, reason, idempotency_key, hold_until, created_at, updated_at)
					VALUES ($1, $2, $3, $4, $5, $6, 'PENDING_PAYMENT', 25000, 'consulta de rotina', $7, $8, now(), now())`,
					uuid.NewString(), s.id, s.start, s.end, doctor, uuid.NewString(), fmt.Sprintf("ceiling-%d", i), time.Now().Add(40*time.Minute))
				if t0.After(measureFrom) {
					parts[c].Add(time.Since(t0), err)
				}
			}
			parts[c].Fail(fmt.Errorf("connection %d ran out of slots", c))
		})
	}
	wg.Wait()
	r := &load.Result{Name: "INSERT INTO scheduling.appointments (ceiling)"}
	for i := range parts {
		r.Merge(&parts[i])
	}
	r.Done(o.duration)
	return r, nil
}

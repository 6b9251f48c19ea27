package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
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

// sustainedRound is one run of the sustained phase: its own doctors and patients
// (from the doctor and patient indices given), and whether the charges' jobs run
// beside the bookings.
type sustainedRound struct {
	name                    string // the result's row
	doctorFrom, patientFrom int
	profile                 bool // write the profiles of o.profileDir
	chargesHeld             bool // for the CPU note: no charge is made in the window
}

// sustainedPhase: each client is one patient booking its own doctor's slots in order.
func sustainedPhase(ctx context.Context, client *http.Client, st *stack.Stack, identityDB pg.Querier, operator string, o options, round sustainedRound) (*load.Result, error) {
	gateway := st.Gateway
	fmt.Printf("sustained: registering %d doctors with eight weeks of slots and %d patients …\n", o.clients, o.clients)
	slotLists := make([][]string, o.clients)
	for c := range o.clients {
		_, slots, err := doctorWithSlots(ctx, client, gateway, operator, round.doctorFrom+c)
		if err != nil {
			return nil, err
		}
		slotLists[c] = slots
	}
	_, tokens, err := patients(ctx, client, gateway, identityDB, round.patientFrom, o.clients)
	if err != nil {
		return nil, err
	}
	fmt.Printf("sustained: %d clients booking for %s (%s) …\n", o.clients, o.duration, round.name)
	measureFrom := time.Now().Add(o.warmup) // load.Timed starts now
	end := measureFrom.Add(o.duration)
	var wg sync.WaitGroup
	if o.profileDir != "" && round.profile {
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
	// CPU of the processes over the measured window: bookings and, alongside, the
	// ensure_payment jobs making their charges (PIX sandbox included).
	pids := st.PIDs()
	var cpuFrom, cpuTo map[string]float64
	sample := func() map[string]float64 {
		m := map[string]float64{}
		for name, pid := range pids {
			m[name] = cpuSeconds(pid)
		}
		return m
	}
	wg.Go(func() {
		time.Sleep(time.Until(measureFrom))
		cpuFrom = sample()
		time.Sleep(time.Until(end))
		cpuTo = sample()
	})
	r := load.Timed(ctx, round.name, o.clients, o.warmup, o.duration,
		func(c int) int { return len(slotLists[c]) },
		func(c, n int) error {
			_, err := book(ctx, client, gateway, tokens[c], slotLists[c][n], fmt.Sprintf("sustained-%d-%d-%d", round.patientFrom, c, n))
			return err
		})
	wg.Wait() // the profiles and the CPU samples
	if n := len(r.Latencies); n > 0 {
		var notes []string
		for _, name := range []string{"gateway", "serve"} {
			if _, ok := cpuTo[name]; ok {
				notes = append(notes, fmt.Sprintf("%s %.2f ms", name, 1000*(cpuTo[name]-cpuFrom[name])/float64(n)))
			}
		}
		what := "jobs' charges included"
		if round.chargesHeld {
			what = "no charge made in the window"
		}
		r.Note = "CPU per booking (" + what + "): " + strings.Join(notes, ", ")
	}
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
	// Connection c inserts on slots c, c+clients, c+2·clients, …
	return load.Timed(ctx, "INSERT INTO scheduling.appointments (ceiling)", o.clients, o.warmup, o.duration,
		func(c int) int { return (len(all) - c + o.clients - 1) / o.clients },
		func(c, i int) error {
			j := c + i*o.clients
			s := all[j]
			_, err := db.Exec(ctx, `INSERT INTO appointments (id, slot_id, start_at, end_at, doctor_id, patient_id, state,
					price_cents, reason, idempotency_key, hold_until, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, 'PENDING_PAYMENT', 25000, 'consulta de rotina', $7, $8, now(), now())`,
				uuid.NewString(), s.id, s.start, s.end, doctor, uuid.NewString(), fmt.Sprintf("ceiling-%d", j), time.Now().Add(40*time.Minute))
			return err
		}), nil
}

// qrResult is the time-to-QR phase: each booking's answer, then the wait for its PIX
// code on the payment's long-poll.
type qrResult struct {
	booking, qr *load.Result
}

// qrPhase: o.clients patients each book their own doctor's slots one after another,
// and after each booking's answer wait for its QR code with
// GET …/payment?wait=30s&knownStatus=PAYMENT_STATUS_CREATING (asking again while the
// payment is not recorded yet or still CREATING), for o.qrDuration.
func qrPhase(ctx context.Context, client *http.Client, gateway string, identityDB pg.Querier, operator string, o options) (*qrResult, error) {
	fmt.Printf("time to QR: registering %d doctors and %d patients …\n", o.clients, o.clients)
	slotLists := make([][]string, o.clients)
	for c := range o.clients {
		_, slots, err := doctorWithSlots(ctx, client, gateway, operator, 1+o.clients+c)
		if err != nil {
			return nil, err
		}
		slotLists[c] = slots
	}
	_, tokens, err := patients(ctx, client, gateway, identityDB, o.patients+o.clients, o.clients)
	if err != nil {
		return nil, err
	}
	fmt.Printf("time to QR: %d clients booking and waiting for the QR code for %s …\n", o.clients, o.qrDuration)
	start := time.Now()
	end := start.Add(o.qrDuration)
	books, qrs := make([]load.Result, o.clients), make([]load.Result, o.clients)
	var wg sync.WaitGroup
	for c := range o.clients {
		wg.Go(func() {
			for n, slot := range slotLists[c] {
				t0 := time.Now()
				if t0.After(end) || ctx.Err() != nil {
					return
				}
				var booked struct {
					Appointment struct {
						ID string `json:"id"`
					} `json:"appointment"`
					Payment struct {
						Status string `json:"status"`
					} `json:"payment"`
				}
				err := load.Call(ctx, client, "POST", gateway+"/v1/appointments", tokens[c], map[string]string{
					"slotId": slot, "idempotencyKey": fmt.Sprintf("time-to-qr-%d-%d", c, n), "reason": "consulta de rotina",
				}, &booked)
				answered := time.Now()
				books[c].Add(answered.Sub(t0), err)
				if err != nil {
					continue
				}
				if booked.Payment.Status != "PAYMENT_STATUS_CREATING" {
					books[c].Fail(fmt.Errorf("booking answered the payment %q, want CREATING", booked.Payment.Status))
				}
				err = waitQR(ctx, client, gateway, tokens[c], booked.Appointment.ID)
				qrs[c].Add(time.Since(answered), err)
			}
			books[c].Fail(fmt.Errorf("client %d ran out of slots", c))
		})
	}
	wg.Wait()
	out := &qrResult{booking: &load.Result{Name: "POST /v1/appointments (answer, payment CREATING)"},
		qr: &load.Result{Name: "booking's answer → PIX code (long-poll)"}}
	for i := range books {
		out.booking.Merge(&books[i])
		out.qr.Merge(&qrs[i])
	}
	elapsed := time.Since(start)
	out.booking.Done(elapsed)
	out.qr.Done(elapsed)
	out.qr.Note = "latency = time to QR"
	return out, nil
}

// waitQR long-polls the appointment's payment until it leaves CREATING with its code.
func waitQR(ctx context.Context, client *http.Client, gateway, token, apptID string) error {
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		var out struct {
			Payment struct {
				Status string `json:"status"`
				QrCode string `json:"qrCode"`
			} `json:"payment"`
		}
		err := load.Call(ctx, client, "GET", gateway+"/v1/appointments/"+apptID+"/payment?wait=30s&knownStatus=PAYMENT_STATUS_CREATING", token, nil, &out)
		var se *load.StatusError
		switch {
		case errors.As(err, &se) && se.Status == http.StatusNotFound: // not recorded yet: ask again
		case err != nil:
			return err
		case out.Payment.Status == "PAYMENT_STATUS_PENDING" && out.Payment.QrCode != "":
			return nil
		case out.Payment.Status != "PAYMENT_STATUS_CREATING":
			return fmt.Errorf("payment of %s is %s", apptID, out.Payment.Status)
		}
	}
	return fmt.Errorf("payment of %s: no QR code within 2 minutes", apptID)
}

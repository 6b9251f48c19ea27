// Command booking is the booking benchmark of the booking-and-payments issue, through
// the REST gateway of a multi-process deployment (every service, with the PIX sandbox):
//
//  1. Race: -patients patients (500) book -race-slots slots (50) of one popular doctor
//     at the same instant, ten per slot: exactly one appointment per slot must win, every
//     other attempt must get a clean SLOT_TAKEN (HTTP 400), and nothing may answer 5xx.
//
//  2. Sustained: -clients clients (32), each a patient booking distinct slots of its own
//     doctor one after another for -duration. The answer comes with the payment
//     CREATING; the ensure_payment jobs make the PIX charges meanwhile (their CPU is the
//     machine's too). Then the jobs' backlog is drained, and its rate printed with
//     serve's CPU per charge while it drains. Then the same again with scheduling's
//     River queue paused (QueuePause): the booking requests alone, no charge made in
//     the window (checked), the charges made once it resumes — the request's own cost
//     against the ceiling's, apart from the charges' work that shares the two cores.
//
//  3. Time to QR: -clients clients book and, after each answer, wait for the PIX code
//     with the payment's long-poll, for -qr-duration: the booking's latency and the time
//     from its answer to the code, apart.
//
//  4. Ceiling "the booking transaction alone": with the stack stopped, -clients pgx
//     connections run the statements a booking request runs (scheduling's
//     BookStatements: the key's read, the slot's read, the booking's transaction with
//     its three jobs) — REST booking's goal is ≥ 40 % of it, read with the charges held
//     (neither side holds a charge; the charge's cost shows in the time to QR and in
//     the phase with the charges beside). Then the raw INSERT into
//     scheduling.appointments (same constraints), the database's limit for the table.
//
//     go run ./bench/booking
//     go run ./bench/booking -duration 10s -clients 8 -qr-duration 10s -db-max-conns 4
//
// It recreates the database -database-name (healthcore_bench_booking) on the server of
// -database-url each run. All traffic stays on 127.0.0.1.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"healthcore/bench/load"
	"healthcore/bench/stack"
	"healthcore/platform/br"
	"healthcore/platform/pg"
)

type options struct {
	serverURL  string
	database   string
	dbMaxConns int
	qrDuration time.Duration
	patients   int
	raceSlots  int
	clients    int
	duration   time.Duration
	warmup     time.Duration
	logLevel   string
	profileDir string
	// compareTracing measures the sustained phase without tracing, then with it.
	compareTracing bool
	rounds         int // of -compare-tracing: off then on, this many times
}

func main() {
	def := load.DefaultServerURL()
	var o options
	flag.StringVar(&o.serverURL, "database-url", def, "PostgreSQL server (its database name is replaced by -database-name)")
	flag.StringVar(&o.database, "database-name", "healthcore_bench_booking", "the benchmark's database, recreated each run")
	flag.IntVar(&o.dbMaxConns, "db-max-conns", 0, "connections of each service's pool in the serve process (0: the default)")
	flag.DurationVar(&o.qrDuration, "qr-duration", 10*time.Second, "measured time of the time-to-QR phase")
	flag.IntVar(&o.patients, "patients", 500, "patients racing for the popular doctor's slots")
	flag.IntVar(&o.raceSlots, "race-slots", 50, "slots they race for")
	flag.IntVar(&o.clients, "clients", 32, "concurrent bookers of the sustained phase (and connections of the ceiling)")
	flag.DurationVar(&o.duration, "duration", 30*time.Second, "measured time of the sustained phase and of the ceiling")
	flag.DurationVar(&o.warmup, "warmup", 3*time.Second, "unmeasured load before each measurement")
	flag.StringVar(&o.profileDir, "profile-dir", "", "write CPU profiles of the services and the gateway during the sustained phase, and of serve while the charges' backlog drains, here")
	flag.StringVar(&o.logLevel, "log-level", "warn", "log level of the healthcore processes (their logs go to a temporary file)")
	flag.BoolVar(&o.compareTracing, "compare-tracing", false,
		"run only the sustained phase, twice in this run on a fresh database each: without tracing, then with tracing at the default sample ratio exporting over OTLP/HTTP to a sink in this process")
	flag.IntVar(&o.rounds, "compare-rounds", 1, "with -compare-tracing: how many times to measure off then on (alternating evens out a machine's changing load)")
	flag.Parse()
	o.rounds = max(o.rounds, 1)
	if o.patients < 1 || o.raceSlots < 1 || o.raceSlots > o.patients || o.clients < 1 || o.duration <= 0 || o.qrDuration <= 0 {
		fmt.Fprintln(os.Stderr, "booking: -patients ≥ -race-slots ≥ 1, -clients ≥ 1, -duration > 0 and -qr-duration > 0")
		os.Exit(2)
	}
	load.Main("booking", func(ctx context.Context) error { return run(ctx, o) })
}

func run(ctx context.Context, o options) error {
	dbURL, err := pg.WithDatabase(o.serverURL, o.database)
	if err != nil {
		return err
	}
	fmt.Printf("booking benchmark: %d patients race for %d slots; then %d clients book distinct slots for %s after %s of warm-up; GOMAXPROCS %d, %d CPUs\n",
		o.patients, o.raceSlots, o.clients, o.duration, o.warmup, runtime.GOMAXPROCS(0), runtime.NumCPU())
	fmt.Printf("database %s (recreated)\n\n", pg.RedactURL(dbURL))
	if o.compareTracing {
		return compareTracing(ctx, dbURL, o)
	}
	if err := load.RecreateDatabase(ctx, dbURL); err != nil {
		return err
	}
	// Each sustained client is one patient booking slot after slot without paying, and
	// every patient calls from 127.0.0.1: lift the cap on unpaid holds and the booking
	// rate limits, which would otherwise stop them after two bookings.
	st, err := stack.Start(ctx, dbURL, o.logLevel, o.serveFlags()...)
	if err != nil {
		return err
	}
	defer st.Stop()
	client := &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: o.patients, DisableCompression: true},
		Timeout:   60 * time.Second,
	}
	defer client.CloseIdleConnections()
	// Patients book with a confirmed e-mail: the verification links identity queues
	// are read from its schema.
	identityDB, err := pg.Open(ctx, dbURL, "identity", 2)
	if err != nil {
		return err
	}
	defer identityDB.Close()

	// Doctors are verified by an operator over REST, as in production.
	operator, err := load.Operator(ctx, client, st)
	if err != nil {
		return err
	}

	race, err := racePhase(ctx, client, st.Gateway, dbURL, identityDB, operator, o)
	if err != nil {
		return err
	}
	sustained, err := sustainedPhase(ctx, client, st, identityDB, operator, o, sustainedRound{
		name:       "POST /v1/appointments (distinct slots; charge made by the job)",
		doctorFrom: 1, patientFrom: o.patients, profile: true,
	})
	if err != nil {
		return err
	}
	fmt.Println("sustained: waiting for the ensure_payment jobs to make every charge …")
	// serve's CPU while the backlog drains, with no booking coming in: what the charges
	// left at the phase's end cost (the CPU per booking above holds only the part of the
	// charges made within the window).
	servePID := st.PIDs()["serve"]
	cpuAtEnd, sustainedEnd := cpuSeconds(servePID), time.Now()
	profiled := drainProfile(ctx, st, dbURL, o)
	charges, backlog, drained, span, err := drainCharges(ctx, dbURL)
	if err != nil {
		return err
	}
	drainCPU := cpuSeconds(servePID) - cpuAtEnd
	<-profiled
	held, err := heldPhase(ctx, client, st, dbURL, identityDB, operator, o)
	if err != nil {
		return err
	}
	qr, err := qrPhase(ctx, client, st.Gateway, identityDB, operator, o)
	if err != nil {
		return err
	}
	if err := st.Stop(); err != nil {
		return err
	}
	bookingTx, err := bookingTxCeiling(ctx, dbURL, o)
	if err != nil {
		return err
	}
	ceiling, err := ceilingLoop(ctx, dbURL, o)
	if err != nil {
		return err
	}

	fmt.Printf("\n1. Race: POST /v1/appointments, %d patients at once on %d slots\n\n", o.patients, o.raceSlots)
	load.PrintTable(race.all)
	fmt.Printf("\n   %d booked, %d SLOT_TAKEN, %d other 4xx, %d 5xx or transport errors; %d appointments on the slots in the database; wall time %s\n",
		race.won, race.taken, race.other4xx, race.server, race.stored, load.Ms(race.all.Elapsed))
	fmt.Printf("\n2. Sustained booking vs 4. the ceilings (%d clients / connections)\n\n", o.clients)
	load.PrintTable(sustained, held.booking, bookingTx, ceiling)
	ratio := sustained.Rate() / bookingTx.Rate()
	fmt.Printf("\n   %s\n", sustained.Note)
	fmt.Printf("   REST booking with its charges made beside / the booking transaction alone = %.1f %% (the two cores booking and charging); / raw INSERT = %.1f %%\n",
		100*ratio, 100*sustained.Rate()/ceiling.Rate())
	heldRatio := held.booking.Rate() / bookingTx.Rate()
	fmt.Printf("   with scheduling's jobs paused (the bookings alone; %d charges made in the window, %d made after it in %s): %s\n",
		held.chargesInWindow, held.backlog, held.drained.Round(time.Millisecond), held.booking.Note)
	fmt.Printf("   REST booking with the charges held / the booking transaction alone = %.1f %% (goal ≥ 40 %%: %s; the request, its charge off it, against its statements)\n",
		100*heldRatio, verdict(heldRatio >= 0.4))
	fmt.Printf("   the ensure_payment jobs made %d charges (race and sustained), the last %s after the sustained phase ended: %.0f charges/s\n",
		charges, drained.Sub(sustainedEnd).Round(time.Millisecond), float64(charges)/span.Seconds())
	if backlog > 0 {
		fmt.Printf("   %d charges were left at the phase's end; serve's CPU while they were made (no bookings then): %.2f ms a charge\n",
			backlog, 1000*drainCPU/float64(backlog))
	}
	fmt.Printf("\n3. Time to QR code (%d clients, %s; each books, then waits for its code on the long-poll)\n\n", o.clients, o.qrDuration)
	load.PrintTable(qr.booking, qr.qr)

	var problems []string
	if race.won != o.raceSlots || race.stored != o.raceSlots {
		problems = append(problems, fmt.Sprintf("race: %d booked and %d stored, want %d", race.won, race.stored, o.raceSlots))
	}
	if race.taken != o.patients-o.raceSlots || race.server > 0 || race.other4xx > 0 {
		problems = append(problems, fmt.Sprintf("race: %d SLOT_TAKEN (want %d), %d other 4xx, %d 5xx (first: %s)",
			race.taken, o.patients-o.raceSlots, race.other4xx, race.server, race.all.FirstError))
	}
	if sustained.Errors > 0 {
		problems = append(problems, "sustained: "+sustained.FirstError)
	}
	if held.booking.Errors > 0 {
		problems = append(problems, "sustained with the charges held: "+held.booking.FirstError)
	}
	if held.chargesInWindow > 0 {
		problems = append(problems, fmt.Sprintf("sustained with the charges held: %d charges were made while scheduling's jobs were paused", held.chargesInWindow))
	}
	if qr.booking.Errors > 0 || qr.qr.Errors > 0 {
		problems = append(problems, "time to QR: "+qr.booking.FirstError+" "+qr.qr.FirstError)
	}
	if bookingTx.Errors > 0 {
		problems = append(problems, "booking transaction: "+bookingTx.FirstError)
	}
	if ceiling.Errors > 0 {
		problems = append(problems, "ceiling: "+ceiling.FirstError)
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// serveFlags lift what would stop the benchmark's patients: each sustained client is
// one patient booking slot after slot without paying, and every patient calls from
// 127.0.0.1 (the cap on unpaid holds and the booking rate limits would stop them after
// two bookings); and set the pools' size.
func (o options) serveFlags() []string {
	f := []string{"-scheduling.max-pending-bookings=1000000", "-scheduling.bookings-per-patient=0", "-scheduling.bookings-per-address=0"}
	if o.dbMaxConns > 0 {
		f = append(f, fmt.Sprintf("-db-max-conns=%d", o.dbMaxConns))
	}
	return f
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "missed"
}

// cpf returns the i-th valid test CPF (nine digits from i, then the check digits).
func cpf(i int) string { return br.CompleteCPF(fmt.Sprintf("%09d", 100000000+i)) }

// patients registers n patients from index from, a few at a time (argon2id costs ~30 ms
// a hash), returning their ids and tokens.
func patients(ctx context.Context, client *http.Client, gateway string, identityDB pg.Querier, from, n int) ([]string, []string, error) {
	ids, tokens := make([]string, n), make([]string, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	sem := make(chan struct{}, 4)
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			id, tok, err := load.RegisterPatient(ctx, client, gateway, identityDB, fmt.Sprintf("bench-patient-%d@example.com", from+i), cpf(from+i))
			mu.Lock()
			defer mu.Unlock()
			if err != nil && first == nil {
				first = err
			}
			ids[i], tokens[i] = id, tok
		})
	}
	wg.Wait()
	return ids, tokens, first
}

// doctorWithSlots registers a doctor verified by operator (load.RegisterDoctor) with
// Monday-to-Friday agendas (08–12, 14–18, 50-minute slots) and returns their token
// and free slot ids, earliest first, starting after the booking lead time.
func doctorWithSlots(ctx context.Context, client *http.Client, gateway, operator string, n int) (string, []string, error) {
	id, token, err := load.RegisterDoctor(ctx, client, gateway, operator, fmt.Sprintf("%d", 700000+n), "SP", 25000)
	if err != nil {
		return "", nil, err
	}
	var weekly []map[string]string
	// Every day from 06:00 to 22:00: 16 slots a day, 896 in the eight weeks read below,
	// so that no client runs out of slots in the sustained phase (a client books about
	// ten a second when REST booking runs near 300/s).
	for _, day := range []string{"WEEKDAY_MONDAY", "WEEKDAY_TUESDAY", "WEEKDAY_WEDNESDAY", "WEEKDAY_THURSDAY", "WEEKDAY_FRIDAY",
		"WEEKDAY_SATURDAY", "WEEKDAY_SUNDAY"} {
		weekly = append(weekly, map[string]string{"weekday": day, "startTime": "06:00", "endTime": "22:00"})
	}
	if err := load.Call(ctx, client, "PUT", gateway+"/v1/doctors/me/availability", token,
		map[string]any{"weekly": weekly, "slotMinutes": 50, "gapMinutes": 10}, nil); err != nil {
		return "", nil, fmt.Errorf("availability: %w", err)
	}
	var ids []string
	from := time.Now().UTC().Add(2 * time.Hour)
	for week := range 8 { // ListAvailableSlots answers at most 31 days at a time
		start := from.AddDate(0, 0, 7*week)
		var out struct {
			Slots []struct {
				ID string `json:"id"`
			} `json:"slots"`
		}
		u := fmt.Sprintf("%s/v1/doctors/%s/slots?startTime=%s&endTime=%s", gateway, id,
			start.Format(time.RFC3339), start.AddDate(0, 0, 7).Format(time.RFC3339))
		if err := load.Call(ctx, client, "GET", u, "", nil, &out); err != nil {
			return "", nil, err
		}
		for _, s := range out.Slots {
			ids = append(ids, s.ID)
		}
	}
	return token, ids, nil
}

// book posts one booking and classifies the answer.
func book(ctx context.Context, client *http.Client, gateway, token, slotID, key string) (outcome string, err error) {
	err = load.Call(ctx, client, "POST", gateway+"/v1/appointments", token, map[string]string{
		"slotId": slotID, "idempotencyKey": key, "reason": "consulta de rotina",
	}, nil)
	var se *load.StatusError
	switch {
	case err == nil:
		return "booked", nil
	case errors.As(err, &se) && se.Status >= 400 && se.Status < 500 && strings.Contains(se.Body, `"SLOT_TAKEN"`):
		return "taken", nil
	case errors.As(err, &se) && se.Status >= 400 && se.Status < 500:
		return "4xx", err
	}
	return "5xx", err
}

// compareTracing runs the sustained phase on a fresh database and stack without
// tracing, then again with tracing at the default sample ratio into a sink in this
// process, and prints both.
func compareTracing(ctx context.Context, dbURL string, o options) error {
	sink := stack.StartTraceSink()
	defer sink.Close()
	client := &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: o.patients, DisableCompression: true},
		Timeout:   60 * time.Second,
	}
	defer client.CloseIdleConnections()
	var rs []*load.Result
	for range o.rounds {
		for _, v := range []struct {
			name  string
			flags []string
		}{{"booking through REST, tracing off", nil}, {"booking through REST, tracing on (default ratio)", sink.Flags()}} {
			v.name += fmt.Sprintf(" #%d", len(rs)/2+1)
			if err := load.RecreateDatabase(ctx, dbURL); err != nil {
				return err
			}
			st, err := stack.StartWith(ctx, dbURL, o.logLevel, v.flags, o.serveFlags()...)
			if err != nil {
				return err
			}
			identityDB, err := pg.Open(ctx, dbURL, "identity", 2)
			if err != nil {
				_ = st.Stop()
				return err
			}
			operator, err := load.Operator(ctx, client, st)
			var r *load.Result
			if err == nil {
				r, err = sustainedPhase(ctx, client, st, identityDB, operator, o, sustainedRound{
					name: v.name, doctorFrom: 1, patientFrom: o.patients, profile: true,
				})
			}
			identityDB.Close()
			if stopErr := st.Stop(); err == nil {
				err = stopErr
			}
			if err != nil {
				return err
			}
			r.Name = v.name
			rs = append(rs, r)
		}
	}
	fmt.Println()
	load.PrintTable(rs...)
	var off, on float64
	var failed []string
	for i, r := range rs {
		if i%2 == 0 {
			off += r.Rate()
		} else {
			on += r.Rate()
		}
		if r.Errors > 0 {
			failed = append(failed, r.FirstError)
		}
	}
	fmt.Printf("\nthroughput with tracing / without (sums over %d rounds): %.1f%%; spans exported: %d\n", o.rounds, 100*on/off, sink.Spans())
	if len(failed) > 0 {
		return errors.New("sustained: " + strings.Join(failed, "; "))
	}
	return nil
}

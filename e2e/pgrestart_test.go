package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"healthcore/gateway"
	"healthcore/internal/catalog"
	"healthcore/platform/pg"
)

// The PostgreSQL restart: how long the database stays down (at least until readiness
// has gone false everywhere), and how it stops. A few seconds in make test;
// go test -count=1 -run TestHA_PostgresRestart ./e2e/ -ha.pg-outage=1m -v by hand.
var (
	haPGOutage = flag.Duration("ha.pg-outage", 3*time.Second, "how long TestHA_PostgresRestart keeps PostgreSQL down")
	haPGStop   = flag.String("ha.pg-stop", "immediate", "pg_ctl stop mode of TestHA_PostgresRestart: immediate (a crash) or fast")
)

// pgCluster is a PostgreSQL cluster of the test's own, made with the machine's
// binaries on a port of its own, so that the test may stop and start it without
// disturbing the shared server other tests use.
type pgCluster struct {
	t    *testing.T
	dir  string // its data folder
	port int
	url  string // its healthcore database
}

// startCluster initialises and starts a private cluster, stopped and removed at the
// end of the test (after the processes using it, which were started later).
func startCluster(t *testing.T) *pgCluster {
	t.Helper()
	// Not t.TempDir: as root, the cluster runs as the postgres user, which must be able
	// to reach its folder, and the testing package's folders are private.
	base, err := os.MkdirTemp("", "healthcore-pg-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(base, 0o711); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &pgCluster{t: t, dir: filepath.Join(base, "postgres"), port: l.Addr().(*net.TCPAddr).Port}
	l.Close()
	t.Cleanup(func() {
		if err := pg.StopCluster(context.Background(), c.dir, "fast"); err != nil {
			t.Errorf("stop the private cluster: %v", err)
		}
		os.RemoveAll(base)
	})
	c.start()
	return c
}

func (c *pgCluster) start() {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	u, err := pg.StartCluster(ctx, c.dir, c.port, slog.New(slog.DiscardHandler))
	if err != nil {
		c.t.Fatal(err)
	}
	c.url = u
}

func (c *pgCluster) stop(mode string) {
	c.t.Helper()
	if err := pg.StopCluster(context.Background(), c.dir, mode); err != nil {
		c.t.Fatal(err)
	}
}

// outcome is one call of the load: when it started (before the stop, while the
// database was down, after its start) and how it ended.
type outcome struct {
	phase  int // 0 before the stop, 1 down, 2 after the start
	code   int // 0: no answer
	reason string
	took   time.Duration
	err    error
}

// TestHA_PostgresRestart runs the stack (one process per service and the gateway) on
// a PostgreSQL cluster of its own, under a steady load of bookings and reads by several
// patients, and stops the cluster (-ha.pg-stop, immediate by default: a crash) for
// -ha.pg-outage, then starts it again. It checks that:
//   - while the database is down, the gateway's /readyz answers 503 and its ops
//     readiness shows every service that has a database NOT_SERVING (those without one
//     stay SERVING);
//   - every call made meanwhile fails at once with 503 and a declared reason (none
//     unanswered, none 500);
//   - after the start, with no process restarted, readiness is back, bookings succeed
//     again and their charges are created (River's jobs run again);
//   - no booking the clients were told succeeded is lost: each is in the database and
//     readable through the gateway, and the database holds at least as many
//     appointments as before the stop.
//
// It logs the calls per phase and the recovery time: from the start of the database to
// readiness, and to the first successful booking.
func TestHA_PostgresRestart(t *testing.T) {
	cluster := startCluster(t)
	s := startStackOn(t, cluster.url,
		"-db-max-conns=3",
		"-identity.register-per-address=1000000", "-scheduling.bookings-per-address=0", "-scheduling.bookings-per-patient=0",
		"-scheduling.max-pending-bookings=100000",
	)
	db := openPool(t, cluster.url)

	doctorID, _ := s.openDoctor("Dra. Ana Souza", "556677", "ana.pg@clinica.com.br", 20000, 15, 0)
	from := time.Now().Add(2 * time.Hour)
	var slots slotsJSON
	if code, _ := s.rest("GET", "/v1/doctors/"+doctorID+"/slots"+rangeQuery(from, from.Add(30*24*time.Hour)), "", nil, &slots); code != http.StatusOK {
		t.Fatalf("slots: %d", code)
	}
	t.Logf("%d slots to book", len(slots.Slots))
	const workers = 4
	tokens := make([]string, workers)
	for w := range workers {
		tokens[w] = s.loginPatient(fmt.Sprintf("paciente%d.pg@example.com", w), fmt.Sprintf("%09d", 419000000+w*7919))
	}

	var phase atomic.Int32
	var nextSlot atomic.Int64
	var mu sync.Mutex
	var outcomes []outcome
	type booked struct{ id, token string }
	var acked []booked // appointments whose booking was answered 200, with their patient's token
	var firstBookAfter time.Time
	stop := make(chan struct{})
	var load sync.WaitGroup
	c := &haClient{base: s.gateway, http: &http.Client{Timeout: 30 * time.Second}}
	record := func(o outcome, start time.Time, err error) outcome {
		o.took = time.Since(start)
		var se *statusError
		switch {
		case err == nil:
			o.code = http.StatusOK
		case errors.As(err, &se):
			o.code, o.err = se.code, err
			var e errorJSON
			if json.Unmarshal([]byte(se.body), &e) == nil {
				o.reason = reason(e)
			}
		default:
			o.err = err
		}
		return o
	}
	for w := range workers {
		load.Go(func() {
			var last string
			slot := -1 // the slot this worker books next: kept until booked, its key with it
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				o := outcome{phase: int(phase.Load())}
				start := time.Now()
				if slot < 0 {
					slot = int(nextSlot.Add(1) - 1)
				}
				if i%2 == 0 && slot < len(slots.Slots) {
					var b bookingJSON
					err := c.call("POST", "/v1/appointments", tokens[w], map[string]string{
						"slotId": slots.Slots[slot].ID, "idempotencyKey": fmt.Sprintf("pg-restart-booking-%d", slot), "reason": "palpitações há uma semana",
					}, &b)
					o = record(o, start, err)
					if err == nil {
						slot = -1
						last = b.Appointment.ID
						mu.Lock()
						acked = append(acked, booked{b.Appointment.ID, tokens[w]})
						if o.phase == 2 && firstBookAfter.IsZero() {
							firstBookAfter = time.Now()
						}
						mu.Unlock()
					}
				} else if last != "" {
					o = record(o, start, c.call("GET", "/v1/appointments/"+last, tokens[w], nil, nil))
				} else {
					o = record(o, start, c.call("GET", "/v1/me", tokens[w], nil, nil))
				}
				mu.Lock()
				outcomes = append(outcomes, o)
				mu.Unlock()
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
	t.Cleanup(func() { // the load ends before the processes do, even on failure
		select {
		case <-stop:
		default:
			close(stop)
		}
		load.Wait()
	})

	time.Sleep(3 * time.Second)
	var before int
	if err := db.QueryRow(context.Background(), `SELECT count(*) FROM scheduling.appointments`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	ackedBefore := len(acked)
	mu.Unlock()

	// The database goes down. Readiness goes false: the gateway's, and in detail every
	// service with a database.
	phase.Store(1)
	stopAt := time.Now()
	cluster.stop(*haPGStop)
	withDB := map[string]bool{}
	for _, svc := range catalog.Services() {
		withDB[svc.FQName] = svc.Schema != nil
	}
	var downSeen time.Duration
	var seen string // the last readiness seen
	waitFor(t, "readiness to go false while the database is down", time.Minute, &seen, func() bool {
		code, body := httpGet(s.gateway + "/readyz")
		seen = fmt.Sprintf("/readyz %d %s", code, body)
		if code != http.StatusServiceUnavailable {
			return false
		}
		code, body = httpGet("http://" + s.ops["gateway"] + gateway.ReadyzOpsPath)
		seen = fmt.Sprintf("%s %d %s", gateway.ReadyzOpsPath, code, body)
		if code != http.StatusServiceUnavailable {
			return false
		}
		for fq, needsDB := range withDB {
			st := upstreamState(body, fq)
			if st == "" { // not the gateway's upstream
				continue
			}
			if needsDB && st != "NOT_SERVING" || !needsDB && st != "SERVING" {
				return false
			}
		}
		downSeen = time.Since(stopAt)
		return true
	})
	if left := *haPGOutage - time.Since(stopAt); left > 0 {
		time.Sleep(left)
	}

	// It starts again; nothing else is restarted.
	restartAt := time.Now()
	cluster.start()
	started := time.Since(restartAt)
	phase.Store(2)
	waitFor(t, "readiness to come back", time.Minute, &seen, func() bool {
		code, _ := httpGet(s.gateway + "/readyz")
		_, body := httpGet("http://" + s.ops["gateway"] + gateway.ReadyzOpsPath)
		seen = body
		return code == http.StatusOK
	})
	readyAfter := time.Since(restartAt)
	waitFor(t, "a booking after the restart", time.Minute, nil, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return !firstBookAfter.IsZero()
	})
	mu.Lock()
	bookAfter := firstBookAfter.Sub(restartAt)
	mu.Unlock()
	time.Sleep(2 * time.Second)
	close(stop)
	load.Wait()

	for name, p := range s.procs {
		select {
		case err := <-p.done:
			p.done <- err
			t.Errorf("%s exited (%v) while the database restarted", name, err)
		default:
		}
	}

	// Every call failed cleanly: 503 with a reason, never unanswered nor 500.
	var calls, failed [3]int
	reasons := map[string]int{}
	var slowest time.Duration
	for _, o := range outcomes {
		calls[o.phase]++
		if o.phase == 1 {
			slowest = max(slowest, o.took)
		}
		if o.code == http.StatusOK {
			continue
		}
		failed[o.phase]++
		reasons[fmt.Sprintf("%d %s", o.code, o.reason)]++
		if o.code != http.StatusServiceUnavailable || o.reason == "" {
			t.Errorf("phase %d: a call failed with %d %q, want 503 with a reason: %v", o.phase, o.code, o.reason, o.err)
		}
	}
	if failed[1] == 0 {
		t.Error("no call failed while the database was down: the outage was not exercised")
	}

	// No acknowledged booking is lost.
	mu.Lock()
	books := slices.Clone(acked)
	mu.Unlock()
	var ids []string
	for _, b := range books {
		ids = append(ids, b.id)
	}
	var after int
	if err := db.QueryRow(context.Background(), `SELECT count(*) FROM scheduling.appointments`).Scan(&after); err != nil {
		t.Fatal(err)
	}
	var missing []string
	if err := db.QueryRow(context.Background(),
		`SELECT coalesce(array_agg(id), '{}') FROM unnest($1::text[]) id WHERE id::uuid NOT IN (SELECT id FROM scheduling.appointments)`,
		ids).Scan(&missing); err != nil {
		t.Fatal(err)
	}
	if len(missing) > 0 {
		t.Errorf("%d of %d acknowledged bookings are not in the database: %v", len(missing), len(ids), missing)
	}
	if after < before || after < len(ids) {
		t.Errorf("appointments: %d before the stop, %d after, %d acknowledged", before, after, len(ids))
	}
	for _, b := range books {
		var got struct{ Appointment appointmentJSON }
		if err := c.call("GET", "/v1/appointments/"+b.id, b.token, nil, &got); err != nil || got.Appointment.ID != b.id {
			t.Errorf("appointment %s after the restart: %+v, %v", b.id, got.Appointment, err)
		}
	}
	// The last booking's charge is made by payments' job: River runs again.
	last := books[len(books)-1]
	var p struct{ Payment paymentJSON }
	if err := c.until("the charge of a booking made after the restart", func() (bool, error) {
		err := c.call("GET", "/v1/appointments/"+last.id+"/payment", last.token, nil, &p)
		return p.Payment.ProviderPaymentID != "", err
	}); err != nil {
		t.Error(err)
	}

	t.Logf("PostgreSQL stopped (%s) for %s under load: readiness false %s after the stop; after the start (pg_ctl took %s) "+
		"readiness back in %s, first booking in %s; calls before / down / after: %d / %d / %d, failed %d / %d / %d (%s); "+
		"slowest call while down %s; bookings acknowledged %d (%d before the stop), all present; appointments %d before the stop, %d after",
		*haPGStop, restartAt.Sub(stopAt).Round(time.Millisecond),
		downSeen.Round(time.Millisecond), started.Round(time.Millisecond), readyAfter.Round(time.Millisecond), bookAfter.Round(time.Millisecond),
		calls[0], calls[1], calls[2], failed[0], failed[1], failed[2], describeCounts(reasons),
		slowest.Round(time.Millisecond), len(ids), ackedBefore, before, after)
}

// openPool is a one-connection pool on url, closed at the end of the test.
func openPool(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 1
	db, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

// waitFor polls f until it is true, failing the test after limit with what f last
// saw (*seen, when not nil).
func waitFor(t *testing.T, what string, limit time.Duration, seen *string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !f() {
		if time.Now().After(deadline) {
			last := ""
			if seen != nil {
				last = "; last seen: " + *seen
			}
			t.Fatalf("%s: not within %s%s", what, limit, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// httpGet returns the status and body of a GET (0 when there is no answer).
func httpGet(url string) (int, string) {
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(url)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// upstreamState is the state the gateway's ops readiness ("<service> <addr>: <state>"
// a line) shows for the service fq.
func upstreamState(body, fq string) string {
	for line := range strings.SplitSeq(body, "\n") {
		if rest, ok := strings.CutPrefix(line, fq+" "); ok {
			if _, state, ok := strings.Cut(rest, ": "); ok {
				return state
			}
		}
	}
	return ""
}

// describeCounts is "k: n" for every key, sorted.
func describeCounts(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s: %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"healthcore/internal/catalog"
	"healthcore/platform/mtls"
	"healthcore/platform/pgtest"
)

// haAppointments is how many appointments TestHA_ReplicasSurviveKill9MidSaga drives at
// once: a few in make test, more by hand (go test -run TestHA ./e2e/ -ha.appointments=200).
var haAppointments = flag.Int("ha.appointments", 8, "appointments the HA test books, pays and answers at once")

// The replicas the HA test runs of every service and of the gateway.
var replicas = []string{"a", "b"}

// killed are the services of which the HA test kills one replica with SIGKILL mid-saga.
var killed = []string{"scheduling", "payments", "telehealth"}

// TestHA_ReplicasSurviveKill9MidSaga runs two processes of every service and two
// gateways against one database, drives the booking saga for many appointments at
// once through both gateways, and kills one replica of scheduling, payments and
// telehealth with SIGKILL in the middle. The replicas left finish every saga: each
// appointment reaches the state its patient and doctor drove it to, with exactly one
// charge at the provider and no refund; River's jobs the dead replicas held are
// rescued (none lost: none discarded, none left behind) and none is done twice (one
// charge, one room, one history entry per transition).
//
// Each service is reached, as a Kubernetes Service's cluster address would be, through
// a TCP balancer in front of its replicas (balancer): each new connection goes to the
// next replica that accepts it. The killed replicas are not started again: the
// survivors alone finish the work.
func TestHA_ReplicasSurviveKill9MidSaga(t *testing.T) {
	n := *haAppointments
	h := startHA(t)

	doctorID, doctor := h.views[0].openDoctor("Dra. Ana Souza", "556677", "ana.ha@clinica.com.br", 20000, 15, 0)
	from := time.Now().Add(2 * time.Hour)
	var slots slotsJSON
	h.views[0].rest("GET", "/v1/doctors/"+doctorID+"/slots"+rangeQuery(from, from.Add(time.Duration(n/48+2)*24*time.Hour)), "", nil, &slots)
	if len(slots.Slots) < n {
		t.Fatalf("only %d free slots for %d appointments", len(slots.Slots), n)
	}

	// The patients register and log in, spread over both gateways.
	type appt struct {
		gw      *haClient
		token   string
		slotID  string
		id      string
		confirm bool // the doctor accepts it (else it stays AWAITING_DOCTOR)
	}
	appts := make([]*appt, n)
	if err := h.parallel(n, func(i int) error {
		a := &appt{gw: h.clients[i%len(h.clients)], slotID: slots.Slots[i].ID, confirm: i%2 == 0}
		appts[i] = a
		email := fmt.Sprintf("paciente%d.ha@example.com", i)
		if err := a.gw.call("POST", "/v1/accounts/patients", "", map[string]string{
			"name": "Paciente HA", "email": email, "cpf": cpfFrom(fmt.Sprintf("%09d", 300000000+i*7919)),
			"password": "correct horse battery", "phone": "+5511987654321", "birthDate": "1985-04-12",
		}, nil); err != nil {
			return err
		}
		if err := h.verifyEmail(a.gw, email); err != nil {
			return err
		}
		var login struct{ Tokens tokenPair }
		if err := a.gw.call("POST", "/v1/auth/login", "", map[string]string{"email": email, "password": "correct horse battery"}, &login); err != nil {
			return err
		}
		a.token = login.Tokens.AccessToken
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// Every appointment runs its saga at once: book, pay through the sandbox, wait for
	// payments to tell scheduling, and for half of them the doctor accepts (which
	// prepares the room in telehealth). When half have been paid, one replica of each
	// of scheduling, payments and telehealth dies with SIGKILL.
	var paid atomic.Int64
	killAt := int64(n / 2)
	start := time.Now()
	sagaErr := make(chan error, 1)
	go func() {
		sagaErr <- h.parallel(n, func(i int) error {
			a := appts[i]
			var b bookingJSON
			if err := a.gw.retry("POST", "/v1/appointments", a.token, map[string]string{
				"slotId": a.slotID, "idempotencyKey": fmt.Sprintf("ha-booking-%d", i), "reason": "palpitações há uma semana",
			}, &b); err != nil {
				return fmt.Errorf("book: %w", err)
			}
			a.id = b.Appointment.ID
			var p struct{ Payment paymentJSON }
			if err := a.gw.until("charge created", func() (bool, error) {
				err := a.gw.retry("GET", "/v1/appointments/"+a.id+"/payment", a.token, nil, &p)
				return p.Payment.ProviderPaymentID != "", err
			}); err != nil {
				return err
			}
			if err := a.gw.approve(p.Payment.ProviderPaymentID); err != nil {
				return err
			}
			paid.Add(1)
			if err := a.gw.waitState(a.token, a.id, "APPOINTMENT_STATE_AWAITING_DOCTOR"); err != nil {
				return err
			}
			if !a.confirm {
				return nil
			}
			// A retry of an accept whose answer was lost finds it CONFIRMED already.
			var e errorJSON
			if err := a.gw.retry("POST", "/v1/appointments/"+a.id+":accept", doctor, map[string]string{}, &e); err != nil && !isStatus(err, http.StatusBadRequest) {
				return fmt.Errorf("accept: %w", err)
			}
			return a.gw.waitState(doctor, a.id, "APPOINTMENT_STATE_CONFIRMED")
		})
	}()
	for paid.Load() < killAt {
		select {
		case err := <-sagaErr:
			t.Fatalf("the sagas ended before the kills: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	for _, svc := range killed {
		h.stack.crash(svc + "/a")
	}
	killedAt := time.Now()
	if err := <-sagaErr; err != nil {
		t.Fatal(err)
	}
	sagas, recovered := time.Since(start), time.Since(killedAt)

	// Each appointment is in the state it was driven to, as every gateway tells.
	confirmed := 0
	for i, a := range appts {
		want := "APPOINTMENT_STATE_AWAITING_DOCTOR"
		if a.confirm {
			want = "APPOINTMENT_STATE_CONFIRMED"
			confirmed++
		}
		for _, c := range h.clients {
			var got struct{ Appointment appointmentJSON }
			if err := c.retry("GET", "/v1/appointments/"+a.id, a.token, nil, &got); err != nil || got.Appointment.State != want {
				t.Errorf("appointment %d via %s: %s (%v), want %s", i, c.base, got.Appointment.State, err, want)
			}
		}
	}

	// No job lost: every job of the saga the dead replicas held was rescued and ran
	// to completion (periodic jobs aside, which wait for their next run).
	db := h.db(t)
	ctx := context.Background()
	var jobsLeft, rescued int
	deadline := time.Now().Add(3 * time.Minute)
	for {
		jobsLeft, rescued = 0, 0
		for _, schema := range []string{"scheduling", "payments", "telehealth"} {
			var left, moved int
			err := db.QueryRow(ctx, fmt.Sprintf(`SELECT
				count(*) FILTER (WHERE state NOT IN ('completed', 'scheduled')),
				count(*) FILTER (WHERE (SELECT count(DISTINCT c) FROM unnest(attempted_by) c) > 1)
				FROM %s.river_job WHERE NOT (metadata ? 'periodic')`, schema)).Scan(&left, &moved)
			if err != nil {
				t.Fatal(err)
			}
			jobsLeft += left
			rescued += moved
		}
		if jobsLeft == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	jobsDone := time.Since(killedAt)
	if jobsLeft != 0 {
		t.Errorf("%d jobs of the saga not completed 3 minutes after the sagas ended", jobsLeft)
	}
	for _, schema := range []string{"scheduling", "payments", "telehealth"} {
		var lost int
		if err := db.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM %s.river_job WHERE state IN ('discarded', 'cancelled')`, schema)).Scan(&lost); err != nil {
			t.Fatal(err)
		}
		if lost != 0 {
			t.Errorf("%s: %d jobs discarded or cancelled", schema, lost)
		}
	}

	// None done twice: one charge per appointment in payments and at the provider, no
	// refund anywhere, one room per confirmed appointment, each transition once.
	counts := map[string]int{}
	for what, q := range map[string]string{
		"payments":               `SELECT count(*) FROM payments.payments WHERE status = 'PAID'`,
		"payment rows":           `SELECT count(*) FROM payments.payments`,
		"charges at the sandbox": `SELECT count(DISTINCT external_reference) FROM pixsandbox.payments WHERE status = 'approved'`,
		"sandbox charges":        `SELECT count(*) FROM pixsandbox.payments`,
		"refunds":                `SELECT (SELECT count(*) FROM payments.refunds) + (SELECT count(*) FROM pixsandbox.refunds)`,
		"rooms":                  `SELECT count(*) FROM telehealth.rooms`,
		"repeated transitions": `SELECT count(*) FROM (SELECT appointment_id, kind FROM scheduling.appointment_history
			GROUP BY appointment_id, kind HAVING count(*) > 1) d`,
	} {
		var c int
		if err := db.QueryRow(ctx, q).Scan(&c); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		counts[what] = c
	}
	want := map[string]int{
		"payments": n, "payment rows": n, "charges at the sandbox": n, "sandbox charges": n,
		"refunds": 0, "rooms": confirmed, "repeated transitions": 0,
	}
	for what, w := range want {
		if counts[what] != w {
			t.Errorf("%s: %d, want %d", what, counts[what], w)
		}
	}

	var retries int64
	for _, c := range h.clients {
		retries += c.retries.Load()
	}
	t.Logf("HA: %d appointments (%d confirmed) over %d gateways; replica a of %s killed with SIGKILL once %d were paid; "+
		"every saga finished %s after the start, %s after the kills, and every job %s after the kills; %d calls failed at the clients (no answer or 5xx) and were retried; "+
		"%d jobs ran on more than one replica",
		n, confirmed, len(h.clients), strings.Join(killed, ", "), killAt, sagas.Round(time.Millisecond),
		recovered.Round(time.Millisecond), jobsDone.Round(time.Millisecond), retries, rescued)
}

// haStack is two replicas of every service and of the gateway, each service behind a
// balancer.
type haStack struct {
	stack   *stack      // the processes, by "<service>/<replica>" and "gateway/<replica>"
	views   []*stack    // the stack as each gateway shows it (for the e2e helpers)
	clients []*haClient // one per gateway
	dbURL   string
	lb      map[string]*balancer // each service's balancer, and the gateways'
	addrs   map[string]string    // each process's own address, by "<service>/<replica>"
	mailOps []string             // the ops listeners of the notifications replicas (each its own mail sink)
}

// verifyEmail confirms the address as its owner does, through gateway c: the link from
// the e-mail in whichever replica's mail sink sent it.
func (h *haStack) verifyEmail(c *haClient, email string) error {
	token, err := mailToken(h.mailOps, email, verifyPage)
	if err != nil {
		return err
	}
	return c.call("POST", "/v1/accounts/email:verify", "", map[string]string{"token": token}, nil)
}

// startHA starts the stack, with extra flags for every process.
func startHA(t *testing.T, extra ...string) *haStack {
	t.Helper()
	names := catalog.Names()
	dbURL := pgtest.URL(t, catalog.Schemas(names)...)
	certs, dataDir := t.TempDir(), t.TempDir()
	if err := mtls.WriteDevCerts(certs, names); err != nil {
		t.Fatal(err)
	}
	// One balancer per service and one for the gateways (where the sandbox sends its
	// webhooks, as to the load balancer), listening before any replica's ports are
	// chosen so none can take theirs.
	lb := map[string]*balancer{}
	for _, name := range append(names, "gateway") {
		lb[name] = startLB(t)
	}
	h := &haStack{dbURL: dbURL, stack: &stack{t: t, certs: certs}, lb: lb, addrs: map[string]string{}}
	fast := []string{
		"-database-url=" + dbURL,
		"-data-dir=" + dataDir, // shared: the keys replicas hold the same master key
		"-db-max-conns=3",      // 2 replicas × 7 services with a database × 3 = 42 connections at most
		"-log-level=debug",
		"-trusted-proxies=127.0.0.0/8,::1/128",
		"-identity.register-per-address=1000000", "-scheduling.bookings-per-address=0", "-scheduling.bookings-per-patient=0",
		"-payments.reconcile-every=2s", "-payments.recheck-after=2s",
		"-pix.notification-url=http://" + lb["gateway"].addr + "/webhooks/mercadopago",
	}
	fast = append(fast, extra...)
	// Jobs a dead replica held are rescued after 10 s (River's rescuer looks every 30 s).
	for _, svc := range []string{"identity", "scheduling", "payments", "telehealth"} {
		fast = append(fast, "-"+svc+".jobs-max-backoff=2s", "-"+svc+".jobs-timeout=5s", "-"+svc+".jobs-rescue-after=10s")
	}
	for _, r := range replicas {
		// Each replica's own ports, chosen just before it starts (a port chosen early
		// might meanwhile be some connection's local port).
		l, err := catalog.NewLoopback()
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range names {
			lb[name].add(l.Addr[name])
			h.addrs[name+"/"+r] = l.Addr[name]
		}
		lb["gateway"].add(l.GatewayAddr)
		h.addrs["gateway/"+r] = l.GatewayAddr
		h.mailOps = append(h.mailOps, l.Ops["notifications"])
		flags := append([]string{"-pix.sandbox-addr=" + strings.TrimPrefix(l.Sandbox, "http://"),
			// Each replica's dev mail sink and WhatsApp sandbox on ports of their own.
			"-notifications.sink-addr=" + l.MailSink, "-notifications.whatsapp-sandbox-addr=" + strings.TrimPrefix(l.WhatsAppSandbox, "http://")}, fast...)
		for _, name := range names {
			flags = append(flags, fmt.Sprintf("-%s.addr=%s", name, l.Addr[name]), fmt.Sprintf("-%s.url=http://%s", name, lb[name].addr))
		}
		own := func(name string) []string {
			f := mtls.DevFiles(certs, name)
			return []string{"-tls-cert=" + f.Cert, "-tls-key=" + f.Key, "-tls-ca=" + f.CA, "-ops-addr=" + l.Ops[name]}
		}
		for _, name := range names {
			h.stack.spawnAs(name+"/"+r, binary, append(append(append([]string{"serve", name}, flags...), catalog.DevDriverFlags()...), own(name)...)...)
		}
		h.stack.spawnAs("gateway/"+r, binary, append(append([]string{"gateway", "-gateway.addr=" + l.GatewayAddr}, flags...), own("gateway")...)...)
		// Replica a starts alone first, so the keys service makes the master key once.
		view := &stack{t: t, gateway: l.Gateway, sandbox: l.Sandbox, certs: certs, dbURL: dbURL,
			flags: []string{"-keys.url=http://" + lb["keys"].addr}}
		view.waitReady()
		// The gateway is ready once it reaches every service, possibly through the other
		// replica: each of this replica's services must listen too.
		for _, name := range names {
			waitListening(t, name+"/"+r, l.Addr[name])
		}
		h.views = append(h.views, view)
		h.clients = append(h.clients, &haClient{h: h, base: l.Gateway, sandbox: l.Sandbox,
			http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}})
	}
	return h
}

// waitListening waits until addr accepts connections.
func waitListening(t *testing.T, what, addr string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s did not listen on %s within 60s", what, addr)
}

// db is a small pool on the stack's database, for counting what the services wrote.
func (h *haStack) db(t *testing.T) *pgxpool.Pool { return openPool(t, h.dbURL) }

// parallel runs f for 0…n-1, at most 16 at once, and returns every error.
func (h *haStack) parallel(n int, f func(i int) error) error {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = f(i)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// haClient calls one gateway, and the PIX sandbox of the same replica.
type haClient struct {
	h       *haStack
	base    string
	sandbox string
	http    *http.Client
	retries atomic.Int64
}

// statusError is an answer other than 200.
type statusError struct {
	code int
	body string
}

func (e *statusError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.code, e.body) }

func isStatus(err error, code int) bool {
	var s *statusError
	return errors.As(err, &s) && s.code == code
}

// call sends one JSON request and decodes a 200 answer into out.
func (c *haClient) call(method, path, token string, body, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %w", method, path, &statusError{resp.StatusCode, string(raw)})
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// retry calls again, for up to two minutes, while the call fails as a call does when
// the replica answering dies under it (no answer, or 5xx): every call retried here is
// idempotent (reads; a booking with its idempotency key; an accept, whose retry finds
// it done).
func (c *haClient) retry(method, path, token string, body, out any) error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		err := c.call(method, path, token, body, out)
		var s *statusError
		if err == nil || (errors.As(err, &s) && s.code < 500) || time.Now().After(deadline) {
			return err
		}
		c.retries.Add(1)
		time.Sleep(200 * time.Millisecond)
	}
}

// until polls f until it reports done, for up to three minutes.
func (c *haClient) until(what string, f func() (bool, error)) error {
	deadline := time.Now().Add(3 * time.Minute)
	for {
		done, err := f()
		if done {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not within 3m (last error %v)", what, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (c *haClient) waitState(token, id, state string) error {
	var got struct{ Appointment appointmentJSON }
	return c.until("appointment "+id+" "+state, func() (bool, error) {
		err := c.retry("GET", "/v1/appointments/"+id, token, nil, &got)
		return got.Appointment.State == state, err
	})
}

// approve pays the charge in the sandbox, as the payer's bank would.
func (c *haClient) approve(providerID string) error {
	resp, err := c.http.Post(c.sandbox+"/sandbox/payments/"+providerID+"/approve", "", nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 && resp.StatusCode != http.StatusSeeOther {
		return fmt.Errorf("sandbox approve %s: HTTP %d", providerID, resp.StatusCode)
	}
	return nil
}

// balancer listens on a loopback port and hands each connection to the next of its
// backends that accepts it, copying bytes both ways (TLS passes through): what a
// Kubernetes Service's cluster address does for the replicas behind it. A dead replica
// refuses connections, so new ones go to the live replicas; connections to it break,
// and their clients dial again.
type balancer struct {
	addr     string
	stop     chan struct{} // closed at the end of the test
	open     sync.Map      // every connection, closed at the end (or by cut)
	down     atomic.Bool   // cut: every connection is closed as soon as it is accepted
	mu       sync.Mutex
	backends []string
	next     int
}

// cut makes what is behind the balancer unreachable, as a network outage or a vendor's
// endpoint down does: open connections break, new ones are closed at once, until
// restore.
func (b *balancer) cut() {
	b.down.Store(true)
	b.open.Range(func(k, _ any) bool { k.(net.Conn).Close(); return true })
}

// restore ends a cut: new connections reach the backends again.
func (b *balancer) restore() { b.down.Store(false) }

func (b *balancer) add(backend string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.backends = append(b.backends, backend)
}

// remove takes backend out of the turn for new connections (as Kubernetes takes a
// terminating pod out of its Service's endpoints); connections open to it stay.
func (b *balancer) remove(backend string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.backends = slices.DeleteFunc(b.backends, func(s string) bool { return s == backend })
}

// order is the backends to try for a new connection: the next in turn first.
func (b *balancer) order() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.next++
	var out []string
	for k := range b.backends {
		out = append(out, b.backends[(b.next+k)%len(b.backends)])
	}
	return out
}

// dial connects to the next backend that accepts, waiting up to 20 s for one to: a
// connection the balancer has accepted cannot be refused, so it waits for a replica as
// a client would wait on a Service without ready endpoints (while the stack starts).
func (b *balancer) dial() net.Conn {
	deadline := time.Now().Add(20 * time.Second)
	for {
		for _, backend := range b.order() {
			if out, err := net.DialTimeout("tcp", backend, 2*time.Second); err == nil {
				return out
			}
		}
		if time.Now().After(deadline) {
			return nil
		}
		select {
		case <-b.stop:
			return nil
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// startLB starts a balancer with no backends yet (add them), stopped at the end of the
// test.
func startLB(t *testing.T) *balancer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &balancer{addr: ln.Addr().String(), stop: make(chan struct{})}
	var conns sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		close(b.stop)
		b.open.Range(func(k, _ any) bool { k.(net.Conn).Close(); return true })
		conns.Wait()
	})
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Go(func() {
				defer in.Close()
				if b.down.Load() {
					return
				}
				out := b.dial()
				if out == nil {
					return
				}
				defer out.Close()
				b.open.Store(in, nil)
				b.open.Store(out, nil)
				defer b.open.Delete(in)
				defer b.open.Delete(out)
				if b.down.Load() { // cut while this one was dialling
					return
				}
				done := make(chan struct{}, 2)
				go func() { _, _ = io.Copy(out, in); done <- struct{}{} }()
				go func() { _, _ = io.Copy(in, out); done <- struct{}{} }()
				<-done // either side ends: end both
				in.Close()
				out.Close()
				<-done
			})
		}
	}()
	return b
}

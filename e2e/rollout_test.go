package e2e

import (
	"errors"
	"flag"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"healthcore/internal/catalog"
)

// haRollout turns on TestHA_RollingRestart, which takes a couple of minutes:
// go test -count=1 -run TestHA_RollingRestart ./e2e/ -ha.rollout -v
var haRollout = flag.Bool("ha.rollout", false, "run the rolling-restart HA test (a couple of minutes)")

// rolloutDrain is the -drain-delay of every process in the rolling restart: long
// enough for the balancer to stop handing new connections to a replica on its way out.
const rolloutDrain = time.Second

// TestHA_RollingRestart runs the HA stack (two processes of every service and two
// gateways on one database, each behind a balancer) under steady load and restarts
// every process in turn, as a Deployment rollout does: replica a of each service, then
// replica b, then the gateways; each is taken out of its balancer (as a terminating pod
// leaves its Service's endpoints), sent SIGTERM, must exit 0 after draining, is started
// again, and rejoins the balancer once it listens (a gateway, once /readyz answers).
//
// Clients call both gateways all along, without retrying: no idempotent call may fail
// and no call may get a 5xx. The latencies before, during and after the rollout are
// logged.
func TestHA_RollingRestart(t *testing.T) {
	if !*haRollout {
		t.Skip("run with -ha.rollout")
	}
	h := startHA(t, fmt.Sprintf("-drain-delay=%s", rolloutDrain))

	doctorID, _ := h.views[0].openDoctor("Dra. Ana Souza", "556677", "ana.roll@clinica.com.br", 20000, 15, 0)
	from := time.Now().Add(2 * time.Hour)
	slotsPath := "/v1/doctors/" + doctorID + "/slots" + rangeQuery(from, from.Add(24*time.Hour))
	const email, password = "paciente.roll@example.com", "correct horse battery"
	if err := h.clients[0].call("POST", "/v1/accounts/patients", "", map[string]string{
		"name": "Paciente Rollout", "email": email, "cpf": cpfFrom("318000411"),
		"password": password, "phone": "+5511987654321", "birthDate": "1985-04-12",
	}, nil); err != nil {
		t.Fatal(err)
	}
	if err := h.verifyEmail(h.clients[0], email); err != nil {
		t.Fatal(err)
	}
	var login struct{ Tokens tokenPair }
	if err := h.clients[0].call("POST", "/v1/auth/login", "", map[string]string{"email": email, "password": password}, &login); err != nil {
		t.Fatal(err)
	}
	token := login.Tokens.AccessToken

	// The idempotent calls the clients make in turn (directory, scheduling, identity),
	// and one that is not (a login writes a session).
	reads := []struct{ path, token string }{
		{"/v1/specialties", ""},
		{"/v1/doctors/" + doctorID, ""},
		{slotsPath, ""},
		{"/v1/me", token},
		{"/v1/appointments", token},
	}
	type sample struct {
		phase      int // 0 steady before, 1 rollout, 2 steady after
		idempotent bool
		code       int // 0: no answer
		err        error
		took       time.Duration
	}
	var phase atomic.Int32
	var mu sync.Mutex
	var samples []sample
	stop := make(chan struct{})
	var load sync.WaitGroup
	// The clients reach the gateways through their balancer, as through the ALB.
	var clients []*haClient
	for range 2 {
		clients = append(clients, &haClient{h: h, base: "http://" + h.lb["gateway"].addr,
			http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}})
	}
	for w := range 6 {
		c := clients[w%len(clients)]
		load.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				s := sample{phase: int(phase.Load()), idempotent: true}
				start := time.Now()
				var err error
				if i%10 == 9 {
					s.idempotent = false
					err = c.call("POST", "/v1/auth/login", "", map[string]string{"email": email, "password": password}, nil)
				} else {
					r := reads[(w+i)%len(reads)]
					err = c.call("GET", r.path, r.token, nil, nil)
				}
				s.took = time.Since(start)
				var se *statusError
				switch {
				case err == nil:
					s.code = http.StatusOK
				case errors.As(err, &se):
					s.code, s.err = se.code, err
				default:
					s.err = err
				}
				mu.Lock()
				samples = append(samples, s)
				mu.Unlock()
				time.Sleep(20 * time.Millisecond)
			}
		})
	}

	steady := 10 * time.Second
	time.Sleep(steady)
	phase.Store(1)
	rollStart := time.Now()
	order := append(catalog.Names(), "gateway")
	for _, name := range order {
		for _, r := range replicas {
			h.rollOver(name, r)
		}
	}
	rollTook := time.Since(rollStart)
	phase.Store(2)
	time.Sleep(steady)
	close(stop)
	load.Wait()

	// No idempotent call failed, and no call got a 5xx.
	var calls, failed, fiveXX, loginsUnanswered [3]int
	var took [3][]time.Duration
	for _, s := range samples {
		calls[s.phase]++
		took[s.phase] = append(took[s.phase], s.took)
		if s.code >= 500 {
			fiveXX[s.phase]++
			t.Errorf("phase %d: %v", s.phase, s.err)
		}
		if s.code != http.StatusOK {
			if s.idempotent {
				failed[s.phase]++
				if s.code < 500 {
					t.Errorf("phase %d, idempotent call failed: %v", s.phase, s.err)
				}
			} else if s.code == 0 {
				loginsUnanswered[s.phase]++
				t.Logf("phase %d, login unanswered: %v", s.phase, s.err)
			} else if s.code < 500 {
				t.Errorf("phase %d, login failed: %v", s.phase, s.err)
			}
		}
	}
	if calls[1] == 0 {
		t.Fatal("no call during the rollout")
	}
	p99 := func(d []time.Duration) time.Duration {
		if len(d) == 0 {
			return 0
		}
		slices.Sort(d)
		return d[(len(d)*99)/100].Round(time.Millisecond)
	}
	t.Logf("rolling restart of %d processes (each service, then the gateway: replica a, then b; drain %s) took %s; "+
		"calls steady before / during / steady after: %d / %d / %d; failed idempotent calls %d / %d / %d; 5xx %d / %d / %d; "+
		"logins unanswered %d / %d / %d; p99 %s / %s / %s",
		len(order)*len(replicas), rolloutDrain, rollTook.Round(time.Millisecond),
		calls[0], calls[1], calls[2], failed[0], failed[1], failed[2], fiveXX[0], fiveXX[1], fiveXX[2],
		loginsUnanswered[0], loginsUnanswered[1], loginsUnanswered[2], p99(took[0]), p99(took[1]), p99(took[2]))
}

// rollOver restarts replica r of name (a service, or "gateway") as a Deployment rollout
// does: out of the balancer, SIGTERM, a graceful exit, started again with the same
// flags, and back in the balancer once it listens (a gateway, once it is ready).
func (h *haStack) rollOver(name, r string) {
	t := h.stack.t
	t.Helper()
	key, addr := name+"/"+r, h.addrs[name+"/"+r]
	p := h.stack.procs[key]
	h.lb[name].remove(addr)
	p.crashed = true // stopped here, not at the end of the test
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("%s exited with %v after SIGTERM; log:\n%s", key, err, p.logs.String())
		}
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		t.Fatalf("%s did not stop within 30s of SIGTERM", key)
	}
	h.stack.spawnAs(key, binary, p.args...)
	waitListening(t, key, addr)
	if name == "gateway" {
		for _, v := range h.views {
			if v.gateway == "http://"+addr {
				v.waitReady()
			}
		}
	}
	h.lb[name].add(addr)
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"sync"
	"time"
)

// workerEnv holds a worker process's configuration (JSON): the command re-executes
// itself as several workers, since one process may hold only so many descriptors.
const workerEnv = "HEALTHCORE_BENCH_USERS_WORKER"

// workerConfig is one worker's share of a step.
type workerConfig struct {
	Index       int
	DatabaseURL string
	Gateways    []string
	// Users numbered First … First+Count-1 are this worker's; Total is the step's, so
	// that every user starts at its place in the ramp and on its gateway.
	First, Count, Total int
	Start               time.Time // the ramp's start
	Ramp, Duration      time.Duration
	Think               time.Duration // mean think time
	RefreshBefore       time.Duration // refresh the access token when it has less than this left
	Mix                 []mixEntry
	Timeout             time.Duration // of one request
	Seed                uint64
	// Procs and GOGC, when not 0, set the worker's GOMAXPROCS and GC target: the load
	// generator shares the machine with what it measures, and its users' goroutines
	// hand each request over between their own and the connection's, which on several
	// Ps wakes idle threads for little work each time.
	Procs, GOGC int
	// ProfileDir, if set, receives a CPU profile of the worker over the measurement
	// window and its heap at the end (load-<Index+1>.pprof and .heap.pprof, prefixed by
	// ProfilePrefix).
	ProfileDir, ProfilePrefix string
}

type mixEntry struct {
	Action string
	Weight float64
}

// worker drives its users and counts what they see inside the measurement window.
type worker struct {
	cfg         workerConfig
	measureFrom time.Time
	measureTo   time.Time
	stats       *stats
	doctors     []doctor
	cumulative  []float64 // of the mix's weights
}

// record counts a request (or a time to QR) of an action scheduled at t0 (its latency
// is d), if t0 lies in the measurement window.
func (w *worker) record(t0 time.Time, name string, d time.Duration, expected bool, err error) {
	if t0.Before(w.measureFrom) || !t0.Before(w.measureTo) {
		return
	}
	w.stats.add(name, d, expected, err)
}

func (w *worker) pick(rng *rand.Rand) string {
	x := rng.Float64() * w.cumulative[len(w.cumulative)-1]
	for i, c := range w.cumulative {
		if x < c {
			return w.cfg.Mix[i].Action
		}
	}
	return w.cfg.Mix[len(w.cfg.Mix)-1].Action
}

// runWorker is a worker process: it loads its users, drives them through the ramp
// and the measurement window, writes their rotated refresh tokens back and prints its
// report as one JSON line.
func runWorker(ctx context.Context, raw string) error {
	var cfg workerConfig
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		return fmt.Errorf("worker configuration: %w", err)
	}
	if cfg.Procs > 0 {
		runtime.GOMAXPROCS(cfg.Procs)
	}
	if cfg.GOGC > 0 {
		debug.SetGCPercent(cfg.GOGC)
	}
	w := &worker{cfg: cfg, stats: newStats()}
	w.measureFrom = cfg.Start.Add(cfg.Ramp)
	w.measureTo = w.measureFrom.Add(cfg.Duration)
	sum := 0.0
	for _, m := range cfg.Mix {
		sum += m.Weight
		w.cumulative = append(w.cumulative, sum)
	}
	db, err := openBench(ctx, cfg.DatabaseURL, 1)
	if err != nil {
		return err
	}
	defer db.Close()
	if w.doctors, err = loadDoctors(ctx, db); err != nil {
		return err
	}
	if len(w.doctors) == 0 {
		return fmt.Errorf("no doctors prepared")
	}
	users, err := loadPatients(ctx, db, cfg.First, cfg.Count)
	if err != nil {
		return err
	}
	if len(users) != cfg.Count {
		return fmt.Errorf("%d users prepared from %d, want %d", len(users), cfg.First, cfg.Count)
	}
	// In-flight actions scheduled inside the window may finish after it, for as long
	// as one request may take; then whatever is left is cut.
	runCtx, cancel := context.WithDeadline(ctx, w.measureTo.Add(cfg.Timeout))
	defer cancel()
	var wg sync.WaitGroup
	if cfg.ProfileDir != "" {
		wg.Go(func() { w.profile(runCtx) })
	}
	for _, u := range users {
		u.w = w
		g := u.n % len(cfg.Gateways)
		u.base = cfg.Gateways[g]
		u.rng = rand.New(rand.NewPCG(cfg.Seed, uint64(u.n)))
		u.spot = [2]float64{(2*u.rng.Float64() - 1) * searchSpread, (2*u.rng.Float64() - 1) * searchSpread}
		u.etags = map[string]cached{}
		// Each user its own connection: a transport of its own, one connection at most.
		u.client = &http.Client{Timeout: cfg.Timeout, Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxConnsPerHost:     1,
			MaxIdleConnsPerHost: 1,
			DisableCompression:  true,
			// Under the gateway's 2 minutes: the client closes an idle connection first,
			// so a request never meets one the server is closing (a think time over it is
			// rare: e^-4 at the default mean) and dials again instead.
			IdleConnTimeout: 110 * time.Second,
		}}
		// Users start spread evenly over the ramp, by their number in the step.
		at := cfg.Start.Add(time.Duration(float64(cfg.Ramp) * float64(u.n) / float64(max(cfg.Total, 1))))
		wg.Go(func() { w.loop(runCtx, u, at) })
	}
	wg.Wait()
	// Stay until the coordinator has sampled this process at the window's end, with
	// the users' connections still open.
	select {
	case <-ctx.Done():
	case <-time.After(time.Until(w.measureTo.Add(2 * time.Second))):
	}
	for _, u := range users {
		u.client.CloseIdleConnections()
	}
	// Written back with a fresh context: the run's may have ended.
	saveCtx, cancelSave := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancelSave()
	if err := saveTokens(saveCtx, db, users); err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(w.stats.report(cfg.Index, len(users)))
}

// profile records the worker's CPU profile over the measurement window.
func (w *worker) profile(ctx context.Context) {
	sleep := func(t time.Time) bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(time.Until(t)):
			return true
		}
	}
	if !sleep(w.measureFrom) {
		return
	}
	file := filepath.Join(w.cfg.ProfileDir, fmt.Sprintf("%sload-%d.pprof", w.cfg.ProfilePrefix, w.cfg.Index+1))
	f, err := os.Create(file)
	if err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
		return
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
		return
	}
	sleep(w.measureTo)
	pprof.StopCPUProfile()
	// And what its heap holds at the window's end (go tool pprof -sample_index=inuse_space).
	h, err := os.Create(strings.TrimSuffix(file, ".pprof") + ".heap.pprof")
	if err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
		return
	}
	defer h.Close()
	if err := pprof.Lookup("heap").WriteTo(h, 0); err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
	}
}

// loop is one user's life: wait until the scheduled start, act, and schedule the next
// start a think time (exponential) after this request was sent. When the answer comes
// after the next scheduled start, the next request starts at once and counts as late;
// its latency is still measured from its scheduled start, so the wait is counted. A
// booking is the exception: its user watches the payment until the QR code shows (the
// long-poll the server holds on purpose, measured as the time to QR), and thinks from
// then on, so that wait is not counted a second time in the user's next request.
func (w *worker) loop(ctx context.Context, u *user, next time.Time) {
	timer := time.NewTimer(0) // one for the user's life, not one a wait
	<-timer.C
	for first := true; next.Before(w.measureTo); first = false {
		late := false
		if wait := time.Until(next); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				timer.Stop()
				return
			case <-timer.C:
			}
		} else if !first {
			late = true // the previous answer came after this start
		}
		sent := time.Now()
		action := w.pick(u.rng)
		if !next.Before(w.measureFrom) {
			w.stats.action(action, late)
		}
		if shown := u.act(ctx, action, next); !shown.IsZero() {
			sent = shown
		}
		if ctx.Err() != nil {
			return
		}
		next = sent.Add(time.Duration(u.rng.ExpFloat64() * float64(w.cfg.Think)))
	}
}

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime/trace"
	"slices"
	"strconv"
	"sync"
	"time"

	"healthcore/bench/stack"
)

// point is where a patient searches from: a city centre.
type point struct {
	city     string
	lat, lng float64
}

// points are the search centres, the largest cities more often, as patients are.
var points = []point{
	{"São Paulo", -23.5505, -46.6333}, {"Rio de Janeiro", -22.9068, -43.1729}, {"São Paulo", -23.5505, -46.6333},
	{"Belo Horizonte", -19.9167, -43.9345}, {"Brasília", -15.7939, -47.8828}, {"São Paulo", -23.5505, -46.6333},
	{"Salvador", -12.9714, -38.5014}, {"Rio de Janeiro", -22.9068, -43.1729}, {"Fortaleza", -3.7319, -38.5267},
	{"Curitiba", -25.4284, -49.2733}, {"Campinas", -22.9099, -47.0626}, {"Recife", -8.0476, -34.8770},
	{"Porto Alegre", -30.0346, -51.2177},
}

// specialties are what patients search for most; the count is coprime with that of
// points so that clients walk through every pair.
var specialties = []string{
	"clinica_medica", "pediatria", "ginecologia_obstetricia", "cardiologia",
	"dermatologia", "psiquiatria", "ortopedia_traumatologia", "oftalmologia",
}

// search is one (point, specialty) pair; i numbers the pairs.
func search(i int) (point, string) {
	return points[i%len(points)], specialties[i%len(specialties)]
}

func pairs() int { return len(points) * len(specialties) }

// result is what one path measured.
type result struct {
	name       string
	elapsed    time.Duration
	latencies  []time.Duration // sorted
	errors     int
	empty      int
	firstError string
	// generic and custom count the executions of each kind of plan, when known.
	generic, custom int64
	// cpuStart and cpuEnd bound the measured window.
	cpuStart, cpuEnd cpuSample
}

func (r *result) rate() float64 { return float64(len(r.latencies)) / r.elapsed.Seconds() }

// percentile returns the p-th percentile latency (nearest rank); 100 is the maximum.
func (r *result) percentile(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	i := int(float64(len(r.latencies))*p/100+0.5) - 1
	return r.latencies[min(max(i, 0), len(r.latencies)-1)]
}

// worker does one request; it reports whether the answer was empty, or an error.
type worker func(ctx context.Context, i int) (empty bool, err error)

// drive runs clients workers for warmup, then measures them for duration, sampling
// the CPU time of this process, of the children in pids and of the machine at both
// ends of the measured window. Worker c starts at pair 7c and walks through all of
// them.
func drive(ctx context.Context, name string, clients int, warmup, duration time.Duration, pids map[string]int, mon *monitor, do worker) *result {
	start := time.Now()
	measureFrom, end := start.Add(warmup), start.Add(warmup+duration)
	ctx, cancel := context.WithDeadline(ctx, end.Add(10*time.Second)) // a stuck request cannot hold the run
	defer cancel()
	r := &result{name: name, elapsed: duration}
	var sampled sync.WaitGroup
	sampled.Go(func() {
		time.Sleep(time.Until(measureFrom))
		r.cpuStart = sampleCPU(pids, mon.backends(ctx))
		time.Sleep(time.Until(end))
		r.cpuEnd = sampleCPU(pids, mon.backends(ctx))
	})
	parts := make([]result, clients)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			part := &parts[c]
			part.latencies = make([]time.Duration, 0, 1<<14)
			for i := c * 7; ; i++ {
				t0 := time.Now()
				if !t0.Before(end) || ctx.Err() != nil {
					return
				}
				empty, err := do(ctx, i)
				d := time.Since(t0)
				if t0.Before(measureFrom) {
					continue
				}
				switch {
				case err != nil:
					part.errors++
					if part.firstError == "" {
						part.firstError = err.Error()
					}
				case empty:
					part.empty++
				}
				part.latencies = append(part.latencies, d)
			}
		})
	}
	wg.Wait()
	sampled.Wait()
	for _, p := range parts {
		r.latencies = append(r.latencies, p.latencies...)
		r.errors += p.errors
		r.empty += p.empty
		if r.firstError == "" {
			r.firstError = p.firstError
		}
	}
	slices.Sort(r.latencies)
	return r
}

// driveOpen is drive's open loop: requests arrive at rate per second on average, as a
// Poisson process (exponential gaps drawn in advance of need, so a slow answer never
// delays the next arrival), each on its own goroutine. A request's latency runs from its
// scheduled arrival, so time spent waiting — for the load generator's timer, a
// connection or the server — counts. Requests scheduled during warmup are not measured;
// those scheduled in the measured window are, however late they finish.
func driveOpen(ctx context.Context, name string, rate float64, warmup, duration time.Duration, pids map[string]int, mon *monitor, do worker) *result {
	start := time.Now()
	measureFrom, end := start.Add(warmup), start.Add(warmup+duration)
	ctx, cancel := context.WithDeadline(ctx, end.Add(10*time.Second))
	defer cancel()
	r := &result{name: name, elapsed: duration}
	var mu sync.Mutex
	record := func(d time.Duration, empty bool, err error) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err != nil:
			r.errors++
			if r.firstError == "" {
				r.firstError = err.Error()
			}
		case empty:
			r.empty++
		}
		r.latencies = append(r.latencies, d)
	}
	var wg sync.WaitGroup
	rng := rand.New(rand.NewPCG(uint64(start.UnixNano()), 19))
	at := start
	sampledStart := false
	for i := 0; ctx.Err() == nil; i++ {
		at = at.Add(time.Duration(rng.ExpFloat64() / rate * float64(time.Second)))
		if !at.Before(end) {
			break
		}
		if !sampledStart && !at.Before(measureFrom) {
			time.Sleep(time.Until(measureFrom))
			r.cpuStart = sampleCPU(pids, mon.backends(ctx))
			sampledStart = true
		}
		time.Sleep(time.Until(at))
		sched := at
		wg.Go(func() {
			empty, err := do(ctx, i)
			if !sched.Before(measureFrom) {
				record(time.Since(sched), empty, err)
			}
		})
	}
	time.Sleep(time.Until(end))
	r.cpuEnd = sampleCPU(pids, mon.backends(ctx))
	wg.Wait()
	slices.Sort(r.latencies)
	return r
}

// restLoad searches through the gateway: closed loop with o.clients clients, or, given
// a rate, open loop at that many requests per second.
func restLoad(ctx context.Context, st *stack.Stack, mon *monitor, o options, rate float64) (*result, error) {
	gateway := st.Gateway
	transport := &http.Transport{MaxIdleConnsPerHost: o.clients, MaxConnsPerHost: o.clients, DisableCompression: true}
	if rate > 0 {
		// Open loop: a request never waits for another's connection here; how many run
		// at once is the server's doing.
		transport = &http.Transport{MaxIdleConnsPerHost: 1024, DisableCompression: true}
	}
	client := &http.Client{Transport: transport, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	urls := make([]string, pairs())
	for i := range urls {
		p, code := search(i)
		q := url.Values{
			"specialty": {code}, "point.latitude": {strconv.FormatFloat(p.lat, 'f', -1, 64)},
			"point.longitude": {strconv.FormatFloat(p.lng, 'f', -1, 64)}, "maxDistanceKm": {"25"}, "minRating": {"4"},
			"sort": {"SORT_ORDER_DISTANCE"},
		}
		urls[i] = gateway + "/v1/doctors?" + q.Encode()
	}
	do := func(ctx context.Context, i int) (bool, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, urls[i%len(urls)], nil)
		if err != nil {
			return false, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return false, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return false, err
		}
		if resp.StatusCode != http.StatusOK {
			return false, fmt.Errorf("HTTP %d: %.200s", resp.StatusCode, body)
		}
		// Empty fields are left out of the JSON: a page without doctors is "{}".
		return !bytes.Contains(body, []byte(`"results"`)), nil
	}
	var profiled sync.WaitGroup
	defer profiled.Wait()
	var r *result
	if rate > 0 {
		fmt.Printf("REST open loop: %.0f requests/s (Poisson arrivals) on %s …\n", rate, gateway)
		if o.profileDir != "" {
			record(ctx, &profiled, o, "trace", func(name string, d time.Duration, file string) error {
				if name == "load" {
					return traceSelf(ctx, d, file)
				}
				return st.Trace(ctx, name, d, file)
			})
		}
		r = driveOpen(ctx, fmt.Sprintf("REST open loop, %.0f/s offered", rate), rate, o.warmup, o.duration, st.PIDs(), mon, do)
	} else {
		fmt.Printf("REST: %d clients on %s …\n", o.clients, gateway)
		if o.profileDir != "" {
			record(ctx, &profiled, o, "profile", func(name string, d time.Duration, file string) error {
				if name == "load" {
					return nil
				}
				return st.Profile(ctx, name, d, file)
			})
		}
		r = drive(ctx, "REST (gateway → directory)", o.clients, o.warmup, o.duration, st.PIDs(), mon, do)
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return r, nil
}

// record has each process — serve, the gateway and this load generator — record a CPU
// profile or an execution trace once the warm-up is over: for two thirds of the
// measured time (a trace for at most 5 s, they grow fast), into o.profileDir.
func record(ctx context.Context, wg *sync.WaitGroup, o options, kind string, take func(name string, d time.Duration, file string) error) {
	d := max(o.duration*2/3, time.Second)
	if kind == "trace" {
		d = min(d, 5*time.Second)
	}
	for _, name := range []string{"serve", "gateway", "load"} {
		wg.Go(func() {
			select {
			case <-time.After(o.warmup):
			case <-ctx.Done():
				return
			}
			file := filepath.Join(o.profileDir, "search-"+name+"."+kind)
			if err := take(name, d, file); err != nil {
				fmt.Printf("%s of %s: %v\n", kind, name, err)
				return
			}
			if _, err := os.Stat(file); err == nil {
				fmt.Printf("%s of %s: go tool %s %s\n", kind, name, map[string]string{"profile": "pprof -top", "trace": "trace"}[kind], file)
			}
		})
	}
}

// traceSelf records this process's execution trace for d into file.
func traceSelf(ctx context.Context, d time.Duration, file string) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if err := trace.Start(f); err != nil {
		f.Close()
		return err
	}
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
	trace.Stop()
	return f.Close()
}

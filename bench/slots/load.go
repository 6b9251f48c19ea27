package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"healthcore/bench/load"
	"healthcore/bench/stack"
)

// result is what one path measured.
type result struct {
	name       string
	elapsed    time.Duration
	latencies  []time.Duration // sorted
	errors     int
	firstError string
	note       string
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

// restLoad lists one week of a random doctor's free slots through the gateway, with
// o.clients clients, for o.warmup unmeasured and then o.duration measured.
func restLoad(ctx context.Context, gateway string, ids []string, o options) (*result, error) {
	client := &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: o.clients, MaxConnsPerHost: o.clients, DisableCompression: true},
		Timeout:   10 * time.Second,
	}
	defer client.CloseIdleConnections()
	from := time.Now().UTC().Truncate(time.Hour)
	query := "/slots?" + url.Values{
		"startTime": {from.Format(time.RFC3339)}, "endTime": {from.AddDate(0, 0, 7).Format(time.RFC3339)},
	}.Encode()
	fmt.Printf("REST: %d clients on %s, %d doctors …\n", o.clients, gateway, len(ids))

	start := time.Now()
	measureFrom, end := start.Add(o.warmup), start.Add(o.warmup+o.duration)
	ctx, cancel := context.WithDeadline(ctx, end.Add(10*time.Second)) // a stuck request cannot hold the run
	defer cancel()
	type part struct {
		result
		slots, empty int
	}
	parts := make([]part, o.clients)
	var wg sync.WaitGroup
	for c := range o.clients {
		wg.Go(func() {
			p := &parts[c]
			p.latencies = make([]time.Duration, 0, 1<<14)
			r := rand.New(rand.NewPCG(uint64(o.seed), uint64(c)))
			for {
				t0 := time.Now()
				if !t0.Before(end) || ctx.Err() != nil {
					return
				}
				n, err := listSlots(ctx, client, gateway+"/v1/doctors/"+ids[r.IntN(len(ids))]+query)
				d := time.Since(t0)
				if t0.Before(measureFrom) {
					continue
				}
				p.latencies = append(p.latencies, d)
				switch {
				case err != nil:
					p.errors++
					if p.firstError == "" {
						p.firstError = err.Error()
					}
				case n == 0:
					p.empty++
				}
				p.slots += n
			}
		})
	}
	wg.Wait()
	if ctx.Err() != nil && time.Now().Before(end) {
		return nil, ctx.Err()
	}
	r := &result{name: "REST list slots (gateway → scheduling)", elapsed: o.duration}
	var slots, empty int
	for _, p := range parts {
		r.latencies = append(r.latencies, p.latencies...)
		r.errors += p.errors
		slots += p.slots
		empty += p.empty
		if r.firstError == "" {
			r.firstError = p.firstError
		}
	}
	slices.Sort(r.latencies)
	if len(r.latencies) > 0 {
		r.note = fmt.Sprintf("%.1f slots/answer, %d empty", float64(slots)/float64(len(r.latencies)), empty)
	}
	return r, nil
}

// listSlots makes one listing request and counts the slots in the answer.
func listSlots(ctx context.Context, client *http.Client, u string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("HTTP %d: %.200s", resp.StatusCode, body)
	}
	// Every slot has one "startTime"; counting them spares the client a JSON decode.
	return bytes.Count(body, []byte(`"startTime"`)), nil
}

// rest sends one JSON request and decodes the answer into out; any status but 200 is an
// error.
func rest(ctx context.Context, client *http.Client, method, u, token string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: HTTP %d: %.300s", method, u, resp.StatusCode, raw)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// availability is a REST availability body: Monday to Friday, two windows a day, 50-minute
// slots with a 10-minute gap: eight slots a day, 320 over eight weeks.
func availability(morning, afternoon [2]string, fridayEnd string) map[string]any {
	var weekly []map[string]string
	for _, day := range []string{"WEEKDAY_MONDAY", "WEEKDAY_TUESDAY", "WEEKDAY_WEDNESDAY", "WEEKDAY_THURSDAY", "WEEKDAY_FRIDAY"} {
		end := afternoon[1]
		if day == "WEEKDAY_FRIDAY" && fridayEnd != "" {
			end = fridayEnd
		}
		weekly = append(weekly,
			map[string]string{"weekday": day, "startTime": morning[0], "endTime": morning[1]},
			map[string]string{"weekday": day, "startTime": afternoon[0], "endTime": end})
	}
	return map[string]any{"weekly": weekly, "slotMinutes": 50, "gapMinutes": 10}
}

// regenerations registers a doctor through the gateway whom an operator verifies
// (load.RegisterDoctor), publishes an availability, then changes it n times for each
// kind of change, one request at a time, timing each PUT (which regenerates eight weeks
// of slots in one transaction).
func regenerations(ctx context.Context, st *stack.Stack, n int) ([]*result, error) {
	client := &http.Client{Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	gateway := st.Gateway
	operator, err := load.Operator(ctx, client, st)
	if err != nil {
		return nil, err
	}
	_, token, err := load.RegisterDoctor(ctx, client, gateway, operator, benchCRM, benchUF, 25000)
	if err != nil {
		return nil, err
	}

	base := availability([2]string{"08:00", "12:00"}, [2]string{"14:00", "18:00"}, "")
	kinds := []struct {
		name string
		next map[string]any // alternates with base
	}{
		{"PUT availability: same again (no change)", base},
		{"PUT availability: Friday ends 17:00 ↔ 18:00", availability([2]string{"08:00", "12:00"}, [2]string{"14:00", "18:00"}, "17:00")},
		{"PUT availability: every slot moved 30 min", availability([2]string{"08:30", "12:30"}, [2]string{"14:30", "18:30"}, "")},
	}
	put := func(body map[string]any) (created, removed int, err error) {
		var out struct {
			SlotsCreated int `json:"slotsCreated"`
			SlotsRemoved int `json:"slotsRemoved"`
		}
		err = rest(ctx, client, "PUT", gateway+"/v1/doctors/me/availability", token, body, &out)
		return out.SlotsCreated, out.SlotsRemoved, err
	}
	created, _, err := put(base)
	if err != nil {
		return nil, err
	}
	fmt.Printf("regeneration: one doctor with %d slots over eight weeks, %d changes of each kind …\n", created, n)

	var out []*result
	for _, k := range kinds {
		r := &result{name: k.name}
		var totalCreated, totalRemoved int
		start := time.Now()
		for i := range n { // even: to the changed availability, odd: back to base
			body := base
			if i%2 == 0 {
				body = k.next
			}
			t0 := time.Now()
			c, rm, err := put(body)
			r.latencies = append(r.latencies, time.Since(t0))
			if err != nil {
				r.errors++
				if r.firstError == "" {
					r.firstError = err.Error()
				}
			}
			totalCreated += c
			totalRemoved += rm
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
		}
		r.elapsed = time.Since(start)
		slices.Sort(r.latencies)
		r.note = fmt.Sprintf("%.0f created, %.0f removed per PUT", float64(totalCreated)/float64(n), float64(totalRemoved)/float64(n))
		out = append(out, r)
	}
	return out, nil
}
